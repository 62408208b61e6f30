"""Memory access: segment checks, linear -> physical (paging.py), physical -> host (bus tables), fetch.

Every operand access names a segment register and an offset (``rdm``/``wrm``).
In protected mode the segment's cached rights and limit are checked first (SDM
vol. 3, 5.3 "limit checking" and 5.4 "type checking": #GP(0), or #SS(0) for SS);
in real and V86 mode a 16-bit offset wraps inside the segment (0xFFFF) as on the
8086, and a 32-bit offset beyond the cached limit faults (so "unreal mode" reaches
what its limit allows).  The linear address (base + offset) goes through paging
when CR0.PG is set, then the A20 mask, then the bus page tables (4 KiB pages) to
the host byte, or to an MMIO exit.  Accesses that cross a page are split into
bytes; a write that crosses checks both pages before writing either.

MMIO reads are restartable (``mmio_rd`` arranges the exit and the instruction is
undone); MMIO writes leave after the instruction (``write_exit``).  An instruction
may need several MMIO reads (its own bytes fetched from MMIO, an operand crossing
a page, a far pointer): the run ABI answers one per exit, so the values already
answered are kept in a log (``MMLOG``) that the next attempt of the same
instruction replays in order; ``regs.snapshot`` starts each attempt, and empties
the log when no answer is pending (a new instruction).  Once an
exception or an exit has abandoned the instruction (``state[XREAD]``), reads
return 0 and writes are dropped until run() undoes it.
"""

import numpy as np
from numba import njit

from emu import abi

from .state import (MMLOG, MMLOG_C, MMLOG_CAP, MMLOG_N, MMLOG_W, DBACT, DBHIT, DELIV, AMASK, ATTR, BASE, CPL, CR0, CS, CSD, EIP, EXIT_INFO, FLAGS, J, JI, LIMIT, PB, PE, PM, SS, VM, XREAD,
                    X_MMIO_RD)
from .paging import ACC_U, ACC_W, db_match, raise_exc, translate, unlog


@njit(**J)
def exit_info(s, qual, ilen, gla, gpa):
    """The VMM's view of the exit being arranged (emu.abi S_EXIT_QUAL, EI_*)."""
    s[abi.S_EXIT_QUAL] = qual
    s[EXIT_INFO + abi.EI_ILEN] = ilen
    s[EXIT_INFO + abi.EI_GLA] = gla
    s[EXIT_INFO + abi.EI_GPA] = gpa


@njit(**J)
def mmio_rd(s, pa, size, la):
    if s[DELIV] >= 0:              # delivering an event: not restartable, reads 0 (and must
        return 0                   # not overwrite the exit the last instruction reported)
    c = s[MMLOG_C]
    key = pa | (size << 32)
    if c < s[MMLOG_N] and s[MMLOG + 2 * c] == key:    # answered in an earlier attempt
        s[MMLOG_C] = c + 1
        return s[MMLOG + 2 * c + 1]
    if s[abi.S_PENDING] == 1 and s[abi.S_EXIT_ADDR] == pa and s[abi.S_EXIT_SIZE] == size:
        s[abi.S_PENDING] = 0
        s[MMLOG_W] = -1
        v = s[abi.S_EXIT_DATA] & ((1 << (8 * size)) - 1)
        if c < MMLOG_CAP:                      # (the log from here on is this attempt's)
            s[MMLOG + 2 * c] = key
            s[MMLOG + 2 * c + 1] = v
            s[MMLOG_N] = c + 1
            s[MMLOG_C] = c + 1
        return v
    if s[XREAD] == 0:
        s[XREAD] = X_MMIO_RD
        s[abi.S_EXIT_ADDR] = pa
        s[abi.S_EXIT_SIZE] = size
        exit_info(s, abi.Q_MEM_READ | (abi.Q_MEM_GLA if s[CR0] & PE else 0), 0,
                  la & 0xFFFFFFFF if s[CR0] & PE else -1, pa)
        s[MMLOG_N] = min(c, s[MMLOG_N])        # the answer will be entry c
        if c < MMLOG_CAP:
            s[MMLOG + 2 * c] = key
            s[MMLOG_W] = c
        else:
            s[MMLOG_W] = -1
    return 0


@njit(**J)
def mmio_absorb(s):
    """Before a write exit reuses the exit slots, the answer to this instruction's
    MMIO read exit (still pending: the write comes first, e.g. ENTER's push before
    its frame-pointer reads) goes into the log entry it was awaited for."""
    w = s[MMLOG_W]
    if s[abi.S_PENDING] == 1 and w >= 0 and s[MMLOG + 2 * w] == s[abi.S_EXIT_ADDR] | (s[abi.S_EXIT_SIZE] << 32):
        s[MMLOG + 2 * w + 1] = s[abi.S_EXIT_DATA] & ((1 << (8 * s[abi.S_EXIT_SIZE])) - 1)
        s[MMLOG_N] = w + 1
        s[abi.S_PENDING] = 0
        s[MMLOG_W] = -1


