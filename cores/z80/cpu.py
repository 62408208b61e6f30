"""Zilog Z80 interpreter, compiled with Numba (see emu/abi.py for the run ABI).

Registers live in the int64 state array (slots below).  Decoding is split by
prefix and by opcode quadrant (x = op >> 6) so no compiled function grows past
a few hundred branches.  DD/FD forms reuse the unprefixed code with ``xi``
selecting HL (0), IX (1) or IY (2).

Undocumented behaviour follows the established research: X/Y flags (bits 3/5),
MEMPTR (WZ) updates, the Q latch for SCF/CCF, IXH/IXL/IYH/IYL, DDCB register
copies, OUT (C),0, IN F,(C), block-instruction flags including the repeat
quirks.  References: Zilog UM0080; Sean Young, "The Undocumented Z80
Documented"; "MEMPTR, esoteric register of the Z80"; P. Rak / P. Helcmanovsky
on Q and interrupted block instructions.

Exits: OUT leaves after the instruction (posted ports are logged instead);
IN and MMIO reads are restartable: the instruction is undone (registers from
a per-instruction snapshot, taken only when the map has MMIO-read pages; IN
instructions need none as they read before changing anything).
"""
import numpy as np
from numba import njit

from emu import abi
from emu.breaks import bp_hit, bp_range

from .tables import CYC_ED, CYC_MAIN, PARITY, SZ, SZP

# ---- state slots --------------------------------------------------------------
B, C, D, E, H, L, F, A = 16, 17, 18, 19, 20, 21, 22, 23      # r index 0-7 -> 16 + r
IXH, IXL, IYH, IYL = 24, 25, 26, 27
SP, PC, I, R, IFF1, IFF2, IM, HALTED = 28, 29, 30, 31, 32, 33, 34, 35
EI, Q, WZ, P = 36, 37, 38, 39          # EI just executed, Q latch, MEMPTR, LD A,I/R flag
A_, F_, B_, C_, D_, E_, H_, L_ = 40, 41, 42, 43, 44, 45, 46, 47
FW = 48                                # flags written by the current instruction
XREAD = 49                             # a read needs an exit (restart the instruction)
SNAP = 64                              # snapshot of slots 16..49 for restartable reads
NREG = 34
BREAKS = SNAP + NREG                   # the break table (emu.abi BT_*)
STATE_SIZE = BREAKS + abi.BT_SIZE

SFL, ZFL, YFL, HFL, XFL, PFL, NFL, CFL = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01
J = dict(cache=True, _nrt=False)
JB = dict(cache=True, _nrt=False, inline="always")


# ---- memory ---------------------------------------------------------------------
@njit(**J)
def rd(s, mem, a):
    a &= 0xFFFF
    off = mem[1][a >> 8]
    if off >= 0:
        return np.int64(mem[0][off + (a & 0xFF)])
    if s[abi.S_PENDING] == 1 and s[abi.S_EXIT_ADDR] == a:
        s[abi.S_PENDING] = 0
        return s[abi.S_EXIT_DATA] & 0xFF
    if s[XREAD] == 0:
        s[XREAD] = 1
        s[abi.S_EXIT_ADDR] = a
        s[abi.S_EXIT_SIZE] = 1
    return 0xFF


@njit(**J)
def wr(s, mem, a, v):
    a &= 0xFFFF
    if s[XREAD]:
        return
    off = mem[2][a >> 8]
    if off <= abi.PAGE_LOGGED:                 # dirty-logged RAM (emu.abi): RAM again
        off = abi.PAGE_LOGGED - off
        mem[2][a >> 8] = off
    if off >= 0:
        mem[0][off + (a & 0xFF)] = v & 0xFF
    elif off == abi.PAGE_MMIO and s[abi.S_EXIT_REASON] == 0:
        s[abi.S_EXIT_REASON] = abi.EXIT_MMIO_WRITE
        s[abi.S_EXIT_ADDR] = a
        s[abi.S_EXIT_SIZE] = 1
        s[abi.S_EXIT_DATA] = v & 0xFF


@njit(**J)
def rd16(s, mem, a):
    return rd(s, mem, a) | (rd(s, mem, a + 1) << 8)


@njit(**J)
def wr16(s, mem, a, v):
    wr(s, mem, a, v & 0xFF)
    wr(s, mem, a + 1, (v >> 8) & 0xFF)


@njit(**J)
def fetch(s, mem):
    pc = s[PC]
    s[PC] = (pc + 1) & 0xFFFF
    return rd(s, mem, pc)


@njit(**J)
def fetch16(s, mem):
    lo = fetch(s, mem)
    return lo | (fetch(s, mem) << 8)


@njit(**J)
def inc_r(s):
    s[R] = (s[R] & 0x80) | ((s[R] + 1) & 0x7F)


@njit(**J)
def push(s, mem, v):
    sp = (s[SP] - 1) & 0xFFFF
    wr(s, mem, sp, (v >> 8) & 0xFF)
    sp = (sp - 1) & 0xFFFF
    wr(s, mem, sp, v & 0xFF)
    s[SP] = sp


