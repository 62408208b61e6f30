"""General registers by ModRM number and operand width; width helpers."""

from numba import njit

from emu import abi

from .state import MMLOG_C, MMLOG_N, MMLOG_W, J, JI, NREG, REG, SNAP


@njit(**JI)
def sext(v, w):
    if w == 1:
        return v - 256 if v & 0x80 else v
    if w == 2:
        return v - 65536 if v & 0x8000 else v
    return v - 0x100000000 if v & 0x80000000 else v


@njit(**JI)
def wmask(w):
    if w == 1:
        return 0xFF
    if w == 2:
        return 0xFFFF
    return 0xFFFFFFFF


# ---- registers ---------------------------------------------------------------------
@njit(**JI)
def getr(s, r, w):
    if w == 1:
        if r < 4:
            return s[REG + r] & 0xFF
        return (s[REG + r - 4] >> 8) & 0xFF
    if w == 2:
        return s[REG + r] & 0xFFFF
    return s[REG + r]


@njit(**JI)
def setr(s, r, w, v):
    if w == 1:
        if r < 4:
            s[REG + r] = (s[REG + r] & ~0xFF) | (v & 0xFF)
        else:
            s[REG + r - 4] = (s[REG + r - 4] & ~0xFF00) | ((v & 0xFF) << 8)
    elif w == 2:
        s[REG + r] = (s[REG + r] & ~0xFFFF) | (v & 0xFFFF)
    else:
        s[REG + r] = v & 0xFFFFFFFF


@njit(**J)
def snapshot(s):
    """Keep the architectural state (slots 16 .. 16 + NREG) to undo an instruction.
    An attempt starts: it replays the MMIO log from its start, which is kept only
    while an answer is pending (the instruction is being restarted; memory.py)."""
    for k in range(NREG):
        s[SNAP + k] = s[16 + k]
    if s[abi.S_PENDING] == 0:
        s[MMLOG_N] = 0
        s[MMLOG_W] = -1
    s[MMLOG_C] = 0


@njit(**J)
def restore(s):
    for k in range(NREG):
        s[16 + k] = s[SNAP + k]
