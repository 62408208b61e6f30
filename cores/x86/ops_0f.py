"""Two-byte opcodes 0F xx (386): Jcc near, SETcc, MOVZX/MOVSX, bit tests, shifts, CR access."""

from numba import njit

from .state import ARITH, EAX, EBX, ECX, EDX, EIP, FLAGS, FS, GS, J, MODEL, OF, REG, SEL, SS, XREAD, ZF
from .regs import getr, setr, sext, wmask
from .memory import fetch8, fetchw, rdm, wrm
from .segments import load_seg
from .stack import pop, push
from .alu import alu, bitop, cond, imul_flags, szp
from .far import jump_near
from .system import sensitive, sys_0f
from .interrupts import ud
from .modrm import modrm_ea, rm_rd, rm_wr


@njit(**J)
def g_0f(s, mem, seg, w, a32, start):
    op = fetch8(s, mem)
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op >= 0x80 and op < 0x90:                       # Jcc rel16/32
        d = sext(fetchw(s, mem, w), w)
        if cond(s, op & 15):
            jump_near(s, s[EIP] + d, w)
            return 4
        return 0
    if op < 0x40 or op == 0xA2:
        return sys_0f(s, mem, op, seg, w, a32, start)
    if op >= 0xC8 and s[MODEL] >= 4:                   # BSWAP r32 (486)
        r = op & 7
        v = s[REG + r]
        s[REG + r] = ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24)
        return 0
    if op >= 0x90 and op < 0xA0:                       # SETcc
        modrm = fetch8(s, mem)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        rm_wr(s, mem, modrm, sg, off, 1, om, 1 if cond(s, op & 15) else 0)
        return 0
    if (op == 0xA0 or op == 0xA8 or op == 0xA1 or op == 0xA9 or op == 0xB2 or op == 0xB4 or op == 0xB5) \
            and not sensitive(s):
        return 0                                       # PUSH/POP FS/GS, LSS/LFS/LGS (strict)
    if op == 0xA0 or op == 0xA8:
        push(s, mem, s[SEL + (FS if op == 0xA0 else GS)], w)
        return 0
    if op == 0xA1 or op == 0xA9:
        load_seg(s, mem, FS if op == 0xA1 else GS, pop(s, mem, w))
        return 0
    modrm = fetch8(s, mem)
    reg = (modrm >> 3) & 7
    sg, off = modrm_ea(s, mem, modrm, seg, a32)
    if op >= 0x40 and op < 0x50:                       # CMOVcc (P6): reads its operand always
        if s[MODEL] < 6:
            return ud(s, mem, start)
        v = rm_rd(s, mem, modrm, sg, off, w, om)
        if cond(s, op & 15):
            setr(s, reg, w, v)
        elif w == 4 and s[XREAD] == 0:
            setr(s, reg, 4, getr(s, reg, 4))           # (a 32-bit CMOV writes its register either way)
        return 0
    if (op == 0xC0 or op == 0xC1 or op == 0xB0 or op == 0xB1) and s[MODEL] >= 4:   # XADD / CMPXCHG
        sz = 1 if (op & 1) == 0 else w
        v = rm_rd(s, mem, modrm, sg, off, sz, om)
        if op >= 0xC0:                                 # XADD: dest = dest + src, src = old dest
            res = alu(s, 0, v, getr(s, reg, sz), sz)
            rm_wr(s, mem, modrm, sg, off, sz, om, res)
            if s[XREAD] == 0:
                setr(s, reg, sz, v)
            return 0
        acc = getr(s, 0, sz)                           # CMPXCHG: compare with AL/AX/EAX
        alu(s, 7, acc, v, sz)
        if acc == v:
            rm_wr(s, mem, modrm, sg, off, sz, om, getr(s, reg, sz))
        else:
            rm_wr(s, mem, modrm, sg, off, sz, om, v)   # (the destination is written back)
            if s[XREAD] == 0:
                setr(s, 0, sz, v)
        return 0
    if op == 0xC7 and reg == 1 and s[MODEL] >= 5:      # CMPXCHG8B m64
        if sg < 0:
            return ud(s, mem, start)
        lo = rdm(s, mem, sg, off, 4, om)
        hi = rdm(s, mem, sg, (off + 4) & om, 4, om)
        if lo == s[EAX] and hi == s[EDX]:
            wrm(s, mem, sg, off, 4, om, s[EBX])
            wrm(s, mem, sg, (off + 4) & om, 4, om, s[ECX])
            s[FLAGS] |= ZF
        else:
            wrm(s, mem, sg, off, 4, om, lo)
            wrm(s, mem, sg, (off + 4) & om, 4, om, hi)
            if s[XREAD] == 0:
                s[EAX] = lo
                s[EDX] = hi
            s[FLAGS] &= ~ZF
        return 0
    if op == 0xB6 or op == 0xB7 or op == 0xBE or op == 0xBF:   # MOVZX / MOVSX
        sz = 1 if (op & 1) == 0 else 2
        v = rm_rd(s, mem, modrm, sg, off, sz, om)
        if op >= 0xBE:
            v = sext(v, sz) & wmask(w)
        setr(s, reg, w, v)
        return 0
    if op == 0xAF:                                     # IMUL r, r/m
        a = sext(getr(s, reg, w), w)
        b = sext(rm_rd(s, mem, modrm, sg, off, w, om), w)
        setr(s, reg, w, imul_flags(s, a * b, w))
        return 20
    if op == 0xA3 or op == 0xAB or op == 0xB3 or op == 0xBB or op == 0xBA:
        if op == 0xBA:
            if reg < 4:
                return ud(s, mem, start)
            bop = reg - 4
            bit = fetch8(s, mem)
        else:
            bop = (op >> 3) & 3
            bit = getr(s, reg, w)
            if sg >= 0:                                # bit string: the offset addresses memory
                sb = sext(bit, w)
                off = (off + (sb >> (4 if w == 2 else 5)) * w) & om
                bit &= 8 * w - 1
        v = rm_rd(s, mem, modrm, sg, off, w, om)
        nv = bitop(s, bop, v, bit, w)
        if bop != 0:
            rm_wr(s, mem, modrm, sg, off, w, om, nv)
        return 0
    if op == 0xBC or op == 0xBD:                       # BSF / BSR
        v = rm_rd(s, mem, modrm, sg, off, w, om)
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
            cnt = fetch8(s, mem) & 31
        else:
            cnt = s[ECX] & 31
        if cnt == 0:
            return 0
        v = rm_rd(s, mem, modrm, sg, off, w, om)
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
        rm_wr(s, mem, modrm, sg, off, w, om, r)
        return 3
    if op == 0xB2 or op == 0xB4 or op == 0xB5:         # LSS / LFS / LGS
        if sg < 0:
            return ud(s, mem, start)
        v = rdm(s, mem, sg, off, w, om)
        sel = rdm(s, mem, sg, (off + w) & om, 2, om)
        setr(s, reg, w, v)
        load_seg(s, mem, SS if op == 0xB2 else (FS if op == 0xB4 else GS), sel)
        return 0
    return ud(s, mem, start)
