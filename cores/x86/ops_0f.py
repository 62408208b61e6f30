"""Two-byte opcodes 0F xx (386): Jcc near, SETcc, MOVZX/MOVSX, bit tests, shifts, CR access."""

from numba import njit

from .state import (ARITH, CR0, CR2, CR3, ECX, EIP, FLAGS, FS, GDTB, GDTL, GS, IDTB, IDTL, J, OF, REG, SEL,
    SS, ZF)
from .regs import getr, setr, sext, wmask
from .memory import fetch8, fetchw, rdm
from .segments import load_seg
from .stack import pop, push
from .alu import bitop, cond, imul_flags, szp
from .interrupts import ud
from .modrm import modrm_ea, rm_rd, rm_wr


@njit(**J)
def g_0f(s, dm, seg, w, a32, start):
    op = fetch8(s, dm)
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op >= 0x80 and op < 0x90:                       # Jcc rel16/32
        d = sext(fetchw(s, dm, w), w)
        if cond(s, op & 15):
            s[EIP] = (s[EIP] + d) & wmask(w)
            return 4
        return 0
    if op >= 0x90 and op < 0xA0:                       # SETcc
        modrm = fetch8(s, dm)
        sg, off = modrm_ea(s, dm, modrm, seg, a32)
        rm_wr(s, dm, modrm, sg, off, 1, om, 1 if cond(s, op & 15) else 0)
        return 0
    if op == 0xA0 or op == 0xA8:
        push(s, dm, s[SEL + (FS if op == 0xA0 else GS)], w)
        return 0
    if op == 0xA1 or op == 0xA9:
        load_seg(s, FS if op == 0xA1 else GS, pop(s, dm, w))
        return 0
    if op == 0x06:                                     # CLTS
        s[CR0] &= ~8
        return 0
    if op == 0x20 or op == 0x22:                       # MOV r32, CRn / CRn, r32
        modrm = fetch8(s, dm)
        n = (modrm >> 3) & 7
        r = modrm & 7
        slot = CR0 if n == 0 else (CR2 if n == 2 else (CR3 if n == 3 else -1))
        if slot < 0:
            return ud(s, dm, start)
        if op == 0x20:
            setr(s, r, 4, s[slot])
        else:
            s[slot] = s[REG + r]
        return 0
    modrm = fetch8(s, dm)
    reg = (modrm >> 3) & 7
    sg, off = modrm_ea(s, dm, modrm, seg, a32)
    if op == 0xB6 or op == 0xB7 or op == 0xBE or op == 0xBF:   # MOVZX / MOVSX
        sz = 1 if (op & 1) == 0 else 2
        v = rm_rd(s, dm, modrm, sg, off, sz, om)
        if op >= 0xBE:
            v = sext(v, sz) & wmask(w)
        setr(s, reg, w, v)
        return 0
    if op == 0xAF:                                     # IMUL r, r/m
        a = sext(getr(s, reg, w), w)
        b = sext(rm_rd(s, dm, modrm, sg, off, w, om), w)
        setr(s, reg, w, imul_flags(s, a * b, w))
        return 20
    if op == 0xA3 or op == 0xAB or op == 0xB3 or op == 0xBB or op == 0xBA:
        if op == 0xBA:
            if reg < 4:
                return ud(s, dm, start)
            bop = reg - 4
            bit = fetch8(s, dm)
        else:
            bop = (op >> 3) & 3
            bit = getr(s, reg, w)
            if sg >= 0:                                # bit string: the offset addresses memory
                sb = sext(bit, w)
                off = (off + (sb >> (4 if w == 2 else 5)) * w) & om
                bit &= 8 * w - 1
        v = rm_rd(s, dm, modrm, sg, off, w, om)
        nv = bitop(s, bop, v, bit, w)
        if bop != 0:
            rm_wr(s, dm, modrm, sg, off, w, om, nv)
        return 0
    if op == 0xBC or op == 0xBD:                       # BSF / BSR
        v = rm_rd(s, dm, modrm, sg, off, w, om)
        if v == 0:
            s[FLAGS] |= ZF
            return 0
        s[FLAGS] &= ~ZF
        if op == 0xBC:
            i = 0
            while not (v >> i) & 1:
                i += 1
        else:
            i = 8 * w - 1
            while not (v >> i) & 1:
                i -= 1
        setr(s, reg, w, i)
        return 0
    if op == 0xA4 or op == 0xA5 or op == 0xAC or op == 0xAD:   # SHLD / SHRD
        if op == 0xA4 or op == 0xAC:
            cnt = fetch8(s, dm) & 31
        else:
            cnt = s[ECX] & 31
        if cnt == 0:
            return 0
        v = rm_rd(s, dm, modrm, sg, off, w, om)
        b = getr(s, reg, w)
        bits = 8 * w
        m = wmask(w)
        if op < 0xAC:                                  # SHLD
            if w == 2:
                t = (v << 32) | (b << 16) | v          # counts above 16 wrap round (as QEMU)
                r = (t >> (32 - cnt)) & m
                cf = (t >> (48 - cnt)) & 1
            else:
                r = ((v << cnt) | (b >> (32 - cnt))) & m
                cf = (v >> (32 - cnt)) & 1
        else:                                          # SHRD
            if w == 2:
                t = (v << 32) | (b << 16) | v
            else:
                t = (b << 32) | v
            r = (t >> cnt) & m
            cf = (t >> (cnt - 1)) & 1
        of = ((r ^ v) >> (bits - 1)) & 1
        s[FLAGS] = (s[FLAGS] & ~ARITH) | szp(r, w) | cf | (OF if of else 0)
        rm_wr(s, dm, modrm, sg, off, w, om, r)
        return 3
    if op == 0xB2 or op == 0xB4 or op == 0xB5:         # LSS / LFS / LGS
        if sg < 0:
            return ud(s, dm, start)
        v = rdm(s, dm, sg, off, w, om)
        sel = rdm(s, dm, sg, (off + w) & om, 2, om)
        setr(s, reg, w, v)
        load_seg(s, SS if op == 0xB2 else (FS if op == 0xB4 else GS), sel)
        return 0
    if op == 0x01:                                     # group 7 (real-mode subset)
        if reg == 2 or reg == 3:                       # LGDT / LIDT
            if sg < 0:
                return ud(s, dm, start)
            lim = rdm(s, dm, sg, off, 2, om)
            base = rdm(s, dm, sg, (off + 2) & om, 4, om)
            if w == 2:
                base &= 0xFFFFFF
            if reg == 2:
                s[GDTL] = lim
                s[GDTB] = base
            else:
                s[IDTL] = lim
                s[IDTB] = base
            return 0
        if reg == 4:                                   # SMSW
            rm_wr(s, dm, modrm, sg, off, 2 if sg >= 0 else w, om, s[CR0] & wmask(w))
            return 0
        if reg == 6:                                   # LMSW (cannot clear PE)
            v = rm_rd(s, dm, modrm, sg, off, 2, om)
            s[CR0] = (s[CR0] & ~0xE) | (v & 0xF) | (s[CR0] & 1)
            return 0
        return ud(s, dm, start)
    return ud(s, dm, start)
