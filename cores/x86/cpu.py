"""x86 interpreter (8086 and 386 real mode), compiled with Numba (run ABI: emu/abi.py).

Registers live in the int64 state array (slots below).  General registers are
kept as 32-bit values (AX is the low half of EAX); every segment register has
its selector *and* its hidden base and limit in the state, so protected mode
only has to change how ``load_seg`` fills them.  Real mode: base = sel << 4.

Linear address = segment base + offset, masked by ``state[AMASK]`` (1 MiB on
the 8086: the address wraps like the real chip with A20 off), then translated
through the bus page tables (4 KiB pages).  Offsets wrap inside the segment
(0xFFFF for 16-bit addressing): word accesses that cross the wrap or a page
boundary are split into bytes.

Speed: the common unprefixed 16-bit instructions are decoded and executed
inline in ``run`` with IP, the CS base and the code page translation in locals,
and make no calls on the RAM path.  Register-only ones (ALU/MOV with ModRM
mod = 3 or an immediate, INC/DEC, MOV r,imm, Jcc, JMP, LOOP, shifts by 1, flag
operations; table XT) take ``express``, a short path with no operand address or
write-back; those with a memory operand (table FT: MOV, ALU, PUSH/POP,
CALL/RET, single string moves, shifts, group FE/FF ...) the general inline path.
Every other instruction (prefixes, 386 forms, anything that could cross a page
or wrap IP, or TF set) goes through ``execute``.  Checks that rarely matter
(interrupt lines, interrupt shadow, HALT, TF, breakpoint) sit behind one
``rare`` flag: the lines only change between runs, TF and HALT only in the slow
path.

Decoding in ``execute`` is split by opcode row (op >> 4) into separate compiled
functions so that no function grows past a couple of hundred branches.

Model (``state[MODEL]``): 0 = 8086/8088, 3 = 386 (real mode).  8086
differences: PUSH SP pushes the decremented value, shift counts are not
masked, FLAGS bits 12-15 read as 1, 0x60-0x6F alias Jcc, 0x0F is POP CS,
C0/C1/C8/C9 alias RET/RETF, 8F/C6/C7/FE/FF ignore or alias unused ModRM.reg
values, SALC (D6), SETMO/SETMOC (D0-D3 /6), REP negates the IMUL/IDIV result,
divide errors push the address of the next instruction, the IDIV quotient
-128/-32768 faults, AAA/AAS adjust AL and AH separately.

Exits: IN and MMIO reads are restartable (the instruction is undone from a
per-instruction snapshot, taken only on the slow path when the map has MMIO-read
pages; the inline path reads its one operand before changing anything); OUT and
MMIO writes leave after the instruction.  REP string instructions run until
done, but stop between iterations (IP back on the first prefix) when the cycle
budget is spent, an interrupt is pending or an access needs to exit.
"""
import numpy as np
from numba import njit

from emu import abi

from .tables import CYC, PARITY

J = dict(cache=True, _nrt=False)
JI = dict(cache=True, _nrt=False, inline="always")   # small hot helpers

# ---- state slots ------------------------------------------------------------------
REG = 16                                       # EAX ECX EDX EBX ESP EBP ESI EDI
EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(16, 24)
EIP = 24
FLAGS = 25
SEL = 26                                       # selectors  ES CS SS DS FS GS
BASE = 32                                      # hidden bases
LIMIT = 38                                     # hidden limits
ES, CS, SS, DS, FS, GS = range(6)
CR0, CR2, CR3 = 44, 45, 46
MODEL = 47
HALTED = 48
INHIBIT = 49                                   # interrupt shadow (STI, MOV/POP SS)
XREAD = 50                                     # an MMIO read needs an exit
A20 = 51                                       # model's linear address mask
IDTB, IDTL, GDTB, GDTL = 52, 53, 54, 55        # IDTR (real mode IVT base) / GDTR
AMASK = 56                                     # A20 & size of the page tables (run sets it)
END = 57                                       # cycle count where run stops (REP checks it)
PARTIAL = 58                                   # the instruction did not finish (REP interrupted)
EAC = 59                                       # effective-address cycles of this instruction
SWINT = 60                                     # the instruction entered a handler (no trap)
PTN = 61                                       # pages of RPT/WPT copied by run (rest: MMIO)
SNAP = 64                                      # snapshot of slots 16..56 for restartable reads
NREG = 41
MAXPAGES = 1 << (24 - 12)
REAL_PAGES = 0x110000 >> 12                    # pages real mode can address (A20 on)
RPT = 128                                      # copy of the bus read page table (run fills it)
WPT = RPT + MAXPAGES                           # ... and of the write page table
STATE_SIZE = WPT + MAXPAGES

CF, PF, AF, ZF, SF, TF, IF, DF, OF = 0x1, 0x4, 0x10, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800
ARITH = 0x8D5                                  # OF SF ZF AF PF CF

PB = 12                                        # page bits of the bus tables
PM = (1 << PB) - 1

# execute() results below zero
X_IN = -1          # IN needs the outside world (nothing changed but EIP)
X_MMIO = -2        # MMIO read: restore the snapshot
X_SREAD = -3       # string iteration read exit: state already consistent (EIP = start)
X_SIN = -4         # string iteration IN exit: state consistent
X_FAULT = -5       # unrecoverable (S_FAULT says why)


# ---- memory -----------------------------------------------------------------------
@njit(**J)
def mmio_rd(s, la, size):
    if s[abi.S_PENDING] == 1 and s[abi.S_EXIT_ADDR] == la and s[abi.S_EXIT_SIZE] == size:
        s[abi.S_PENDING] = 0
        return s[abi.S_EXIT_DATA] & ((1 << (8 * size)) - 1)
    if s[XREAD] == 0:
        s[XREAD] = 1
        s[abi.S_EXIT_ADDR] = la
        s[abi.S_EXIT_SIZE] = size
    return 0


@njit(**J)
def write_exit(s, reason, addr, size, v):
    """Report a write that leaves the core (MMIO write, port OUT) after the
    instruction, unless an earlier exit of this instruction is already pending."""
    if s[abi.S_EXIT_REASON] == 0:
        s[abi.S_EXIT_REASON] = reason
        s[abi.S_EXIT_ADDR] = addr
        s[abi.S_EXIT_SIZE] = size
        s[abi.S_EXIT_DATA] = v


@njit(**J)
def mmio_wr(s, la, size, v):
    write_exit(s, abi.EXIT_MMIO_WRITE, la, size, v)


@njit(**JI)
def rd8(s, dm, la):
    la &= s[AMASK]
    off = s[RPT + (la >> PB)]
    if off >= 0:
        return np.int64(dm[off + (la & PM)])
    return mmio_rd(s, la, 1)


@njit(**JI)
def rd16(s, dm, la):
    la &= s[AMASK]
    if (la & PM) != PM:
        off = s[RPT + (la >> PB)]
        if off >= 0:
            i = off + (la & PM)
            return np.int64(dm[i]) | (np.int64(dm[i + 1]) << 8)
        return mmio_rd(s, la, 2)
    return rd8(s, dm, la) | (rd8(s, dm, la + 1) << 8)


@njit(**JI)
def wr8(s, dm, la, v):
    if s[XREAD]:
        return
    la &= s[AMASK]
    off = s[WPT + (la >> PB)]
    if off >= 0:
        dm[off + (la & PM)] = v & 0xFF
    elif off == abi.PAGE_MMIO:
        mmio_wr(s, la, 1, v & 0xFF)


@njit(**JI)
def wr16(s, dm, la, v):
    if s[XREAD]:
        return
    la &= s[AMASK]
    if (la & PM) != PM:
        off = s[WPT + (la >> PB)]
        if off >= 0:
            i = off + (la & PM)
            dm[i] = v & 0xFF
            dm[i + 1] = (v >> 8) & 0xFF
        elif off == abi.PAGE_MMIO:
            mmio_wr(s, la, 2, v & 0xFFFF)
        return
    wr8(s, dm, la, v)
    wr8(s, dm, la + 1, v >> 8)


@njit(**J)
def rdm(s, dm, sg, off, w, om):
    """Read w bytes at sg:off; the offset wraps with mask om."""
    base = s[BASE + sg]
    if w == 1:
        return rd8(s, dm, base + off)
    if off + w - 1 <= om:
        if w == 2:
            return rd16(s, dm, base + off)
        return rd16(s, dm, base + off) | (rd16(s, dm, base + off + 2) << 16)
    v = 0
    for i in range(w):
        v |= rd8(s, dm, base + ((off + i) & om)) << (8 * i)
    return v


