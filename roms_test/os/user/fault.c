/* Faults on purpose; the kernel must end this process and carry on.
 * fault        write to address 0 (unmapped for ring 3)
 * fault kernel write to the kernel's memory at 1 MiB (supervisor pages)
 * fault div    divide by zero
 * fault cli    a privileged instruction at ring 3 (#GP)
 * fault args   system calls with bad pointers and numbers: each returns -1 */
#include "ulib.h"

int main(const char *arg)
{
    volatile u32 addr = !strcmp(arg, "kernel") ? 0x100000 : 0;
    printf("fault: %s\n", *arg ? arg : "write to address 0");
    if (!strcmp(arg, "args")) {
        printf("write %d read %d spawn %d resume %d sbrk %d unknown %d\n",
               write((void *)0x100000, 16), read(0, 4), spawn(0xC0000000, 0), sys(SYS_RESUME, 0x1000, 0, 0),
               (int)sbrk(0x7FFFFFFF), sys(999, 0, 0, 0));
        return 0;
    }
    if (!strcmp(arg, "div")) {
        u32 q, z = 0;
        __asm__ volatile("divl %2" : "=a"(q) : "a"(1), "r"(z), "d"(0));
    } else if (!strcmp(arg, "cli"))
        __asm__ volatile("cli");
    else
        *(volatile u32 *)addr = 1;
    puts("fault: still alive?\n");
    return 1;
}
