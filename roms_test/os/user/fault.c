/* Faults on purpose; the kernel must end this process and carry on.
 * fault        write to address 0 (unmapped for ring 3)
 * fault kernel write to the kernel's memory at 1 MiB (supervisor pages)
 * fault div    divide by zero
 * fault cli    a privileged instruction at ring 3 (#GP) */
#include "ulib.h"

int main(const char *arg)
{
    volatile u32 addr = !strcmp(arg, "kernel") ? 0x100000 : 0;
    printf("fault: %s\n", *arg ? arg : "write to address 0");
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
