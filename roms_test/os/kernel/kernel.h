/* Shared kernel declarations. */
#ifndef KERNEL_H
#define KERNEL_H
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned int size_t;
#define NULL ((void *)0)
typedef __builtin_va_list va_list;
#define va_start __builtin_va_start
#define va_arg __builtin_va_arg
#define va_end __builtin_va_end

/* the frame the trap stubs (arch/priv.asm) build */
struct trapframe {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp0, ebx, edx, ecx, eax;   /* PUSHAD */
    u32 vector, err;
    u32 eip, cs, eflags;
    u32 esp, ss;                                   /* only from ring 3 */
};

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...);
struct sbuf { char *p; u32 n, max; };      /* text built into a (user) buffer */
void sbprintf(struct sbuf *b, const char *fmt, ...);

/* console.c */
void console_init(void);
void console_putc(char c);
void console_write(const char *s, size_t n);
void kprintf(const char *fmt, ...);
void console_input(char c);          /* a byte typed on either console */
void console_tick(void);             /* per PIT tick: a Ctrl-C seen while sending */
int console_getc(void);              /* -1 when nothing is waiting */
void kbd_irq(void);
void serial_irq(void);

/* trap.c */
void trap_init(void);
struct trapframe *trap(struct trapframe *f);
void panic(const char *fmt, ...) __attribute__((noreturn));
void irq_unmask(int irq);
extern volatile u32 ticks;
#define HZ 100
#define PIT_DIV (1193182 / HZ)
u32 time_us(void);

extern u32 cpu_features;              /* priv.c: bit 0 INVLPG, 1 CPUID, 2 TSC */

/* mm.c */
#define PAGE 4096
#define KERNEL_MAP (16u << 20)        /* identity-mapped, supervisor, in every address space */
#define USER_BASE 0x40000000u
#define USER_STACK_TOP 0x80000000u
#define PTE_P 1
#define PTE_W 2
#define PTE_U 4
#define PTE_COW 0x200                 /* an available bit: shared until written */
void mm_init(u32 bootinfo);
u32 page_alloc(void);                 /* a zeroed physical page, 0 if none */
void page_free(u32 pa);
u32 pages_free(void);
u32 *pd_create(void);
void pd_destroy(u32 *pd);
int pd_map(u32 *pd, u32 va, u32 pa, u32 flags);
u32 pd_lookup(u32 *pd, u32 va);       /* PTE value or 0 */
u32 *pd_fork(u32 *pd);
int cow_fault(u32 *pd, u32 va);
void mm_print(struct sbuf *b);
extern u32 *kernel_pd;

/* proc.c */
void proc_init(void);
int proc_spawn(const char *name, int parent, const char *arg);
struct trapframe *schedule(struct trapframe *f);
struct trapframe *syscall(struct trapframe *f);
int proc_fault(struct trapframe *f, const char *what);   /* 1: resume the frame */
int proc_current(void);
void proc_wakeup_input(void);
void proc_tick(void);
int proc_interrupt(void);             /* Ctrl-C: end the foreground program; 1 if one was */
struct trapframe *proc_interrupted(struct trapframe *f);

/* fs.c */
#define FS_NAME 24
#define FS_MAX (28 * 512)
void fs_init(void);
int fs_read(const char *name, void *buf, u32 max);
int fs_write(const char *name, const void *buf, u32 len);
int fs_remove(const char *name);
int fs_list(struct sbuf *b);

/* progs.asm: the user programs built into the kernel */
struct prog { const char *name; const u8 *start; const u8 *end; };
extern const struct prog progs[];
#endif
