/* The privileged-operations layer, paravirtual build, C half (docs/pv-abi.md).
 * The kernel runs at ring 1 on emu's VMM (--mode pv):
 *  - the interrupt flag is the shared info page's upcall_mask (no exit);
 *  - page-table entries are written by the kernel itself and reported in
 *    batches (HC_MMU_UPDATE), with CR3 loads and the kernel stack;
 *  - GDT entries and the trap table are set by hypercall;
 *  - the drivers' port accesses are served here, as the frontends of the
 *    paravirtual devices: COM1 is a console ring, the ATA disk a block ring,
 *    the PIC the event-channel masks, the PIT the VMM's timer and the TSC.
 * A hypercall is an exit; everything else in this file runs without one. */
#include "../arch/priv.h"
#include "pv.h"

int pv_hypercall(u32 nr, u32 a, u32 b, u32 c, u32 d);
u64 pv_rdtsc(void);
void pv_load_segments(void);
extern u32 priv_stubs[49];
struct trapframe *trap(struct trapframe *f);

struct pv_shared pv_shared __attribute__((aligned(4096)));
static struct pv_console cons __attribute__((aligned(4096)));
static struct pv_block blk __attribute__((aligned(4096)));
static u8 blkdata[BLK_SLOTS][512] __attribute__((aligned(4096)));
static int ready;
u32 cpu_features;

#define HC(nr, a, b, c, d) pv_hypercall(nr, (u32)(a), (u32)(b), (u32)(c), (u32)(d))

/* ---- start: the shared page and the rings, before the first console byte ---- */
static void pv_setup(void)
{
    ready = 1;
    if (HC(HC_SET_SHARED, &pv_shared, 0, 0, 0) < 0) priv_halt_forever();
    pv_shared.upcall_mask = 1;
    pv_shared.evtchn_mask = ~0u;
    HC(HC_SET_RING, PORT_CONSOLE, &cons, 0, 0);
    HC(HC_SET_RING, PORT_BLOCK, &blk, 0, 0);
    HC(HC_EVTCHN_BIND, PORT_TIMER, 0x20, 0, 0);     /* the vectors of IRQ 0 and 4 */
    HC(HC_EVTCHN_BIND, PORT_CONSOLE, 0x24, 0, 0);
    cpu_features = pv_shared.features;
}
#define SETUP() do { if (!ready) pv_setup(); } while (0)

/* ---- the virtual interrupt flag ---- */
static void pending_check(void)
{
    if (pv_shared.upcall_pending) HC(HC_SCHED_OP, SCHEDOP_NONE, 0, 0, 0);
}
void priv_cli(void) { pv_shared.upcall_mask = 1; }
void priv_sti(void) { pv_shared.upcall_mask = 0; pending_check(); }
u32 priv_irq_save(void)
{
    u32 was = pv_shared.upcall_mask ? 0 : 0x200;
    pv_shared.upcall_mask = 1;
    return was;
}
void priv_irq_restore(u32 flags) { if (flags & 0x200) priv_sti(); else priv_cli(); }

/* ---- the mmu batch: entries the kernel wrote, CR3, the kernel stack ---- */
#define MMU_MAX 128
static struct { u32 ptr, val; } mmu[MMU_MAX];
static u32 nmmu, cur_cr3, cur_esp0, paging;

static void mmu_flush(void)
{
    if (!nmmu) return;
    int r = HC(HC_MMU_UPDATE, mmu, nmmu, 0, 0);
    if (r < 0) panic("mmu_update: error %d", r);
    nmmu = 0;
}
static void mmu_req(u32 ptr, u32 val)
{
    if (nmmu == MMU_MAX) mmu_flush();
    mmu[nmmu].ptr = ptr;
    mmu[nmmu++].val = val;
}

/* the kernel maps its first 16 MiB 1:1, so a table's address is its guest-physical one */
void priv_set_pte(u32 *entry, u32 v, u32 va) { *entry = v; mmu_req((u32)entry | MMU_PT_UPDATE, v); }
void priv_invlpg(u32 va) { mmu_req(MMU_INVLPG, va); }
void priv_switch_pd(u32 *pd)
{
    cur_cr3 = (u32)pd;
    mmu_req(MMU_NEW_BASEPTR, (u32)pd);
    mmu_flush();
}
void priv_enable_paging(u32 *pd) { paging = 1; priv_switch_pd(pd); }
void priv_set_kernel_stack(u32 esp0)
{
    if (esp0 != cur_esp0) mmu_req(MMU_STACK_SWITCH, esp0);
    cur_esp0 = esp0;
}
/* on the way out of every trap: what the next user instruction relies on */
void pv_leave(void) { mmu_flush(); }