@njit(**J)
def wrm(s, dm, sg, off, w, om, v):
    base = s[BASE + sg]
    if w == 1:
        wr8(s, dm, base + off, v)
    elif off + w - 1 <= om:
        if w == 2:
            wr16(s, dm, base + off, v)
        else:
            wr16(s, dm, base + off, v)
            wr16(s, dm, base + off + 2, v >> 16)
    else:
        for i in range(w):
            wr8(s, dm, base + ((off + i) & om), v >> (8 * i))


@njit(**JI)
def fetch8(s, dm):
    ip = s[EIP]
    s[EIP] = (ip + 1) & 0xFFFF
    return rd8(s, dm, s[BASE + CS] + ip)


@njit(**JI)
def fetch16(s, dm):
    ip = s[EIP]
    s[EIP] = (ip + 2) & 0xFFFF
    return rdm(s, dm, CS, ip, 2, 0xFFFF)


@njit(**J)
def fetch32(s, dm):
    ip = s[EIP]
    s[EIP] = (ip + 4) & 0xFFFF
    return rdm(s, dm, CS, ip, 4, 0xFFFF)


@njit(**J)
def fetchw(s, dm, w):
    if w == 1:
        return fetch8(s, dm)
    if w == 2:
        return fetch16(s, dm)
    return fetch32(s, dm)


@njit(**JI)
def fetchs8(s, dm):
    v = fetch8(s, dm)
    return v - 256 if v >= 128 else v


@njit(**JI)
def sext(v, w):
    if w == 1:
        return v - 256 if v & 0x80 else v
    if w == 2:
        return v - 65536 if v & 0x8000 else v
    return v - 0x100000000 if v & 0x80000000 else v


@njit(**JI)
def wmask(w):
    if w == 1:
        return 0xFF
    if w == 2:
        return 0xFFFF
    return 0xFFFFFFFF


# ---- registers ---------------------------------------------------------------------
@njit(**JI)
def getr(s, r, w):
    if w == 1:
        if r < 4:
            return s[REG + r] & 0xFF
        return (s[REG + r - 4] >> 8) & 0xFF
    if w == 2:
        return s[REG + r] & 0xFFFF
    return s[REG + r]


@njit(**JI)
def setr(s, r, w, v):
    if w == 1:
        if r < 4:
            s[REG + r] = (s[REG + r] & ~0xFF) | (v & 0xFF)
        else:
            s[REG + r - 4] = (s[REG + r - 4] & ~0xFF00) | ((v & 0xFF) << 8)
    elif w == 2:
        s[REG + r] = (s[REG + r] & ~0xFFFF) | (v & 0xFFFF)
    else:
        s[REG + r] = v & 0xFFFFFFFF


@njit(**J)
def load_seg(s, sr, sel):
    """Real mode / 8086 segment load (protected mode will read a descriptor here)."""
    sel &= 0xFFFF
    s[SEL + sr] = sel
    s[BASE + sr] = sel << 4


@njit(**J)
def push(s, dm, v, w):
    sp = (s[ESP] - w) & 0xFFFF
    wrm(s, dm, SS, sp, w, 0xFFFF, v)
    s[ESP] = (s[ESP] & ~0xFFFF) | sp


@njit(**J)
def pop(s, dm, w):
    sp = s[ESP] & 0xFFFF
    v = rdm(s, dm, SS, sp, w, 0xFFFF)
    s[ESP] = (s[ESP] & ~0xFFFF) | ((sp + w) & 0xFFFF)
    return v


@njit(**J)
def set_flags(s, v):
    """POPF/IRET/SAHF-style write honouring the model's fixed bits."""
    if s[MODEL] == 0:
        s[FLAGS] = (v & 0x0FD5) | 0xF002
    else:
        s[FLAGS] = (v & 0x7FD5) | 0x0002


@njit(**J)
def do_int(s, dm, vec, ret_ip):
    """Enter interrupt handler ``vec`` through the real-mode IVT."""
    a = s[IDTB] + vec * 4
    ip = rd16(s, dm, a)
    cs = rd16(s, dm, a + 2)
    push(s, dm, s[FLAGS] & 0xFFFF, 2)
    push(s, dm, s[SEL + CS], 2)
    push(s, dm, ret_ip, 2)
    s[FLAGS] &= ~(IF | TF)
    load_seg(s, CS, cs)
    s[EIP] = ip
    s[SWINT] = 1
    return 51


@njit(**J)
def fault(s, dm, vec, start):
    """Exception with the faulting instruction's address (386) or the next one (8086)."""
    if s[MODEL] == 0:
        return do_int(s, dm, vec, s[EIP])
    return do_int(s, dm, vec, start)


@njit(**J)
def ud(s, dm, start):
    """Invalid opcode: #UD (INT 6) on the 386."""
    return do_int(s, dm, 6, start)


# ---- I/O ------------------------------------------------------------------------------
@njit(**J)
def port_in(s, port, size):
    """Value of a pending IN for ``port``, or -1 after arranging the exit."""
    if s[abi.S_PENDING] == 1 and s[abi.S_EXIT_ADDR] == port and s[abi.S_EXIT_SIZE] == size:
        s[abi.S_PENDING] = 0
        return s[abi.S_EXIT_DATA] & wmask(size)
    s[abi.S_EXIT_ADDR] = port
    s[abi.S_EXIT_SIZE] = size
    return -1


@njit(**J)
def port_out(s, mem, port, v, size):
    v &= wmask(size)
    if mem[3][port] & abi.IOF_POSTED:
        n = s[abi.S_IOLOG_COUNT]
        log = mem[4]
        log[3 * n] = port | (size << 32)
        log[3 * n + 1] = v
        log[3 * n + 2] = s[abi.S_CYCLES]
        s[abi.S_IOLOG_COUNT] = n + 1
        if 3 * (n + 2) > len(log) and s[abi.S_EXIT_REASON] == 0:
            s[abi.S_EXIT_REASON] = abi.EXIT_IOLOG_FULL
    else:
        write_exit(s, abi.EXIT_IO_OUT, port, size, v)


# ---- ModRM ------------------------------------------------------------------------------
@njit(**JI)
def ea16_base(s, rm):
    """Default segment and base offset of a 16-bit ModRM memory operand (mod != 3,
    not the disp16 form): BX+SI BX+DI BP+SI BP+DI SI DI BP BX; BP-based forms
    default to SS (Intel SDM vol. 2, table 2-1)."""
    if rm < 4:
        if rm < 2:
            return DS, s[ESI + (rm & 1)] + s[EBX]
        return SS, s[ESI + (rm & 1)] + s[EBP]
    if rm == 4:
        return DS, s[ESI]
    if rm == 5:
        return DS, s[EDI]
    if rm == 6:
        return SS, s[EBP]
    return DS, s[EBX]


@njit(**J)
def modrm_ea(s, dm, modrm, seg, a32):
    """(segment, offset) of the memory operand; segment -1 for a register operand."""
    mod = modrm >> 6
    if mod == 3:
        return -1, 0
    rm = modrm & 7
    dseg = DS
    if a32 == 0:
        if mod == 0 and rm == 6:
            off = fetch16(s, dm)
            s[EAC] = 6
        else:
            dseg, off = ea16_base(s, rm)
            if mod == 1:
                off += fetchs8(s, dm)
                s[EAC] = 11
            elif mod == 2:
                off += fetch16(s, dm)
                s[EAC] = 11
            else:
                s[EAC] = 7
        off &= 0xFFFF
    else:
        if rm == 4:
            sib = fetch8(s, dm)
            b = sib & 7
            idx = (sib >> 3) & 7
            if b == 5 and mod == 0:
                off = fetch32(s, dm)
            else:
                off = s[REG + b]
                if b == 4 or b == 5:
                    dseg = SS
            if idx != 4:
                off += s[REG + idx] << (sib >> 6)
        elif rm == 5 and mod == 0:
            off = fetch32(s, dm)
        else:
            off = s[REG + rm]
            if rm == 5:
                dseg = SS
        if mod == 1:
            off += fetchs8(s, dm)
        elif mod == 2:
            off += fetch32(s, dm)
        off &= 0xFFFFFFFF
        s[EAC] = 8
    if seg >= 0:
        dseg = seg
    return dseg, off


@njit(**J)
def rm_rd(s, dm, modrm, sg, off, w, om):
    if sg < 0:
        return getr(s, modrm & 7, w)
    return rdm(s, dm, sg, off, w, om)


@njit(**J)
def rm_wr(s, dm, modrm, sg, off, w, om, v):
    if sg < 0:
        setr(s, modrm & 7, w, v)
    else:
        wrm(s, dm, sg, off, w, om, v)


# ---- ALU --------------------------------------------------------------------------------
@njit(**JI)
def szp(r, w):
    f = PARITY[r & 0xFF]
    if r == 0:
        f |= ZF
    if (r >> (8 * w - 1)) & 1:
        f |= SF
    return f