@njit(**J)
def pop(s, mem):
    sp = s[SP]
    v = rd16(s, mem, sp)
    s[SP] = (sp + 2) & 0xFFFF
    return v


@njit(**J)
def setf(s, v):
    s[F] = v & 0xFF
    s[FW] = 1


# ---- I/O ----------------------------------------------------------------------
@njit(**J)
def port_in(s, mem, port):
    """Value of a pending IN for ``port``, or a published status register (emu.abi
    IOF_READ: no exit), or -1 after arranging the exit."""
    f = np.int64(mem[3][port])
    if f & abi.IOF_READ:
        return (f >> 8) & 0xFF
    if s[abi.S_PENDING] == 1 and s[abi.S_EXIT_ADDR] == port:
        s[abi.S_PENDING] = 0
        return s[abi.S_EXIT_DATA] & 0xFF
    s[abi.S_EXIT_ADDR] = port
    s[abi.S_EXIT_SIZE] = 1
    return -1


@njit(**J)
def port_out(s, mem, port, v):
    if mem[3][port] & abi.IOF_POSTED:
        n = s[abi.S_IOLOG_COUNT]
        log = mem[4]
        log[3 * n] = port | (1 << 32)
        log[3 * n + 1] = v
        log[3 * n + 2] = s[abi.S_CYCLES]
        s[abi.S_IOLOG_COUNT] = n + 1
        if 3 * (n + 2) > len(log):
            s[abi.S_EXIT_REASON] = abi.EXIT_IOLOG_FULL
    else:
        s[abi.S_EXIT_REASON] = abi.EXIT_IO_OUT
        s[abi.S_EXIT_ADDR] = port
        s[abi.S_EXIT_SIZE] = 1
        s[abi.S_EXIT_DATA] = v


# ---- register access with DD/FD substitution -------------------------------------
@njit(**J)
def get_r(s, r, xi):
    if xi != 0 and (r == 4 or r == 5):
        return s[(IXH if xi == 1 else IYH) + r - 4]
    return s[B + r]


@njit(**J)
def set_r(s, r, xi, v):
    if xi != 0 and (r == 4 or r == 5):
        s[(IXH if xi == 1 else IYH) + r - 4] = v & 0xFF
    else:
        s[B + r] = v & 0xFF


@njit(**J)
def get_hl(s, xi):
    if xi == 0:
        return (s[H] << 8) | s[L]
    if xi == 1:
        return (s[IXH] << 8) | s[IXL]
    return (s[IYH] << 8) | s[IYL]


@njit(**J)
def set_hl(s, xi, v):
    hi = H if xi == 0 else (IXH if xi == 1 else IYH)
    s[hi] = (v >> 8) & 0xFF
    s[hi + 1] = v & 0xFF


@njit(**J)
def get_rp(s, p, xi):
    """rp table: BC DE HL SP (HL substituted)."""
    if p == 0:
        return (s[B] << 8) | s[C]
    if p == 1:
        return (s[D] << 8) | s[E]
    if p == 2:
        return get_hl(s, xi)
    return s[SP]


@njit(**J)
def set_rp(s, p, xi, v):
    v &= 0xFFFF
    if p == 0:
        s[B] = v >> 8
        s[C] = v & 0xFF
    elif p == 1:
        s[D] = v >> 8
        s[E] = v & 0xFF
    elif p == 2:
        set_hl(s, xi, v)
    else:
        s[SP] = v


@njit(**J)
def ea(s, mem, xi):
    """Address of (HL) or (IX+d)/(IY+d) (fetching d; WZ = IX+d)."""
    if xi == 0:
        return (s[H] << 8) | s[L]
    d = fetch(s, mem)
    if d >= 128:
        d -= 256
    a = (get_hl(s, xi) + d) & 0xFFFF
    s[WZ] = a
    return a


@njit(**J)
def cond(s, y):
    f = s[F]
    if y == 0:
        return (f & ZFL) == 0
    if y == 1:
        return (f & ZFL) != 0
    if y == 2:
        return (f & CFL) == 0
    if y == 3:
        return (f & CFL) != 0
    if y == 4:
        return (f & PFL) == 0
    if y == 5:
        return (f & PFL) != 0
    if y == 6:
        return (f & SFL) == 0
    return (f & SFL) != 0


# ---- ALU ---------------------------------------------------------------------------
@njit(**JB)
def alu8(op, a, f, v):
    """ADD ADC SUB SBC AND XOR OR CP: returns (A, F)."""
    if op == 0 or op == 1:
        c = (f & CFL) if op == 1 else 0
        r = a + v + c
        f = SZ[r & 0xFF] | ((a ^ v ^ r) & HFL) | (r >> 8)
        if ((a ^ ~v) & (a ^ r)) & 0x80:
            f |= PFL
        return r & 0xFF, f
    if op == 2 or op == 3 or op == 7:
        c = (f & CFL) if op == 3 else 0
        r = a - v - c
        f = SZ[r & 0xFF] | ((a ^ v ^ r) & HFL) | NFL | ((r >> 8) & 1)
        if ((a ^ v) & (a ^ r)) & 0x80:
            f |= PFL
        if op == 7:
            return a, (f & ~(YFL | XFL)) | (v & (YFL | XFL))
        return r & 0xFF, f
    if op == 4:
        r = a & v
        return r, SZP[r] | HFL
    if op == 5:
        r = (a ^ v) & 0xFF
        return r, SZP[r]
    r = (a | v) & 0xFF
    return r, SZP[r]