u32 priv_read_cr0(void) { return 0x11 | (paging ? 0x80000000u : 0); }
u32 priv_read_cr2(void) { return pv_shared.cr2; }
u32 priv_read_cr3(void) { return cur_cr3; }
void priv_write_cr0(u32 v) { }
void priv_write_cr3(u32 v) { priv_switch_pd((u32 *)v); }
u32 priv_detect(void) { SETUP(); return pv_shared.features; }

/* ---- idle and halt ---- */
void priv_idle(void)
{
    mmu_flush();
    HC(HC_SCHED_OP, SCHEDOP_BLOCK, 0, 0, 0);   /* like STI; HLT: an event enters at its vector */
}
void priv_halt_forever(void)
{
    for (;;) {
        pv_shared.upcall_mask = 1;
        HC(HC_SCHED_OP, SCHEDOP_SHUTDOWN, 0, 0, 0);
    }
}

/* ---- events: the return path takes one that waited for the virtual IF ---- */
static u8 vectors[32] = {0x20, 0x24, 0x2E};
struct trapframe *pv_event(struct trapframe *f)
{
    u32 bits = pv_shared.evtchn_pending & ~pv_shared.evtchn_mask, p = 0;
    if (bits) {
        while (!(bits & (1u << p))) p++;
        __atomic_and_fetch(&pv_shared.evtchn_pending, ~(1u << p), __ATOMIC_SEQ_CST);
    }
    pv_shared.upcall_pending = (pv_shared.evtchn_pending & ~pv_shared.evtchn_mask) != 0;
    if (!bits) return f;
    f->vector = vectors[p];
    f->err = 0;
    return trap(f);
}

/* ---- descriptors and the trap table ---- */
static u32 seg_hi(u32 access, u32 flags) { return 0x000F0000 | access << 8 | flags << 20; }

static int selftest(void);

void priv_init(void)
{
    SETUP();
    /* the GDT as the native kernel has it, its ring-0 entries at ring 1 */
    HC(HC_UPDATE_DESC, 0, 1, 0xFFFF, seg_hi(0xBA, 0xC));    /* kernel code, DPL 1 */
    HC(HC_UPDATE_DESC, 0, 2, 0xFFFF, seg_hi(0xB2, 0xC));    /* kernel data, DPL 1 */
    HC(HC_UPDATE_DESC, 0, 3, 0xFFFF, seg_hi(0xFA, 0xC));    /* user code, DPL 3 */
    HC(HC_UPDATE_DESC, 0, 4, 0xFFFF, seg_hi(0xF2, 0xC));    /* user data */
    pv_load_segments();
    static struct pv_trap t[50];
    for (int i = 0; i < 48; i++) {
        t[i].vector = i;
        t[i].flags = (i == 3 ? 3 : 1) | 4;
        t[i].cs = PV_KCODE;
        t[i].eip = priv_stubs[i];
    }
    t[48] = (struct pv_trap){0x80, 3 | 4, PV_KCODE, priv_stubs[48]};  /* system calls */
    t[49].eip = 0;
    if (HC(HC_SET_TRAP_TABLE, t, 0, 0, 0) < 0) priv_halt_forever();
    int n = selftest();
    if (n > 0)
        kprintf("pv: ring 1 on emu's VMM, ABI %d; %d hostile hypercalls refused\n",
                HC(HC_VERSION, 0, 0, 0, 0), n);
    else
        kprintf("pv: SELFTEST FAILED: hostile hypercall %d was not refused\n", -n);
}

/* hypercalls a hostile kernel might make: each must fail with its errno and
 * change nothing (the number of checks, or -n: check n was not refused) */