@njit(**J)
def write_exit(s, reason, addr, size, v, qual, ilen, gla, gpa):
    """Report a write that leaves the core (MMIO write, port OUT) after the
    instruction, unless an earlier exit of this instruction is already pending."""
    if s[abi.S_EXIT_REASON] == 0:
        mmio_absorb(s)
        s[abi.S_EXIT_REASON] = reason
        s[abi.S_EXIT_ADDR] = addr
        s[abi.S_EXIT_SIZE] = size
        s[abi.S_EXIT_DATA] = v
        exit_info(s, qual, ilen, gla, gpa)


@njit(**J)
def mmio_wr(s, pa, size, v, la):
    pm = s[CR0] & PE
    write_exit(s, abi.EXIT_MMIO_WRITE, pa, size, v, abi.Q_MEM_WRITE | (abi.Q_MEM_GLA if pm else 0),
               0, la & 0xFFFFFFFF if pm else -1, pa)


@njit(**JI)
def uacc(s):
    """Paging access kind of an ordinary access: user at CPL 3 (V86 included)."""
    return ACC_U if s[CPL] == 3 else 0


# ---- host bytes (little-endian, w = 1, 2 or 4) ------------------------------------
@njit(**JI)
def rd_h(d, i, w):
    v = np.int64(d[i])
    if w > 1:
        v |= np.int64(d[i + 1]) << 8
        if w > 2:
            v |= (np.int64(d[i + 2]) << 16) | (np.int64(d[i + 3]) << 24)
    return v


@njit(**JI)
def wr_h(d, i, w, v):
    d[i] = v & 0xFF
    if w > 1:
        d[i + 1] = (v >> 8) & 0xFF
        if w > 2:
            d[i + 2] = (v >> 16) & 0xFF
            d[i + 3] = (v >> 24) & 0xFF


# ---- linear addresses -------------------------------------------------------------
@njit(**J)
def rd_byte(s, mem, la, acc):
    pa = translate(s, mem, la, acc)
    if pa < 0:
        return 0
    pa &= s[AMASK]
    off = mem[1][pa >> PB]
    if off < 0:
        return mmio_rd(s, pa, 1, la)
    return np.int64(mem[0][off + (pa & PM)])


@njit(**J)
def wr_byte(s, mem, la, v, acc):
    pa = translate(s, mem, la, acc | ACC_W)
    if pa < 0:
        return
    pa &= s[AMASK]
    off = mem[2][pa >> PB]
    if off <= abi.PAGE_LOGGED:
        off = unlog(mem[2], pa >> PB, off)
    if off >= 0:
        mem[0][off + (pa & PM)] = v & 0xFF
    elif off == abi.PAGE_MMIO:
        mmio_wr(s, pa, 1, v & 0xFF, la)


@njit(**J)
def rdl(s, mem, la, w, acc):
    """Read w (1, 2, 4) bytes at linear ``la``."""
    if s[XREAD]:
        return 0
    if s[DBACT] & 2:
        s[DBHIT] |= db_match(s, la & 0xFFFFFFFF, w, 3)
    if (la & PM) + w - 1 > PM:                 # crosses a page: byte by byte
        v = 0
        for i in range(w):
            v |= rd_byte(s, mem, la + i, acc) << (8 * i)
        return v
    pa = translate(s, mem, la, acc)
    if pa < 0:
        return 0
    pa &= s[AMASK]
    off = mem[1][pa >> PB]
    if off < 0:
        return mmio_rd(s, pa, w, la)
    return rd_h(mem[0], off + (pa & PM), w)


@njit(**J)
def wrl(s, mem, la, w, v, acc):
    """Write w (1, 2, 4) bytes at linear ``la``."""
    if s[XREAD]:
        return
    if s[DBACT] & 2:
        s[DBHIT] |= db_match(s, la & 0xFFFFFFFF, w, 1)
    if (la & PM) + w - 1 > PM:                 # crosses a page: both must be writable
        if translate(s, mem, la, acc | ACC_W) < 0 or translate(s, mem, la + w - 1, acc | ACC_W) < 0:
            return
        for i in range(w):
            wr_byte(s, mem, la + i, v >> (8 * i), acc)
        return
    pa = translate(s, mem, la, acc | ACC_W)
    if pa < 0:
        return
    pa &= s[AMASK]
    off = mem[2][pa >> PB]
    if off < 0:
        if off > abi.PAGE_LOGGED:
            if off == abi.PAGE_MMIO:
                mmio_wr(s, pa, w, v & ((1 << (8 * w)) - 1), la)
            return
        off = unlog(mem[2], pa >> PB, off)
    wr_h(mem[0], off + (pa & PM), w, v)


