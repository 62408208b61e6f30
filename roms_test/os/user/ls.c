/* ls as a program (for pipelines): the directory to standard output. */
#include "ulib.h"

int main(const char *arg)
{
    if (info(SYS_FLIST) >= 0) return 0;
    puts("ls: no file system\n");
    return 1;
}
