/* Writes a file, reads it back and compares: "filetest [NAME [BYTES]]". */
#include "ulib.h"

static u8 out[FS_MAX], in[FS_MAX];

int main(const char *arg)
{
    char name[FS_NAME] = "filetest.dat";
    int i = 0;
    while (arg[i] && arg[i] != ' ' && i < FS_NAME - 1) name[i] = arg[i], i++;
    if (i) name[i] = 0;
    int n = arg[i] == ' ' ? atoi(arg + i + 1) : 5000;
    if (n < 0 || n > FS_MAX) { printf("filetest: size 0 to %d\n", FS_MAX); return 1; }
    for (int k = 0; k < n; k++) out[k] = (u8)(k * 7 + getpid());
    if (fwrite(name, out, n) != n) { printf("filetest: cannot write %s\n", name); return 1; }
    int got = fread(name, in, sizeof in);
    if (got != n || memcmp(in, out, n)) { printf("filetest: %s read back wrong (%d bytes)\n", name, got); return 1; }
    printf("filetest: wrote and read back %d bytes of %s\n", n, name);
    return 0;
}