@njit(**JI)
def rd8(s, mem, la):
    return rdl(s, mem, la, 1, uacc(s))


@njit(**JI)
def rd16(s, mem, la):
    return rdl(s, mem, la, 2, uacc(s))


@njit(**JI)
def wr8(s, mem, la, v):
    wrl(s, mem, la, 1, v, uacc(s))


# system structures (descriptor tables, TSS, IDT) are supervisor accesses at any CPL
@njit(**JI)
def sys_rd(s, mem, la, w):
    return rdl(s, mem, la, w, 0)


@njit(**JI)
def sys_wr(s, mem, la, w, v):
    wrl(s, mem, la, w, v, 0)


# ---- segments -----------------------------------------------------------------------
@njit(**JI)
def protected(s):
    """Protected mode and not V86: segment registers hold descriptors."""
    return (s[CR0] & PE) != 0 and (s[FLAGS] & VM) == 0


@njit(**J)
def seg_ok(s, sg, off, w, write):
    """Protected-mode type and limit check of sg:off .. off + w - 1 (raises on failure)."""
    a = s[ATTR + sg]
    vec = 12 if sg == SS else 13
    if (a & 0x80) == 0:                        # null selector / unusable
        raise_exc(s, vec if sg == SS else 13, 0)
        return False
    code = (a & 8) != 0
    if (write and (code or (a & 2) == 0)) or (not write and code and (a & 2) == 0):
        raise_exc(s, 13, 0)
        return False
    lim = s[LIMIT + sg]
    end = off + w - 1
    if not code and (a & 4):                   # expand-down: lim+1 .. 64K / 4G - 1
        top = 0xFFFFFFFF if a & 0x400 else 0xFFFF
        ok = off > lim and end <= top
    else:
        ok = end <= lim
    if not ok:
        raise_exc(s, vec, 0)
    return ok


@njit(**J)
def rdm(s, mem, sg, off, w, om):
    """Read w bytes at sg:off; in real/V86 mode the offset wraps with mask om."""
    if protected(s):
        if not seg_ok(s, sg, off, w, False):
            return 0
    elif off + w - 1 > om:                     # 16-bit wrap inside the segment
        v = 0
        for i in range(w):
            v |= rdl(s, mem, s[BASE + sg] + ((off + i) & om), 1, uacc(s)) << (8 * i)
        return v
    elif off + w - 1 > s[LIMIT + sg] and om > 0xFFFF:
        raise_exc(s, 12 if sg == SS else 13, 0)
        return 0
    return rdl(s, mem, s[BASE + sg] + off, w, uacc(s))


@njit(**J)
def wrm(s, mem, sg, off, w, om, v):
    if protected(s):
        if not seg_ok(s, sg, off, w, True):
            return
    elif off + w - 1 > om:
        for i in range(w):
            wrl(s, mem, s[BASE + sg] + ((off + i) & om), 1, v >> (8 * i), uacc(s))
        return
    elif off + w - 1 > s[LIMIT + sg] and om > 0xFFFF:
        raise_exc(s, 12 if sg == SS else 13, 0)
        return
    wrl(s, mem, s[BASE + sg] + off, w, v, uacc(s))


# ---- instruction fetch ----------------------------------------------------------------
@njit(**J)
def fetchw(s, mem, w):
    """The next w instruction bytes at CS:EIP; EIP wraps at 64 KiB in 16-bit code,
    and protected mode checks the CS limit (#GP(0))."""
    ip = s[EIP]
    if s[CSD]:
        s[EIP] = (ip + w) & 0xFFFFFFFF
    else:
        s[EIP] = (ip + w) & 0xFFFF
    if protected(s):
        if ip + w - 1 > s[LIMIT + CS]:
            raise_exc(s, 13, 0)
            return 0
        return rdl(s, mem, s[BASE + CS] + ip, w, uacc(s))
    if s[CSD] == 0 and ip + w - 1 > 0xFFFF:
        v = 0
        for i in range(w):
            v |= rdl(s, mem, s[BASE + CS] + ((ip + i) & 0xFFFF), 1, uacc(s)) << (8 * i)
        return v
    return rdl(s, mem, s[BASE + CS] + ip, w, uacc(s))


@njit(**JI)
def fetch8(s, mem):
    return fetchw(s, mem, 1)


@njit(**JI)
def fetch16(s, mem):
    return fetchw(s, mem, 2)


@njit(**JI)
def fetch32(s, mem):
    return fetchw(s, mem, 4)


@njit(**JI)
def fetchs8(s, mem):
    v = fetch8(s, mem)
    return v - 256 if v >= 128 else v