@njit(**J)
def alu(s, op, a, b, w):
    """ADD OR ADC SBB AND SUB XOR CMP; returns the result (CMP: a)."""
    bits = 8 * w
    m = wmask(w)
    f = s[FLAGS]
    if op == 0 or op == 2:
        r = a + b + ((f & CF) if op == 2 else 0)
        rm = r & m
        nf = szp(rm, w) | ((r >> bits) & 1) | ((a ^ b ^ r) & AF)
        if ((a ^ r) & (b ^ r)) >> (bits - 1) & 1:
            nf |= OF
    elif op == 5 or op == 7 or op == 3:
        r = a - b - ((f & CF) if op == 3 else 0)
        rm = r & m
        nf = szp(rm, w) | ((r >> bits) & 1) | ((a ^ b ^ r) & AF)
        if ((a ^ b) & (a ^ r)) >> (bits - 1) & 1:
            nf |= OF
        if op == 7:
            rm = a
    else:
        if op == 1:
            rm = a | b
        elif op == 4:
            rm = a & b
        else:
            rm = a ^ b
        nf = szp(rm, w)
    s[FLAGS] = (f & ~ARITH) | nf
    return rm


@njit(**J)
def incdec(s, v, w, dec):
    m = wmask(w)
    sb = 1 << (8 * w - 1)
    if dec:
        r = (v - 1) & m
        nf = szp(r, w) | ((v ^ r) & AF)
        if r == sb - 1:
            nf |= OF
    else:
        r = (v + 1) & m
        nf = szp(r, w) | ((v ^ r) & AF)
        if r == sb:
            nf |= OF
    s[FLAGS] = (s[FLAGS] & ~(ARITH & ~CF)) | nf
    return r


# inlined copies for the hot paths in ``run``
alu_i = njit(**JI)(alu.py_func)
incdec_i = njit(**JI)(incdec.py_func)


@njit(**J)
def cond(s, cc):
    f = s[FLAGS]
    c = cc >> 1
    if c == 0:
        r = (f & OF) != 0
    elif c == 1:
        r = (f & CF) != 0
    elif c == 2:
        r = (f & ZF) != 0
    elif c == 3:
        r = (f & (CF | ZF)) != 0
    elif c == 4:
        r = (f & SF) != 0
    elif c == 5:
        r = (f & PF) != 0
    elif c == 6:
        r = ((f & SF) != 0) != ((f & OF) != 0)
    else:
        r = ((f & ZF) != 0) or (((f & SF) != 0) != ((f & OF) != 0))
    if cc & 1:
        return not r
    return r


@njit(**J)
def shift(s, op, v, cnt, w):
    """Group 2 (ROL ROR RCL RCR SHL SHR SETMO/SAL SAR) by ``cnt`` (already masked)."""
    if cnt == 0:
        return v
    bits = 8 * w
    m = wmask(w)
    top = bits - 1
    f = s[FLAGS]
    cf = f & CF
    if op == 0:
        for _ in range(cnt):
            cf = (v >> top) & 1
            v = ((v << 1) | cf) & m
        of = ((v >> top) & 1) ^ cf
        s[FLAGS] = (f & ~(CF | OF)) | cf | (OF if of else 0)
        return v
    if op == 1:
        for _ in range(cnt):
            cf = v & 1
            v = (v >> 1) | (cf << top)
        of = ((v >> top) ^ (v >> (top - 1))) & 1
        s[FLAGS] = (f & ~(CF | OF)) | cf | (OF if of else 0)
        return v
    if op == 2:
        for _ in range(cnt):
            nc = (v >> top) & 1
            v = ((v << 1) | cf) & m
            cf = nc
        of = ((v >> top) & 1) ^ cf
        s[FLAGS] = (f & ~(CF | OF)) | cf | (OF if of else 0)
        return v
    if op == 3:
        for _ in range(cnt):
            nc = v & 1
            v = (v >> 1) | (cf << top)
            cf = nc
        of = ((v >> top) ^ (v >> (top - 1))) & 1
        s[FLAGS] = (f & ~(CF | OF)) | cf | (OF if of else 0)
        return v
    if op == 6 and s[MODEL] == 0:          # SETMO: all ones, flags as OR
        v = m
        s[FLAGS] = (f & ~ARITH) | szp(v, w)
        return v
    af = 0
    if op == 4 or op == 6:
        for _ in range(cnt):
            cf = (v >> top) & 1
            v = (v << 1) & m
        of = ((v >> top) & 1) ^ cf
        af = AF if s[MODEL] == 0 else 0
    elif op == 5:
        of = (v >> top) & 1 if cnt == 1 else 0
        for _ in range(cnt):
            of = (v >> top) & 1
            cf = v & 1
            v >>= 1
        af = AF if s[MODEL] == 0 else 0
    else:
        sb = v & (1 << top)
        for _ in range(cnt):
            cf = v & 1
            v = (v >> 1) | sb
        of = 0
        af = AF if s[MODEL] == 0 else 0
    s[FLAGS] = (f & ~ARITH) | szp(v, w) | cf | (OF if of else 0) | af
    return v


# ---- 00-3F: ALU rows, segment push/pop, BCD adjust ---------------------------------------
@njit(**J)
def g_alu(s, dm, op, seg, w, a32, start):
    lo = op & 7
    if lo < 6:
        aop = op >> 3
        if lo < 4:
            sz = 1 if (op & 1) == 0 else w
            om = 0xFFFFFFFF if a32 else 0xFFFF
            modrm = fetch8(s, dm)
            sg, off = modrm_ea(s, dm, modrm, seg, a32)
            r = (modrm >> 3) & 7
            if lo < 2:                                   # r/m, reg
                a = rm_rd(s, dm, modrm, sg, off, sz, om)
                v = alu(s, aop, a, getr(s, r, sz), sz)
                if aop != 7:
                    rm_wr(s, dm, modrm, sg, off, sz, om, v)
                    return 7 if sg >= 0 else 0
            else:                                        # reg, r/m
                b = rm_rd(s, dm, modrm, sg, off, sz, om)
                v = alu(s, aop, getr(s, r, sz), b, sz)
                if aop != 7:
                    setr(s, r, sz, v)
            return 0
        sz = 1 if lo == 4 else w
        v = alu(s, aop, getr(s, 0, sz), fetchw(s, dm, sz), sz)
        if aop != 7:
            setr(s, 0, sz, v)
        return 0
    if op < 0x20:
        sr = op >> 3
        if lo == 6:
            push(s, dm, s[SEL + sr], w)
        else:
            if sr == CS and s[MODEL] != 0:
                return g_0f(s, dm, seg, w, a32, start)
            load_seg(s, sr, pop(s, dm, w))
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


@njit(**JI)
def loop_taken(s, op, cm):
    """LOOPNZ LOOPZ LOOP JCXZ (E0-E3) on the count (E)CX & cm: decrements it
    (not JCXZ) and says whether the branch is taken."""
    c = s[ECX] & cm
    if op == 0xE3:
        return c == 0
    c = (c - 1) & cm
    s[ECX] = (s[ECX] & ~cm) | c
    take = c != 0
    if op == 0xE0:
        take = take and (s[FLAGS] & ZF) == 0
    elif op == 0xE1:
        take = take and (s[FLAGS] & ZF) != 0
    return take


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


# ---- 60-6F on the 186+: PUSHA POPA BOUND PUSH imm IMUL imm -------------------------------
@njit(**J)
def imul_flags(s, full, w):
    """CF=OF when the signed product does not fit in w bytes; returns the truncated result."""
    m = wmask(w)
    r = full & m
    f = s[FLAGS] & ~ARITH
    if sext(r, w) != full:
        f |= CF | OF
    s[FLAGS] = f | szp(r, w)
    return r


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


# ---- string instructions -------------------------------------------------------------------
@njit(**JI)
def rep_yields(s, cyc):
    """A REP string instruction stops between iterations (to resume later) when an
    exit is pending, the budget is spent or an interrupt can be taken."""
    return (s[abi.S_EXIT_REASON] != 0 or s[abi.S_CYCLES] + cyc >= s[END] or s[abi.S_NMI] != 0
            or ((s[abi.S_IRQ] & 1) != 0 and (s[FLAGS] & IF) != 0))


@njit(**JI)
def span_in_page(s, sg, off, sz, d, om):
    """How many elements of sz bytes from sg:off in steps of d (+-sz) lie in one page
    without wrapping the offset (0 if the first does not)."""
    pgo = (s[BASE + sg] + off) & PM
    if pgo + sz - 1 > PM or off + sz - 1 > om:
        return 0
    if d > 0:
        return min(PM - pgo - sz + 1, om - off - sz + 1) // sz + 1
    return min(pgo, off) // sz + 1


