/* ps as a program (for pipelines): the process table to standard output. */
#include "ulib.h"

int main(const char *arg)
{
    return info(SYS_PS) < 0;
}
