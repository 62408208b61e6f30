"""The inline fast path of ``run``: tables and helpers for the common unprefixed 16-bit forms.

Register-only instructions (ALU/MOV with ModRM mod = 3 or an immediate, INC/DEC,
MOV r,imm, Jcc, JMP, LOOP, shifts by 1, flag operations; table XT) take
``express``, a short path with no operand address or write-back; those with a
memory operand (table FT: MOV, ALU, PUSH/POP, CALL/RET, single string moves,
shifts, group FE/FF ...) the general inline path in ``run``.
"""

import numpy as np
from numba import njit

from .tables import CYC
from .state import AF, AMASK, ARITH, BASE, CF, DS, FLAGS, MODEL, OF, PB, PM
from .regs import getr, setr
from .memory import rdm, wrm
from .alu import alu_i, flag_op, shift, szp
from .modrm import ea16_base
from .ops_regs import cbw_cwd, incdec_reg, xchg_ax
from .ops_ctrl import loop_taken
from .jit import JH, hot              # (the hot loops take Numba-inlined copies: see jit.py)
getr, setr, szp, flag_op, ea16_base, cbw_cwd, incdec_reg, xchg_ax, loop_taken, alu_i = hot(
    getr, setr, szp, flag_op, ea16_base, cbw_cwd, incdec_reg, xchg_ax, loop_taken, alu_i)


# ---- the inline fast path ----------------------------------------------------------------
# Unprefixed 16-bit forms of the common instructions run inside ``run`` (no calls on
# the RAM path): register-only ones through ``express`` (table XT, below), those
# with a memory operand through the general inline path (table FT); everything
# else, and any instruction whose bytes could cross a page or wrap IP, goes through
# ``execute``.  FT[op] >> 4 is the class (0: not inline); bit 1 has a ModRM byte,
# bit 2 reads its operand (r/m, [SI], moffs or the stack top), bit 3 the operand is
# a word whatever bit 0 of the opcode says.
F_MODRM, F_READ, F_WORD = 2, 4, 8


C_ALU, C_MOV, C_PUSH, C_POP, C_CALL, C_RET, C_STR, C_GRP5, C_SHIFT, C_XCHG, C_MOVRMI, \
    C_LEA, C_MOVSR, C_MOVRS = range(1, 15)


def _fast_table():
    t = np.zeros(256, dtype=np.int64)

    def put(ops, cls, flags=0):
        for op in ops:
            t[op] = (cls << 4) | flags

    put([op for op in range(0x40) if (op & 7) < 4], C_ALU, F_MODRM | F_READ)
    put(range(0x50, 0x58), C_PUSH, F_WORD)
    put(range(0x58, 0x60), C_POP, F_READ | F_WORD)
    put((0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xF6, 0xF7), C_ALU, F_MODRM | F_READ)
    put((0x86, 0x87), C_XCHG, F_MODRM | F_READ)
    put((0x88, 0x89), C_MOV, F_MODRM)
    put((0x8A, 0x8B), C_MOV, F_MODRM | F_READ)
    put((0x8C,), C_MOVRS, F_MODRM | F_WORD)
    put((0x8D,), C_LEA, F_MODRM | F_WORD)
    put((0x8E,), C_MOVSR, F_MODRM | F_READ | F_WORD)
    put((0xA0, 0xA1, 0xA4, 0xA5, 0xAC, 0xAD), C_STR, F_READ)
    put((0xA2, 0xA3, 0xAA, 0xAB), C_STR)
    put((0xC2, 0xC3), C_RET, F_READ | F_WORD)
    put((0xC6, 0xC7), C_MOVRMI, F_MODRM)
    put((0xD0, 0xD1, 0xD2, 0xD3), C_SHIFT, F_MODRM | F_READ)
    put((0xE8,), C_CALL, F_WORD)
    put((0xFE, 0xFF), C_GRP5, F_MODRM | F_READ)
    return t


FT = _fast_table()


def _cond_table():
    """CT[cc << 9 | fidx(flags)]: condition cc holds (fidx keeps CF PF ZF SF and OF as bit 8)."""
    t = np.zeros(16 << 9, dtype=np.uint8)
    for cc in range(16):
        for i in range(512):
            cf, zf, sf, of = i & 1, (i >> 6) & 1, (i >> 7) & 1, (i >> 8) & 1
            pf = (i >> 2) & 1
            r = (of, cf, zf, cf | zf, sf, pf, sf != of, zf or (sf != of))[cc >> 1]
            t[(cc << 9) | i] = (not r) if cc & 1 else bool(r)
    return t


CT = _cond_table()


@njit(**JH)
def cond_t(s, cc):
    f = s[FLAGS]
    return CT[(cc << 9) | (f & 0xC5) | ((f >> 3) & 0x100)] != 0