@njit(**JI)
def ram_run(s, sseg, si, di, sz, d, om, n, per, cyc, movs):
    """Iterations of REP MOVS/STOS that can run as a plain RAM copy/fill: all in one RAM
    page each side, and no more than the generic loop would run before it stops for the
    cycle budget (0: take the generic path; also when anything is pending)."""
    if (s[abi.S_EXIT_REASON] or s[abi.S_NMI] or ((s[abi.S_IRQ] & 1) and (s[FLAGS] & IF))
            or s[XREAD]):
        return 0
    k = span_in_page(s, ES, di, sz, d, om)
    if k == 0 or s[WPT + (((s[BASE + ES] + di) & s[AMASK]) >> PB)] < 0:
        return 0
    if movs:
        k = min(k, span_in_page(s, sseg, si, sz, d, om))
        if k == 0 or s[RPT + (((s[BASE + sseg] + si) & s[AMASK]) >> PB)] < 0:
            return 0
    k = min(k, n)
    rem = s[END] - s[abi.S_CYCLES] - cyc               # the generic loop stops after the
    jb = 1 if rem <= per else (rem + per - 1) // per    # first iteration that reaches END
    return min(k, jb)


@njit(**J)
def g_str(s, mem, op, seg, rep, w, a32, start):
    dm = mem[0]
    om = 0xFFFFFFFF if a32 else 0xFFFF
    sz = 1 if (op & 1) == 0 else w
    d = -sz if s[FLAGS] & DF else sz
    sseg = DS if seg < 0 else seg
    kind = op & 0xFE
    if rep:
        n = s[ECX] & om
        if n == 0:
            return 0
    cyc = 0
    per = CYC[op]
    # REP MOVS/STOS between RAM pages run in chunks of whole iterations (``ram_run``)
    bulk = rep != 0 and (kind == 0xA4 or kind == 0xAA)
    while True:
        si = s[ESI] & om
        di = s[EDI] & om
        k = 0
        if bulk:
            k = ram_run(s, sseg, si, di, sz, d, om, n, per, cyc, kind == 0xA4)
        if k > 0:
            ps = s[RPT + (((s[BASE + sseg] + si) & s[AMASK]) >> PB)] + ((s[BASE + sseg] + si) & PM)
            pd = s[WPT + (((s[BASE + ES] + di) & s[AMASK]) >> PB)] + ((s[BASE + ES] + di) & PM)
            if kind == 0xA4:                           # element by element (overlaps)
                if sz == 1:
                    for _ in range(k):
                        dm[pd] = dm[ps]
                        ps += d
                        pd += d
                elif sz == 2:
                    for _ in range(k):
                        b0 = dm[ps]
                        b1 = dm[ps + 1]
                        dm[pd] = b0
                        dm[pd + 1] = b1
                        ps += d
                        pd += d
                else:
                    for _ in range(k):
                        b0 = dm[ps]
                        b1 = dm[ps + 1]
                        b2 = dm[ps + 2]
                        b3 = dm[ps + 3]
                        dm[pd] = b0
                        dm[pd + 1] = b1
                        dm[pd + 2] = b2
                        dm[pd + 3] = b3
                        ps += d
                        pd += d
                s[ESI] = (s[ESI] & ~om) | ((si + k * d) & om)
            else:
                v = getr(s, 0, sz)
                for _ in range(k):
                    for i in range(sz):
                        dm[pd + i] = (v >> (8 * i)) & 0xFF
                    pd += d
            s[EDI] = (s[EDI] & ~om) | ((di + k * d) & om)
            cyc += k * per
            n -= k
            s[ECX] = (s[ECX] & ~om) | n
            if n == 0:
                break
            if rep_yields(s, cyc):
                s[EIP] = start
                s[PARTIAL] = 1
                return cyc
            continue
        if kind == 0xA4:                               # MOVS
            v = rdm(s, dm, sseg, si, sz, om)
            if s[XREAD]:
                s[EIP] = start
                return X_SREAD
            wrm(s, dm, ES, di, sz, om, v)
            s[ESI] = (s[ESI] & ~om) | ((si + d) & om)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0xAA:                             # STOS
            wrm(s, dm, ES, di, sz, om, getr(s, 0, sz))
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0xAC:                             # LODS
            v = rdm(s, dm, sseg, si, sz, om)
            if s[XREAD]:
                s[EIP] = start
                return X_SREAD
            setr(s, 0, sz, v)
            s[ESI] = (s[ESI] & ~om) | ((si + d) & om)
        elif kind == 0xA6:                             # CMPS
            a = rdm(s, dm, sseg, si, sz, om)
            b = rdm(s, dm, ES, di, sz, om)
            if s[XREAD]:
                s[EIP] = start
                return X_SREAD
            alu(s, 7, a, b, sz)
            s[ESI] = (s[ESI] & ~om) | ((si + d) & om)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0xAE:                             # SCAS
            b = rdm(s, dm, ES, di, sz, om)
            if s[XREAD]:
                s[EIP] = start
                return X_SREAD
            alu(s, 7, getr(s, 0, sz), b, sz)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0x6C:                             # INS
            v = port_in(s, s[EDX] & 0xFFFF, sz)
            if v < 0:
                s[EIP] = start
                return X_SIN
            wrm(s, dm, ES, di, sz, om, v)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        else:                                          # OUTS
            v = rdm(s, dm, sseg, si, sz, om)
            if s[XREAD]:
                s[EIP] = start
                return X_SREAD
            port_out(s, mem, s[EDX] & 0xFFFF, v, sz)
            s[ESI] = (s[ESI] & ~om) | ((si + d) & om)
        cyc += per
        if rep == 0:
            return cyc
        n -= 1
        s[ECX] = (s[ECX] & ~om) | n
        if n == 0:
            break
        if kind == 0xA6 or kind == 0xAE:
            z = s[FLAGS] & ZF
            if (rep == 0xF3 and z == 0) or (rep == 0xF2 and z != 0):
                break
        if rep_yields(s, cyc):
            s[EIP] = start
            s[PARTIAL] = 1
            return cyc
    return cyc


# ---- 80-8F ------------------------------------------------------------------------------------
@njit(**J)
def g_8x(s, dm, op, seg, w, a32, start):
    om = 0xFFFFFFFF if a32 else 0xFFFF
    modrm = fetch8(s, dm)
    r = (modrm >> 3) & 7
    if op == 0x8D:                                     # LEA
        sg, off = modrm_ea(s, dm, modrm, -1, a32)
        if sg < 0:
            if s[MODEL] != 0:
                return ud(s, dm, start)
            off = 0
        setr(s, r, w, off)
        return 0
    sg, off = modrm_ea(s, dm, modrm, seg, a32)
    mem_ = 5 if sg >= 0 else 0
    if op < 0x84:                                      # group 1
        sz = 1 if (op & 1) == 0 else w
        a = rm_rd(s, dm, modrm, sg, off, sz, om)
        if op == 0x83:
            b = fetchs8(s, dm) & wmask(sz)
        else:
            b = fetchw(s, dm, sz)
        v = alu(s, r, a, b, sz)
        if r != 7:
            rm_wr(s, dm, modrm, sg, off, sz, om, v)
            return mem_ * 2
        return mem_
    if op < 0x86:                                      # TEST
        sz = 1 if (op & 1) == 0 else w
        alu(s, 4, rm_rd(s, dm, modrm, sg, off, sz, om), getr(s, r, sz), sz)
        return mem_
    if op < 0x88:                                      # XCHG
        sz = 1 if (op & 1) == 0 else w
        a = rm_rd(s, dm, modrm, sg, off, sz, om)
        b = getr(s, r, sz)
        rm_wr(s, dm, modrm, sg, off, sz, om, b)
        setr(s, r, sz, a)
        return mem_ * 3
    if op < 0x8C:                                      # MOV
        sz = 1 if (op & 1) == 0 else w
        if op < 0x8A:
            rm_wr(s, dm, modrm, sg, off, sz, om, getr(s, r, sz))
        else:
            setr(s, r, sz, rm_rd(s, dm, modrm, sg, off, sz, om))
        return mem_
    if op == 0x8C:                                     # MOV r/m, Sreg
        if s[MODEL] == 0:
            r &= 3
        elif r > 5:
            return ud(s, dm, start)
        if sg < 0:
            setr(s, modrm & 7, w, s[SEL + r])
        else:
            wrm(s, dm, sg, off, 2, om, s[SEL + r])
        return mem_
    if op == 0x8E:                                     # MOV Sreg, r/m
        if s[MODEL] == 0:
            r &= 3
        elif r > 5 or r == CS:
            return ud(s, dm, start)
        load_seg(s, r, rm_rd(s, dm, modrm, sg, off, 2, om))
        if r == SS:
            s[INHIBIT] = 1
        return mem_
    # 8F: POP r/m (8086 ignores reg)
    if r != 0 and s[MODEL] != 0:
        return ud(s, dm, start)
    v = pop(s, dm, w)
    if sg >= 0:
        # the offset was computed before SP changed, except for 386 [ESP]-based forms
        wrm(s, dm, sg, off, w, om, v)
    else:
        setr(s, modrm & 7, w, v)
    return mem_


