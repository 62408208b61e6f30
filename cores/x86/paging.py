"""Paging and the TLB: linear -> physical addresses (Intel SDM vol. 3, 4.3 "32-bit paging").

Two-level tables of 4 KiB pages, 4 MiB pages with CR4.PSE (PDE.PS), global pages
with CR4.PGE.  The accessed bit of the PDE and the PTE is set on the walk, the
dirty bit of the PTE (PDE of a 4 MiB page) on the first write; the effective
R/W and U/S rights are the AND of both levels.  Supervisor accesses may write
read-only pages unless CR0.WP is set.

The TLB model (documented because software can see it): ``TLBN`` entries,
direct-mapped by the low bits of the linear page number, each holding one 4 KiB
translation (a 4 MiB page is cached as the 4 KiB fragments used), the effective
R/W and U/S rights, whether the entry was filled or used by a write (its D bit)
and the G bit.  An entry is filled on a miss and replaced when another page maps
to its index.  A changed PDE/PTE is not seen while its entry stays cached (as on
the chip: software must INVLPG or reload CR3).  INVLPG drops the page's entry
(every fragment of a 4 MiB page); MOV CR3 and a task switch drop all entries
but global ones; writes to CR0.PG/WP, CR4.PGE/PSE/PAE drop all entries.  A write
through an entry whose D bit is clear walks again to set the PTE's dirty bit.

Page-table entries are read and written in physical memory through the bus page
tables; a table in MMIO space reads as 0 (not present).
"""

import numpy as np
from numba import njit

from emu import abi

from .state import (DR, AMASK, CR0, CR3, CR4, J, JI, PB, PG, PGE, PM, PSE, TLBE, TLBN, TLBT, WP, XERR, XLIN, XREAD,
                    XVEC, X_FAULTED)

# TLB entry bits (the PTE's own positions)
TLB_P, TLB_W, TLB_U, TLB_D, TLB_L, TLB_G = 0x1, 0x2, 0x4, 0x40, 0x80, 0x100
# access kinds
ACC_W, ACC_U, ACC_X = 2, 4, 16           # write, user (CPL 3 and not a system structure), fetch


@njit(**J)
def raise_exc(s, vec, err):
    """Abandon the instruction with exception ``vec`` (error code ``err``, -1 for
    none); the first one raised wins, and none is raised once a read needs an exit
    (the instruction runs again with the value).  run() undoes the instruction and
    delivers the exception."""
    if s[XREAD] == 0:
        s[XREAD] = X_FAULTED
        s[XVEC] = vec
        s[XERR] = err


@njit(**J)
def db_match(s, la, w, kind):
    """DR0-DR3 breakpoints enabled in DR7 for ``kind`` (0 execute, 1 write, 3 read or
    write; a write matches both) that overlap la .. la + w - 1: DR6.Bn bits
    (SDM vol. 3, 17.2.4-17.2.5)."""
    d7 = s[DR + 7]
    hits = 0
    for n in range(4):
        if (d7 >> (2 * n)) & 3:
            rw = (d7 >> (16 + 4 * n)) & 3
            ln = (d7 >> (18 + 4 * n)) & 3
            if kind == 0:
                if rw != 0 or s[DR + n] != la:
                    continue
            elif rw != 3 and not (rw == 1 and kind == 1):
                continue
            else:
                size = 1 if ln == 0 else (2 if ln == 1 else (8 if ln == 2 else 4))
                a = s[DR + n] & ~(size - 1)
                if la > a + size - 1 or la + w - 1 < a:
                    continue
            hits |= 1 << n
    return hits


@njit(**J)
def phys_rd32(s, mem, pa):
    pa &= s[AMASK]
    off = mem[1][pa >> PB]
    if off < 0:
        return 0
    i = off + (pa & PM)
    d = mem[0]
    return (np.int64(d[i]) | (np.int64(d[i + 1]) << 8) | (np.int64(d[i + 2]) << 16)
            | (np.int64(d[i + 3]) << 24))


@njit(**J)
def unlog(wp, p, off):
    """The first write to a dirty-logged page (emu.abi PAGE_LOGGED): the page is RAM
    in the table again, which is what marks it dirty.  Its host offset."""
    off = abi.PAGE_LOGGED - off
    wp[p] = off
    return off