static int selftest(void)
{
    static struct { u32 ptr, val; } r[2];
    static struct pv_trap t[2];
    int n = 0;
#define EXPECT(call, err) do { n++; if ((call) != -(err)) return -n; } while (0)
    EXPECT(HC(99, 0, 0, 0, 0), ENOSYS);                          /* no such hypercall */
    EXPECT(HC(-1, 0, 0, 0, 0), ENOSYS);
    r[0].ptr = 0xFFFF0000u; r[0].val = 0;                        /* an entry outside its RAM */
    EXPECT(HC(HC_MMU_UPDATE, r, 1, 0, 0), EFAULT);
    r[0].ptr = (u32)&mmu[0]; r[0].val = 0xF0000000u | 7;         /* a frame outside its RAM */
    EXPECT(HC(HC_MMU_UPDATE, r, 1, 0, 0), EINVAL);
    EXPECT(HC(HC_MMU_UPDATE, 0xFFC00000u, 1, 0, 0), EFAULT);     /* the request list in the VMM's area */
    r[0].ptr = MMU_NEW_BASEPTR; r[0].val = 0xFFFFF000u;          /* a directory outside its RAM */
    EXPECT(HC(HC_MMU_UPDATE, r, 1, 0, 0), EFAULT);
    EXPECT(HC(HC_UPDATE_DESC, 0, 1, 0xFFFF, seg_hi(0x9A, 0xC)), EINVAL);  /* a ring-0 segment */
    EXPECT(HC(HC_UPDATE_DESC, 0, 5, 0x0068, 0x00008900), EINVAL);       /* a TSS */
    EXPECT(HC(HC_UPDATE_DESC, 0, 5000, 0xFFFF, seg_hi(0xB2, 0xC)), EINVAL); /* past the GDT */
    EXPECT(HC(HC_UPDATE_DESC, 0, 6, 0, 0xFF40B2C0u), EINVAL);      /* based in the VMM's area */
    t[0] = (struct pv_trap){14, 1, 0x08, priv_stubs[14]};         /* a ring-0 handler */
    EXPECT(HC(HC_SET_TRAP_TABLE, t, 0, 0, 0), EINVAL);
    EXPECT(HC(HC_STACK_SWITCH, 0x10, 0x1000, 0, 0), EINVAL);      /* a ring-0 stack */
    EXPECT(HC(HC_SET_RING, PORT_CONSOLE, 0x7FFFF000u, 0, 0), EFAULT); /* a ring outside its RAM */
    EXPECT(HC(HC_PORT_IO, 0x92, 1 | 0x100, 1, 0), EPERM);         /* a reset through port 92h */
#undef EXPECT
    return n;
}

/* ---- the frontends behind the drivers' port accesses ---- */
#define COM1 0x3F8
static u32 irq_mask = 0xFFFB, pit_lo, pit_phase, ocw3 = 0x0A, lcr;

static void cons_put(u8 c)
{
    SETUP();
    if (cons.out_prod - cons.out_cons >= CONS_OUT)
        HC(HC_EVTCHN_SEND, PORT_CONSOLE, 0, 0, 0);               /* full: the VMM drains it */
    cons.out[cons.out_prod % CONS_OUT] = c;
    cons.out_prod++;
}

static void set_masks(void)
{
    u32 m = ~0u;
    if (!(irq_mask & 1)) m &= ~(1u << PORT_TIMER);
    if (!(irq_mask & 0x10)) m &= ~(1u << PORT_CONSOLE);
    pv_shared.evtchn_mask = m;
    pv_shared.upcall_pending = (pv_shared.evtchn_pending & ~m) != 0;
}

/* microseconds since the last timer event, from the TSC */
static u32 since_tick(void)
{
    u32 d = (u32)pv_rdtsc() - pv_shared.tick_tsc_lo;
    return (u32)(((u64)d * pv_shared.tsc_mul) >> 32);
}

/* the ATA task file as the driver writes it, served from the block ring */
static u32 ata_reg[8], ata_status = 0x50, ra_base = ~0u, ra_ok, wpend;
static u8 wbuf[512];
static const u8 *ata_data;

static void blk_submit(u32 n)
{
    blk.req_prod += n;
    HC(HC_EVTCHN_SEND, PORT_BLOCK, 0, 0, 0);                     /* one notification a batch */
    while (blk.rsp_prod != blk.req_prod)
        HC(HC_SCHED_OP, SCHEDOP_YIELD, 0, 0, 0);
    __atomic_and_fetch(&pv_shared.evtchn_pending, ~(1u << PORT_BLOCK), __ATOMIC_SEQ_CST);
}

static void blk_req(u32 i, u32 op, u32 sector, const void *data)
{
    struct pv_blkreq *q = &blk.req[(blk.req_prod + i) % BLK_SLOTS];
    q->op = op;
    q->sector = sector;
    q->gpa = (u32)data;
    q->status = 1;
}

static void ata_command(u32 cmd)
{
    SETUP();
    u32 lba = ata_reg[3] | ata_reg[4] << 8 | ata_reg[5] << 16 | (ata_reg[6] & 0xF) << 24;
    if (cmd == 0x20) {                                   /* READ SECTORS: read ahead a batch */
        if (lba - ra_base >= BLK_SLOTS || !(ra_ok & 1u << (lba - ra_base))) {
            for (u32 i = 0; i < BLK_SLOTS; i++) blk_req(i, BLK_READ, lba + i, blkdata[i]);
            u32 first = blk.req_prod;
            blk_submit(BLK_SLOTS);
            ra_base = lba;
            ra_ok = 0;
            for (u32 i = 0; i < BLK_SLOTS; i++)
                if (blk.req[(first + i) % BLK_SLOTS].status == 0) ra_ok |= 1u << i;
        }
        if (ra_ok & 1u << (lba - ra_base)) {
            ata_data = blkdata[lba - ra_base];
            ata_status = 0x58;                           /* DRDY DSC DRQ */
        } else
            ata_status = 0x51;                           /* ERR */
    } else if (cmd == 0x30) {                            /* WRITE SECTORS: data, then a request */
        ata_status = 0x58;
    } else if (cmd == 0xE7) {                            /* FLUSH CACHE: the batch goes now */
        blk_req(wpend, BLK_FLUSH, 0, 0);
        u32 first = blk.req_prod, n = wpend + 1;
        blk_submit(n);
        wpend = 0;
        ata_status = 0x50;
        for (u32 i = 0; i < n; i++)
            if (blk.req[(first + i) % BLK_SLOTS].status) ata_status = 0x51;
    } else
        ata_status = 0x51;
}

