/* The privileged-operations layer, C half: the GDT (ring 0 and ring 3 flat
 * segments and the TSS), the IDT, TSS.ESP0, page-table entry writes and CR3. */
#include "priv.h"

static u64 gdt[6];
static u64 idt[256];
static struct { u32 link, esp0, ss0, rest[23]; u16 trap, iomap; } __attribute__((packed)) tss;
static struct { u16 limit; u32 base; } __attribute__((packed)) gdtr, idtr;
extern u32 priv_stubs[49];

static u64 seg(u32 base, u32 limit, u32 access, u32 flags)
{
    return (limit & 0xFFFF) | (u64)(base & 0xFFFFFF) << 16 | (u64)access << 40 |
           (u64)((limit >> 16) & 0xF) << 48 | (u64)flags << 52 | (u64)(base >> 24) << 56;
}

static u64 gate(u32 off, u32 dpl)             /* 32-bit interrupt gate */
{
    return (off & 0xFFFF) | (u64)SEL_KCODE << 16 | (u64)(0x8E | dpl << 5) << 40 |
           (u64)(off >> 16) << 48;
}

u32 cpu_features;

void priv_init(void)
{
    cpu_features = priv_detect();
    gdt[1] = seg(0, 0xFFFFF, 0x9A, 0xC);     /* kernel code */
    gdt[2] = seg(0, 0xFFFFF, 0x92, 0xC);     /* kernel data */
    gdt[3] = seg(0, 0xFFFFF, 0xFA, 0xC);     /* user code, DPL 3 */
    gdt[4] = seg(0, 0xFFFFF, 0xF2, 0xC);     /* user data */
    tss.ss0 = SEL_KDATA;
    tss.iomap = sizeof tss;                  /* no I/O bitmap: ring 3 has no ports */
    gdt[5] = seg((u32)&tss, sizeof tss - 1, 0x89, 0);
    gdtr.limit = sizeof gdt - 1;
    gdtr.base = (u32)gdt;
    priv_lgdt(&gdtr);
    priv_ltr(SEL_TSS);
    for (int i = 0; i < 48; i++)
        idt[i] = gate(priv_stubs[i], i == 3 ? 3 : 0);
    idt[0x80] = gate(priv_stubs[48], 3);     /* system calls from ring 3 */
    idtr.limit = sizeof idt - 1;
    idtr.base = (u32)idt;
    priv_lidt(&idtr);
}

void priv_set_kernel_stack(u32 esp0) { tss.esp0 = esp0; }

void priv_set_pte(u32 *entry, u32 v, u32 va)
{
    u32 old = *entry;
    *entry = v;
    if (old & PTE_P)                         /* a cached translation may exist */
        priv_invlpg(va);
}

void priv_switch_pd(u32 *pd) { priv_write_cr3((u32)pd); }

void priv_enable_paging(u32 *pd)
{
    priv_write_cr3((u32)pd);
    priv_write_cr0(priv_read_cr0() | 0x80000000u);
}
