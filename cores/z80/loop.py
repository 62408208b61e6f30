"""The Z80 run loop: hot instructions on registers held in local variables.

``cpu.py`` is the complete interpreter, working on the state array.  Here A, F,
the pairs BC DE HL, PC and the cycle count live in locals (few enough for LLVM
to keep most in machine registers), and the most frequent instructions are
decoded inline, dispatched by an instruction-class table (``KIND``): unprefixed
loads, ALU, jumps, calls, stack, CB on registers, LDI/LDIR, ADC/SBC HL and the
common IX/IY forms.  Values written often but read rarely (SP, WZ, Q, IX and IY
as words, the instruction and R count) stay in the state array: measured, a
live value more in the loop costs more than the memory access.

``loop`` is compiled twice: for a map that is one contiguous 64 KiB of RAM
(CP/M; ``flat`` is then that view of data, addresses index it directly) and for
paged maps (``flat`` is None and every access goes through the page tables).

An instruction takes the fast path only when all its memory accesses fall on
RAM or ROM pages (writes: RAM) and nothing special is pending (interrupt line,
EI shadow, HALT, the P latch); while a breakpoint is set, ``run`` uses
``cpu.run_general``, the general decoder alone.  It reads everything it needs
before changing anything, so giving up half-way (``ok = False``) leaves the
machine untouched, and the general ``cpu.step`` executes that instruction on
the state array instead.  The flag rules are the shared pure functions of
``cpu.py``; the SingleStepTests vectors run through all three ways (flat,
paged, general).
"""
import numpy as np
from numba import njit

from emu import abi

from .cpu import (A, A_, B, BREAKS, B_, C, C_, CFL, D, D_, E, E_, EI, F, F_, H, H_, HALTED, HFL, IXH,
                  IXL, IYH, IYL, J, JB, L, L_, P, PC, PFL, Q, R, SFL, SP, WZ, XFL, XREAD, YFL,
                  ZFL, acc8, adc16v, add16v, alu8, cb8, dec8v, inc8v, reads_exit, rot8,
                  run_general, step)
from .tables import CYC_ED, CYC_MAIN

# ---- instruction classes of the unprefixed opcodes (0 = general path only) ----
(K_SLOW, K_LD_RR, K_ALU_R, K_LD_R_N, K_JR, K_ALU_N, K_LD_R_HL, K_LD_HL_R, K_ALU_HL, K_INCDEC_RP,
 K_INCDEC_R, K_JP_CALL, K_POP_RET, K_PUSH, K_CB, K_XY, K_ED, K_INCDEC_HL, K_LD_HL_N, K_LD_RP_NN,
 K_ADD_HL, K_ACC, K_LD_IND, K_NOP, K_EX_AF, K_JP_HL, K_LD_SP_HL, K_EX_DE_HL, K_EXX) = range(29)


def _kinds():
    k = np.zeros(256, dtype=np.int64)
    for op in range(256):
        x, y, z = op >> 6, (op >> 3) & 7, op & 7
        if x == 1:
            k[op] = (K_SLOW if y == 6 else K_LD_R_HL) if z == 6 else (K_LD_HL_R if y == 6 else K_LD_RR)
        elif x == 2:
            k[op] = K_ALU_HL if z == 6 else K_ALU_R
        elif x == 0:
            if z == 0:
                k[op] = (K_NOP, K_EX_AF)[y] if y < 2 else K_JR
            elif z == 1:
                k[op] = K_ADD_HL if y & 1 else K_LD_RP_NN
            elif z == 2:
                k[op] = K_LD_IND
            elif z == 3:
                k[op] = K_INCDEC_RP
            elif z in (4, 5):
                k[op] = K_INCDEC_HL if y == 6 else K_INCDEC_R
            elif z == 6:
                k[op] = K_LD_HL_N if y == 6 else K_LD_R_N
            else:
                k[op] = K_ACC
        elif z == 0 or (z == 1 and (y & 1 == 0 or y == 1)):
            k[op] = K_POP_RET
        elif z in (2, 4) or op in (0xC3, 0xCD):
            k[op] = K_JP_CALL
        elif z == 5 and y & 1 == 0:
            k[op] = K_PUSH
        elif z == 6:
            k[op] = K_ALU_N
    k[0xCB], k[0xED], k[0xDD], k[0xFD] = K_CB, K_ED, K_XY, K_XY
    k[0xE9], k[0xF9], k[0xEB], k[0xD9] = K_JP_HL, K_LD_SP_HL, K_EX_DE_HL, K_EXX
    return k