# ---- 90-AF --------------------------------------------------------------------------------------
@njit(**J)
def g_9x(s, dm, op, seg, rep, w, a32, start):
    if op < 0x98:                                      # XCHG AX, r
        xchg_ax(s, op & 7, w)
        return 0
    if op < 0x9A:
        cbw_cwd(s, op, w)
        return 0
    if op == 0x9A:                                     # CALL far
        ip = fetchw(s, dm, w)
        cs = fetch16(s, dm)
        push(s, dm, s[SEL + CS], w)
        push(s, dm, s[EIP], w)
        load_seg(s, CS, cs)
        s[EIP] = ip
        return 0
    if op == 0x9B:                                     # WAIT
        return 0
    if op == 0x9C:
        push(s, dm, s[FLAGS] & (0xFFFF if w == 2 else 0xFCFFFF), w)
        return 0
    if op == 0x9D:
        v = pop(s, dm, w)
        set_flags(s, v)
        return 0
    if op == 0x9E:                                     # SAHF
        s[FLAGS] = (s[FLAGS] & ~0xD5) | ((s[EAX] >> 8) & 0xD5)
        return 0
    if op == 0x9F:                                     # LAHF
        setr(s, 4, 1, s[FLAGS] & 0xFF)
        return 0
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op < 0xA4:                                      # MOV AL/AX <-> moffs
        off = fetch32(s, dm) if a32 else fetch16(s, dm)
        sg = DS if seg < 0 else seg
        sz = 1 if (op & 1) == 0 else w
        if op < 0xA2:
            setr(s, 0, sz, rdm(s, dm, sg, off, sz, om))
        else:
            wrm(s, dm, sg, off, sz, om, getr(s, 0, sz))
        return 0
    if op == 0xA8:
        alu(s, 4, s[EAX] & 0xFF, fetch8(s, dm), 1)
        return 0
    if op == 0xA9:
        alu(s, 4, getr(s, 0, w), fetchw(s, dm, w), w)
        return 0
    return ud(s, dm, start)


# ---- C0-CF ------------------------------------------------------------------------------------------
@njit(**J)
def far_ret(s, dm, w, extra):
    ip = pop(s, dm, w)
    cs = pop(s, dm, w)
    load_seg(s, CS, cs)
    s[EIP] = ip
    s[ESP] = (s[ESP] & ~0xFFFF) | ((s[ESP] + extra) & 0xFFFF)


@njit(**J)
def g_cx(s, dm, op, seg, w, a32, start):
    model = s[MODEL]
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if model == 0:
        if op == 0xC0 or op == 0xC1:
            op += 2
        elif op == 0xC8 or op == 0xC9:
            op += 2
    if op == 0xC3 or op == 0xC2:                       # RET near
        extra = fetch16(s, dm) if op == 0xC2 else 0
        ip = pop(s, dm, w)
        s[EIP] = ip
        s[ESP] = (s[ESP] & ~0xFFFF) | ((s[ESP] + extra) & 0xFFFF)
        return 0
    if op == 0xCB or op == 0xCA:                       # RETF
        extra = fetch16(s, dm) if op == 0xCA else 0
        far_ret(s, dm, w, extra)
        return 0
    if op == 0xCD:
        vec = fetch8(s, dm)
        return do_int(s, dm, vec, s[EIP])
    if op == 0xCC:
        return do_int(s, dm, 3, s[EIP])
    if op == 0xCE:
        if s[FLAGS] & OF:
            return do_int(s, dm, 4, s[EIP])
        return 0
    if op == 0xCF:                                     # IRET
        ip = pop(s, dm, w)
        cs = pop(s, dm, w)
        f = pop(s, dm, w)
        load_seg(s, CS, cs)
        s[EIP] = ip
        set_flags(s, f)
        return 0
    if op == 0xC4 or op == 0xC5:                       # LES / LDS
        modrm = fetch8(s, dm)
        sg, off = modrm_ea(s, dm, modrm, seg, a32)
        if sg < 0:
            if model != 0:
                return ud(s, dm, start)
            sg, off = DS if seg < 0 else seg, 0
        v = rdm(s, dm, sg, off, w, om)
        sel = rdm(s, dm, sg, (off + w) & om, 2, om)
        setr(s, (modrm >> 3) & 7, w, v)
        load_seg(s, ES if op == 0xC4 else DS, sel)
        return 0
    if op == 0xC6 or op == 0xC7:                       # MOV r/m, imm
        sz = 1 if op == 0xC6 else w
        modrm = fetch8(s, dm)
        if model != 0 and (modrm & 0x38):
            return ud(s, dm, start)
        sg, off = modrm_ea(s, dm, modrm, seg, a32)
        v = fetchw(s, dm, sz)
        rm_wr(s, dm, modrm, sg, off, sz, om, v)
        return 0
    if op == 0xC0 or op == 0xC1:                       # shift r/m, imm8 (186+)
        sz = 1 if op == 0xC0 else w
        modrm = fetch8(s, dm)
        sg, off = modrm_ea(s, dm, modrm, seg, a32)
        v = rm_rd(s, dm, modrm, sg, off, sz, om)
        cnt = fetch8(s, dm) & 0x1F
        rm_wr(s, dm, modrm, sg, off, sz, om, shift(s, (modrm >> 3) & 7, v, cnt, sz))
        return cnt
    if op == 0xC8:                                     # ENTER
        size = fetch16(s, dm)
        level = fetch8(s, dm) & 31
        push(s, dm, getr(s, 5, w), w)
        frame = s[ESP] & 0xFFFF
        if level > 0:
            bp = s[EBP] & 0xFFFF
            for _ in range(level - 1):
                bp = (bp - w) & 0xFFFF
                push(s, dm, rdm(s, dm, SS, bp, w, 0xFFFF), w)
            push(s, dm, frame, w)
        setr(s, 5, w, frame)
        s[ESP] = (s[ESP] & ~0xFFFF) | ((s[ESP] - size) & 0xFFFF)
        return 4 * level
    # C9 LEAVE
    s[ESP] = (s[ESP] & ~0xFFFF) | (s[EBP] & 0xFFFF)
    setr(s, 5, w, pop(s, dm, w))
    return 0


# ---- D0-DF ------------------------------------------------------------------------------------------
@njit(**J)
def g_dx(s, dm, op, seg, w, a32, start):
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op < 0xD4:                                      # group 2
        sz = 1 if (op & 1) == 0 else w
        modrm = fetch8(s, dm)
        sg, off = modrm_ea(s, dm, modrm, seg, a32)
        v = rm_rd(s, dm, modrm, sg, off, sz, om)
        r = (modrm >> 3) & 7
        if op < 0xD2:
            cnt = 1
        else:
            cnt = s[ECX] & 0xFF
            if s[MODEL] != 0:
                cnt &= 0x1F
        if r == 6 and s[MODEL] == 0 and cnt == 0:
            return 0                                   # SETMOC with CL=0
        rm_wr(s, dm, modrm, sg, off, sz, om, shift(s, r, v, cnt, sz))
        return 4 * cnt if op >= 0xD2 else 0
    if op == 0xD4:                                     # AAM
        b = fetch8(s, dm)
        if b == 0:
            return fault(s, dm, 0, start)
        al = s[EAX] & 0xFF
        ah = al // b
        al = al % b
        s[EAX] = (s[EAX] & ~0xFFFF) | (ah << 8) | al
        s[FLAGS] = (s[FLAGS] & ~ARITH) | szp(al, 1)
        return 0
    if op == 0xD5:                                     # AAD
        b = fetch8(s, dm)
        al = s[EAX] & 0xFF
        ah = (s[EAX] >> 8) & 0xFF
        t = (ah * b) & 0xFF
        r = al + t
        rm = r & 0xFF
        nf = szp(rm, 1) | ((r >> 8) & 1) | ((al ^ t ^ r) & AF)
        if ((al ^ r) & (t ^ r)) & 0x80:
            nf |= OF
        s[FLAGS] = (s[FLAGS] & ~ARITH) | nf
        s[EAX] = (s[EAX] & ~0xFFFF) | rm
        return 0
    if op == 0xD6:                                     # SALC
        setr(s, 0, 1, 0xFF if s[FLAGS] & CF else 0)
        return 0
    if op == 0xD7:                                     # XLAT
        sg = DS if seg < 0 else seg
        off = ((s[EBX] & om) + (s[EAX] & 0xFF)) & om
        setr(s, 0, 1, rdm(s, dm, sg, off, 1, om))
        return 0
    # D8-DF: ESC (no coprocessor): decode the operand, do nothing
    modrm = fetch8(s, dm)
    modrm_ea(s, dm, modrm, seg, a32)
    return 0