@njit(**JB)
def inc8v(f, v):
    """INC r: returns (result, F)."""
    r = (v + 1) & 0xFF
    f = (f & CFL) | SZ[r] | ((v ^ r) & HFL)
    if r == 0x80:
        f |= PFL
    return r, f


@njit(**JB)
def dec8v(f, v):
    """DEC r: returns (result, F)."""
    r = (v - 1) & 0xFF
    f = (f & CFL) | SZ[r] | ((v ^ r) & HFL) | NFL
    if r == 0x7F:
        f |= PFL
    return r, f


@njit(**JB)
def add16v(f, a, b):
    """ADD HL,rr: returns (result, F); WZ becomes a + 1."""
    r = a + b
    f = (f & (SFL | ZFL | PFL)) | (((a ^ b ^ r) >> 8) & HFL) | ((r >> 16) & 1) | ((r >> 8) & (YFL | XFL))
    return r & 0xFFFF, f


@njit(**J)
def alu(s, op, v):
    a, f = alu8(op, s[A], s[F], v)
    s[A] = a
    setf(s, f)


@njit(**J)
def inc8(s, v):
    r, f = inc8v(s[F], v)
    setf(s, f)
    return r


@njit(**J)
def dec8(s, v):
    r, f = dec8v(s[F], v)
    setf(s, f)
    return r


@njit(**J)
def add16(s, a, b):
    r, f = add16v(s[F], a, b)
    setf(s, f)
    s[WZ] = (a + 1) & 0xFFFF
    return r


@njit(**JB)
def adc16v(sub, f, a, b):
    """ADC HL,rr (sub = 0) / SBC HL,rr (sub = 1): returns (result, F); WZ becomes a + 1."""
    if sub:
        r = a - b - (f & CFL)
        f = (((a ^ b ^ r) >> 8) & HFL) | ((r >> 16) & 1) | ((r >> 8) & (SFL | YFL | XFL)) | NFL
        if ((a ^ b) & (a ^ r)) & 0x8000:
            f |= PFL
    else:
        r = a + b + (f & CFL)
        f = (((a ^ b ^ r) >> 8) & HFL) | ((r >> 16) & 1) | ((r >> 8) & (SFL | YFL | XFL))
        if ((a ^ ~b) & (a ^ r)) & 0x8000:
            f |= PFL
    if (r & 0xFFFF) == 0:
        f |= ZFL
    return r & 0xFFFF, f


@njit(**J)
def adc16(s, sub, a, b):
    r, f = adc16v(sub, s[F], a, b)
    setf(s, f)
    s[WZ] = (a + 1) & 0xFFFF
    return r


@njit(**JB)
def rot8(y, f, v):
    """CB-group rotates/shifts RLC RRC RL RR SLA SRA SLL SRL: returns (result, F)."""
    c = f & CFL
    if y == 0:
        co = v >> 7
        r = ((v << 1) | co) & 0xFF
    elif y == 1:
        co = v & 1
        r = (v >> 1) | (co << 7)
    elif y == 2:
        co = v >> 7
        r = ((v << 1) | c) & 0xFF
    elif y == 3:
        co = v & 1
        r = (v >> 1) | (c << 7)
    elif y == 4:
        co = v >> 7
        r = (v << 1) & 0xFF
    elif y == 5:
        co = v & 1
        r = (v >> 1) | (v & 0x80)
    elif y == 6:
        co = v >> 7
        r = ((v << 1) | 1) & 0xFF
    else:
        co = v & 1
        r = v >> 1
    return r, SZP[r] | co


@njit(**JB)
def cb8(x, y, v, f, xy):
    """CB-group operation x (0 rotate/shift, 1 BIT, 2 RES, 3 SET) with bit or shift y
    on v: returns (result, F).  BIT leaves v and takes X/Y from ``xy`` (the operand of
    a register form, WZ's high byte for memory); RES and SET leave F."""
    if x == 1:
        bit = v & (1 << y)
        f = (f & CFL) | HFL | (xy & (YFL | XFL))
        if bit == 0:
            f |= ZFL | PFL
        if y == 7 and bit:
            f |= SFL
        return v, f
    if x == 0:
        return rot8(y, f, v)
    if x == 2:
        return v & ~(1 << y) & 0xFF, f
    return v | (1 << y), f


@njit(**J)
def rot(s, y, v):
    r, f = rot8(y, s[F], v)
    setf(s, f)
    return r


