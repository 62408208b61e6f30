/* The privileged-operations layer: the only way the rest of the kernel reaches
 * privileged or sensitive instructions and structures (see priv.asm). */
#ifndef PRIV_H
#define PRIV_H
#include "../kernel.h"
void priv_cli(void);
void priv_sti(void);
u32 priv_irq_save(void);
void priv_irq_restore(u32 flags);
void priv_idle(void);
void priv_halt_forever(void) __attribute__((noreturn));
void priv_lgdt(const void *gdtr);
void priv_lidt(const void *idtr);
void priv_ltr(u32 sel);
u32 priv_read_cr0(void);
u32 priv_read_cr2(void);
u32 priv_read_cr3(void);
void priv_write_cr0(u32 v);
void priv_write_cr3(u32 v);
void priv_invlpg(u32 va);
u32 priv_detect(void);                /* bit 0 INVLPG, 1 CPUID, 2 TSC */
u32 priv_inb(u32 port);
u32 priv_inw(u32 port);
u32 priv_inl(u32 port);
void priv_outb(u32 port, u32 v);
void priv_outw(u32 port, u32 v);
void priv_outl(u32 port, u32 v);
void priv_insw(u32 port, void *buf, u32 count);
void priv_outsw(u32 port, const void *buf, u32 count);
void priv_resume(struct trapframe *f) __attribute__((noreturn));

/* priv.c */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
#define SEL_TSS   0x28
void priv_init(void);                 /* GDT, TSS, IDT */
void priv_set_kernel_stack(u32 esp0); /* TSS.ESP0 on a context switch */
void priv_set_pte(u32 *entry, u32 v, u32 va); /* every page-table/directory entry write */
void priv_switch_pd(u32 *pd);         /* CR3 */
void priv_enable_paging(u32 *pd);
#endif