# ---- E0-EF ------------------------------------------------------------------------------------------
@njit(**J)
def g_ex(s, mem, op, w, a32):
    dm = mem[0]
    if op < 0xE4:                                      # LOOPNZ LOOPZ LOOP JCXZ
        d = fetchs8(s, dm)
        if loop_taken(s, op, 0xFFFFFFFF if a32 else 0xFFFF):
            s[EIP] = (s[EIP] + d) & 0xFFFF
            return 12
        return 0
    if op == 0xE8:                                     # CALL rel
        d = sext(fetchw(s, dm, w), w)
        push(s, dm, s[EIP], w)
        s[EIP] = (s[EIP] + d) & wmask(w)
        return 0
    if op == 0xE9:
        d = sext(fetchw(s, dm, w), w)
        s[EIP] = (s[EIP] + d) & wmask(w)
        return 0
    if op == 0xEB:
        d = fetchs8(s, dm)
        s[EIP] = (s[EIP] + d) & 0xFFFF
        return 0
    if op == 0xEA:
        ip = fetchw(s, dm, w)
        cs = fetch16(s, dm)
        load_seg(s, CS, cs)
        s[EIP] = ip
        return 0
    # E4-E7 imm port, EC-EF DX port
    if op < 0xE8:
        port = fetch8(s, dm)
    else:
        port = s[EDX] & 0xFFFF
    sz = 1 if (op & 1) == 0 else w
    if (op & 2) == 0:                                  # IN
        v = port_in(s, port, sz)
        if v < 0:
            return X_IN
        setr(s, 0, sz, v)
    else:
        port_out(s, mem, port, getr(s, 0, sz), sz)
    return 0


# ---- F0-FF ------------------------------------------------------------------------------------------
@njit(**J)
def g_muldiv(s, dm, r, v, sz, rep, start):
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
        return fault(s, dm, 0, start)
    if r == 6 and sz == 4:
        nu = (np.uint64(getr(s, 2, 4)) << np.uint64(32)) | np.uint64(getr(s, 0, 4))
        qu = nu // np.uint64(v)
        if qu > np.uint64(0xFFFFFFFF):
            return fault(s, dm, 0, start)
        q = np.int64(qu)
        rem = np.int64(nu % np.uint64(v))
    elif r == 6:
        q = n // v
        rem = n % v
        if q > m:
            return fault(s, dm, 0, start)
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
                return fault(s, dm, 0, start)
        elif q >= lim or q < -lim:
            return fault(s, dm, 0, start)
        q &= m
        rem &= m
    if sz == 1:
        setr(s, 0, 2, (rem << 8) | q)
    else:
        setr(s, 0, sz, q)
        setr(s, 2, sz, rem)
    return 150


@njit(**JI)
def flag_op(s, op):
    """CLC STC CLI STI CLD STD (F8-FD).  True for STI, which also sets the
    one-instruction interrupt shadow."""
    if op == 0xF8:
        s[FLAGS] &= ~CF
    elif op == 0xF9:
        s[FLAGS] |= CF
    elif op == 0xFA:
        s[FLAGS] &= ~IF
    elif op == 0xFB:
        s[FLAGS] |= IF
        s[INHIBIT] = 1
        return True
    elif op == 0xFC:
        s[FLAGS] &= ~DF
    else:
        s[FLAGS] |= DF
    return False


@njit(**J)
def g_fx(s, dm, op, seg, rep, w, a32, start):
    model = s[MODEL]
    if op >= 0xF8:
        if op < 0xFE:
            flag_op(s, op)
            return 0
    if op == 0xF4:
        s[HALTED] = 1
        return 0
    if op == 0xF5:
        s[FLAGS] ^= CF
        return 0
    if op == 0xF1:                                     # 386: ICEBP
        return do_int(s, dm, 1, s[EIP])
    om = 0xFFFFFFFF if a32 else 0xFFFF
    modrm = fetch8(s, dm)
    r = (modrm >> 3) & 7
    sg, off = modrm_ea(s, dm, modrm, seg, a32)
    mem_ = 5 if sg >= 0 else 0
    if op == 0xF6 or op == 0xF7:
        sz = 1 if op == 0xF6 else w
        v = rm_rd(s, dm, modrm, sg, off, sz, om)
        if r < 2:
            alu(s, 4, v, fetchw(s, dm, sz), sz)
            return mem_
        if r == 2:
            rm_wr(s, dm, modrm, sg, off, sz, om, ~v & wmask(sz))
            return mem_ * 2
        if r == 3:
            res = alu(s, 5, 0, v, sz)
            rm_wr(s, dm, modrm, sg, off, sz, om, res)
            return mem_ * 2
        return g_muldiv(s, dm, r, v, sz, rep, start) + mem_
    if op == 0xFE:
        if r < 2:
            v = rm_rd(s, dm, modrm, sg, off, 1, om)
            rm_wr(s, dm, modrm, sg, off, 1, om, incdec(s, v, 1, r == 1))
            return mem_ * 2
        if model != 0:
            return ud(s, dm, start)
        # 8086: the FF operations with a byte operand
        v = rm_rd(s, dm, modrm, sg, off, 1, om) | 0xFF00
    else:
        if r < 2:
            v = rm_rd(s, dm, modrm, sg, off, w, om)
            rm_wr(s, dm, modrm, sg, off, w, om, incdec(s, v, w, r == 1))
            return mem_ * 2
        v = rm_rd(s, dm, modrm, sg, off, w, om)
    if r == 2:                                         # CALL near r/m
        push(s, dm, s[EIP], w)
        s[EIP] = v
        return 11
    if r == 4:                                         # JMP near r/m
        s[EIP] = v
        return 0
    if r == 3 or r == 5:                               # CALL / JMP far m
        if sg < 0:
            if model != 0:
                return ud(s, dm, start)
            sg, off = DS if seg < 0 else seg, 0
        cs = rdm(s, dm, sg, (off + w) & om, 2, om)
        if r == 3:
            push(s, dm, s[SEL + CS], w)
            push(s, dm, s[EIP], w)
        load_seg(s, CS, cs)
        s[EIP] = v
        return 20
    # 6 (and 7 on the 8086): PUSH r/m
    if r == 7 and model != 0:
        return ud(s, dm, start)
    if sg < 0 and (modrm & 7) == 4 and model == 0:
        v = (s[ESP] - 2) & 0xFFFF                      # PUSH SP pushes the new value
    push(s, dm, v, w)
    return mem_


# ---- 0F xx (386) ---------------------------------------------------------------------------------
@njit(**J)
def bitop(s, op, v, bit, w):
    """BT BTS BTR BTC (op 0..3) on v; returns the new value."""
    bit &= 8 * w - 1
    b = 1 << bit
    s[FLAGS] = (s[FLAGS] & ~CF) | (1 if v & b else 0)
    if op == 1:
        return v | b
    if op == 2:
        return v & ~b
    if op == 3:
        return v ^ b
    return v


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


# ---- the instruction -------------------------------------------------------------------------
@njit(**J)
def execute(s, mem):
    """One instruction (all its prefixes).  Returns cycles, or an X_* code (< 0)."""
    dm = mem[0]
    start = s[EIP]
    model = s[MODEL]
    seg = -1
    rep = 0
    osz = 0
    a32 = 0
    pc = 0
    while True:
        op = fetch8(s, dm)
        if (op & 0xE7) == 0x26:
            seg = (op >> 3) & 3
        elif op == 0xF3 or op == 0xF2:
            rep = op
        elif op == 0xF0 or (op == 0xF1 and model == 0):
            pass
        elif model >= 3 and op >= 0x64 and op <= 0x67:
            if op == 0x66:
                osz = 1
            elif op == 0x67:
                a32 = 1
            else:
                seg = op - 0x60
        else:
            break
        pc += 2
    w = 4 if osz else 2
    s[EAC] = 0
    hi = op >> 4
    if hi == 8:
        e = g_8x(s, dm, op, seg, w, a32, start)
    elif op < 0x40:
        e = g_alu(s, dm, op, seg, w, a32, start)
    elif hi == 7 or (hi == 6 and model == 0):
        d = fetchs8(s, dm)
        if cond(s, op & 15):
            s[EIP] = (s[EIP] + d) & 0xFFFF
            e = 12
        else:
            e = 0
    elif hi == 0xB:
        if op < 0xB8:
            setr(s, op & 7, 1, fetch8(s, dm))
        else:
            setr(s, op & 7, w, fetchw(s, dm, w))
        e = 0
    elif op < 0x60:
        e = g_4x5x(s, dm, op, w)
    elif hi == 0xE:
        e = g_ex(s, mem, op, w, a32)
    elif hi == 0xF:
        e = g_fx(s, dm, op, seg, rep, w, a32, start)
    elif (hi == 0xA and op >= 0xA4 and (op < 0xA8 or op >= 0xAA)) or (op >= 0x6C and op < 0x70 and model):
        e = g_str(s, mem, op, seg, rep, w, a32, start)
    elif hi == 9 or hi == 0xA:
        e = g_9x(s, dm, op, seg, rep, w, a32, start)
    elif hi == 0xC:
        e = g_cx(s, dm, op, seg, w, a32, start)
    elif hi == 0xD:
        e = g_dx(s, dm, op, seg, w, a32, start)
    else:
        e = g_6x(s, dm, op, seg, rep, w, a32, start)
    if e < 0:
        return e
    return CYC[op] + pc + s[EAC] + e


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


