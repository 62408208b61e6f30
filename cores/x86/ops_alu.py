"""Opcodes 00-3F: ALU rows, segment PUSH/POP, BCD adjust."""

from numba import njit

from .state import AF, ARITH, CF, CS, EAX, FLAGS, INHIBIT, J, MODEL, OF, SEL, SS
from .regs import getr, setr
from .memory import fetch8, fetchw
from .segments import load_seg
from .stack import pop, push
from .alu import alu, szp
from .modrm import modrm_ea, rm_rd, rm_wr
from .ops_0f import g_0f
from .system import sensitive


# ---- 00-3F: ALU rows, segment push/pop, BCD adjust ---------------------------------------
@njit(**J)
def g_alu(s, mem, op, seg, w, a32, start):
    lo = op & 7
    if lo < 6:
        aop = op >> 3
        if lo < 4:
            sz = 1 if (op & 1) == 0 else w
            om = 0xFFFFFFFF if a32 else 0xFFFF
            modrm = fetch8(s, mem)
            sg, off = modrm_ea(s, mem, modrm, seg, a32)
            r = (modrm >> 3) & 7
            if lo < 2:                                   # r/m, reg
                a = rm_rd(s, mem, modrm, sg, off, sz, om)
                v = alu(s, aop, a, getr(s, r, sz), sz)
                if aop != 7:
                    rm_wr(s, mem, modrm, sg, off, sz, om, v)
                    return 7 if sg >= 0 else 0
            else:                                        # reg, r/m
                b = rm_rd(s, mem, modrm, sg, off, sz, om)
                v = alu(s, aop, getr(s, r, sz), b, sz)
                if aop != 7:
                    setr(s, r, sz, v)
            return 0
        sz = 1 if lo == 4 else w
        v = alu(s, aop, getr(s, 0, sz), fetchw(s, mem, sz), sz)
        if aop != 7:
            setr(s, 0, sz, v)
        return 0
    if op < 0x20:
        sr = op >> 3
        if not (sr == CS and lo == 7 and s[MODEL] != 0) and not sensitive(s):
            return 0                                   # PUSH/POP Sreg (strict model)
        if lo == 6:
            push(s, mem, s[SEL + sr], w)
        else:
            if sr == CS and s[MODEL] != 0:
                return g_0f(s, mem, seg, w, a32, start)
            load_seg(s, mem, sr, pop(s, mem, w))
            if sr == SS:
                s[INHIBIT] = 1
        return 0
    # 27 DAA, 2F DAS, 37 AAA, 3F AAS (26/2E/36/3E are prefixes)
    al = s[EAX] & 0xFF
    f = s[FLAGS]
    if op == 0x27 or op == 0x2F:
        cf = f & CF
        nf = 0
        if (al & 0x0F) > 9 or (f & AF):
            nf |= AF
            if op == 0x27:
                v = al + 6
            else:
                v = al - 6
            if v > 0xFF or (v < 0 and s[MODEL] != 0):   # the 8086 DAS keeps CF here
                nf |= CF
            v &= 0xFF
        else:
            v = al
        thr = 0x9F if (s[MODEL] == 0 and (f & AF)) else 0x99
        if al > thr or cf:
            if op == 0x27:
                v = (v + 0x60) & 0xFF
            else:
                v = (v - 0x60) & 0xFF
            nf |= CF
        of = 0
        if op == 0x27:
            if (al & 0x80) == 0 and (v & 0x80):
                of = OF
        else:
            if (al & 0x80) and (v & 0x80) == 0:
                of = OF
        s[FLAGS] = (f & ~ARITH) | nf | szp(v, 1) | of
        setr(s, 0, 1, v)
        return 0
    ah = (s[EAX] >> 8) & 0xFF
    if (al & 0x0F) > 9 or (f & AF):
        if op == 0x37:
            if s[MODEL] == 0:
                al = al + 6
                ah = ah + 1
            else:
                ax = ((ah << 8) | al) + 0x106
                al = ax & 0xFF
                ah = ax >> 8
        else:
            if s[MODEL] == 0:
                al = al - 6
                ah = ah - 1
            else:
                ax = ((ah << 8) | al) - 6
                al = ax & 0xFF
                ah = (ax >> 8) - 1
        nf = AF | CF
    else:
        nf = 0
    res = al & 0xFF
    al = al & 0x0F
    s[EAX] = (s[EAX] & ~0xFFFF) | ((ah & 0xFF) << 8) | al
    s[FLAGS] = (f & ~ARITH) | nf | szp(res, 1)
    return 0
