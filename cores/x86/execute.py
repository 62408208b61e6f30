"""The general path: one instruction with all its prefixes, dispatched by opcode row.

Decoding is split by opcode row (op >> 4) into separate compiled functions so that
no function grows past a couple of hundred branches.
"""

from numba import njit

from .tables import CYC
from .state import CSD, EAC, EIP, J, MODEL
from .regs import setr
from .memory import fetch8, fetchs8, fetchw
from .alu import cond
from .far import jump_near
from .paging import raise_exc
from .ops_misc import g_fx
from .ops_alu import g_alu
from .ops_regs import g_4x5x, g_6x
from .ops_string import g_str
from .ops_mov import g_8x, g_9x
from .ops_ctrl import g_cx, g_dx, g_ex
from .jit import hot                  # (the prefix loop takes Numba-inlined copies: see jit.py)
setr, fetch8, fetchs8 = hot(setr, fetch8, fetchs8)


# ---- the instruction -------------------------------------------------------------------------
@njit(**J)
def execute(s, mem):
    """One instruction (all its prefixes).  Returns cycles, or an X_* code (< 0)."""
    start = s[EIP]
    model = s[MODEL]
    seg = -1
    rep = 0
    osz = 0
    a32 = 0
    pc = 0
    while True:
        op = fetch8(s, mem)
        if (op & 0xE7) == 0x26:
            seg = (op >> 3) & 3
        elif op == 0xF3 or op == 0xF2:
            rep = op
        elif op == 0xF0 or (op == 0xF1 and model == 0):
            pass
        elif model >= 3 and op >= 0x64 and op <= 0x67:
            if op == 0x66:
                osz = 1
            elif op == 0x67:
                a32 = 1
            else:
                seg = op - 0x60
        else:
            break
        pc += 2
        if pc > 28 and model >= 3:                     # longer than 15 bytes: #GP(0)
            raise_exc(s, 13, 0)
            return 0
    csd = s[CSD]                                       # 32-bit code segment: the
    w = 4 if osz ^ csd else 2                          # prefixes select 16 bits
    a32 ^= csd
    s[EAC] = 0
    hi = op >> 4
    if hi == 8:
        e = g_8x(s, mem, op, seg, w, a32, start)
    elif op < 0x40:
        e = g_alu(s, mem, op, seg, w, a32, start)
    elif hi == 7 or (hi == 6 and model == 0):
        d = fetchs8(s, mem)
        if cond(s, op & 15):
            jump_near(s, s[EIP] + d, w)
            e = 12
        else:
            e = 0
    elif hi == 0xB:
        if op < 0xB8:
            setr(s, op & 7, 1, fetch8(s, mem))
        else:
            setr(s, op & 7, w, fetchw(s, mem, w))
        e = 0
    elif op < 0x60:
        e = g_4x5x(s, mem, op, w)
    elif hi == 0xE:
        e = g_ex(s, mem, op, w, a32)
    elif hi == 0xF:
        e = g_fx(s, mem, op, seg, rep, w, a32, start)
    elif (hi == 0xA and op >= 0xA4 and (op < 0xA8 or op >= 0xAA)) or (op >= 0x6C and op < 0x70 and model):
        e = g_str(s, mem, op, seg, rep, w, a32, start)
    elif hi == 9 or hi == 0xA:
        e = g_9x(s, mem, op, seg, rep, w, a32, start)
    elif hi == 0xC:
        e = g_cx(s, mem, op, seg, w, a32, start)
    elif hi == 0xD:
        e = g_dx(s, mem, op, seg, w, a32, start)
    else:
        e = g_6x(s, mem, op, seg, rep, w, a32, start)
    if e < 0:
        return e
    return CYC[op] + pc + s[EAC] + e