@njit(**JI)
def cond_t(s, cc):
    f = s[FLAGS]
    return CT[(cc << 9) | (f & 0xC5) | ((f >> 3) & 0x100)] != 0


@njit(**JI)
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


@njit(**JI)
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


@njit(**JI)
def mrd(s, dm, sg, off, w):
    """rdm(s, dm, sg, off, w, 0xFFFF) with the RAM case inline (w = 1 or 2)."""
    la = (s[BASE + sg] + off) & s[AMASK]
    po = s[RPT + (la >> PB)]
    if po >= 0:
        i = po + (la & PM)
        if w == 1:
            return np.int64(dm[i])
        if (la & PM) != PM and off != 0xFFFF:
            return np.int64(dm[i]) | (np.int64(dm[i + 1]) << 8)
    return rdm(s, dm, sg, off, w, 0xFFFF)


@njit(**JI)
def mwr(s, dm, sg, off, w, v):
    """wrm(s, dm, sg, off, w, 0xFFFF, v) with the RAM case inline (w = 1 or 2); True if
    the write took the general path (it may have set an exit)."""
    la = (s[BASE + sg] + off) & s[AMASK]
    po = s[WPT + (la >> PB)]
    if po >= 0:                   # (s[XREAD] is clear: run leaves as soon as a read sets it)
        i = po + (la & PM)
        if w == 1:
            dm[i] = v & 0xFF
            return False
        if (la & PM) != PM and off != 0xFFFF:
            dm[i] = v & 0xFF
            dm[i + 1] = (v >> 8) & 0xFF
            return False
    wrm(s, dm, sg, off, w, 0xFFFF, v)
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


@njit(**JI)
def imm(dm, q, sz):
    if sz == 1:
        return np.int64(dm[q])
    return np.int64(dm[q]) | (np.int64(dm[q + 1]) << 8)


@njit(**JI)
def jump8(dm, p, ip):
    """Target of the 2-byte short jump at dm[p] (IP ip)."""
    d = np.int64(dm[p + 1])
    return (ip + 2 + d - (256 if d >= 128 else 0)) & 0xFFFF


@njit(**JI)
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