/* a written sector waits in the ring for the FLUSH CACHE that follows it */

static void ata_wrote(void)
{
    u32 lba = ata_reg[3] | ata_reg[4] << 8 | ata_reg[5] << 16 | (ata_reg[6] & 0xF) << 24;
    if (wpend) ata_command(0xE7);
    blk_req(0, BLK_WRITE, lba, wbuf);
    wpend = 1;
    ata_status = 0x50;
    if (lba - ra_base < BLK_SLOTS) ra_ok &= ~(1u << (lba - ra_base));   /* a stale read-ahead */
}

u32 priv_inb(u32 port)
{
    if (port == COM1 + 5) {                              /* LSR: THR empty; data if any came */
        SETUP();
        return 0x60 | (cons.in_prod != cons.in_cons);
    }
    if (port == COM1) {
        if (cons.in_prod == cons.in_cons) return 0;
        u8 c = cons.in[cons.in_cons % CONS_IN];
        cons.in_cons++;
        return c;
    }
    if (port == 0x1F7 || port == 0x3F6) return ata_status;
    if (port >= 0x1F1 && port <= 0x1F6) return ata_reg[port - 0x1F0];
    if (port == 0x40) {                                  /* the latched count, from the TSC */
        u32 us = since_tick();
        if (us > 1000000 / HZ - 1) us = 1000000 / HZ - 1;
        u32 c = PIT_DIV - us * 1193 / 1000;
        return (pit_phase ^= 1) ? c & 0xFF : c >> 8;
    }
    if (port == 0x20)                                    /* IRR (timer event pending) or ISR */
        return ocw3 == 0x0A ? (pv_shared.evtchn_pending & 1) : 0;
    if (port == 0x21) return irq_mask & 0xFF;
    if (port == 0xA1) return irq_mask >> 8;
    if (port == 0x61 || port == 0x80) return (u32)HC(HC_PORT_IO, port, 1, 0, 0) & 0xFF;
    return 0xFF;                                         /* nothing there */
}

void priv_outb(u32 port, u32 v)
{
    v &= 0xFF;
    if (port == COM1) {
        if (!(lcr & 0x80)) cons_put(v);
    } else if (port == COM1 + 3) lcr = v;
    else if (port >= 0x1F1 && port <= 0x1F6) ata_reg[port - 0x1F0] = v;
    else if (port == 0x1F7) ata_command(v);
    else if (port == 0x21) { irq_mask = (irq_mask & 0xFF00) | v; set_masks(); }
    else if (port == 0xA1) { irq_mask = (irq_mask & 0xFF) | v << 8; set_masks(); }
    else if (port == 0x20 || port == 0xA0) { if (v == 0x0A || v == 0x0B) ocw3 = v; }
    else if (port == 0x43) pit_phase = 0;                /* a mode or a latch command */
    else if (port == 0x40) {                             /* the divisor, low then high */
        if ((pit_phase ^= 1)) pit_lo = v;
        else {
            SETUP();
            HC(HC_SET_TIMER, (pit_lo | v << 8) * 1000 / 1193, 0, 0, 0);
        }
    } else if (port == 0x61 || port == 0x80) HC(HC_PORT_IO, port, 1 | 0x100, v, 0);
    /* the VGA's CRTC (the cursor), the UART's set-up, the ATA's control: no device behind */
}

u32 priv_inw(u32 port) { return priv_inb(port); }
u32 priv_inl(u32 port) { return priv_inb(port); }
void priv_outw(u32 port, u32 v) { priv_outb(port, v); }
void priv_outl(u32 port, u32 v) { priv_outb(port, v); }

void priv_insw(u32 port, void *buf, u32 count)
{
    if (port == 0x1F0 && ata_status == 0x58 && ata_data && count <= 256) {
        memcpy(buf, ata_data, count * 2);
        ata_status = 0x50;
    } else
        memset(buf, 0xFF, count * 2);
}

void priv_outsw(u32 port, const void *buf, u32 count)
{
    if (port == 0x1F0 && ata_status == 0x58 && count <= 256) {
        memcpy(wbuf, buf, count * 2);
        ata_wrote();
    }
}

/* the native layer's table loads have no paravirtual meaning */
void priv_lgdt(const void *gdtr) { }
void priv_lidt(const void *idtr) { }
void priv_ltr(u32 sel) { }
