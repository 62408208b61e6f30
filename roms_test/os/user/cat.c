/* cat [FILE]: a file, or standard input to its end, to standard output. */
#include "ulib.h"

static char buf[FS_MAX];

int main(const char *arg)
{
    if (*arg) {
        int n = fread(arg, buf, sizeof buf);
        if (n < 0) { printf("cat: %s: no such file\n", arg); return 1; }
        write(buf, n);
        return 0;
    }
    int n;
    while ((n = read(buf, 512)) > 0) write(buf, n);
    return 0;
}
