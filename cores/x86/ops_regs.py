"""Opcodes 40-6F: INC/DEC/PUSH/POP register, PUSHA/POPA, BOUND, PUSH imm, IMUL imm; register helpers shared with the fast path."""

from numba import njit

from .state import EAX, ESP, J, JI, MODEL
from .regs import getr, setr, sext, wmask
from .memory import fetch8, fetchs8, fetchw, rdm
from .stack import pop, push
from .alu import imul_flags, incdec_i
from .interrupts import do_int, ud
from .modrm import modrm_ea, rm_rd


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
def g_4x5x(s, dm, op, w):
    r = op & 7
    if op < 0x50:
        incdec_reg(s, op, w)
    elif op < 0x58:
        if r == 4:
            if s[MODEL] == 0:
                push(s, dm, (s[ESP] - 2) & 0xFFFF, 2)
            else:
                push(s, dm, getr(s, 4, w), w)
        else:
            push(s, dm, getr(s, r, w), w)
    else:
        v = pop(s, dm, w)
        setr(s, r, w, v)
    return 0


@njit(**J)
def g_6x(s, dm, op, seg, rep, w, a32, start):
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op == 0x60:
        sp = getr(s, 4, w)
        for r in range(8):
            push(s, dm, sp if r == 4 else getr(s, r, w), w)
        return 0
    if op == 0x61:
        for r in range(7, -1, -1):
            v = pop(s, dm, w)
            if r != 4:
                setr(s, r, w, v)
        return 0
    if op == 0x62:
        modrm = fetch8(s, dm)
        sg, off = modrm_ea(s, dm, modrm, seg, a32)
        if sg < 0:
            return ud(s, dm, start)
        v = sext(getr(s, (modrm >> 3) & 7, w), w)
        lo = sext(rdm(s, dm, sg, off, w, om), w)
        hi = sext(rdm(s, dm, sg, (off + w) & om, w, om), w)
        if v < lo or v > hi:
            return do_int(s, dm, 5, start)
        return 0
    if op == 0x68:
        push(s, dm, fetchw(s, dm, w), w)
        return 0
    if op == 0x6A:
        push(s, dm, fetchs8(s, dm) & wmask(w), w)
        return 0
    if op == 0x69 or op == 0x6B:
        modrm = fetch8(s, dm)
        sg, off = modrm_ea(s, dm, modrm, seg, a32)
        a = sext(rm_rd(s, dm, modrm, sg, off, w, om), w)
        b = sext(fetchw(s, dm, w), w) if op == 0x69 else fetchs8(s, dm)
        setr(s, (modrm >> 3) & 7, w, imul_flags(s, a * b, w))
        return 0
    return ud(s, dm, start)
