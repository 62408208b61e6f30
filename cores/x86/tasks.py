"""Hardware task switching (Intel SDM vol. 3, 7.3) and the TSS.

A switch by JMP, CALL, INT (task gate) or IRET (NT set) saves the registers
into the current TSS, updates the busy bits (JMP/IRET clear the old one;
JMP/CALL/INT set the new one), writes the back-link and sets NT for CALL/INT,
loads TR, sets CR0.TS, then loads CR3 (32-bit TSS), the LDT, the registers and
the segments of the new task.  Faults after the commit point are raised in the
new task's context: invalid segments of the new TSS give #TS(selector).  The T
bit of the new TSS raises #DB after the switch.

TSS layouts: 32-bit (type 9/11): link 0, ESP0/SS0 4/8, ESP1/SS1 0Ch/10h,
ESP2/SS2 14h/18h, CR3 1Ch, EIP 20h, EFLAGS 24h, EAX..EDI 28h..44h, ES CS SS DS
FS GS 48h..5Ch, LDT 60h, T bit and I/O map base 64h/66h.  16-bit (type 1/3):
link 0, SP0/SS0 2/4, ... IP 0Eh, FLAGS 10h, AX..DI 12h..20h, ES CS SS DS
22h..28h, LDT 2Ah.
"""

from numba import njit

from .state import (CPL, CR0, CR3, CS, DR, EIP, FLAGS, GDTB, GDTL, J, LDTB, LDTL, LDTR, NT, REG, SEL, SS,
                    TR, TRA, TRB, TRL, TS, VM, XREAD, XVEC, X_FAULTED)
from .paging import raise_exc, tlb_flush
from .regs import snapshot
from .memory import sys_rd, sys_wr
from .segments import desc_attr, desc_base, desc_limit, load_seg, read_desc, set_cache

SW_JMP, SW_CALL, SW_INT, SW_IRET = 0, 1, 2, 3


@njit(**J)
def tss_stack(s, mem, dpl):
    """(SS, ESP) for ring ``dpl`` from the current TSS; (-1, 0) after #TS."""
    if (s[TRA] & 8) == 0:                      # 16-bit TSS: SP at 2 + 4n, SS at 4 + 4n
        a = 2 + 4 * dpl
        if a + 3 > s[TRL]:
            raise_exc(s, 10, s[TR] & 0xFFFC)
            return -1, 0
        return sys_rd(s, mem, s[TRB] + a + 2, 2), sys_rd(s, mem, s[TRB] + a, 2)
    a = 4 + 8 * dpl                            # 32-bit TSS: ESP at 4 + 8n, SS at 8 + 8n
    if a + 5 > s[TRL]:
        raise_exc(s, 10, s[TR] & 0xFFFC)
        return -1, 0
    return sys_rd(s, mem, s[TRB] + a + 4, 2), sys_rd(s, mem, s[TRB] + a, 4)


@njit(**J)
def set_busy(s, mem, sel, busy):
    a = s[GDTB] + (sel & 0xFFF8) + 4
    hi = sys_rd(s, mem, a, 4)
    sys_wr(s, mem, a, 4, (hi | 0x200) if busy else (hi & ~0x200))


