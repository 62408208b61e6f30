"""ALU and flags: the arithmetic/logic rules, conditions, shifts and rotates, FLAGS writes."""

from numba import njit

from .tables import PARITY
from .state import AF, ARITH, CF, DF, FLAGS, IF, INHIBIT, J, JI, MODEL, OF, PF, SF, ZF
from .regs import sext, wmask


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


# the flavours inlined by LLVM (ops_regs); the hot loops take Numba-inlined copies of them (jit.hot)
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
