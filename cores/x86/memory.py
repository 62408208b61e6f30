"""Linear-address reads and writes through the bus page tables, and instruction fetch.

Linear address = segment base + offset, masked by ``state[AMASK]`` (1 MiB on the
8086: the address wraps like the real chip with A20 off), then translated through
the bus page tables (4 KiB pages).  Offsets wrap inside the segment (0xFFFF for
16-bit addressing): word accesses that cross the wrap or a page boundary are split
into bytes.  MMIO reads are restartable (``mmio_rd`` arranges the exit and the
instruction is undone); MMIO writes leave after the instruction (``write_exit``).
"""

import numpy as np
from numba import njit

from emu import abi

from .state import AMASK, BASE, CS, EIP, J, JI, PB, PM, RPT, WPT, XREAD


# ---- memory -----------------------------------------------------------------------
@njit(**J)
def mmio_rd(s, la, size):
    if s[abi.S_PENDING] == 1 and s[abi.S_EXIT_ADDR] == la and s[abi.S_EXIT_SIZE] == size:
        s[abi.S_PENDING] = 0
        return s[abi.S_EXIT_DATA] & ((1 << (8 * size)) - 1)
    if s[XREAD] == 0:
        s[XREAD] = 1
        s[abi.S_EXIT_ADDR] = la
        s[abi.S_EXIT_SIZE] = size
    return 0


@njit(**J)
def write_exit(s, reason, addr, size, v):
    """Report a write that leaves the core (MMIO write, port OUT) after the
    instruction, unless an earlier exit of this instruction is already pending."""
    if s[abi.S_EXIT_REASON] == 0:
        s[abi.S_EXIT_REASON] = reason
        s[abi.S_EXIT_ADDR] = addr
        s[abi.S_EXIT_SIZE] = size
        s[abi.S_EXIT_DATA] = v


@njit(**J)
def mmio_wr(s, la, size, v):
    write_exit(s, abi.EXIT_MMIO_WRITE, la, size, v)


@njit(**JI)
def rd8(s, dm, la):
    la &= s[AMASK]
    off = s[RPT + (la >> PB)]
    if off >= 0:
        return np.int64(dm[off + (la & PM)])
    return mmio_rd(s, la, 1)


@njit(**JI)
def rd16(s, dm, la):
    la &= s[AMASK]
    if (la & PM) != PM:
        off = s[RPT + (la >> PB)]
        if off >= 0:
            i = off + (la & PM)
            return np.int64(dm[i]) | (np.int64(dm[i + 1]) << 8)
        return mmio_rd(s, la, 2)
    return rd8(s, dm, la) | (rd8(s, dm, la + 1) << 8)


@njit(**JI)
def wr8(s, dm, la, v):
    if s[XREAD]:
        return
    la &= s[AMASK]
    off = s[WPT + (la >> PB)]
    if off >= 0:
        dm[off + (la & PM)] = v & 0xFF
    elif off == abi.PAGE_MMIO:
        mmio_wr(s, la, 1, v & 0xFF)


@njit(**JI)
def wr16(s, dm, la, v):
    if s[XREAD]:
        return
    la &= s[AMASK]
    if (la & PM) != PM:
        off = s[WPT + (la >> PB)]
        if off >= 0:
            i = off + (la & PM)
            dm[i] = v & 0xFF
            dm[i + 1] = (v >> 8) & 0xFF
        elif off == abi.PAGE_MMIO:
            mmio_wr(s, la, 2, v & 0xFFFF)
        return
    wr8(s, dm, la, v)
    wr8(s, dm, la + 1, v >> 8)


@njit(**J)
def rdm(s, dm, sg, off, w, om):
    """Read w bytes at sg:off; the offset wraps with mask om."""
    base = s[BASE + sg]
    if w == 1:
        return rd8(s, dm, base + off)
    if off + w - 1 <= om:
        if w == 2:
            return rd16(s, dm, base + off)
        return rd16(s, dm, base + off) | (rd16(s, dm, base + off + 2) << 16)
    v = 0
    for i in range(w):
        v |= rd8(s, dm, base + ((off + i) & om)) << (8 * i)
    return v


@njit(**J)
def wrm(s, dm, sg, off, w, om, v):
    base = s[BASE + sg]
    if w == 1:
        wr8(s, dm, base + off, v)
    elif off + w - 1 <= om:
        if w == 2:
            wr16(s, dm, base + off, v)
        else:
            wr16(s, dm, base + off, v)
            wr16(s, dm, base + off + 2, v >> 16)
    else:
        for i in range(w):
            wr8(s, dm, base + ((off + i) & om), v >> (8 * i))


@njit(**JI)
def fetch8(s, dm):
    ip = s[EIP]
    s[EIP] = (ip + 1) & 0xFFFF
    return rd8(s, dm, s[BASE + CS] + ip)


@njit(**JI)
def fetch16(s, dm):
    ip = s[EIP]
    s[EIP] = (ip + 2) & 0xFFFF
    return rdm(s, dm, CS, ip, 2, 0xFFFF)


@njit(**J)
def fetch32(s, dm):
    ip = s[EIP]
    s[EIP] = (ip + 4) & 0xFFFF
    return rdm(s, dm, CS, ip, 4, 0xFFFF)


@njit(**J)
def fetchw(s, dm, w):
    if w == 1:
        return fetch8(s, dm)
    if w == 2:
        return fetch16(s, dm)
    return fetch32(s, dm)


@njit(**JI)
def fetchs8(s, dm):
    v = fetch8(s, dm)
    return v - 256 if v >= 128 else v