# ---- interrupts and the run loop --------------------------------------------------------------
@njit(**J)
def run(s, mem, budget):
    dm = mem[0]
    cyc = s[abi.S_CYCLES]
    end = cyc + budget
    s[END] = end
    s[abi.S_EXIT_REASON] = 0
    s[XREAD] = 0
    rp = mem[1]
    amask = s[A20] & ((len(rp) << PB) - 1)
    s[AMASK] = amask
    # restartable memory reads need a register snapshot only if some page exits on read
    # (separate loops: the copies compile to vector moves, the scan stops early)
    wp = mem[2]
    n = min(len(rp), (amask >> PB) + 1)
    if (s[CR0] & 1) == 0:
        # real mode reaches at most FFFF:FFFF + 3 < 0x110000: copying those 272
        # pages instead of the whole 16 MiB table makes a run() call ~10x cheaper
        n = min(n, REAL_PAGES)
    for i in range(n):
        s[RPT + i] = rp[i]
    for i in range(n):
        s[WPT + i] = wp[i]
    if s[PTN] != n:
        # pages beyond the copied range (first run, or the range changed) exit as
        # MMIO rather than reading stale translations
        for i in range(n, MAXPAGES):
            s[RPT + i] = abi.PAGE_MMIO
            s[WPT + i] = abi.PAGE_MMIO
        s[PTN] = n
    snap = False
    for i in range(n):
        if rp[i] < 0:
            snap = True
            break
    brk = s[abi.S_BREAK]
    insns = s[abi.S_INSNS]
    model = s[MODEL]
    first = True
    reason = abi.EXIT_BUDGET
    # The interrupt lines are set from Python between runs and only the core clears
    # them (NMI taken): with both low no instruction needs the check.  TF only
    # changes in instructions that take the slow path (POPF, IRET, interrupts).
    lines = s[abi.S_NMI] | (s[abi.S_IRQ] & 1)
    # IP and the CS base live in locals (s[EIP] is still written after every
    # instruction); the page of the code is translated once per page change
    ip = s[EIP]
    csb = s[BASE + CS]
    cpg = -1
    cpo = -1
    # ``rare``: the checks below are needed before the next instruction (interrupt
    # lines up, breakpoint set, TF, or the last instruction took the slow path or
    # set the interrupt shadow); ``fast``: TF is clear, the inline path may run
    rare = True
    fast = False
    while cyc < end:
        if rare:
            if s[INHIBIT]:
                s[INHIBIT] = 0
            elif lines and (s[abi.S_NMI] or ((s[abi.S_IRQ] & 1) and (s[FLAGS] & IF))):
                s[HALTED] = 0
                if s[abi.S_NMI]:
                    s[abi.S_NMI] = 0
                    lines = s[abi.S_IRQ] & 1
                    cyc += do_int(s, dm, 2, ip)
                    ip = s[EIP]
                    csb = s[BASE + CS]
                    continue
                cyc += do_int(s, dm, s[abi.S_IRQ_VECTOR] & 0xFF, s[EIP]) + 10
                reason = abi.EXIT_IRQ_ACK
                break
            if s[HALTED]:
                cyc = end
                reason = abi.EXIT_HLT
                break
            if brk >= 0 and not first and csb + ip == brk:
                reason = abi.EXIT_BREAKPOINT
                break
            first = False
            fast = (s[FLAGS] & TF) == 0
            rare = lines != 0 or brk >= 0 or not fast
        ok = False
        xchk = False
        t = 0
        la = (csb + ip) & amask
        pg = (la >> PB) & (MAXPAGES - 1)
        if pg != cpg:
            cpg = pg
            cpo = s[RPT + pg]
        if fast and ip <= 0xFFF9 and cpo >= 0 and (la & PM) <= PM - 6:
            p = cpo + (la & PM)
            op = np.int64(dm[p])
            x = XT[op + ((np.int64(dm[p + 1]) + 0x40) & 0x100)]
            if x:
                t, ip = express(s, dm, p, op, x, ip)
                s[EIP] = ip
                cyc += t
                insns += 1
                continue
            m = FT[op]
            cls = m >> 4
            if cls:
                ok = True
                sz = 2 if m & F_WORD else 1 + (op & 1)
                e = 0
                eac = 0
                ilen = 1
                nip = -1
                sg = -1
                off = 0
                modrm = 0
                reg = 0
                a = 0
                if m & F_MODRM:
                    modrm = np.int64(dm[p + 1])
                    reg = (modrm >> 3) & 7
                    if op >= 0xC6:
                        if op < 0xC8:
                            ok = model == 0 or reg == 0
                        elif op >= 0xFE:
                            ok = reg < 2 or (op == 0xFF and (reg == 2 or reg == 4 or reg == 6))
                        elif op >= 0xF6:
                            ok = reg < 4
                    elif op == 0x8D:
                        ok = modrm < 0xC0
                    elif op == 0x8C or op == 0x8E:
                        if model == 0:
                            reg &= 3
                        else:
                            ok = reg < 6 and (op == 0x8C or reg != CS)
                    if ok:
                        sg, off, n, eac = ea16(s, dm, p + 2, modrm)
                        ilen = 2 + n
                elif m & F_READ:
                    if op >= 0xC2:                     # RET: the stack top
                        sg = SS
                        off = s[ESP] & 0xFFFF
                    elif op >= 0xA4:                   # LODS / MOVS
                        sg = DS
                        off = s[ESI] & 0xFFFF
                    elif op >= 0xA0:                   # MOV AL/AX, moffs
                        sg = DS
                        off = np.int64(dm[p + 1]) | (np.int64(dm[p + 2]) << 8)
                        ilen = 3
                    else:                              # POP r
                        sg = SS
                        off = s[ESP] & 0xFFFF
            if ok:
                if m & F_READ:
                    if sg < 0:
                        a = getr(s, modrm & 7, sz)
                    else:
                        a = mrd(s, dm, sg, off, sz)
                        if snap and s[XREAD]:          # MMIO read: nothing changed yet
                            s[XREAD] = 0
                            s[abi.S_EXIT_REASON] = 0
                            reason = abi.EXIT_MMIO_READ
                            break
                q = p + ilen                           # the immediate
                wb = False
                v = 0
                mem5 = 5 if sg >= 0 else 0
                if cls == C_ALU:
                    dst = 0
                    if op < 0x40:
                        aop = op >> 3
                        lo = op & 7
                        if lo < 2:
                            x = a
                            y = getr(s, reg, sz)
                            dst = 1
                            if sg >= 0 and aop != 7:
                                e = 7
                        else:
                            x = getr(s, reg, sz)
                            y = a
                            dst = 2
                    elif op < 0x84:
                        x = a
                        aop = reg
                        if op == 0x81:
                            y = np.int64(dm[q]) | (np.int64(dm[q + 1]) << 8)
                            ilen += 2
                        else:
                            y = np.int64(dm[q])
                            if op == 0x83 and y >= 128:
                                y = (y - 256) & 0xFFFF
                            ilen += 1
                        dst = 1
                        e = mem5 * 2 if reg != 7 else mem5
                    elif op < 0x86:
                        x = a
                        aop = 4
                        y = getr(s, reg, sz)
                        e = mem5
                    elif reg < 2:                      # TEST r/m, imm
                        aop = 4
                        x = a
                        y = np.int64(dm[q])
                        if sz == 2:
                            y |= np.int64(dm[q + 1]) << 8
                        ilen += sz
                        e = mem5
                    else:                              # NEG / NOT
                        aop = 5 if reg == 3 else -1
                        x = 0
                        y = a
                        dst = 1
                        e = mem5 * 2
                    if aop >= 0:
                        res = alu_i(s, aop, x, y, sz)
                    else:
                        res = ~a & (0xFF if sz == 1 else 0xFFFF)
                    if aop != 7:
                        if dst == 1:
                            v = res
                            wb = True
                        elif dst == 2:
                            setr(s, reg, sz, res)
                elif cls == C_MOV:
                    if op < 0x8A:
                        v = getr(s, reg, sz)
                        wb = True
                    else:
                        setr(s, reg, sz, a)
                    e = mem5
                elif cls == C_PUSH:
                    r = op & 7
                    sg = SS
                    off = (s[ESP] - 2) & 0xFFFF
                    v = s[REG + r] & 0xFFFF
                    if r == 4 and model == 0:
                        v = off
                    s[ESP] = (s[ESP] & ~0xFFFF) | off
                    wb = True
                elif cls == C_POP:
                    s[ESP] = (s[ESP] & ~0xFFFF) | ((off + 2) & 0xFFFF)
                    setr(s, op & 7, 2, a)
                elif cls == C_CALL:                    # CALL rel16
                    ilen = 3
                    nip = (ip + 3 + (np.int64(dm[p + 1]) | (np.int64(dm[p + 2]) << 8))) & 0xFFFF
                    sg = SS
                    off = (s[ESP] - 2) & 0xFFFF
                    v = ip + 3
                    s[ESP] = (s[ESP] & ~0xFFFF) | off
                    wb = True
                elif cls == C_RET:
                    extra = 0
                    if op == 0xC2:
                        extra = np.int64(dm[p + 1]) | (np.int64(dm[p + 2]) << 8)
                    nip = a
                    s[ESP] = (s[ESP] & ~0xFFFF) | ((off + 2 + extra) & 0xFFFF)
                elif cls == C_STR:
                    d = -sz if s[FLAGS] & DF else sz
                    if op < 0xA4:                      # MOV AL/AX <-> moffs
                        if op < 0xA2:
                            setr(s, 0, sz, a)
                        else:
                            sg = DS
                            off = np.int64(dm[p + 1]) | (np.int64(dm[p + 2]) << 8)
                            ilen = 3
                            v = getr(s, 0, sz)
                            wb = True
                    elif op < 0xA6:                    # MOVS
                        v = a
                        sg = ES
                        off = s[EDI] & 0xFFFF
                        wb = True
                        s[ESI] = (s[ESI] & ~0xFFFF) | ((s[ESI] + d) & 0xFFFF)
                        s[EDI] = (s[EDI] & ~0xFFFF) | ((off + d) & 0xFFFF)
                        e = CYC[op]
                    elif op < 0xAC:                    # STOS
                        v = getr(s, 0, sz)
                        sg = ES
                        off = s[EDI] & 0xFFFF
                        wb = True
                        s[EDI] = (s[EDI] & ~0xFFFF) | ((off + d) & 0xFFFF)
                        e = CYC[op]
                    else:                              # LODS
                        setr(s, 0, sz, a)
                        s[ESI] = (s[ESI] & ~0xFFFF) | ((s[ESI] + d) & 0xFFFF)
                        e = CYC[op]
                elif cls == C_GRP5:
                    if reg < 2:
                        v = incdec_i(s, a, sz, reg == 1)
                        wb = True
                        e = mem5 * 2
                    elif reg == 4:                     # JMP r/m
                        nip = a
                    else:                              # CALL r/m, PUSH r/m
                        v = a
                        if reg == 2:
                            v = ip + ilen
                            nip = a
                            e = 11
                        else:
                            if sg < 0 and (modrm & 7) == 4 and model == 0:
                                v = (s[ESP] - 2) & 0xFFFF
                            e = mem5
                        sg = SS
                        off = (s[ESP] - 2) & 0xFFFF
                        s[ESP] = (s[ESP] & ~0xFFFF) | off
                        wb = True
                elif cls == C_SHIFT:
                    if op < 0xD2:
                        cnt = 1
                    else:
                        cnt = s[ECX] & 0xFF
                        if model != 0:
                            cnt &= 0x1F
                        e = 4 * cnt
                    if not (reg == 6 and model == 0 and cnt == 0):
                        v = shift1(s, reg, a, sz) if cnt == 1 else -1
                        if v < 0:
                            v = shift(s, reg, a, cnt, sz)
                        wb = True
                elif cls == C_XCHG:                    # XCHG r/m, r
                    v = getr(s, reg, sz)
                    setr(s, reg, sz, a)
                    wb = True
                    e = mem5 * 3
                elif cls == C_MOVRMI:                  # MOV r/m, imm
                    v = np.int64(dm[q])
                    if sz == 2:
                        v |= np.int64(dm[q + 1]) << 8
                    ilen += sz
                    wb = True
                elif cls == C_LEA:
                    setr(s, reg, 2, off)
                elif cls == C_MOVRS:                   # MOV r/m, Sreg
                    v = s[SEL + reg]
                    wb = True
                    e = mem5
                else:                                  # C_MOVSR: MOV Sreg, r/m
                    load_seg(s, reg, a)
                    csb = s[BASE + CS]                 # (the 8086 loads CS too)
                    if reg == SS:
                        s[INHIBIT] = 1
                        rare = True
                    e = mem5
                if ok:
                    if wb:
                        if sg < 0:
                            setr(s, modrm & 7, sz, v)
                        elif mwr(s, dm, sg, off, sz, v):
                            xchk = True
                    ip = nip if nip >= 0 else ip + ilen
                    s[EIP] = ip
                    t = CYC[op] + eac + e
        if not ok:
            if snap:
                for k in range(NREG):
                    s[SNAP + k] = s[16 + k]
            s[abi.S_CYCLES] = cyc
            tf = s[FLAGS] & TF
            s[SWINT] = 0
            t = execute(s, mem)
            if t < 0:
                if t == X_IN:
                    s[EIP] = ip
                    reason = abi.EXIT_IO_IN
                    break
                if t == X_SREAD or t == X_SIN:
                    s[XREAD] = 0
                    reason = abi.EXIT_MMIO_READ if t == X_SREAD else abi.EXIT_IO_IN
                    break
                reason = abi.EXIT_FAULT
                break
            if s[XREAD]:                               # MMIO read: undo and exit
                for k in range(NREG):
                    s[16 + k] = s[SNAP + k]
                s[XREAD] = 0
                s[abi.S_EXIT_REASON] = 0
                reason = abi.EXIT_MMIO_READ
                break
            cyc += t
            if s[PARTIAL]:
                s[PARTIAL] = 0
            else:
                insns += 1
                if tf and s[SWINT] == 0:               # single step: INT 1 after the instruction
                    cyc += do_int(s, dm, 1, s[EIP])
            ip = s[EIP]
            csb = s[BASE + CS]
            rare = True
            xchk = True
        else:
            cyc += t
            insns += 1
        if xchk and s[abi.S_EXIT_REASON]:
            reason = s[abi.S_EXIT_REASON]
            break
    s[abi.S_CYCLES] = cyc
    s[abi.S_INSNS] = insns
    return reason
