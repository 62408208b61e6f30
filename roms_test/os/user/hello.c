#include "ulib.h"

int main(const char *arg)
{
    printf("hello from pid %d in ring %d, arg '%s'\n", getpid(), 3, arg);
    return 0;
}
