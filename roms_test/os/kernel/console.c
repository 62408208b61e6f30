/* Consoles: VGA text at B8000 (scrolling, CRTC cursor), COM1 16550 at 3F8h
 * (output polled, input on IRQ 4) and the PS/2 keyboard on IRQ 1 (set 1
 * scan codes, as the 8042 translates them).  Output goes to both; input from
 * either lands in one line buffer. */
#include "kernel.h"
#include "arch/priv.h"

#define COM1 0x3F8
static u16 *const vga = (u16 *)0xB8000;
static int row, col;
static const u8 attr = 0x07;

static void vga_cursor(void)
{
    u32 pos = row * 80 + col;
    priv_outb(0x3D4, 0x0E); priv_outb(0x3D5, pos >> 8);
    priv_outb(0x3D4, 0x0F); priv_outb(0x3D5, pos & 0xFF);
}

static void vga_putc(char c)
{
    if (c == '\n') col = 0, row++;
    else if (c == '\r') col = 0;
    else if (c == '\b') { if (col) col--; vga[row * 80 + col] = attr << 8 | ' '; }
    else if (c == '\t') col = (col + 8) & ~7;
    else vga[row * 80 + col++] = attr << 8 | (u8)c;
    if (col >= 80) col = 0, row++;
    if (row >= 25) {
        memmove(vga, vga + 80, 24 * 80 * 2);
        for (int i = 0; i < 80; i++) vga[24 * 80 + i] = attr << 8 | ' ';
        row = 24;
    }
}

static void input_byte(char c);
static volatile int ctrl_c;          /* seen while sending: the next tick acts on it */

/* waits for room in the transmitter, taking received bytes meanwhile: with
 * interrupts off a long output would otherwise overrun the receive FIFO */
static void serial_putc(char c)
{
    for (int i = 0; i < 100000; i++) {
        u32 lsr = priv_inb(COM1 + 5);
        if (lsr & 1) {
            char r = (char)priv_inb(COM1);
            if (r == 3) ctrl_c = 1;
            else input_byte(r);
        }
        if (lsr & 0x20) break;
    }
    priv_outb(COM1, (u8)c);
}

void console_tick(void)
{
    if (ctrl_c) {
        ctrl_c = 0;
        console_input(3);
    }
}

void console_init(void)
{
    for (int i = 0; i < 80 * 25; i++) vga[i] = attr << 8 | ' ';
    row = col = 0;
    vga_cursor();
    priv_outb(COM1 + 1, 0);          /* IER off while programming */
    priv_outb(COM1 + 3, 0x80);       /* DLAB */
    priv_outb(COM1 + 0, 1);          /* 115200 baud */
    priv_outb(COM1 + 1, 0);
    priv_outb(COM1 + 3, 0x03);       /* 8N1 */
    priv_outb(COM1 + 2, 0x05);       /* FIFOs on, trigger 1; keeps bytes typed during boot */
    priv_outb(COM1 + 4, 0x0B);       /* DTR RTS OUT2 (the IRQ gate) */
    priv_outb(COM1 + 1, 0x01);       /* received-data interrupt */
}

void console_putc(char c)
{
    u32 fl = priv_irq_save();
    if (c == '\n') serial_putc('\r');
    serial_putc(c);
    vga_putc(c);
    vga_cursor();
    priv_irq_restore(fl);
}

void console_write(const char *s, size_t n)
{
    while (n--) console_putc(*s++);
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    console_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---- input ---- */
static char inbuf[256];
static u32 in_head, in_tail;

void console_input(char c)
{
    if (c == 3 && proc_interrupt()) return;     /* Ctrl-C ended the foreground program */
    input_byte(c);
}

static void input_byte(char c)
{
    if (c == '\r') c = '\n';
    if (c == 0x7F) c = '\b';
    if (in_head - in_tail < sizeof inbuf)
        inbuf[in_head++ % sizeof inbuf] = c;
    proc_wakeup_input();
}

int console_getc(void)
{
    if (in_tail == in_head) return -1;
    return (u8)inbuf[in_tail++ % sizeof inbuf];
}

void serial_irq(void)
{
    while (priv_inb(COM1 + 5) & 1)
        console_input((char)priv_inb(COM1));
}

static const char keymap[] =
    "\0\0331234567890-=\b\tqwertyuiop[]\n\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
static const char keymap_shift[] =
    "\0\033!@#$%^&*()_+\b\tQWERTYUIOP{}\n\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";
static int shift, ctrl, e0;

void kbd_irq(void)
{
    u8 sc = priv_inb(0x60);
    if (sc == 0xE0) { e0 = 1; return; }
    int up = sc & 0x80, code = sc & 0x7F;
    int ext = e0;
    e0 = 0;
    if (code == 0x2A || code == 0x36) { shift = !up; return; }
    if (code == 0x1D) { ctrl = !up; return; }
    if (up || ext || code >= (int)sizeof keymap - 1) return;
    char c = (shift ? keymap_shift : keymap)[code];
    if (!c) return;
    if (ctrl && c >= 'a' && c <= 'z') c -= 'a' - 1;
    console_input(c);
}
