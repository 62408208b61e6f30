/* Kernel start: consoles, GDT/TSS/IDT, memory and paging, the PIC and PIT,
 * then the shell as the first ring-3 process; this context becomes the idle loop. */
#include "kernel.h"
#include "arch/priv.h"

void kmain(u32 bootinfo)
{
    console_init();
    kprintf("emu-os 0.1: protected mode, kernel at 1 MiB\n");
    priv_init();
    trap_init();
    mm_init(bootinfo);
    kprintf("paging on, %u KiB free; PIT at %u Hz; CPU:%s%s%s\n", pages_free() * 4, HZ,
            cpu_features & 1 ? " invlpg" : " 386", cpu_features & 2 ? " cpuid" : "",
            cpu_features & 4 ? " tsc" : "");
    fs_init();
    irq_unmask(0);
    irq_unmask(1);
    irq_unmask(4);
    int pid = proc_spawn("sh", 0, "");
    if (pid < 0) panic("cannot start the shell (%d)", pid);
    priv_sti();
    for (;;) priv_idle();
}