@njit(**JB)
def acc8(y, a, f, q):
    """Opcodes 07-3F step 8: RLCA RRCA RLA RRA DAA CPL SCF CCF on A.  ``q`` is the
    Q latch (F if the previous instruction wrote flags, else 0).  Returns (A, F)."""
    if y == 0:                                       # RLCA
        c = a >> 7
        a = ((a << 1) | c) & 0xFF
        return a, (f & (SFL | ZFL | PFL)) | (a & (YFL | XFL)) | c
    if y == 1:                                       # RRCA
        c = a & 1
        a = (a >> 1) | (c << 7)
        return a, (f & (SFL | ZFL | PFL)) | (a & (YFL | XFL)) | c
    if y == 2:                                       # RLA
        c = a >> 7
        a = ((a << 1) | (f & CFL)) & 0xFF
        return a, (f & (SFL | ZFL | PFL)) | (a & (YFL | XFL)) | c
    if y == 3:                                       # RRA
        c = a & 1
        a = (a >> 1) | ((f & CFL) << 7)
        return a, (f & (SFL | ZFL | PFL)) | (a & (YFL | XFL)) | c
    if y == 4:                                       # DAA
        corr = 0
        c = f & CFL
        if (f & HFL) or (a & 0x0F) > 9:
            corr = 6
        if c or a > 0x99:
            corr |= 0x60
            c = CFL
        r = (a - corr) & 0xFF if f & NFL else (a + corr) & 0xFF
        return r, SZP[r] | ((a ^ r) & HFL) | (f & NFL) | c
    if y == 5:                                       # CPL
        a ^= 0xFF
        return a, (f & (SFL | ZFL | PFL | CFL)) | HFL | NFL | (a & (YFL | XFL))
    if y == 6:                                       # SCF
        return a, (f & (SFL | ZFL | PFL)) | CFL | (((q ^ f) | a) & (YFL | XFL))
    return a, ((f & (SFL | ZFL | PFL | CFL)) | ((f & CFL) << 4) | (((q ^ f) | a) & (YFL | XFL))) ^ CFL


# ---- quadrant 0 (00-3F) -------------------------------------------------------------
@njit(**JB)
def exec_x0(s, mem, op, xi):
    """Returns extra cycles beyond the table count."""
    z = op & 7
    y = (op >> 3) & 7
    p = y >> 1
    if z == 0:
        if y == 0:
            return 0
        if y == 1:                                   # EX AF,AF'
            t = s[A]
            s[A] = s[A_]
            s[A_] = t
            t = s[F]
            s[F] = s[F_]
            s[F_] = t
            return 0
        d = fetch(s, mem)
        if d >= 128:
            d -= 256
        if y == 2:                                   # DJNZ
            b = (s[B] - 1) & 0xFF
            s[B] = b
            if b != 0:
                s[PC] = (s[PC] + d) & 0xFFFF
                s[WZ] = s[PC]
                return 5
            return 0
        if y == 3 or cond(s, y - 4):                 # JR / JR cc
            s[PC] = (s[PC] + d) & 0xFFFF
            s[WZ] = s[PC]
            return 5 if y != 3 else 0
        return 0
    if z == 1:
        if y & 1 == 0:                               # LD rp,nn
            set_rp(s, p, xi, fetch16(s, mem))
        else:                                        # ADD HL,rp
            set_hl(s, xi, add16(s, get_hl(s, xi), get_rp(s, p, xi)))
        return 0
    if z == 2:
        if y == 0:                                   # LD (BC),A
            a = (s[B] << 8) | s[C]
            wr(s, mem, a, s[A])
            s[WZ] = ((a + 1) & 0xFF) | (s[A] << 8)
        elif y == 1:                                 # LD A,(BC)
            a = (s[B] << 8) | s[C]
            s[A] = rd(s, mem, a)
            s[WZ] = (a + 1) & 0xFFFF
        elif y == 2:                                 # LD (DE),A
            a = (s[D] << 8) | s[E]
            wr(s, mem, a, s[A])
            s[WZ] = ((a + 1) & 0xFF) | (s[A] << 8)
        elif y == 3:                                 # LD A,(DE)
            a = (s[D] << 8) | s[E]
            s[A] = rd(s, mem, a)
            s[WZ] = (a + 1) & 0xFFFF
        elif y == 4:                                 # LD (nn),HL
            a = fetch16(s, mem)
            wr16(s, mem, a, get_hl(s, xi))
            s[WZ] = (a + 1) & 0xFFFF
        elif y == 5:                                 # LD HL,(nn)
            a = fetch16(s, mem)
            set_hl(s, xi, rd16(s, mem, a))
            s[WZ] = (a + 1) & 0xFFFF
        elif y == 6:                                 # LD (nn),A
            a = fetch16(s, mem)
            wr(s, mem, a, s[A])
            s[WZ] = ((a + 1) & 0xFF) | (s[A] << 8)
        else:                                        # LD A,(nn)
            a = fetch16(s, mem)
            s[A] = rd(s, mem, a)
            s[WZ] = (a + 1) & 0xFFFF
        return 0
    if z == 3:                                       # INC/DEC rp
        v = get_rp(s, p, xi)
        set_rp(s, p, xi, v + 1 if y & 1 == 0 else v - 1)
        return 0
    if z == 4 or z == 5:                             # INC/DEC r
        if y == 6:
            a = ea(s, mem, xi)
            v = rd(s, mem, a)
            wr(s, mem, a, inc8(s, v) if z == 4 else dec8(s, v))
            return 8 if xi else 0
        v = get_r(s, y, xi)
        set_r(s, y, xi, inc8(s, v) if z == 4 else dec8(s, v))
        return 0
    if z == 6:                                       # LD r,n
        if y == 6:
            a = ea(s, mem, xi)
            wr(s, mem, a, fetch(s, mem))
            return 5 if xi else 0
        set_r(s, y, xi, fetch(s, mem))
        return 0
    a, f = acc8(y, s[A], s[F], s[Q])                 # z == 7: accumulator / flag operations
    s[A] = a
    setf(s, f)
    return 0