@njit(**J)
def phys_wr32(s, mem, pa, v):
    pa &= s[AMASK]
    off = mem[2][pa >> PB]
    if off <= abi.PAGE_LOGGED:
        off = unlog(mem[2], pa >> PB, off)
    if off >= 0:
        i = off + (pa & PM)
        d = mem[0]
        d[i] = v & 0xFF
        d[i + 1] = (v >> 8) & 0xFF
        d[i + 2] = (v >> 16) & 0xFF
        d[i + 3] = (v >> 24) & 0xFF


@njit(**J)
def tlb_flush(s, keep_global):
    for i in range(TLBN):
        if not (keep_global and (s[TLBE + i] & TLB_G)):
            s[TLBT + i] = -1


@njit(**J)
def tlb_invlpg(s, la):
    pg = (la >> PB) & 0xFFFFF
    i = pg & (TLBN - 1)
    if s[TLBT + i] == pg:
        s[TLBT + i] = -1
    for i in range(TLBN):                      # fragments of a 4 MiB page
        if (s[TLBE + i] & TLB_L) and (s[TLBT + i] >> 10) == (pg >> 10):
            s[TLBT + i] = -1


@njit(**J)
def walk(s, mem, la, acc):
    """Walk the tables for ``la``; fill the TLB and return the physical address,
    or raise #PF (CR2 = la; error code P, W/R, U/S: SDM vol. 3, 4.7) and return -1."""
    user = (acc & ACC_U) != 0
    write = (acc & ACC_W) != 0
    pde_a = (s[CR3] & 0xFFFFF000) | ((la >> 20) & 0xFFC)
    pde = phys_rd32(s, mem, pde_a)
    err = (2 if write else 0) | (4 if user else 0)
    if (pde & 1) == 0:
        s[XLIN] = la
        raise_exc(s, 14, err)
        return -1
    large = (pde & 0x80) != 0 and (s[CR4] & PSE) != 0
    if large:
        pte_a = -1
        pte = pde
        rights = pde
    else:
        pte_a = (pde & 0xFFFFF000) | ((la >> 10) & 0xFFC)
        pte = phys_rd32(s, mem, pte_a)
        if (pte & 1) == 0:
            s[XLIN] = la
            raise_exc(s, 14, err)
            return -1
        rights = pde & pte
    if (user and (rights & 4) == 0) or (write and (rights & 2) == 0 and (user or (s[CR0] & WP))):
        s[XLIN] = la
        raise_exc(s, 14, err | 1)
        return -1
    if (pde & 0x20) == 0 or (large and write and (pde & 0x40) == 0):
        pde |= 0x20 | (0x40 if large and write else 0)
        phys_wr32(s, mem, pde_a, pde)
    if not large and ((pte & 0x20) == 0 or (write and (pte & 0x40) == 0)):
        pte |= 0x20 | (0x40 if write else 0)
        phys_wr32(s, mem, pte_a, pte)
    if large:
        page = (pde & 0xFFC00000) | (la & 0x3FF000)
    else:
        page = pte & 0xFFFFF000
    e = page | TLB_P | (rights & (TLB_W | TLB_U)) | (pte & TLB_D)
    if large:
        e |= TLB_L
    if (pte & 0x100) and (s[CR4] & PGE):
        e |= TLB_G
    pg = (la >> PB) & 0xFFFFF
    i = pg & (TLBN - 1)
    s[TLBT + i] = pg
    s[TLBE + i] = e
    return page | (la & PM)


@njit(**JI)
def tlb_hit(s, la, need):
    """The TLB entry of linear ``la`` if it is cached with every TLB_* bit of ``need``,
    else -1 (no walk)."""
    pg = la >> PB
    i = pg & (TLBN - 1)
    if s[TLBT + i] == pg:
        e = s[TLBE + i]
        if (e & need) == need:
            return e
    return -1


@njit(**JI)
def translate(s, mem, la, acc):
    """Physical address of linear ``la`` for an access of kind ``acc`` (-1: #PF raised)."""
    la &= 0xFFFFFFFF
    if (s[CR0] & PG) == 0:
        return la
    need = TLB_P
    if acc & ACC_U:
        need |= TLB_U
    if acc & ACC_W:
        need |= TLB_D
        if (acc & ACC_U) or (s[CR0] & WP):
            need |= TLB_W
    e = tlb_hit(s, la, need)
    if e >= 0:
        return (e & ~PM) | (la & PM)
    return walk(s, mem, la, acc)

