"""Opcodes F0-FF: multiply/divide (group 3), flag operations, group 4/5."""

import numpy as np
from numba import njit

from .state import ARITH, CF, DS, EAX, EIP, ESP, FLAGS, HALTED, J, MODEL, OF, XREAD
from .regs import getr, setr, sext, wmask
from .memory import fetch8, fetchw, rdm
from .stack import push
from .alu import alu, flag_op, incdec, szp
from .interrupts import do_int, fault, ud
from .far import far_jump, jump_near
from .system import cli_sti, cpl0, sensitive
from .modrm import modrm_ea, rm_rd, rm_wr
from .vmx import P_HLT, R_HLT, exiting, vmexit


# ---- F0-FF ------------------------------------------------------------------------------------------
@njit(**J)
def g_muldiv(s, mem, r, v, sz, rep, start):
    """F6/F7 /4../7 on the operand v.  Returns extra cycles."""
    model = s[MODEL]
    bits = 8 * sz
    m = wmask(sz)
    neg = rep != 0 and model == 0
    if r == 4:                                         # MUL
        a = getr(s, 0, sz)
        p = a * v
        hi = (p >> bits) & m
        f = s[FLAGS] & ~ARITH
        if hi:
            f |= CF | OF
        s[FLAGS] = f | szp(p & m, sz)
        if sz == 1:
            setr(s, 0, 2, p)
        else:
            setr(s, 0, sz, p & m)
            setr(s, 2, sz, hi)
        return 70
    if r == 5:                                         # IMUL
        a = sext(getr(s, 0, sz), sz)
        p = a * sext(v, sz)
        if neg:
            p = -p
        f = s[FLAGS] & ~ARITH
        if sext(p & m, sz) != p:
            f |= CF | OF
        s[FLAGS] = f | szp(p & m, sz)
        if sz == 1:
            setr(s, 0, 2, p & 0xFFFF)
        else:
            setr(s, 0, sz, p & m)
            setr(s, 2, sz, (p >> bits) & m)
        return 80
    # DIV / IDIV
    if sz == 1:
        n = s[EAX] & 0xFFFF
    else:
        n = (getr(s, 2, sz) << bits) | getr(s, 0, sz)
    if v == 0:
        return fault(s, mem, 0, start)
    if r == 6 and sz == 4:
        nu = (np.uint64(getr(s, 2, 4)) << np.uint64(32)) | np.uint64(getr(s, 0, 4))
        qu = nu // np.uint64(v)
        if qu > np.uint64(0xFFFFFFFF):
            return fault(s, mem, 0, start)
        q = np.int64(qu)
        rem = np.int64(nu % np.uint64(v))
    elif r == 6:
        q = n // v
        rem = n % v
        if q > m:
            return fault(s, mem, 0, start)
    else:
        ns = sext(n, 2 * sz) if sz < 4 else n
        ds = sext(v, sz)
        q = abs(ns) // abs(ds)
        rem = abs(ns) % abs(ds)
        if (ns < 0) != (ds < 0):
            q = -q
        if ns < 0:
            rem = -rem
        if neg:
            q = -q
        lim = (1 << (bits - 1))
        if model == 0:
            if q >= lim or q <= -lim:
                return fault(s, mem, 0, start)
        elif q >= lim or q < -lim:
            return fault(s, mem, 0, start)
        q &= m
        rem &= m
    if sz == 1:
        setr(s, 0, 2, (rem << 8) | q)
    else:
        setr(s, 0, sz, q)
        setr(s, 2, sz, rem)
    return 150


@njit(**J)
def g_fx(s, mem, op, seg, rep, w, a32, start):
    model = s[MODEL]
    if op >= 0xF8:
        if op < 0xFE:
            if op == 0xFA or op == 0xFB:
                cli_sti(s, op == 0xFB)
            else:
                flag_op(s, op)
            return 0
    if op == 0xF4:
        if cpl0(s):
            if exiting(s, P_HLT):                      # VMX: HLT exiting
                vmexit(s, R_HLT, 0, start)
            else:
                s[HALTED] = 1
        return 0
    if op == 0xF5:
        s[FLAGS] ^= CF
        return 0
    if op == 0xF1:                                     # 386: ICEBP
        return do_int(s, mem, 1, s[EIP])
    om = 0xFFFFFFFF if a32 else 0xFFFF
    modrm = fetch8(s, mem)
    r = (modrm >> 3) & 7
    sg, off = modrm_ea(s, mem, modrm, seg, a32)
    mem_ = 5 if sg >= 0 else 0
    if op == 0xF6 or op == 0xF7:
        sz = 1 if op == 0xF6 else w
        v = rm_rd(s, mem, modrm, sg, off, sz, om)
        if r < 2:
            alu(s, 4, v, fetchw(s, mem, sz), sz)
            return mem_
        if r == 2:
            rm_wr(s, mem, modrm, sg, off, sz, om, ~v & wmask(sz))
            return mem_ * 2
        if r == 3:
            res = alu(s, 5, 0, v, sz)
            rm_wr(s, mem, modrm, sg, off, sz, om, res)
            return mem_ * 2
        return g_muldiv(s, mem, r, v, sz, rep, start) + mem_
    if op == 0xFE:
        if r < 2:
            v = rm_rd(s, mem, modrm, sg, off, 1, om)
            rm_wr(s, mem, modrm, sg, off, 1, om, incdec(s, v, 1, r == 1))
            return mem_ * 2
        if model != 0:
            return ud(s, mem, start)
        # 8086: the FF operations with a byte operand
        v = rm_rd(s, mem, modrm, sg, off, 1, om) | 0xFF00
    else:
        if r < 2:
            v = rm_rd(s, mem, modrm, sg, off, w, om)
            rm_wr(s, mem, modrm, sg, off, w, om, incdec(s, v, w, r == 1))
            return mem_ * 2
        v = rm_rd(s, mem, modrm, sg, off, w, om)
    if r == 2:                                         # CALL near r/m
        push(s, mem, s[EIP], w)
        jump_near(s, v, w)
        return 11
    if r == 4:                                         # JMP near r/m
        jump_near(s, v, w)
        return 0
    if r == 3 or r == 5:                               # CALL / JMP far m
        if not sensitive(s):
            return 0
        if sg < 0:
            if model != 0:
                return ud(s, mem, start)
            sg, off = DS if seg < 0 else seg, 0
        cs = rdm(s, mem, sg, (off + w) & om, 2, om)
        if s[XREAD] == 0:
            far_jump(s, mem, cs, v, w, r == 3)
        return 20
    # 6 (and 7 on the 8086): PUSH r/m
    if r == 7 and model != 0:
        return ud(s, mem, start)
    if sg < 0 and (modrm & 7) == 4 and model == 0:
        v = (s[ESP] - 2) & 0xFFFF                      # PUSH SP pushes the new value
    push(s, mem, v, w)
    return mem_