KIND = _kinds()
KIND_T = KIND | (CYC_MAIN << 8)
CNT = 50                                            # state slot of that count
IX16, IY16 = 51, 52                                 # IX and IY as words while the loop runs
ONE = (1 << 32) | 1                                 # one instruction, one R increment
TWO = (1 << 32) | 2                                 # one instruction with a prefix
CHUNK = 1 << 30                                     # cycles per loop call at most


# rdm and wofs are left to LLVM's inliner (J, not JB): inlining their ~40 call sites
# in Numba's IR made the loop take twice as long to compile, for no measurable speed.
@njit(**J)
def rdm(data, rp, flat, a):
    """Byte at ``a`` if its page is memory, else -1 (the general path handles it).
    ``flat``: None, or the 64 KiB of RAM that is the whole map."""
    if flat is not None:
        return np.int64(flat[np.uint64(a)])
    off = rp[(a >> 8) & 0xFF]
    if off < 0:
        return np.int64(-1)
    return np.int64(data[np.uint64(off + (a & 0xFF))])


@njit(**J)
def wofs(wp, flat, a):
    """Index in data of a write to ``a``, or -1 if its page is not RAM."""
    if flat is not None:
        return a
    off = wp[(a >> 8) & 0xFF]
    if off < 0:
        return np.int64(-1)
    return off + (a & 0xFF)


@njit(**JB)
def push16(s, data, wp, flat, v):
    """PUSH v: False (nothing written) unless both stack bytes are RAM."""
    s1 = (s[SP] - 1) & 0xFFFF
    s2 = (s[SP] - 2) & 0xFFFF
    w1 = wofs(wp, flat, s1)
    w2 = wofs(wp, flat, s2)
    if w1 < 0 or w2 < 0:
        return False
    data[np.uint64(w1)] = v >> 8
    data[np.uint64(w2)] = v & 0xFF
    s[SP] = s2
    return True


@njit(**JB)
def pop16(s, data, rp, flat):
    """POP: the word, or -1 (SP unchanged) unless both stack bytes are memory."""
    lo = rdm(data, rp, flat, s[SP])
    hi = rdm(data, rp, flat, (s[SP] + 1) & 0xFFFF)
    if lo < 0 or hi < 0:
        return np.int64(-1)
    s[SP] = (s[SP] + 2) & 0xFFFF
    return (hi << 8) | lo


@njit(**JB)
def incdec_at(data, rp, wp, flat, addr, dec, f):
    """INC/DEC of the byte at ``addr``: the new F, or -1 (nothing written) if the
    byte is not in RAM."""
    v = rdm(data, rp, flat, addr)
    w = wofs(wp, flat, addr)
    if v < 0 or w < 0:
        return np.int64(-1)
    if dec:
        v, f = dec8v(f, v)
    else:
        v, f = inc8v(f, v)
    data[np.uint64(w)] = v
    return f


@njit(**JB)
def getr(z, a, bc, de, hl):
    """Register z of B C D E H L - A (z != 6)."""
    if z == 7:
        return a
    if z == 0:
        return bc >> 8
    if z == 1:
        return bc & 0xFF
    if z == 2:
        return de >> 8
    if z == 3:
        return de & 0xFF
    if z == 4:
        return hl >> 8
    return hl & 0xFF


@njit(**JB)
def setr(y, v, a, bc, de, hl):
    """Returns (A, BC, DE, HL) with register y of B C D E H L - A set to v."""
    if y == 7:
        a = v
    elif y == 0:
        bc = (bc & 0xFF) | (v << 8)
    elif y == 1:
        bc = (bc & 0xFF00) | v
    elif y == 2:
        de = (de & 0xFF) | (v << 8)
    elif y == 3:
        de = (de & 0xFF00) | v
    elif y == 4:
        hl = (hl & 0xFF) | (v << 8)
    else:
        hl = (hl & 0xFF00) | v
    return a, bc, de, hl


