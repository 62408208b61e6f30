/* Traps and interrupts: the 8259 pair remapped to vectors 20h-2Fh, the PIT at
 * HZ, exceptions (a kernel fault panics with a register dump; a user fault
 * ends the process), IRQ dispatch and int 0x80. */
#include "kernel.h"
#include "arch/priv.h"

volatile u32 ticks;
static u16 irq_mask = 0xFFFB;        /* all masked but the cascade */
static const char *const names[] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
    "invalid opcode", "device not available", "double fault", "coprocessor overrun",
    "invalid TSS", "segment not present", "stack fault", "general protection",
    "page fault", "reserved", "x87 error", "alignment check", "machine check"};

void irq_unmask(int irq)
{
    irq_mask &= ~(1u << irq);
    priv_outb(0x21, irq_mask & 0xFF);
    priv_outb(0xA1, irq_mask >> 8);
}

void trap_init(void)
{
    priv_outb(0x20, 0x11); priv_outb(0xA0, 0x11);    /* ICW1: edge, cascade, ICW4 */
    priv_outb(0x21, 0x20); priv_outb(0xA1, 0x28);    /* ICW2: vector bases */
    priv_outb(0x21, 0x04); priv_outb(0xA1, 0x02);    /* ICW3 */
    priv_outb(0x21, 0x01); priv_outb(0xA1, 0x01);    /* ICW4: 8086 mode */
    priv_outb(0x21, irq_mask & 0xFF);
    priv_outb(0xA1, irq_mask >> 8);
    u32 div = PIT_DIV;
    priv_outb(0x43, 0x34);                           /* channel 0, lo/hi, rate generator */
    priv_outb(0x40, div & 0xFF);
    priv_outb(0x40, div >> 8);
}

static void dump(struct trapframe *f)
{
    kprintf("EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", f->eax, f->ebx, f->ecx, f->edx);
    kprintf("ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", f->esi, f->edi, f->ebp,
            (f->cs & 3) ? f->esp : f->esp0 + 20);
    kprintf("EIP=%08x CS=%04x EFLAGS=%08x DS=%04x ES=%04x\n", f->eip, f->cs, f->eflags,
            f->ds, f->es);
    kprintf("CR0=%08x CR2=%08x CR3=%08x vector=%u error=%08x\n", priv_read_cr0(),
            priv_read_cr2(), priv_read_cr3(), f->vector, f->err);
}

static struct trapframe *panic_frame;

void panic(const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    priv_cli();
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kprintf("\nKERNEL PANIC: %s\n", buf);
    if (panic_frame) dump(panic_frame);
    kprintf("System halted.\n");
    priv_halt_forever();
}

/* microseconds since boot: the tick count and PIT channel 0's current count */
u32 time_us(void)
{
    u32 fl = priv_irq_save();
    priv_outb(0x43, 0x00);                           /* latch channel 0 */
    u32 c = priv_inb(0x40);
    c |= priv_inb(0x40) << 8;
    u32 t = ticks;
    priv_outb(0x20, 0x0A);                           /* IRR: a wrap not yet counted? */
    if ((priv_inb(0x20) & 1) && c > PIT_DIV / 2) t++;
    priv_irq_restore(fl);
    return t * (1000000 / HZ) + (PIT_DIV - c) * 1000 / 1193;
}

struct trapframe *trap(struct trapframe *f)
{
    u32 v = f->vector;
    if (v < 32) {
        const char *what = v < sizeof names / sizeof *names ? names[v] : "exception";
        if ((f->cs & 3) == 3) {
            if (proc_fault(f, what)) return f;          /* demand-zero page or user handler */
            return schedule(f);
        }
        panic_frame = f;
        panic("%s in the kernel", what);
    }
    if (v == 0x80)
        return syscall(f);
    if (v >= 32 && v < 48) {
        int irq = v - 32;
        if (irq == 7) {                               /* spurious unless in the ISR */
            priv_outb(0x20, 0x0B);
            if (!(priv_inb(0x20) & 0x80)) return f;
        }
        if (irq == 15) {                              /* the slave's: the master saw IRQ 2 */
            priv_outb(0xA0, 0x0B);
            if (!(priv_inb(0xA0) & 0x80)) { priv_outb(0x20, 0x20); return f; }
        }
        if (irq >= 8) priv_outb(0xA0, 0x20);
        priv_outb(0x20, 0x20);
        if (irq == 0) {
            ticks++;
            console_tick();
            proc_tick();
            return schedule(f);
        }
        if (irq == 1) kbd_irq();
        if (irq == 4) serial_irq();
        return proc_interrupted(f);     /* Ctrl-C may have ended the interrupted process */
    }
    panic_frame = f;
    panic("unexpected vector %u", v);
}