@njit(**J)
def task_switch(s, mem, sel, kind, ext):
    """Switch to the task of TSS selector ``sel``; False if an exception was raised."""
    err = (sel & 0xFFFC) | ext
    if sel & 4 or (sel & 0xFFF8) + 7 > s[GDTL]:
        raise_exc(s, 13 if kind != SW_IRET else 10, err)
        return False
    lo, hi = read_desc(s, mem, sel)
    a = desc_attr(hi)
    typ = a & 0x1F
    if kind == SW_IRET:
        if typ != 3 and typ != 11:
            raise_exc(s, 10, err)
            return False
    elif typ != 1 and typ != 9:
        raise_exc(s, 13, err)
        return False
    if (a & 0x80) == 0:
        raise_exc(s, 11, err)
        return False
    nbase = desc_base(lo, hi)
    nlim = desc_limit(lo, hi)
    big = (typ & 8) != 0
    if nlim < (0x67 if big else 0x2B):
        raise_exc(s, 10, err)
        return False
    # the new TSS must be readable before anything changes
    sys_rd(s, mem, nbase, 1)
    sys_rd(s, mem, nbase + nlim, 1)
    if s[XREAD]:
        return False
    # ---- save the outgoing task ----
    old = s[TR]
    ob = s[TRB]
    flags = s[FLAGS]
    if kind == SW_JMP or kind == SW_IRET:
        set_busy(s, mem, old, False)
    if kind == SW_IRET:
        flags &= ~NT
    if s[TRA] & 8:
        sys_wr(s, mem, ob + 0x20, 4, s[EIP])
        sys_wr(s, mem, ob + 0x24, 4, flags)
        for r in range(8):
            sys_wr(s, mem, ob + 0x28 + 4 * r, 4, s[REG + r])
        for sr in range(6):
            sys_wr(s, mem, ob + 0x48 + 4 * sr, 2, s[SEL + sr])
    else:
        sys_wr(s, mem, ob + 0x0E, 2, s[EIP])
        sys_wr(s, mem, ob + 0x10, 2, flags)
        for r in range(8):
            sys_wr(s, mem, ob + 0x12 + 2 * r, 2, s[REG + r])
        for sr in range(4):
            sys_wr(s, mem, ob + 0x22 + 2 * sr, 2, s[SEL + sr])
    # ---- read the incoming task ----
    if big:
        ncr3 = sys_rd(s, mem, nbase + 0x1C, 4)
        neip = sys_rd(s, mem, nbase + 0x20, 4)
        nfl = sys_rd(s, mem, nbase + 0x24, 4)
        for r in range(8):
            s[REG + r] = sys_rd(s, mem, nbase + 0x28 + 4 * r, 4)
        nsel = (sys_rd(s, mem, nbase + 0x48, 2), sys_rd(s, mem, nbase + 0x4C, 2),
                sys_rd(s, mem, nbase + 0x50, 2), sys_rd(s, mem, nbase + 0x54, 2),
                sys_rd(s, mem, nbase + 0x58, 2), sys_rd(s, mem, nbase + 0x5C, 2))
        nldt = sys_rd(s, mem, nbase + 0x60, 2)
        trap = sys_rd(s, mem, nbase + 0x64, 2) & 1
    else:
        ncr3 = s[CR3]
        neip = sys_rd(s, mem, nbase + 0x0E, 2)
        nfl = sys_rd(s, mem, nbase + 0x10, 2) | (s[FLAGS] & 0xFFFF0000 & ~VM)
        for r in range(8):
            s[REG + r] = (s[REG + r] & ~0xFFFF) | sys_rd(s, mem, nbase + 0x12 + 2 * r, 2)
        nsel = (sys_rd(s, mem, nbase + 0x22, 2), sys_rd(s, mem, nbase + 0x24, 2),
                sys_rd(s, mem, nbase + 0x26, 2), sys_rd(s, mem, nbase + 0x28, 2), 0, 0)
        nldt = sys_rd(s, mem, nbase + 0x2A, 2)
        trap = 0
    if kind == SW_CALL or kind == SW_INT:
        sys_wr(s, mem, nbase, 2, old)
        nfl |= NT
    if kind != SW_IRET:
        set_busy(s, mem, sel, True)
    if s[XREAD]:
        return False
    # ---- commit: the new task's context from here on ----
    s[TR] = sel
    s[TRB] = nbase
    s[TRL] = nlim
    s[TRA] = a | 2                             # busy
    s[CR0] |= TS
    if big and ncr3 != s[CR3]:
        s[CR3] = ncr3 & 0xFFFFF000 | (ncr3 & 0x18)
        tlb_flush(s, True)
    s[EIP] = neip
    s[FLAGS] = (nfl & 0x3F7FD5) | 2
    for sr in range(6):
        s[SEL + sr] = nsel[sr]
    snapshot(s)                                # a fault from here on is the new task's
    # the LDT, then the segments (invalid ones: #TS with the selector)
    s[LDTR] = nldt
    if nldt & 0xFFFC:
        llo, lhi = read_desc(s, mem, nldt & ~4)
        if nldt & 4 or llo < 0 or (desc_attr(lhi) & 0x1F) != 2:
            raise_exc(s, 10, nldt & 0xFFFC)
            return False
        if (desc_attr(lhi) & 0x80) == 0:
            raise_exc(s, 11, nldt & 0xFFFC)
            return False
        s[LDTB] = desc_base(llo, lhi)
        s[LDTL] = desc_limit(llo, lhi)
    else:
        s[LDTB] = 0
        s[LDTL] = 0
    if s[FLAGS] & VM:
        s[CPL] = 3
        for sr in range(6):
            set_cache(s, sr, nsel[sr], nsel[sr] << 4, 0xFFFF, 0xF3 if sr != CS else 0xFB)
    else:
        csel = nsel[CS]
        s[CPL] = csel & 3
        clo, chi = read_desc(s, mem, csel)
        ca = desc_attr(chi)
        cdpl = (ca >> 5) & 3
        if (csel & 0xFFFC) == 0 or clo < 0 or (ca & 0x18) != 0x18 or \
                ((ca & 4) == 0 and cdpl != (csel & 3)) or ((ca & 4) and cdpl > (csel & 3)):
            raise_exc(s, 10, csel & 0xFFFC)
            return False
        if (ca & 0x80) == 0:
            raise_exc(s, 11, csel & 0xFFFC)
            return False
        set_cache(s, CS, csel, desc_base(clo, chi), desc_limit(clo, chi), ca | 1)
        for sr in (SS, 0, 3, 4, 5):
            if not load_seg(s, mem, sr, nsel[sr]):
                if s[XREAD] == X_FAULTED and s[XVEC] == 13:
                    s[XVEC] = 10
                return False
    if trap:                                   # #DB in the new task, fully loaded
        s[DR + 6] |= 0x8000                    # DR6.BT
        snapshot(s)
        raise_exc(s, 1, -1)
        return False
    return s[XREAD] == 0