@njit(**JB)
def cc(y, f):
    """Condition y (NZ Z NC C PO PE P M) on flags f."""
    m = (ZFL, CFL, PFL, SFL)[y >> 1]
    return ((f & m) != 0) == ((y & 1) == 1)


@njit(**JB)
def rp16(p, bc, de, hl, sp):
    """Register pair p of BC DE HL SP."""
    if p == 0:
        return bc
    if p == 1:
        return de
    if p == 2:
        return hl
    return sp


@njit(**J)
def run(s, mem, budget):
    if s[abi.S_BREAK] >= 0 or s[BREAKS + abi.BT_COUNT] > 0:   # breakpoints: the general decoder alone
        return run_general(s, mem, budget)
    rp = mem[1]
    wp = mem[2]
    # A map that is one contiguous block of RAM (CP/M, tests) has a loop compiled
    # without page tables: ``flat`` is then those 64 KiB of data.
    # (no early exit, so that LLVM vectorizes it: this runs at every run() call)
    base = rp[0]
    odd = 0
    for i in range(256):
        odd |= (rp[i] - base - 256 * i) | (wp[i] - rp[i])
    flat = odd == 0
    # at most 2**30 cycles per loop call, so the packed instruction/R count never overflows
    end = s[abi.S_CYCLES] + budget
    while True:
        chunk = min(end - s[abi.S_CYCLES], CHUNK)
        if flat:
            reason = loop(s, mem, chunk, mem[0][base:base + 0x10000])
        else:
            reason = loop(s, mem, chunk, None)
        if reason != abi.EXIT_BUDGET or s[abi.S_CYCLES] >= end:
            return reason


