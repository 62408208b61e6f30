"""The Z80 run loop: hot instructions on registers held in local variables.

``cpu.py`` is the complete interpreter, working on the state array.  Here the
main registers live in locals (so LLVM keeps them in machine registers), and
the most frequent instructions are decoded inline: unprefixed loads, ALU,
jumps, calls, stack, CB on registers, LDI/LDIR and the common IX/IY forms.  An
instruction takes the fast path only when all its memory accesses fall on RAM
pages and nothing special is pending (interrupt line, EI shadow, HALT,
breakpoint); it reads everything it needs before changing any register, so
giving up half-way (``ok = False``) leaves the locals untouched, and the
general ``cpu.step`` executes that instruction on the state array instead.

The flag, ALU and rotate rules are the shared pure functions of ``cpu.py``, so
the two paths cannot drift apart; the SingleStepTests vectors run through both
(flat RAM takes the fast path, the interrupt and EI tests the general one).
"""
import numpy as np
from numba import njit

from emu import abi

from .cpu import (A, A_, B, B_, C, C_, CFL, D, D_, E, E_, EI, F, F_, H, H_, HALTED, HFL, IXH,
                  IXL, IYH, IYL, J, JB, L, L_, P, PC, PFL, Q, R, SFL, SP, WZ, XFL, XREAD, YFL,
                  ZFL, acc8, adc16v, add16v, alu8, dec8v, inc8v, rot8, step)
from .tables import CYC_ED, CYC_MAIN


@njit(**JB)
def rdm(data, rp, a):
    """Byte at ``a`` if its page is RAM or ROM, else -1 (the general path handles it)."""
    off = rp[(a >> 8) & 0xFF]
    if off < 0:
        return np.int64(-1)
    return np.int64(data[off + (a & 0xFF)])


@njit(**JB)
def getr(z, b, c, d, e, h, l, a):
    if z == 0:
        return b
    if z == 1:
        return c
    if z == 2:
        return d
    if z == 3:
        return e
    if z == 4:
        return h
    if z == 5:
        return l
    return a


@njit(**JB)
def setr(y, v, b, c, d, e, h, l, a):
    if y == 0:
        b = v
    elif y == 1:
        c = v
    elif y == 2:
        d = v
    elif y == 3:
        e = v
    elif y == 4:
        h = v
    elif y == 5:
        l = v
    else:
        a = v
    return b, c, d, e, h, l, a


@njit(**JB)
def cc(y, f):
    """Condition y (NZ Z NC C PO PE P M) on flags f."""
    m = (ZFL, CFL, PFL, SFL)[y >> 1]
    return ((f & m) != 0) == ((y & 1) == 1)