@njit(**JH)
def shift1(s, op, v, w):
    """shift(s, op, v, 1, w) for ROL ROR SHL SHR SAR; -1 for the others."""
    top = 8 * w - 1
    m = 0xFF if w == 1 else 0xFFFF
    f = s[FLAGS]
    if op < 2:
        if op == 0:
            cf = (v >> top) & 1
            v = ((v << 1) | cf) & m
            of = ((v >> top) & 1) ^ cf
        else:
            cf = v & 1
            v = (v >> 1) | (cf << top)
            of = ((v >> top) ^ (v >> (top - 1))) & 1
        s[FLAGS] = (f & ~(CF | OF)) | cf | (OF if of else 0)
        return v
    if op == 4:
        cf = (v >> top) & 1
        v = (v << 1) & m
        of = ((v >> top) & 1) ^ cf
    elif op == 5:
        of = (v >> top) & 1
        cf = v & 1
        v >>= 1
    elif op == 7:
        cf = v & 1
        v = (v >> 1) | (v & (1 << top))
        of = 0
    else:
        return -1
    af = AF if s[MODEL] == 0 else 0
    s[FLAGS] = (f & ~ARITH) | szp(v, w) | cf | (OF if of else 0) | af
    return v


@njit(**JH)
def ea16(s, dm, p, modrm):
    """16-bit ModRM memory operand from the bytes at dm[p]: (segment, offset, bytes, EA cycles)."""
    mod = modrm >> 6
    rm = modrm & 7
    if mod == 3:
        return -1, np.int64(0), np.int64(0), np.int64(0)
    if mod == 0 and rm == 6:
        return DS, np.int64(dm[p]) | (np.int64(dm[p + 1]) << 8), np.int64(2), np.int64(6)
    sg, off = ea16_base(s, rm)
    if mod == 0:
        return sg, off & 0xFFFF, np.int64(0), np.int64(7)
    if mod == 1:
        d = np.int64(dm[p])
        if d >= 128:
            d -= 256
        return sg, (off + d) & 0xFFFF, np.int64(1), np.int64(11)
    return sg, (off + (np.int64(dm[p]) | (np.int64(dm[p + 1]) << 8))) & 0xFFFF, np.int64(2), np.int64(11)


@njit(**JH)
def mrd(s, mem, sg, off, w):
    """rdm(s, mem, sg, off, w, 0xFFFF) with the RAM case inline (w = 1 or 2; real mode
    without paging: linear = physical)."""
    dm = mem[0]
    la = (s[BASE + sg] + off) & s[AMASK]
    po = mem[1][la >> PB]
    if po >= 0:
        i = po + (la & PM)
        if w == 1:
            return np.int64(dm[i])
        if (la & PM) != PM and off != 0xFFFF:
            return np.int64(dm[i]) | (np.int64(dm[i + 1]) << 8)
    return rdm(s, mem, sg, off, w, 0xFFFF)


@njit(**JH)
def mwr(s, mem, sg, off, w, v):
    """wrm(s, mem, sg, off, w, 0xFFFF, v) with the RAM case inline (w = 1 or 2); True if
    the write took the general path (it may have set an exit)."""
    dm = mem[0]
    la = (s[BASE + sg] + off) & s[AMASK]
    po = mem[2][la >> PB]
    if po >= 0:                   # (s[XREAD] is clear: run leaves as soon as a read sets it)
        i = po + (la & PM)
        if w == 1:
            dm[i] = v & 0xFF
            return False
        if (la & PM) != PM and off != 0xFFFF:
            dm[i] = v & 0xFF
            dm[i + 1] = (v >> 8) & 0xFF
            return False
    wrm(s, mem, sg, off, w, 0xFFFF, v)
    return True


# ---- express path: register-only instructions ------------------------------------------
# The commonest instructions touch no memory: ALU/MOV/TEST with a register operand
# (ModRM mod = 3), ALU on the accumulator with an immediate, INC/DEC r16, MOV r, imm,
# Jcc, JMP, LOOP, shifts by 1 and the flag operations.  ``express`` runs them with
# nothing else in flight (no operand address, no write-back, no exit check):
# measured MOV r,r 5.3 -> 3.3 ns, ADD r,r 8.2 -> 5.5 ns against the general inline
# path.  XT[op | 0x100 if the next byte is a register ModRM (>= C0)] names the
# group, 0 for everything else.
E_RR, E_ACC, E_GRP1, E_INCDEC, E_MOVI, E_JCC, E_JMP, E_LOOP, E_SHIFT1, E_FLAG, E_9X = range(1, 12)