# ---- quadrants 1 and 2: LD r,r' and ALU r --------------------------------------------
@njit(**JB)
def exec_x1(s, mem, op, xi):
    y = (op >> 3) & 7
    z = op & 7
    if z == 6:                                       # LD r,(HL): real H/L with (IX+d)
        v = rd(s, mem, ea(s, mem, xi))
        set_r(s, y, 0, v)
        return 8 if xi else 0
    if y == 6:                                       # LD (HL),r
        a = ea(s, mem, xi)
        wr(s, mem, a, get_r(s, z, 0))
        return 8 if xi else 0
    set_r(s, y, xi, get_r(s, z, xi))
    return 0


@njit(**JB)
def exec_x2(s, mem, op, xi):
    z = op & 7
    if z == 6:
        alu(s, (op >> 3) & 7, rd(s, mem, ea(s, mem, xi)))
        return 8 if xi else 0
    alu(s, (op >> 3) & 7, get_r(s, z, xi))
    return 0


# ---- quadrant 3 (C0-FF) ------------------------------------------------------------------
@njit(**JB)
def exec_x3(s, mem, op, xi):
    z = op & 7
    y = (op >> 3) & 7
    if z == 0:                                       # RET cc
        if cond(s, y):
            s[PC] = pop(s, mem)
            s[WZ] = s[PC]
            return 6
        return 0
    if z == 1:
        if y & 1 == 0:                               # POP rp2
            v = pop(s, mem)
            p = y >> 1
            if p == 3:
                s[A] = v >> 8
                s[F] = v & 0xFF
            else:
                set_rp(s, p, xi, v)
        elif y == 1:                                 # RET
            s[PC] = pop(s, mem)
            s[WZ] = s[PC]
        elif y == 3:                                 # EXX
            for k in range(6):
                t = s[B + k]
                s[B + k] = s[B_ + k]
                s[B_ + k] = t
        elif y == 5:                                 # JP (HL)
            s[PC] = get_hl(s, xi)
        else:                                        # LD SP,HL
            s[SP] = get_hl(s, xi)
        return 0
    if z == 2:                                       # JP cc,nn
        a = fetch16(s, mem)
        s[WZ] = a
        if cond(s, y):
            s[PC] = a
        return 0
    if z == 3:
        if y == 0:                                   # JP nn
            a = fetch16(s, mem)
            s[WZ] = a
            s[PC] = a
        elif y == 2:                                 # OUT (n),A
            n = fetch(s, mem)
            port = n | (s[A] << 8)
            s[WZ] = ((n + 1) & 0xFF) | (s[A] << 8)
            port_out(s, mem, port, s[A])
        elif y == 3:                                 # IN A,(n)
            n = fetch(s, mem)
            port = n | (s[A] << 8)
            v = port_in(s, mem, port)
            if v < 0:
                return -1
            s[WZ] = (port + 1) & 0xFFFF
            s[A] = v
        elif y == 4:                                 # EX (SP),HL
            sp = s[SP]
            v = rd16(s, mem, sp)
            wr16(s, mem, sp, get_hl(s, xi))
            set_hl(s, xi, v)
            s[WZ] = v
        elif y == 5:                                 # EX DE,HL (never IX/IY)
            t = s[D]
            s[D] = s[H]
            s[H] = t
            t = s[E]
            s[E] = s[L]
            s[L] = t
        elif y == 6:                                 # DI
            s[IFF1] = 0
            s[IFF2] = 0
        elif y == 7:                                 # EI
            s[IFF1] = 1
            s[IFF2] = 1
            s[EI] = 1
        return 0
    if z == 4:                                       # CALL cc,nn
        a = fetch16(s, mem)
        s[WZ] = a
        if cond(s, y):
            push(s, mem, s[PC])
            s[PC] = a
            return 7
        return 0
    if z == 5:
        if y & 1 == 0:                               # PUSH rp2
            p = y >> 1
            push(s, mem, ((s[A] << 8) | s[F]) if p == 3 else get_rp(s, p, xi))
        else:                                        # CALL nn (y == 1; DD/ED/FD handled elsewhere)
            a = fetch16(s, mem)
            s[WZ] = a
            push(s, mem, s[PC])
            s[PC] = a
        return 0
    if z == 6:                                       # ALU n
        alu(s, y, fetch(s, mem))
        return 0
    push(s, mem, s[PC])                              # RST
    s[PC] = y * 8
    s[WZ] = y * 8
    return 0