@njit(**J)
def run(s, mem, budget):
    data = mem[0]
    rp = mem[1]
    wp = mem[2]
    s[abi.S_EXIT_REASON] = 0
    s[XREAD] = 0
    # restartable memory reads need a register snapshot only if some page exits on read
    snap = False
    for i in range(len(rp)):
        if rp[i] < 0:
            snap = True
            break
    brk = s[abi.S_BREAK]
    end = s[abi.S_CYCLES] + budget
    cyc0 = s[abi.S_CYCLES]
    reason = abi.EXIT_BUDGET
    # ---- load
    a, f, b, c, d, e, h, l = s[A], s[F], s[B], s[C], s[D], s[E], s[H], s[L]
    ix = (s[IXH] << 8) | s[IXL]
    iy = (s[IYH] << 8) | s[IYL]
    sp, pc, wz, q, r = s[SP], s[PC], s[WZ], s[Q], s[R]
    cyc, insns = s[abi.S_CYCLES], s[abi.S_INSNS]
    # The interrupt lines are set from Python between runs and only the core
    # clears them (NMI taken), so with both low no instruction needs the check.
    # P (set by LD A,I/R) is cleared by the next instruction: cpu.step does it.
    special = s[abi.S_NMI] | (s[abi.S_IRQ] & 1) | s[EI] | s[HALTED] | s[P]
    while cyc < end:
        ok = False
        if special == 0 and pc != brk:
            ok = True
            op = rdm(data, rp, pc)
            n1 = rdm(data, rp, (pc + 1) & 0xFFFF)
            t = CYC_MAIN[op & 0xFF]
            x = op >> 6
            y = (op >> 3) & 7
            z = op & 7
            npc = (pc + 1) & 0xFFFF
            nq = 0                                  # next Q: F if this instruction sets flags
            dr = 1                                  # R increments (2 with a prefix)
            if op < 0:
                ok = False
            elif x == 1:                            # LD r,r' / LD r,(HL) / LD (HL),r
                if z == 6:
                    if y == 6:
                        ok = False                  # HALT
                    else:
                        v = rdm(data, rp, (h << 8) | l)
                        if v < 0:
                            ok = False
                        else:
                            b, c, d, e, h, l, a = setr(y, v, b, c, d, e, h, l, a)
                elif y == 6:
                    hl = (h << 8) | l
                    w = wp[(hl >> 8) & 0xFF]
                    if w < 0:
                        ok = False
                    else:
                        data[w + (hl & 0xFF)] = getr(z, b, c, d, e, h, l, a)
                else:
                    b, c, d, e, h, l, a = setr(y, getr(z, b, c, d, e, h, l, a), b, c, d, e, h, l, a)
            elif x == 2:                            # ALU A,r / ALU A,(HL)
                if z == 6:
                    v = rdm(data, rp, (h << 8) | l)
                else:
                    v = getr(z, b, c, d, e, h, l, a)
                if v < 0:
                    ok = False
                else:
                    a, f = alu8(y, a, f, v)
                    nq = f
            elif x == 0:
                p = y >> 1
                if z == 0:
                    if y == 0:                      # NOP
                        pass
                    elif y == 1:                    # EX AF,AF'
                        tmp = s[A_]
                        s[A_] = a
                        a = tmp
                        tmp = s[F_]
                        s[F_] = f
                        f = tmp
                    elif n1 < 0:
                        ok = False
                    else:
                        dd = n1 - 256 if n1 >= 128 else n1
                        npc = (pc + 2) & 0xFFFF
                        if y == 2:                  # DJNZ
                            b = (b - 1) & 0xFF
                            if b != 0:
                                npc = (npc + dd) & 0xFFFF
                                wz = npc
                                t += 5
                        elif y == 3 or cc(y - 4, f):   # JR / JR cc
                            npc = (npc + dd) & 0xFFFF
                            wz = npc
                            if y != 3:
                                t += 5
                elif z == 1:
                    if y & 1 == 0:                  # LD rp,nn
                        n2 = rdm(data, rp, (pc + 2) & 0xFFFF)
                        if n1 < 0 or n2 < 0:
                            ok = False
                        else:
                            npc = (pc + 3) & 0xFFFF
                            if p == 0:
                                b, c = n2, n1
                            elif p == 1:
                                d, e = n2, n1
                            elif p == 2:
                                h, l = n2, n1
                            else:
                                sp = (n2 << 8) | n1
                    else:                           # ADD HL,rp
                        hl = (h << 8) | l
                        if p == 0:
                            v = (b << 8) | c
                        elif p == 1:
                            v = (d << 8) | e
                        elif p == 2:
                            v = hl
                        else:
                            v = sp
                        res, f = add16v(f, hl, v)
                        wz = (hl + 1) & 0xFFFF
                        h, l = res >> 8, res & 0xFF
                        nq = f
                elif z == 3:                        # INC/DEC rp
                    dv = 1 if y & 1 == 0 else -1
                    if p == 0:
                        v = (((b << 8) | c) + dv) & 0xFFFF
                        b, c = v >> 8, v & 0xFF
                    elif p == 1:
                        v = (((d << 8) | e) + dv) & 0xFFFF
                        d, e = v >> 8, v & 0xFF
                    elif p == 2:
                        v = (((h << 8) | l) + dv) & 0xFFFF
                        h, l = v >> 8, v & 0xFF
                    else:
                        sp = (sp + dv) & 0xFFFF
                elif z == 4 or z == 5:              # INC/DEC r, INC/DEC (HL)
                    if y == 6:
                        hl = (h << 8) | l
                        v = rdm(data, rp, hl)
                        w = wp[(hl >> 8) & 0xFF]
                        if v < 0 or w < 0:
                            ok = False
                        else:
                            if z == 4:
                                v, f = inc8v(f, v)
                            else:
                                v, f = dec8v(f, v)
                            data[w + (hl & 0xFF)] = v
                            nq = f
                    else:
                        v = getr(y, b, c, d, e, h, l, a)
                        if z == 4:
                            v, f = inc8v(f, v)
                        else:
                            v, f = dec8v(f, v)
                        b, c, d, e, h, l, a = setr(y, v, b, c, d, e, h, l, a)
                        nq = f
                elif z == 6:                        # LD r,n / LD (HL),n
                    if n1 < 0:
                        ok = False
                    elif y == 6:
                        hl = (h << 8) | l
                        w = wp[(hl >> 8) & 0xFF]
                        if w < 0:
                            ok = False
                        else:
                            data[w + (hl & 0xFF)] = n1
                            npc = (pc + 2) & 0xFFFF
                    else:
                        b, c, d, e, h, l, a = setr(y, n1, b, c, d, e, h, l, a)
                        npc = (pc + 2) & 0xFFFF
                elif z == 7:                        # RLCA RRCA RLA RRA DAA CPL SCF CCF
                    a, f = acc8(y, a, f, q)
                    nq = f
                else:                               # z == 2: loads through (BC) (DE) (nn)
                    if y < 4:
                        addr = ((b << 8) | c) if y < 2 else ((d << 8) | e)
                    else:
                        addr = (rdm(data, rp, (pc + 2) & 0xFFFF) << 8) | n1
                        npc = (pc + 3) & 0xFFFF
                        if n1 < 0 or addr < 0:
                            ok = False
                    a1 = (addr + 1) & 0xFFFF
                    if not ok:
                        pass
                    elif y == 4:                    # LD (nn),HL
                        w = wp[(addr >> 8) & 0xFF]
                        w1 = wp[(a1 >> 8) & 0xFF]
                        if w < 0 or w1 < 0:
                            ok = False
                        else:
                            data[w + (addr & 0xFF)] = l
                            data[w1 + (a1 & 0xFF)] = h
                            wz = a1
                    elif y == 5:                    # LD HL,(nn)
                        lo = rdm(data, rp, addr)
                        hi = rdm(data, rp, a1)
                        if lo < 0 or hi < 0:
                            ok = False
                        else:
                            h, l = hi, lo
                            wz = a1
                    elif y & 1 == 0:                # LD (BC),A / LD (DE),A / LD (nn),A
                        w = wp[(addr >> 8) & 0xFF]
                        if w < 0:
                            ok = False
                        else:
                            data[w + (addr & 0xFF)] = a
                            wz = (a1 & 0xFF) | (a << 8)
                    else:                           # LD A,(BC) / LD A,(DE) / LD A,(nn)
                        v = rdm(data, rp, addr)
                        if v < 0:
                            ok = False
                        else:
                            a = v
                            wz = a1
            else:                                   # x == 3
                if z == 0:                          # RET cc
                    if cc(y, f):
                        lo = rdm(data, rp, sp)
                        hi = rdm(data, rp, (sp + 1) & 0xFFFF)
                        if lo < 0 or hi < 0:
                            ok = False
                        else:
                            npc = (hi << 8) | lo
                            wz = npc
                            sp = (sp + 2) & 0xFFFF
                            t += 6
                elif z == 1:
                    if y & 1 == 0 or y == 1:        # POP rp2 / RET
                        lo = rdm(data, rp, sp)
                        hi = rdm(data, rp, (sp + 1) & 0xFFFF)
                        if lo < 0 or hi < 0:
                            ok = False
                        else:
                            sp = (sp + 2) & 0xFFFF
                            if y == 0:
                                b, c = hi, lo
                            elif y == 2:
                                d, e = hi, lo
                            elif y == 4:
                                h, l = hi, lo
                            elif y == 6:
                                a, f = hi, lo
                            else:
                                npc = (hi << 8) | lo
                                wz = npc
                    elif y == 5:                    # JP (HL)
                        npc = (h << 8) | l
                    elif y == 7:                    # LD SP,HL
                        sp = (h << 8) | l
                    else:                           # EXX
                        b, s[B_] = s[B_], b
                        c, s[C_] = s[C_], c
                        d, s[D_] = s[D_], d
                        e, s[E_] = s[E_], e
                        h, s[H_] = s[H_], h
                        l, s[L_] = s[L_], l
                elif z == 2 or z == 4 or (z == 3 and y == 0) or (z == 5 and y == 1):
                    # JP cc,nn / CALL cc,nn / JP nn / CALL nn
                    n2 = rdm(data, rp, (pc + 2) & 0xFFFF)
                    if n1 < 0 or n2 < 0:
                        ok = False
                    else:
                        nn = (n2 << 8) | n1
                        ret = (pc + 3) & 0xFFFF
                        taken = z == 3 or z == 5 or cc(y, f)
                        if taken and (z == 4 or z == 5):
                            s1 = (sp - 1) & 0xFFFF
                            s2 = (sp - 2) & 0xFFFF
                            w1 = wp[(s1 >> 8) & 0xFF]
                            w2 = wp[(s2 >> 8) & 0xFF]
                            if w1 < 0 or w2 < 0:
                                ok = False
                            else:
                                data[w1 + (s1 & 0xFF)] = ret >> 8
                                data[w2 + (s2 & 0xFF)] = ret & 0xFF
                                sp = s2
                                if z == 4:
                                    t += 7
                        if ok:
                            wz = nn
                            npc = nn if taken else ret
                elif z == 5 and y & 1 == 0:         # PUSH rp2
                    s1 = (sp - 1) & 0xFFFF
                    s2 = (sp - 2) & 0xFFFF
                    w1 = wp[(s1 >> 8) & 0xFF]
                    w2 = wp[(s2 >> 8) & 0xFF]
                    if w1 < 0 or w2 < 0:
                        ok = False
                    else:
                        if y == 0:
                            hi, lo = b, c
                        elif y == 2:
                            hi, lo = d, e
                        elif y == 4:
                            hi, lo = h, l
                        else:
                            hi, lo = a, f
                        data[w1 + (s1 & 0xFF)] = hi
                        data[w2 + (s2 & 0xFF)] = lo
                        sp = s2
                elif z == 6:                        # ALU A,n
                    if n1 < 0:
                        ok = False
                    else:
                        a, f = alu8(y, a, f, n1)
                        npc = (pc + 2) & 0xFFFF
                        nq = f
                elif z == 3 and y == 5:             # EX DE,HL
                    d, e, h, l = h, l, d, e
                elif op == 0xCB:                    # CB on a register
                    z2 = n1 & 7
                    if n1 < 0 or z2 == 6:
                        ok = False
                    else:
                        x2 = n1 >> 6
                        y2 = (n1 >> 3) & 7
                        v = getr(z2, b, c, d, e, h, l, a)
                        npc = (pc + 2) & 0xFFFF
                        dr = 2
                        t = 8
                        if x2 == 1:                 # BIT
                            bit = v & (1 << y2)
                            f = (f & CFL) | HFL | (v & (YFL | XFL))
                            if bit == 0:
                                f |= ZFL | PFL
                            if y2 == 7 and bit:
                                f |= SFL
                            nq = f
                        else:
                            if x2 == 0:
                                v, f = rot8(y2, f, v)
                                nq = f
                            elif x2 == 2:
                                v &= ~(1 << y2) & 0xFF
                            else:
                                v |= 1 << y2
                            b, c, d, e, h, l, a = setr(z2, v, b, c, d, e, h, l, a)
                elif op == 0xED:
                    dr = 2
                    t = CYC_ED[n1 & 0xFF]
                    npc = (pc + 2) & 0xFFFF
                    if n1 & 0xE7 == 0xA0:           # LDI LDD LDIR LDDR
                        hl = (h << 8) | l
                        de = (d << 8) | e
                        v = rdm(data, rp, hl)
                        w = wp[(de >> 8) & 0xFF]
                        if v < 0 or w < 0:
                            ok = False
                        else:
                            data[w + (de & 0xFF)] = v
                            dv = 1 if n1 & 8 == 0 else -1
                            hl = (hl + dv) & 0xFFFF
                            de = (de + dv) & 0xFFFF
                            bc = (((b << 8) | c) - 1) & 0xFFFF
                            h, l, d, e, b, c = hl >> 8, hl & 0xFF, de >> 8, de & 0xFF, bc >> 8, bc & 0xFF
                            v += a
                            f = (f & (SFL | ZFL | CFL)) | (v & XFL) | ((v << 4) & YFL)
                            if bc != 0:
                                f |= PFL
                                if n1 & 0x10:       # repeat: PC back, X/Y from PC's high byte
                                    npc = pc
                                    wz = (pc + 1) & 0xFFFF
                                    f = (f & ~(YFL | XFL)) | ((pc >> 8) & (YFL | XFL))
                                    t += 5
                            nq = f
                    elif n1 & 0xC7 == 0x42:         # SBC HL,rr / ADC HL,rr
                        hl = (h << 8) | l
                        p = (n1 >> 4) & 3
                        if p == 0:
                            v = (b << 8) | c
                        elif p == 1:
                            v = (d << 8) | e
                        elif p == 2:
                            v = hl
                        else:
                            v = sp
                        v, f = adc16v(1 - ((n1 >> 3) & 1), f, hl, v)
                        wz = (hl + 1) & 0xFFFF
                        h, l = v >> 8, v & 0xFF
                        nq = f
                    else:
                        ok = False
                elif op == 0xDD or op == 0xFD:
                    xr = ix if op == 0xDD else iy
                    dr = 2
                    t = CYC_MAIN[n1 & 0xFF] + 4
                    npc = (pc + 2) & 0xFFFF
                    n2 = rdm(data, rp, npc)
                    ea = (xr + (n2 - 256 if n2 >= 128 else n2)) & 0xFFFF
                    x2 = n1 >> 6
                    y2 = (n1 >> 3) & 7
                    z2 = n1 & 7
                    if n1 < 0 or n2 < 0:
                        ok = False
                    elif x2 == 1 and (z2 == 6) != (y2 == 6):
                        t += 8
                        npc = (pc + 3) & 0xFFFF
                        wz = ea
                        if z2 == 6:                 # LD r,(IX+d): the real H and L
                            v = rdm(data, rp, ea)
                            if v < 0:
                                ok = False
                            else:
                                b, c, d, e, h, l, a = setr(y2, v, b, c, d, e, h, l, a)
                        else:                       # LD (IX+d),r
                            w = wp[(ea >> 8) & 0xFF]
                            if w < 0:
                                ok = False
                            else:
                                data[w + (ea & 0xFF)] = getr(z2, b, c, d, e, h, l, a)
                    elif x2 == 2 and z2 == 6:       # ALU A,(IX+d)
                        v = rdm(data, rp, ea)
                        if v < 0:
                            ok = False
                        else:
                            a, f = alu8(y2, a, f, v)
                            nq = f
                            t += 8
                            npc = (pc + 3) & 0xFFFF
                            wz = ea
                    elif n1 == 0x23 or n1 == 0x2B:  # INC IX / DEC IX
                        xr = (xr + (1 if n1 == 0x23 else -1)) & 0xFFFF
                    elif n1 == 0x21:                # LD IX,nn
                        n3 = rdm(data, rp, (pc + 3) & 0xFFFF)
                        if n3 < 0:
                            ok = False
                        else:
                            xr = (n3 << 8) | n2
                            npc = (pc + 4) & 0xFFFF
                    elif n1 & 0xCF == 0x09:         # ADD IX,rp
                        p = (n1 >> 4) & 3
                        if p == 0:
                            v = (b << 8) | c
                        elif p == 1:
                            v = (d << 8) | e
                        elif p == 2:
                            v = xr
                        else:
                            v = sp
                        wz = (xr + 1) & 0xFFFF
                        xr, f = add16v(f, xr, v)
                        nq = f
                    elif n1 == 0x36:                # LD (IX+d),n
                        n3 = rdm(data, rp, (pc + 3) & 0xFFFF)
                        w = wp[(ea >> 8) & 0xFF]
                        if n3 < 0 or w < 0:
                            ok = False
                        else:
                            data[w + (ea & 0xFF)] = n3
                            t += 5
                            npc = (pc + 4) & 0xFFFF
                            wz = ea
                    elif n1 == 0x34 or n1 == 0x35:  # INC/DEC (IX+d)
                        v = rdm(data, rp, ea)
                        w = wp[(ea >> 8) & 0xFF]
                        if v < 0 or w < 0:
                            ok = False
                        else:
                            if n1 == 0x34:
                                v, f = inc8v(f, v)
                            else:
                                v, f = dec8v(f, v)
                            data[w + (ea & 0xFF)] = v
                            nq = f
                            t += 8
                            npc = (pc + 3) & 0xFFFF
                            wz = ea
                    elif n1 == 0xE1 or n1 == 0xE5:  # POP IX / PUSH IX
                        if n1 == 0xE1:
                            lo = rdm(data, rp, sp)
                            hi = rdm(data, rp, (sp + 1) & 0xFFFF)
                            if lo < 0 or hi < 0:
                                ok = False
                            else:
                                xr = (hi << 8) | lo
                                sp = (sp + 2) & 0xFFFF
                        else:
                            s1 = (sp - 1) & 0xFFFF
                            s2 = (sp - 2) & 0xFFFF
                            w1 = wp[(s1 >> 8) & 0xFF]
                            w2 = wp[(s2 >> 8) & 0xFF]
                            if w1 < 0 or w2 < 0:
                                ok = False
                            else:
                                data[w1 + (s1 & 0xFF)] = xr >> 8
                                data[w2 + (s2 & 0xFF)] = xr & 0xFF
                                sp = s2
                    elif n1 == 0xE9:                # JP (IX)
                        npc = xr
                    elif n1 == 0xF9:                # LD SP,IX
                        sp = xr
                    elif n1 == 0xCB:                # DD CB d op: (IX+d) only
                        o3 = rdm(data, rp, (pc + 3) & 0xFFFF)
                        v = rdm(data, rp, ea)
                        w = wp[(ea >> 8) & 0xFF]
                        if o3 < 0 or v < 0 or w < 0:
                            ok = False
                        else:
                            x3 = o3 >> 6
                            y3 = (o3 >> 3) & 7
                            z3 = o3 & 7
                            npc = (pc + 4) & 0xFFFF
                            wz = ea
                            if x3 == 1:             # BIT: X/Y from WZ's high byte
                                t = 20
                                bit = v & (1 << y3)
                                f = (f & CFL) | HFL | ((ea >> 8) & (YFL | XFL))
                                if bit == 0:
                                    f |= ZFL | PFL
                                if y3 == 7 and bit:
                                    f |= SFL
                                nq = f
                            else:
                                t = 23
                                if x3 == 0:
                                    v, f = rot8(y3, f, v)
                                    nq = f
                                elif x3 == 2:
                                    v &= ~(1 << y3) & 0xFF
                                else:
                                    v |= 1 << y3
                                data[w + (ea & 0xFF)] = v
                                if z3 != 6:         # undocumented copy to a register
                                    b, c, d, e, h, l, a = setr(z3, v, b, c, d, e, h, l, a)
                    else:
                        ok = False
                    if ok:
                        if op == 0xDD:
                            ix = xr
                        else:
                            iy = xr
                else:
                    ok = False
            if ok:
                pc = npc
                q = nq
                r += dr
                cyc += t
                insns += 1
        if not ok:
            # ---- store, one general step, reload
            s[A], s[F], s[B], s[C], s[D], s[E], s[H], s[L] = a, f, b, c, d, e, h, l
            s[IXH], s[IXL], s[IYH], s[IYL] = ix >> 8, ix & 0xFF, iy >> 8, iy & 0xFF
            s[SP], s[PC], s[WZ], s[Q] = sp, pc, wz, q
            s[R] = (s[R] & 0x80) | (r & 0x7F)
            s[abi.S_CYCLES], s[abi.S_INSNS] = cyc, insns
            # the breakpoint is armed once the run has moved (every instruction takes cycles)
            x = step(s, mem, end, snap, cyc != cyc0)
            a, f, b, c, d, e, h, l = s[A], s[F], s[B], s[C], s[D], s[E], s[H], s[L]
            ix = (s[IXH] << 8) | s[IXL]
            iy = (s[IYH] << 8) | s[IYL]
            sp, pc, wz, q, r = s[SP], s[PC], s[WZ], s[Q], s[R]
            cyc, insns = s[abi.S_CYCLES], s[abi.S_INSNS]
            special = s[abi.S_NMI] | (s[abi.S_IRQ] & 1) | s[EI] | s[HALTED] | s[P]
            if x >= 0:
                reason = x
                break
    s[A], s[F], s[B], s[C], s[D], s[E], s[H], s[L] = a, f, b, c, d, e, h, l
    s[IXH], s[IXL], s[IYH], s[IYL] = ix >> 8, ix & 0xFF, iy >> 8, iy & 0xFF
    s[SP], s[PC], s[WZ], s[Q] = sp, pc, wz, q
    s[R] = (s[R] & 0x80) | (r & 0x7F)
    s[abi.S_CYCLES], s[abi.S_INSNS] = cyc, insns
    return reason
