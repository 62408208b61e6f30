/* Spins in ring 3 without a system call, forever: only the PIT takes the CPU back. */
#include "ulib.h"

int main(const char *arg)
{
    volatile u32 x = 0;
    for (;;) x++;
}