def _express_table():
    t = np.zeros(512, dtype=np.int64)
    for op in range(0x40):
        if (op & 7) < 4:
            t[0x100 + op] = E_RR
        elif (op & 7) < 6:
            t[op] = E_ACC
    for op in (0x84, 0x85, 0x88, 0x89, 0x8A, 0x8B):
        t[0x100 + op] = E_RR
    t[0x180:0x184] = E_GRP1
    t[0x1D0:0x1D2] = E_SHIFT1
    t[[0xA8, 0xA9]] = E_ACC
    t[0x40:0x50] = E_INCDEC
    t[0x70:0x80] = E_JCC
    t[0x90:0x9A] = E_9X
    t[0xB0:0xC0] = E_MOVI
    t[0xE0:0xE4] = E_LOOP
    t[[0xE9, 0xEB]] = E_JMP
    t[[0xF8, 0xF9, 0xFA, 0xFC, 0xFD]] = E_FLAG       # not STI: it opens an interrupt shadow
    t[0x100:0x200] |= t[0:0x100]                      # (the second byte is an operand)
    return t


XT = _express_table()


@njit(**JH)
def imm(dm, q, sz):
    if sz == 1:
        return np.int64(dm[q])
    return np.int64(dm[q]) | (np.int64(dm[q + 1]) << 8)


@njit(**JH)
def jump8(dm, p, ip):
    """Target of the 2-byte short jump at dm[p] (IP ip)."""
    d = np.int64(dm[p + 1])
    return (ip + 2 + d - (256 if d >= 128 else 0)) & 0xFFFF


@njit(**JH)
def express(s, dm, p, op, x, ip):
    """Run the register-only instruction at dm[p] (group x); returns its
    (cycles, next IP)."""
    sz = 1 + (op & 1)
    nip = ip + 2
    t = CYC[op]
    aop = -1                     # ALU operation to finish with: aop(a, b) -> register dst
    a = 0
    b = 0
    dst = -1                     # (-1: flags only, TEST)
    if x == E_RR or x == E_GRP1 or x == E_SHIFT1:
        modrm = np.int64(dm[p + 1])
        rm = modrm & 7
        reg = (modrm >> 3) & 7
        if x == E_RR:
            if op < 0x88:                              # ALU r/m, r / r, r/m; TEST
                a = getr(s, rm, sz)
                b = getr(s, reg, sz)
                if op >= 0x84:
                    aop = 4
                else:
                    aop = op >> 3
                    dst = rm
                    if op & 2:
                        a, b, dst = b, a, reg
            elif op < 0x8A:                            # MOV r/m, r
                setr(s, rm, sz, getr(s, reg, sz))
            else:                                      # MOV r, r/m
                setr(s, reg, sz, getr(s, rm, sz))
        elif x == E_GRP1:
            aop = reg
            a = getr(s, rm, sz)
            dst = rm
            if op == 0x81:
                b = imm(dm, p + 2, 2)
                nip = ip + 4
            else:
                b = np.int64(dm[p + 2])
                if op == 0x83 and b >= 128:
                    b = (b - 256) & 0xFFFF
                nip = ip + 3
        else:                                          # D0 / D1: shift or rotate by 1
            v = getr(s, rm, sz)
            r = shift1(s, reg, v, sz)
            if r < 0:
                r = shift(s, reg, v, 1, sz)
            setr(s, rm, sz, r)
    elif x == E_ACC:                                   # ALU / TEST AL or AX, imm
        a = getr(s, 0, sz)
        b = imm(dm, p + 1, sz)
        nip = ip + 1 + sz
        if op >= 0xA8:
            aop = 4
        else:
            aop = op >> 3
            dst = 0
    elif x == E_JCC:
        if cond_t(s, op & 15):
            nip = jump8(dm, p, ip)
            t += 12
    elif x == E_INCDEC:
        incdec_reg(s, op, 2)
        nip = ip + 1
    elif x == E_MOVI:
        if op < 0xB8:
            setr(s, op & 7, 1, np.int64(dm[p + 1]))
        else:
            setr(s, op & 7, 2, imm(dm, p + 1, 2))
            nip = ip + 3
    elif x == E_LOOP:                                  # LOOPNZ LOOPZ LOOP JCXZ
        if loop_taken(s, op, 0xFFFF):
            nip = jump8(dm, p, ip)
            t += 12
    elif x == E_9X:
        nip = ip + 1
        if op < 0x98:                                  # XCHG AX, r (90: NOP)
            if op != 0x90:
                xchg_ax(s, op & 7, 2)
        else:
            cbw_cwd(s, op, 2)
    elif x == E_JMP:
        if op == 0xEB:
            nip = jump8(dm, p, ip)
        else:
            nip = (ip + 3 + imm(dm, p + 1, 2)) & 0xFFFF
    else:                                              # E_FLAG
        flag_op(s, op)
        nip = ip + 1
    if aop >= 0:
        res = alu_i(s, aop, a, b, sz)
        if dst >= 0 and aop != 7:
            setr(s, dst, sz, res)
    return t, nip
