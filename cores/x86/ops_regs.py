"""Opcodes 40-6F: INC/DEC/PUSH/POP register, PUSHA/POPA, BOUND, PUSH imm, IMUL imm; register helpers shared with the fast path."""

from numba import njit

from .state import EAX, ESP, FLAGS, J, JI, MODEL, ZF
from .regs import getr, setr, sext, wmask
from .memory import fetch8, fetchs8, fetchw, rdm
from .stack import pop, push
from .alu import imul_flags, incdec_i
from .interrupts import fault, ud
from .memory import protected
from .modrm import modrm_ea, rm_rd, rm_wr


# ---- 40-5F: INC/DEC/PUSH/POP reg ----------------------------------------------------------
@njit(**JI)
def incdec_reg(s, op, w):
    """INC r (40-47) / DEC r (48-4F)."""
    r = op & 7
    setr(s, r, w, incdec_i(s, getr(s, r, w), w, op >= 0x48))


@njit(**JI)
def xchg_ax(s, r, w):
    """XCHG (E)AX, r (90-97)."""
    a = getr(s, 0, w)
    setr(s, 0, w, getr(s, r, w))
    setr(s, r, w, a)


@njit(**JI)
def cbw_cwd(s, op, w):
    """CBW / CWDE (98), CWD / CDQ (99)."""
    if op == 0x98:
        if w == 2:
            setr(s, 0, 2, sext(s[EAX] & 0xFF, 1))
        else:
            setr(s, 0, 4, sext(s[EAX] & 0xFFFF, 2))
    elif w == 2:
        setr(s, 2, 2, 0xFFFF if s[EAX] & 0x8000 else 0)
    else:
        setr(s, 2, 4, 0xFFFFFFFF if s[EAX] & 0x80000000 else 0)


@njit(**J)
def g_4x5x(s, mem, op, w):
    r = op & 7
    if op < 0x50:
        incdec_reg(s, op, w)
    elif op < 0x58:
        if r == 4:
            if s[MODEL] == 0:
                push(s, mem, (s[ESP] - 2) & 0xFFFF, 2)
            else:
                push(s, mem, getr(s, 4, w), w)
        else:
            push(s, mem, getr(s, r, w), w)
    else:
        v = pop(s, mem, w)
        setr(s, r, w, v)
    return 0


@njit(**J)
def g_6x(s, mem, op, seg, rep, w, a32, start):
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op == 0x60:
        sp = getr(s, 4, w)
        for r in range(8):
            push(s, mem, sp if r == 4 else getr(s, r, w), w)
        return 0
    if op == 0x61:
        for r in range(7, -1, -1):
            v = pop(s, mem, w)
            if r != 4:
                setr(s, r, w, v)
        return 0
    if op == 0x63 and protected(s):                   # ARPL r/m16, r16
        modrm = fetch8(s, mem)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        dst = rm_rd(s, mem, modrm, sg, off, 2, om)
        src = getr(s, (modrm >> 3) & 7, 2)
        if (dst & 3) < (src & 3):
            rm_wr(s, mem, modrm, sg, off, 2, om, (dst & ~3) | (src & 3))
            s[FLAGS] |= ZF
        else:
            s[FLAGS] &= ~ZF
        return 0
    if op == 0x62:
        modrm = fetch8(s, mem)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        if sg < 0:
            return ud(s, mem, start)
        v = sext(getr(s, (modrm >> 3) & 7, w), w)
        lo = sext(rdm(s, mem, sg, off, w, om), w)
        hi = sext(rdm(s, mem, sg, (off + w) & om, w, om), w)
        if v < lo or v > hi:
            return fault(s, mem, 5, start)
        return 0
    if op == 0x68:
        push(s, mem, fetchw(s, mem, w), w)
        return 0
    if op == 0x6A:
        push(s, mem, fetchs8(s, mem) & wmask(w), w)
        return 0
    if op == 0x69 or op == 0x6B:
        modrm = fetch8(s, mem)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        a = sext(rm_rd(s, mem, modrm, sg, off, w, om), w)
        b = sext(fetchw(s, mem, w), w) if op == 0x69 else fetchs8(s, mem)
        setr(s, (modrm >> 3) & 7, w, imul_flags(s, a * b, w))
        return 0
    return ud(s, mem, start)