# ---- CB prefix -------------------------------------------------------------------------
@njit(**JB)
def exec_cb(s, mem, op, xi, a):
    """CB op on register or on (HL)/(IX+d) at ``a``.  Returns T-states."""
    x = op >> 6
    y = (op >> 3) & 7
    z = op & 7
    if xi:
        v = rd(s, mem, a)
    elif z == 6:
        a = (s[H] << 8) | s[L]
        v = rd(s, mem, a)
    else:
        v = s[B + z]
    r, f = cb8(x, y, v, s[F], (s[WZ] >> 8) if xi or z == 6 else v)
    if x < 2:
        setf(s, f)
    if x == 1:
        return 20 if xi else (12 if z == 6 else 8)
    if xi:
        wr(s, mem, a, r)
        if z != 6:
            s[B + z] = r                             # undocumented register copy
        return 23
    if z == 6:
        wr(s, mem, a, r)
        return 15
    s[B + z] = r
    return 8


# ---- ED prefix -------------------------------------------------------------------------
@njit(**J)
def block_io_flags(s, value, k):
    b = s[B]
    f = SZ[b] | ((k > 255) * (HFL | CFL)) | PARITY[(k & 7) ^ b] | ((value >> 6) & NFL)
    return f


@njit(**J)
def block_io_finish(s, v, k, hl, repeat):
    """Flags, repeat and HL of INI/IND/OUTI/OUTD and their repeating forms (B already
    decremented; ``k`` is the value plus the C+-1 or L addend of the flag formula)."""
    b = s[B]
    f = block_io_flags(s, v, k)
    extra = 0
    if repeat and b != 0:
        s[PC] = (s[PC] - 2) & 0xFFFF
        s[WZ] = (s[PC] + 1) & 0xFFFF
        f = block_io_repeat(s, f, v, b)
        extra = 5
    setf(s, f)
    s[H] = hl >> 8
    s[L] = hl & 0xFF
    return extra


@njit(**J)
def block_repeat_xy(s, f):
    """Interrupted/repeating block instruction: X/Y come from PC's high byte."""
    return (f & ~(YFL | XFL)) | ((s[PC] >> 8) & (YFL | XFL))


@njit(**J)
def exec_ed_block(s, mem, op):
    y = (op >> 3) & 7                                # 4: I, 5: D, 6: IR, 7: DR
    z = op & 3
    step = 1 if (y & 1) == 0 else -1
    repeat = y >= 6
    hl = (s[H] << 8) | s[L]
    bc = (s[B] << 8) | s[C]
    de = (s[D] << 8) | s[E]
    extra = 0
    if z == 0:                                       # LDI/LDD/LDIR/LDDR
        v = rd(s, mem, hl)
        wr(s, mem, de, v)
        hl = (hl + step) & 0xFFFF
        de = (de + step) & 0xFFFF
        bc = (bc - 1) & 0xFFFF
        n = v + s[A]
        f = (s[F] & (SFL | ZFL | CFL)) | (n & XFL) | ((n << 4) & YFL)
        if bc != 0:
            f |= PFL
        if repeat and bc != 0:
            s[PC] = (s[PC] - 2) & 0xFFFF
            s[WZ] = (s[PC] + 1) & 0xFFFF
            f = block_repeat_xy(s, f)
            extra = 5
        setf(s, f)
    elif z == 1:                                     # CPI/CPD/CPIR/CPDR
        v = rd(s, mem, hl)
        a = s[A]
        r = (a - v) & 0xFF
        hf = (a ^ v ^ r) & HFL
        n = (r - (hf >> 4)) & 0xFF
        hl = (hl + step) & 0xFFFF
        bc = (bc - 1) & 0xFFFF
        s[WZ] = (s[WZ] + step) & 0xFFFF
        f = (s[F] & CFL) | NFL | hf | (SZ[r] & ~(YFL | XFL)) | (n & XFL) | ((n << 4) & YFL)
        if bc != 0:
            f |= PFL
        if repeat and bc != 0 and r != 0:
            s[PC] = (s[PC] - 2) & 0xFFFF
            s[WZ] = (s[PC] + 1) & 0xFFFF
            f = block_repeat_xy(s, f)
            extra = 5
        setf(s, f)
    elif z == 2:                                     # INI/IND/INIR/INDR
        v = port_in(s, mem, bc)
        if v < 0:
            return -1
        s[WZ] = (bc + step) & 0xFFFF
        wr(s, mem, hl, v)
        hl = (hl + step) & 0xFFFF
        s[B] = (s[B] - 1) & 0xFF
        return block_io_finish(s, v, v + ((s[C] + step) & 0xFF), hl, repeat)
    else:                                            # OUTI/OUTD/OTIR/OTDR
        v = rd(s, mem, hl)
        b = (s[B] - 1) & 0xFF
        s[B] = b
        port = (b << 8) | s[C]
        s[WZ] = (port + step) & 0xFFFF
        port_out(s, mem, port, v)
        hl = (hl + step) & 0xFFFF
        return block_io_finish(s, v, v + (hl & 0xFF), hl, repeat)
    s[H] = hl >> 8
    s[L] = hl & 0xFF
    s[B] = bc >> 8
    s[C] = bc & 0xFF
    s[D] = de >> 8
    s[E] = de & 0xFF
    return extra