@njit(**J)
def loop(s, mem, budget, flat):
    data = mem[0] if flat is None else flat
    rp = mem[1]
    wp = mem[2]
    s[abi.S_EXIT_REASON] = 0
    s[XREAD] = 0
    s[CNT] = 0                                      # instructions << 32 | R increments
    snap = reads_exit(rp)
    cyc = s[abi.S_CYCLES]
    end = cyc + budget
    reason = abi.EXIT_BUDGET
    a, f, pc = s[A], s[F], s[PC]
    bc = (s[B] << 8) | s[C]
    de = (s[D] << 8) | s[E]
    hl = (s[H] << 8) | s[L]
    s[IX16], s[IY16] = (s[IXH] << 8) | s[IXL], (s[IYH] << 8) | s[IYL]
    # Interrupt lines are set from Python between runs and only the core clears
    # them (NMI taken); P (LD A,I/R) is cleared by the next instruction in cpu.step.
    special = s[abi.S_NMI] | (s[abi.S_IRQ] & 1) | s[EI] | s[HALTED] | s[P]
    while cyc < end:
        ok = special == 0
        while ok:
            # opcode and (speculatively) the byte after it; unsigned indices: no wrap-around fix-up
            if flat is not None:                    # one contiguous 64 KiB: no page lookup
                op = np.int64(data[np.uint64(pc)])
                n1 = np.int64(data[np.uint64((pc + 1) & 0xFFFF)])
            else:
                off = rp[(pc >> 8) & 0xFF]
                if off < 0:                         # not memory: the general path exits
                    ok = False
                    break
                o = off + (pc & 0xFF)
                op = np.int64(data[np.uint64(o)])
                n1 = (np.int64(data[np.uint64(o + 1)]) if pc & 0xFF != 0xFF
                      else rdm(data, rp, flat, (pc + 1) & 0xFFFF))
            kt = KIND_T[op]                         # class | T-states << 8
            k = kt & 0xFF
            t = kt >> 8
            y = (op >> 3) & 7
            z = op & 7
            npc = (pc + 1) & 0xFFFF
            nq = 0                                  # next Q: F if this instruction sets flags
            dr = ONE                                # R increments (2 with a prefix)
            if k == K_LD_RR:                        # LD r,r'
                a, bc, de, hl = setr(y, getr(z, a, bc, de, hl), a, bc, de, hl)
            elif k == K_ALU_R:                      # ALU A,r
                a, f = alu8(y, a, f, getr(z, a, bc, de, hl))
                nq = f
            elif k == K_LD_R_N:                     # LD r,n
                npc = (pc + 2) & 0xFFFF
                if n1 < 0:
                    ok = False
                else:
                    a, bc, de, hl = setr(y, n1, a, bc, de, hl)
            elif k == K_JR:                         # DJNZ / JR / JR cc
                if n1 < 0:
                    ok = False
                else:
                    dd = n1 - 256 if n1 >= 128 else n1
                    npc = (pc + 2) & 0xFFFF
                    if y == 2:                      # DJNZ
                        bc = (bc - 0x100) & 0xFFFF
                        if bc >= 0x100:
                            npc = (npc + dd) & 0xFFFF
                            s[WZ] = npc
                            t += 5
                    elif y == 3 or cc(y - 4, f):    # JR / JR cc
                        npc = (npc + dd) & 0xFFFF
                        s[WZ] = npc
                        if y != 3:
                            t += 5
            elif k == K_ALU_N:                      # ALU A,n
                if n1 < 0:
                    ok = False
                else:
                    a, f = alu8(y, a, f, n1)
                    npc = (pc + 2) & 0xFFFF
                    nq = f
            elif k == K_LD_R_HL:                    # LD r,(HL)
                v = rdm(data, rp, flat, hl)
                if v < 0:
                    ok = False
                else:
                    a, bc, de, hl = setr(y, v, a, bc, de, hl)
            elif k == K_LD_HL_R:                    # LD (HL),r
                w = wofs(wp, flat, hl)
                if w < 0:
                    ok = False
                else:
                    data[np.uint64(w)] = getr(z, a, bc, de, hl)
            elif k == K_ALU_HL:                     # ALU A,(HL)
                v = rdm(data, rp, flat, hl)
                if v < 0:
                    ok = False
                else:
                    a, f = alu8(y, a, f, v)
                    nq = f
            elif k == K_INCDEC_RP:                  # INC/DEC rp
                dv = 1 if y & 1 == 0 else -1
                p = y >> 1
                if p == 0:
                    bc = (bc + dv) & 0xFFFF
                elif p == 1:
                    de = (de + dv) & 0xFFFF
                elif p == 2:
                    hl = (hl + dv) & 0xFFFF
                else:
                    s[SP] = (s[SP] + dv) & 0xFFFF
            elif k == K_INCDEC_R:                   # INC/DEC r
                v = getr(y, a, bc, de, hl)
                if z == 4:
                    v, f = inc8v(f, v)
                else:
                    v, f = dec8v(f, v)
                a, bc, de, hl = setr(y, v, a, bc, de, hl)
                nq = f
            elif k == K_JP_CALL:                    # JP cc,nn / CALL cc,nn / JP nn / CALL nn
                n2 = rdm(data, rp, flat, (pc + 2) & 0xFFFF)
                if n1 < 0 or n2 < 0:
                    ok = False
                else:
                    nn = (n2 << 8) | n1
                    ret = (pc + 3) & 0xFFFF
                    taken = z == 3 or z == 5 or cc(y, f)
                    if taken and (z == 4 or z == 5):
                        if not push16(s, data, wp, flat, ret):
                            ok = False
                        elif z == 4:
                            t += 7
                    if ok:
                        s[WZ] = nn
                        npc = nn if taken else ret
            elif k == K_POP_RET:                    # RET cc / POP rp2 / RET
                if z == 1 or cc(y, f):
                    v = pop16(s, data, rp, flat)
                    if v < 0:
                        ok = False
                    else:
                        if z == 0 or y == 1:
                            npc = v
                            s[WZ] = v
                            if z == 0:
                                t += 6
                        elif y == 0:
                            bc = v
                        elif y == 2:
                            de = v
                        elif y == 4:
                            hl = v
                        else:
                            a, f = v >> 8, v & 0xFF
            elif k == K_PUSH:                       # PUSH rp2
                v = ((a << 8) | f) if y == 6 else rp16(y >> 1, bc, de, hl, s[SP])
                ok = push16(s, data, wp, flat, v)
            elif k == K_CB:                         # CB on a register
                z2 = n1 & 7
                if n1 < 0 or z2 == 6:
                    ok = False
                else:
                    x2 = n1 >> 6
                    y2 = (n1 >> 3) & 7
                    v = getr(z2, a, bc, de, hl)
                    npc = (pc + 2) & 0xFFFF
                    dr = TWO
                    t = 8
                    # cpu.cb8's rules written out: through cb8 the loop measured 4% slower
                    if x2 == 1:                     # BIT
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
                        a, bc, de, hl = setr(z2, v, a, bc, de, hl)
            elif k == K_XY:
                xs = IX16 if op == 0xDD else IY16
                xr = s[xs]
                dr = TWO
                t = CYC_MAIN[n1 & 0xFF] + 4
                npc = (pc + 2) & 0xFFFF
                n2 = rdm(data, rp, flat, npc)
                ea = (xr + (n2 - 256 if n2 >= 128 else n2)) & 0xFFFF
                x2 = n1 >> 6
                y2 = (n1 >> 3) & 7
                z2 = n1 & 7
                if n1 < 0 or n2 < 0:
                    ok = False
                elif x2 == 1 and (z2 == 6) != (y2 == 6):
                    t += 8
                    npc = (pc + 3) & 0xFFFF
                    if z2 == 6:                     # LD r,(IX+d): the real H and L
                        v = rdm(data, rp, flat, ea)
                        if v < 0:
                            ok = False
                        else:
                            a, bc, de, hl = setr(y2, v, a, bc, de, hl)
                    else:                           # LD (IX+d),r
                        w = wofs(wp, flat, ea)
                        if w < 0:
                            ok = False
                        else:
                            data[np.uint64(w)] = getr(z2, a, bc, de, hl)
                    if ok:
                        s[WZ] = ea
                elif x2 == 2 and z2 == 6:           # ALU A,(IX+d)
                    v = rdm(data, rp, flat, ea)
                    if v < 0:
                        ok = False
                    else:
                        a, f = alu8(y2, a, f, v)
                        nq = f
                        t += 8
                        npc = (pc + 3) & 0xFFFF
                        s[WZ] = ea
                elif n1 == 0x23 or n1 == 0x2B:      # INC IX / DEC IX
                    xr = (xr + (1 if n1 == 0x23 else -1)) & 0xFFFF
                elif n1 == 0x21:                    # LD IX,nn
                    n3 = rdm(data, rp, flat, (pc + 3) & 0xFFFF)
                    if n3 < 0:
                        ok = False
                    else:
                        xr = (n3 << 8) | n2
                        npc = (pc + 4) & 0xFFFF
                elif n1 & 0xCF == 0x09:             # ADD IX,rp
                    p = (n1 >> 4) & 3
                    s[WZ] = (xr + 1) & 0xFFFF
                    xr, f = add16v(f, xr, xr if p == 2 else rp16(p, bc, de, hl, s[SP]))
                    nq = f
                elif n1 == 0x36:                    # LD (IX+d),n
                    n3 = rdm(data, rp, flat, (pc + 3) & 0xFFFF)
                    w = wofs(wp, flat, ea)
                    if n3 < 0 or w < 0:
                        ok = False
                    else:
                        data[np.uint64(w)] = n3
                        t += 5
                        npc = (pc + 4) & 0xFFFF
                        s[WZ] = ea
                elif n1 == 0x34 or n1 == 0x35:      # INC/DEC (IX+d)
                    v = incdec_at(data, rp, wp, flat, ea, n1 == 0x35, f)
                    if v < 0:
                        ok = False
                    else:
                        f = v
                        nq = f
                        t += 8
                        npc = (pc + 3) & 0xFFFF
                        s[WZ] = ea
                elif n1 == 0xE1:                    # POP IX
                    v = pop16(s, data, rp, flat)
                    if v < 0:
                        ok = False
                    else:
                        xr = v
                elif n1 == 0xE5:                    # PUSH IX
                    ok = push16(s, data, wp, flat, xr)
                elif n1 == 0xE9:                    # JP (IX)
                    npc = xr
                elif n1 == 0xF9:                    # LD SP,IX
                    s[SP] = xr
                elif n1 == 0xCB:                    # DD CB d op: (IX+d) only
                    o3 = rdm(data, rp, flat, (pc + 3) & 0xFFFF)
                    v = rdm(data, rp, flat, ea)
                    w = wofs(wp, flat, ea)
                    if o3 < 0 or v < 0 or w < 0:
                        ok = False
                    else:
                        x3 = o3 >> 6
                        y3 = (o3 >> 3) & 7
                        z3 = o3 & 7
                        npc = (pc + 4) & 0xFFFF
                        s[WZ] = ea
                        v, f = cb8(x3, y3, v, f, ea >> 8)   # BIT: X/Y from WZ's high byte
                        if x3 < 2:
                            nq = f
                        if x3 == 1:
                            t = 20
                        else:
                            t = 23
                            data[np.uint64(w)] = v
                            if z3 != 6:             # undocumented copy to a register
                                a, bc, de, hl = setr(z3, v, a, bc, de, hl)
                else:
                    ok = False
                if ok:
                    s[xs] = xr
            elif k == K_ED:
                dr = TWO
                t = CYC_ED[n1 & 0xFF]
                npc = (pc + 2) & 0xFFFF
                if n1 & 0xE7 == 0xA0:               # LDI LDD LDIR LDDR
                    v = rdm(data, rp, flat, hl)
                    w = wofs(wp, flat, de)
                    if v < 0 or w < 0:
                        ok = False
                    else:
                        data[np.uint64(w)] = v
                        dv = 1 if n1 & 8 == 0 else -1
                        hl = (hl + dv) & 0xFFFF
                        de = (de + dv) & 0xFFFF
                        bc = (bc - 1) & 0xFFFF
                        v += a
                        f = (f & (SFL | ZFL | CFL)) | (v & XFL) | ((v << 4) & YFL)
                        if bc != 0:
                            f |= PFL
                            if n1 & 0x10:           # repeat: PC back, X/Y from PC's high byte
                                npc = pc
                                s[WZ] = (pc + 1) & 0xFFFF
                                f = (f & ~(YFL | XFL)) | ((pc >> 8) & (YFL | XFL))
                                t += 5
                        nq = f
                elif n1 & 0xC7 == 0x42:             # SBC HL,rr / ADC HL,rr
                    s[WZ] = (hl + 1) & 0xFFFF
                    hl, f = adc16v(1 - ((n1 >> 3) & 1), f, hl, rp16((n1 >> 4) & 3, bc, de, hl, s[SP]))
                    nq = f
                else:
                    ok = False
            elif k == K_INCDEC_HL:                  # INC/DEC (HL)
                v = incdec_at(data, rp, wp, flat, hl, z == 5, f)
                if v < 0:
                    ok = False
                else:
                    f = v
                    nq = f
            elif k == K_LD_HL_N:                    # LD (HL),n
                npc = (pc + 2) & 0xFFFF
                w = wofs(wp, flat, hl)
                if n1 < 0 or w < 0:
                    ok = False
                else:
                    data[np.uint64(w)] = n1
            elif k == K_LD_RP_NN:                   # LD rp,nn
                n2 = rdm(data, rp, flat, (pc + 2) & 0xFFFF)
                if n1 < 0 or n2 < 0:
                    ok = False
                else:
                    npc = (pc + 3) & 0xFFFF
                    v = (n2 << 8) | n1
                    p = y >> 1
                    if p == 0:
                        bc = v
                    elif p == 1:
                        de = v
                    elif p == 2:
                        hl = v
                    else:
                        s[SP] = v
            elif k == K_ADD_HL:                     # ADD HL,rp
                s[WZ] = (hl + 1) & 0xFFFF
                hl, f = add16v(f, hl, rp16(y >> 1, bc, de, hl, s[SP]))
                nq = f
            elif k == K_ACC:                        # RLCA RRCA RLA RRA DAA CPL SCF CCF
                a, f = acc8(y, a, f, s[Q])
                nq = f
            elif k == K_LD_IND:                     # loads through (BC) (DE) (nn)
                if y < 4:
                    addr = bc if y < 2 else de
                else:
                    addr = (rdm(data, rp, flat, (pc + 2) & 0xFFFF) << 8) | n1
                    npc = (pc + 3) & 0xFFFF
                    if n1 < 0 or addr < 0:
                        ok = False
                a1 = (addr + 1) & 0xFFFF
                if not ok:
                    pass
                elif y == 4:                    # LD (nn),HL
                    w = wofs(wp, flat, addr)
                    w1 = wofs(wp, flat, a1)
                    if w < 0 or w1 < 0:
                        ok = False
                    else:
                        data[np.uint64(w)] = hl & 0xFF
                        data[np.uint64(w1)] = hl >> 8
                        s[WZ] = a1
                elif y == 5:                    # LD HL,(nn)
                    lo = rdm(data, rp, flat, addr)
                    hi = rdm(data, rp, flat, a1)
                    if lo < 0 or hi < 0:
                        ok = False
                    else:
                        hl = (hi << 8) | lo
                        s[WZ] = a1
                elif y & 1 == 0:                # LD (BC),A / LD (DE),A / LD (nn),A
                    w = wofs(wp, flat, addr)
                    if w < 0:
                        ok = False
                    else:
                        data[np.uint64(w)] = a
                        s[WZ] = (a1 & 0xFF) | (a << 8)
                else:                           # LD A,(BC) / LD A,(DE) / LD A,(nn)
                    v = rdm(data, rp, flat, addr)
                    if v < 0:
                        ok = False
                    else:
                        a = v
                        s[WZ] = a1
            elif k == K_NOP:
                pass
            elif k == K_EX_AF:                      # EX AF,AF'
                a, s[A_] = s[A_], a
                f, s[F_] = s[F_], f
            elif k == K_JP_HL:                        # JP (HL)
                npc = hl
            elif k == K_LD_SP_HL:                        # LD SP,HL
                s[SP] = hl
            elif k == K_EX_DE_HL:                        # EX DE,HL
                de, hl = hl, de
            elif k == K_EXX:                        # EXX
                v = (s[B_] << 8) | s[C_]
                s[B_], s[C_] = bc >> 8, bc & 0xFF
                bc = v
                v = (s[D_] << 8) | s[E_]
                s[D_], s[E_] = de >> 8, de & 0xFF
                de = v
                v = (s[H_] << 8) | s[L_]
                s[H_], s[L_] = hl >> 8, hl & 0xFF
                hl = v
            else:
                ok = False
            if ok:
                pc = npc
                cyc += t
                s[Q] = nq
                s[CNT] += dr
                if cyc >= end:
                    break
        if not ok:
            # ---- store, one general step, reload
            s[A], s[F], s[PC], s[abi.S_CYCLES] = a, f, pc, cyc
            s[B], s[C], s[D], s[E], s[H], s[L] = bc >> 8, bc & 0xFF, de >> 8, de & 0xFF, hl >> 8, hl & 0xFF
            s[R] = (s[R] & 0x80) | ((s[R] + s[CNT]) & 0x7F)
            s[abi.S_INSNS] += s[CNT] >> 32
            s[CNT] = 0
            s[IXH], s[IXL], s[IYH], s[IYL] = s[IX16] >> 8, s[IX16] & 0xFF, s[IY16] >> 8, s[IY16] & 0xFF
            x = step(s, mem, end, snap, False, 0, -1)   # no breakpoint here (run_general)
            a, f, pc, cyc = s[A], s[F], s[PC], s[abi.S_CYCLES]
            bc = (s[B] << 8) | s[C]
            de = (s[D] << 8) | s[E]
            hl = (s[H] << 8) | s[L]
            s[IX16], s[IY16] = (s[IXH] << 8) | s[IXL], (s[IYH] << 8) | s[IYL]
            special = s[abi.S_NMI] | (s[abi.S_IRQ] & 1) | s[EI] | s[HALTED] | s[P]
            if x >= 0:
                reason = x
                break
    s[A], s[F], s[PC], s[abi.S_CYCLES] = a, f, pc, cyc
    s[B], s[C], s[D], s[E], s[H], s[L] = bc >> 8, bc & 0xFF, de >> 8, de & 0xFF, hl >> 8, hl & 0xFF
    s[R] = (s[R] & 0x80) | ((s[R] + s[CNT]) & 0x7F)
    s[abi.S_INSNS] += s[CNT] >> 32
    s[CNT] = 0
    s[IXH], s[IXL], s[IYH], s[IYL] = s[IX16] >> 8, s[IX16] & 0xFF, s[IY16] >> 8, s[IY16] & 0xFF
    return reason
