"""Segment registers and descriptors (Intel SDM vol. 3, 3.4-3.5 and 5.4-5.6).

Real mode loads only the selector and base (sel << 4): the cached limit and
attributes stay, so a limit set in protected mode survives a switch back
("unreal mode").  V86 mode loads base = sel << 4, limit 0FFFFh, DPL 3 data.
Protected mode reads the descriptor from the GDT or LDT (a supervisor access),
checks it by the rules of MOV/POP Sreg (SDM vol. 2, MOV), sets its accessed bit
in memory and fills the cache.  CS is loaded by far transfers (``far.py``)
through ``load_cs``.
"""

from numba import njit

from .state import ATTR, BASE, CPL, CS, CSD, FLAGS, GDTB, GDTL, J, LDTB, LDTL, LDTR, LIMIT, SEL, SS, SSB, VM
from .paging import raise_exc
from .memory import protected, sys_rd, sys_wr

# descriptor access-byte types (S = 0 system descriptors)
T_TSS16, T_LDT, T_TSS16B, T_CALL16, T_TASK, T_INT16, T_TRAP16 = 1, 2, 3, 4, 5, 6, 7
T_TSS32, T_TSS32B, T_CALL32, T_INT32, T_TRAP32 = 9, 11, 12, 14, 15


@njit(**J)
def desc_addr(s, sel):
    """Linear address of the descriptor of ``sel``, or -1 beyond its table's limit."""
    idx = sel & 0xFFF8
    if sel & 4:
        if (s[LDTR] & 0xFFFC) == 0 or s[LDTL] < idx + 7:
            return -1
        return s[LDTB] + idx
    if s[GDTL] < idx + 7:
        return -1
    return s[GDTB] + idx


@njit(**J)
def read_desc(s, mem, sel):
    """The descriptor's two dwords (lo, hi); (-1, -1) if outside its table."""
    a = desc_addr(s, sel)
    if a < 0:
        return -1, -1
    return sys_rd(s, mem, a, 4), sys_rd(s, mem, a + 4, 4)


@njit(**J)
def desc_base(lo, hi):
    return (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000)


@njit(**J)
def desc_limit(lo, hi):
    lim = (lo & 0xFFFF) | (hi & 0xF0000)
    if hi & 0x800000:                          # G: 4 KiB units
        lim = (lim << 12) | 0xFFF
    return lim


@njit(**J)
def desc_attr(hi):
    """Access byte | G D/B L AVL << 8 (the layout of state[ATTR])."""
    return ((hi >> 8) & 0xFF) | (((hi >> 20) & 0xF) << 8)


@njit(**J)
def set_accessed(s, mem, sel, hi):
    if (hi & 0x100) == 0:
        sys_wr(s, mem, desc_addr(s, sel) + 4, 4, hi | 0x100)


@njit(**J)
def set_cache(s, sr, sel, base, limit, attr):
    s[SEL + sr] = sel & 0xFFFF
    s[BASE + sr] = base & 0xFFFFFFFF
    s[LIMIT + sr] = limit & 0xFFFFFFFF
    s[ATTR + sr] = attr
    if sr == CS:
        s[CSD] = (attr >> 10) & 1
    elif sr == SS:
        s[SSB] = (attr >> 10) & 1


@njit(**J)
def load_desc(s, mem, sr, sel, lo, hi):
    set_accessed(s, mem, sel, hi)
    set_cache(s, sr, sel, desc_base(lo, hi), desc_limit(lo, hi), desc_attr(hi | 0x100))


@njit(**J)
def load_seg(s, mem, sr, sel):
    """MOV/POP/LxS of a data or stack segment register (and CS on the 8086 and in
    real mode).  False if an exception was raised."""
    sel &= 0xFFFF
    if not protected(s):
        if s[FLAGS] & VM:
            set_cache(s, sr, sel, sel << 4, 0xFFFF, 0xF3 if sr != CS else 0xFB)
        else:
            s[SEL + sr] = sel
            s[BASE + sr] = sel << 4
        return True
    err = sel & 0xFFFC
    cpl = s[CPL]
    rpl = sel & 3
    if (sel & 0xFFFC) == 0:                    # null selector
        if sr == SS:
            raise_exc(s, 13, 0)
            return False
        set_cache(s, sr, sel, 0, 0, 0)
        return True
    lo, hi = read_desc(s, mem, sel)
    if lo < 0:
        raise_exc(s, 13, err)
        return False
    a = desc_attr(hi)
    dpl = (a >> 5) & 3
    if sr == SS:
        if rpl != cpl or dpl != cpl or (a & 0x1A) != 0x12:    # writable data
            raise_exc(s, 13, err)
            return False
        if (a & 0x80) == 0:
            raise_exc(s, 12, err)
            return False
    else:
        if (a & 0x10) == 0 or (a & 0x0A) == 0x08:             # system, or execute-only code
            raise_exc(s, 13, err)
            return False
        if (a & 0x0C) != 0x0C and (rpl > dpl or cpl > dpl):  # data or non-conforming code
            raise_exc(s, 13, err)
            return False
        if (a & 0x80) == 0:
            raise_exc(s, 11, err)
            return False
    load_desc(s, mem, sr, sel, lo, hi)
    return True


@njit(**J)
def null_outer_segments(s, cpl):
    """After a return to an outer ring (RETF, IRET): data segment registers the new
    CPL may not use are loaded with null (SDM vol. 2, RET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL")."""
    for sr in (0, 3, 4, 5):                    # ES DS FS GS
        a = s[ATTR + sr]
        dpl = (a >> 5) & 3
        if (a & 0x80) and ((a & 0x08) == 0 or (a & 0x04) == 0) and dpl < cpl:
            set_cache(s, sr, 0, 0, 0, 0)