@njit(**J)
def block_io_repeat(s, f, v, b):
    f = block_repeat_xy(s, f)
    if f & CFL:
        if v & 0x80:
            f ^= (PARITY[(b - 1) & 7] ^ PFL)
            f = (f & ~HFL) | (HFL if (b & 0x0F) == 0x00 else 0)
        else:
            f ^= (PARITY[(b + 1) & 7] ^ PFL)
            f = (f & ~HFL) | (HFL if (b & 0x0F) == 0x0F else 0)
    else:
        f ^= (PARITY[b & 7] ^ PFL)
    return f


@njit(**J)
def exec_ed(s, mem, op):
    """Returns extra T-states, or -1 for a restartable IN exit."""
    if op >= 0xA0:
        if op & 4 == 0 and op < 0xC0:
            return exec_ed_block(s, mem, op)
        return 0
    if op < 0x40 or op >= 0x80:
        return 0
    z = op & 7
    y = (op >> 3) & 7
    p = y >> 1
    if z == 0:                                       # IN r,(C) / IN F,(C)
        bc = (s[B] << 8) | s[C]
        v = port_in(s, mem, bc)
        if v < 0:
            return -1
        s[WZ] = (bc + 1) & 0xFFFF
        if y != 6:
            s[B + y] = v
        setf(s, (s[F] & CFL) | SZP[v])
    elif z == 1:                                     # OUT (C),r / OUT (C),0
        bc = (s[B] << 8) | s[C]
        s[WZ] = (bc + 1) & 0xFFFF
        port_out(s, mem, bc, 0 if y == 6 else s[B + y])
    elif z == 2:
        hl = get_hl(s, 0)
        if y & 1 == 0:
            set_hl(s, 0, adc16(s, 1, hl, get_rp(s, p, 0)))
        else:
            set_hl(s, 0, adc16(s, 0, hl, get_rp(s, p, 0)))
    elif z == 3:
        a = fetch16(s, mem)
        if y & 1 == 0:
            wr16(s, mem, a, get_rp(s, p, 0))
        else:
            set_rp(s, p, 0, rd16(s, mem, a))
        s[WZ] = (a + 1) & 0xFFFF
    elif z == 4:                                     # NEG
        v = s[A]
        s[A] = 0
        alu(s, 2, v)
    elif z == 5:                                     # RETN / RETI
        s[PC] = pop(s, mem)
        s[WZ] = s[PC]
        s[IFF1] = s[IFF2]
    elif z == 6:                                     # IM 0/1/2
        s[IM] = (0, 0, 1, 2, 0, 0, 1, 2)[y]
    else:
        if y == 0:                                   # LD I,A
            s[I] = s[A]
        elif y == 1:                                 # LD R,A
            s[R] = s[A]
        elif y == 2 or y == 3:                       # LD A,I / LD A,R
            v = s[I] if y == 2 else s[R]
            s[A] = v
            setf(s, (s[F] & CFL) | SZ[v] | (PFL if s[IFF2] else 0))
            s[P] = 1
        elif y == 4 or y == 5:                       # RRD / RLD
            hl = get_hl(s, 0)
            v = rd(s, mem, hl)
            a = s[A]
            if y == 4:
                wr(s, mem, hl, ((a << 4) | (v >> 4)) & 0xFF)
                a = (a & 0xF0) | (v & 0x0F)
            else:
                wr(s, mem, hl, ((v << 4) | (a & 0x0F)) & 0xFF)
                a = (a & 0xF0) | (v >> 4)
            s[A] = a
            s[WZ] = (hl + 1) & 0xFFFF
            setf(s, (s[F] & CFL) | SZP[a])
    return 0


# ---- one instruction -----------------------------------------------------------------------
@njit(**JB)
def execute(s, mem):
    """Execute one instruction at PC.  Returns T-states (>0), -1 for an IN exit,
    or minus the T-states for HALT."""
    op = fetch(s, mem)
    inc_r(s)
    if op == 0xCB:
        op2 = fetch(s, mem)
        inc_r(s)
        return exec_cb(s, mem, op2, 0, 0)
    if op == 0xED:
        op2 = fetch(s, mem)
        inc_r(s)
        x = exec_ed(s, mem, op2)
        return -1 if x < 0 else CYC_ED[op2] + x
    xi = 0
    cyc = 0
    if op == 0xDD or op == 0xFD:
        xi = 1 if op == 0xDD else 2
        op = rd(s, mem, s[PC])
        if op == 0xDD or op == 0xFD or op == 0xED:
            return 4                                 # the prefix alone acts as a NOP
        s[PC] = (s[PC] + 1) & 0xFFFF
        inc_r(s)
        if op == 0xCB:                               # DD CB d op
            a = ea(s, mem, xi)
            op2 = fetch(s, mem)
            return exec_cb(s, mem, op2, xi, a)
        cyc = 4
    x = op >> 6
    if x == 1:
        if op == 0x76:                               # HALT: run() idles until an interrupt
            s[HALTED] = 1
            return -4 - cyc
        e = exec_x1(s, mem, op, xi)
    elif x == 2:
        e = exec_x2(s, mem, op, xi)
    elif x == 0:
        e = exec_x0(s, mem, op, xi)
    else:
        e = exec_x3(s, mem, op, xi)
    if e < 0:
        return -1
    return CYC_MAIN[op] + cyc + e


