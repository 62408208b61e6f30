/* The paravirtual ABI of emu's VMM (--mode pv; docs/pv-abi.md): the hypercall
 * numbers, the shared info page and the two device rings.  Mirrored by
 * emu/vmm/pv_abi.py. */
#ifndef PV_H
#define PV_H
#include "../kernel.h"

#define PV_VERSION 1
/* hypercall: int 0x82, EAX = number, EBX ECX EDX ESI = arguments, EAX = result
 * (>= 0, or a negative errno) */
#define HC_SET_SHARED     0   /* (gpa): the shared info page */
#define HC_MMU_UPDATE     1   /* (va of reqs, count): a batch of mmu requests */
#define HC_STACK_SWITCH   2   /* (ss, esp): the stack ring-3 traps switch to */
#define HC_SET_TRAP_TABLE 3   /* (va of struct pv_trap[], ended by eip 0) */
#define HC_UPDATE_DESC    4   /* (table 0 GDT / 1 LDT, index, low, high) */
#define HC_SET_LDT        5   /* (entries): LDTR -> the LDT of HC_UPDATE_DESC table 1 */
#define HC_SCHED_OP       6   /* (op, arg) */
#define HC_EVTCHN_SEND    7   /* (port): notify the backend of a channel */
#define HC_SET_RING       8   /* (port, gpa): the ring page of a device channel */
#define HC_SET_TIMER      9   /* (period in us, 0 off): periodic events on channel 0 */
#define HC_EVTCHN_BIND   10   /* (port, vector): the guest vector a channel's event enters at */
#define HC_PORT_IO       11   /* (port, size | 0x100 write, value): the legacy ports 61h, 80h */
#define HC_VERSION       12   /* () -> PV_VERSION */

#define SCHEDOP_YIELD 0       /* give up the rest of the slice */
#define SCHEDOP_BLOCK 1       /* unmask events, sleep until one is pending */
#define SCHEDOP_SHUTDOWN 2    /* stop for good (events stay masked) */
#define SCHEDOP_NONE 3        /* nothing: a pending event is delivered on the way back */

#define MMU_PT_UPDATE 0       /* ptr = gpa of the entry the guest wrote, val = its value */
#define MMU_NEW_BASEPTR 1     /* val = gpa of the page directory to run on (CR3) */
#define MMU_INVLPG 2          /* val = va: drop a cached translation */
#define MMU_STACK_SWITCH 3    /* val = esp (ss: the ring-1 data selector) */

#define EPERM 1
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38

#define PORT_TIMER 0
#define PORT_CONSOLE 1
#define PORT_BLOCK 2

/* selectors of the GDT the VMM starts the kernel with */
#define PV_KCODE 0x09
#define PV_KDATA 0x11

struct pv_shared {                /* one page, registered with HC_SET_SHARED */
    volatile u8 upcall_mask;      /* the virtual IF: 1 = events off (CLI) */
    volatile u8 upcall_pending;   /* a channel is pending and not masked */
    u8 pad[2];
    volatile u32 evtchn_pending;  /* bit per channel */
    volatile u32 evtchn_mask;     /* bit per channel: 1 masked */
    volatile u32 cr2;             /* address of the last page fault delivered */
    volatile u32 tick_tsc_lo, tick_tsc_hi;   /* TSC at the last timer event */
    u32 tsc_mul;                  /* microseconds = (TSC delta * tsc_mul) >> 32 */
    u32 features;                 /* bit 0 INVLPG, 1 CPUID, 2 TSC (as priv_detect) */
    u32 version;
};

struct pv_trap { u8 vector, flags; u16 cs; u32 eip; };  /* flags: DPL | 4 mask events */

#define CONS_OUT 2048
#define CONS_IN 1024
struct pv_console {               /* a page: output and input byte rings */
    volatile u32 out_prod, out_cons, in_prod, in_cons;
    u8 pad[48];
    volatile u8 out[CONS_OUT];
    volatile u8 in[CONS_IN];
};

#define BLK_SLOTS 8
#define BLK_READ 1
#define BLK_WRITE 2
#define BLK_FLUSH 3
struct pv_blkreq { u32 op, sector, gpa; volatile int status; };
struct pv_block {                 /* a page: requests, their status written back */
    volatile u32 req_prod, rsp_prod;
    u32 pad[2];
    struct pv_blkreq req[BLK_SLOTS];
};
#endif