@njit(**J)
def interrupt(s, mem):
    """Accept NMI or INT if possible.  Returns T-states taken, 0 if none, -T for INT."""
    if s[abi.S_NMI]:
        s[abi.S_NMI] = 0
        s[HALTED] = 0
        s[IFF1] = 0
        inc_r(s)
        push(s, mem, s[PC])
        s[PC] = 0x66
        s[WZ] = 0x66
        return 11
    if (s[abi.S_IRQ] & 1) and s[IFF1] and not s[EI]:
        s[HALTED] = 0
        s[IFF1] = 0
        s[IFF2] = 0
        inc_r(s)
        vec = s[abi.S_IRQ_VECTOR] & 0xFF
        if s[IM] == 2:
            push(s, mem, s[PC])
            s[PC] = rd16(s, mem, (s[I] << 8) | vec)
            s[WZ] = s[PC]
            return -19
        push(s, mem, s[PC])
        s[PC] = (vec & 0x38) if (s[IM] == 0 and (vec & 0xC7) == 0xC7) else 0x38
        s[WZ] = s[PC]
        return -13
    return 0


@njit(**J)
def reads_exit(rp):
    """Some page exits on read: restartable reads then need a register snapshot.
    (An OR of every entry, with no early exit, so that LLVM vectorizes it: this runs
    at every run() call.)"""
    m = 0
    for i in range(len(rp)):
        m |= rp[i]
    return m < 0


@njit(**J)
def step(s, mem, end, snap, armed, blo, bhi):
    """One pass of the general loop on the state array: take an interrupt, idle in
    HALT, stop at a breakpoint (when ``armed``; emu.breaks: the range blo..bhi) or
    execute one instruction of any kind.  Returns -1 to go on, else the EXIT_* reason
    that ends the run.  A breakpoint stops before an interrupt taken at its address."""
    pc0 = s[PC]
    if armed and blo <= pc0 <= bhi and bp_hit(s, BREAKS, pc0):
        return abi.EXIT_BREAKPOINT
    if s[abi.S_NMI] or ((s[abi.S_IRQ] & 1) and s[IFF1] and not s[EI]):
        t = interrupt(s, mem)
        if t != 0:
            s[abi.S_CYCLES] += t if t > 0 else -t
            s[Q] = 0
            return abi.EXIT_IRQ_ACK if t < 0 else -1
    if s[HALTED]:
        # execute NOPs until the budget ends (R counts the refresh cycles)
        n = (end - s[abi.S_CYCLES] + 3) // 4
        s[R] = (s[R] & 0x80) | ((s[R] + n) & 0x7F)
        s[abi.S_CYCLES] += 4 * n
        return abi.EXIT_HLT
    r0 = s[R]
    if snap:
        for k in range(NREG):
            s[SNAP + k] = s[16 + k]
    s[FW] = 0
    s[P] = 0
    ei_before = s[EI]
    s[EI] = 0
    t = execute(s, mem)
    if t < 0:
        if t <= -4:                                  # HALT (returns -T-states)
            t = -t
        else:                                        # IN needs the outside world
            s[PC] = pc0
            s[R] = r0
            s[EI] = ei_before
            return abi.EXIT_IO_IN
    if s[XREAD]:                                     # MMIO read: undo and exit
        for k in range(NREG):
            s[16 + k] = s[SNAP + k]
        s[XREAD] = 0
        s[abi.S_EXIT_REASON] = 0
        return abi.EXIT_MMIO_READ
    s[Q] = s[F] if s[FW] else 0
    s[abi.S_CYCLES] += t
    s[abi.S_INSNS] += 1
    if s[abi.S_EXIT_REASON]:
        return s[abi.S_EXIT_REASON]
    return -1


@njit(**J)
def run_general(s, mem, budget):
    """The run ABI on the general decoder alone: used while a breakpoint is set
    (loop.py's fast loop has no breakpoint test, which costs it 10%)."""
    s[abi.S_EXIT_REASON] = 0
    s[XREAD] = 0
    snap = reads_exit(mem[1])
    blo, bhi = bp_range(s, BREAKS)
    cyc0 = s[abi.S_CYCLES]
    end = cyc0 + budget
    while s[abi.S_CYCLES] < end:
        # breakpoints are armed once the run has moved (every instruction takes cycles)
        x = step(s, mem, end, snap, s[abi.S_CYCLES] != cyc0, blo, bhi)
        if x >= 0:
            return x
    return abi.EXIT_BUDGET
