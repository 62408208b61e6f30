"""String instructions (MOVS CMPS STOS LODS SCAS INS OUTS) with REP.

REP runs until done, but stops between iterations (IP back on the first prefix)
when the cycle budget is spent, an interrupt is pending or an access needs to exit.
"""

from numba import njit

from emu import abi

from .tables import CYC
from .state import (AMASK, BASE, CR0, DF, DS, ECX, EDI, EDX, EIP, END, ES, ESI, FLAGS, IF, J, PARTIAL, PB,
                    PE, PG, PM, SNAP, XREAD, X_FAULTED, X_SIN, X_SREAD, ZF)
from .regs import getr, setr
from .memory import rdm, wrm
from .alu import alu
from .ports import port_in, port_out
from .system import io_allowed
from .jit import JH, hot              # (the REP loop takes Numba-inlined copies: see jit.py)
getr, setr = hot(getr, setr)


# ---- string instructions -------------------------------------------------------------------
@njit(**JH)
def rep_yields(s, cyc):
    """A REP string instruction stops between iterations (to resume later) when an
    exit is pending, the budget is spent or an interrupt can be taken."""
    return (s[abi.S_EXIT_REASON] != 0 or s[abi.S_CYCLES] + cyc >= s[END] or s[abi.S_NMI] != 0
            or ((s[abi.S_IRQ] & 1) != 0 and (s[FLAGS] & IF) != 0))


@njit(**JH)
def span_in_page(s, sg, off, sz, d, om):
    """How many elements of sz bytes from sg:off in steps of d (+-sz) lie in one page
    without wrapping the offset (0 if the first does not)."""
    pgo = (s[BASE + sg] + off) & PM
    if pgo + sz - 1 > PM or off + sz - 1 > om:
        return 0
    if d > 0:
        return min(PM - pgo - sz + 1, om - off - sz + 1) // sz + 1
    return min(pgo, off) // sz + 1


@njit(**JH)
def ram_run(s, mem, sseg, si, di, sz, d, om, n, per, cyc, movs):
    """Iterations of REP MOVS/STOS that can run as a plain RAM copy/fill: all in one RAM
    page each side, and no more than the generic loop would run before it stops for the
    cycle budget (0: take the generic path; also when anything is pending)."""
    if (s[abi.S_EXIT_REASON] or s[abi.S_NMI] or ((s[abi.S_IRQ] & 1) and (s[FLAGS] & IF))
            or s[XREAD]):
        return 0
    k = span_in_page(s, ES, di, sz, d, om)
    if k == 0 or mem[2][((s[BASE + ES] + di) & s[AMASK]) >> PB] < 0:
        return 0
    if movs:
        k = min(k, span_in_page(s, sseg, si, sz, d, om))
        if k == 0 or mem[1][((s[BASE + sseg] + si) & s[AMASK]) >> PB] < 0:
            return 0
    k = min(k, n)
    rem = s[END] - s[abi.S_CYCLES] - cyc               # the generic loop stops after the
    jb = 1 if rem <= per else (rem + per - 1) // per    # first iteration that reaches END
    return min(k, jb)


@njit(**J)
def str_abort(s, start):
    """An iteration could not finish: a read that exits leaves the registers of the
    iterations done (EIP at the instruction); an exception is delivered with them
    too, so they go into the snapshot that run() restores."""
    if s[XREAD] == X_FAULTED:
        for r in (ECX, ESI, EDI):
            s[SNAP + r - 16] = s[r]
        return 0
    s[EIP] = start
    return X_SREAD


@njit(**J)
def g_str(s, mem, op, seg, rep, w, a32, start):
    om = 0xFFFFFFFF if a32 else 0xFFFF
    sz = 1 if (op & 1) == 0 else w
    d = -sz if s[FLAGS] & DF else sz
    sseg = DS if seg < 0 else seg
    kind = op & 0xFE
    if (kind == 0x6C or kind == 0x6E) and not io_allowed(s, mem, s[EDX] & 0xFFFF, sz):
        return 0
    if rep:
        n = s[ECX] & om
        if n == 0:
            return 0
    cyc = 0
    per = CYC[op]
    # REP MOVS/STOS between RAM pages run in chunks of whole iterations (``ram_run``)
    # (real mode without paging: protected mode takes the checked path)
    bulk = rep != 0 and (kind == 0xA4 or kind == 0xAA) and (s[CR0] & (PE | PG)) == 0
    dm = mem[0]
    while True:
        si = s[ESI] & om
        di = s[EDI] & om
        k = 0
        if bulk:
            k = ram_run(s, mem, sseg, si, di, sz, d, om, n, per, cyc, kind == 0xA4)
        if k > 0:
            ps = mem[1][((s[BASE + sseg] + si) & s[AMASK]) >> PB] + ((s[BASE + sseg] + si) & PM)
            pd = mem[2][((s[BASE + ES] + di) & s[AMASK]) >> PB] + ((s[BASE + ES] + di) & PM)
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
            v = rdm(s, mem, sseg, si, sz, om)
            if s[XREAD]:
                return str_abort(s, start)
            wrm(s, mem, ES, di, sz, om, v)
            if s[XREAD]:
                return str_abort(s, start)
            s[ESI] = (s[ESI] & ~om) | ((si + d) & om)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0xAA:                             # STOS
            wrm(s, mem, ES, di, sz, om, getr(s, 0, sz))
            if s[XREAD]:
                return str_abort(s, start)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0xAC:                             # LODS
            v = rdm(s, mem, sseg, si, sz, om)
            if s[XREAD]:
                return str_abort(s, start)
            setr(s, 0, sz, v)
            s[ESI] = (s[ESI] & ~om) | ((si + d) & om)
        elif kind == 0xA6:                             # CMPS
            a = rdm(s, mem, sseg, si, sz, om)
            b = rdm(s, mem, ES, di, sz, om)
            if s[XREAD]:
                return str_abort(s, start)
            alu(s, 7, a, b, sz)
            s[ESI] = (s[ESI] & ~om) | ((si + d) & om)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0xAE:                             # SCAS
            b = rdm(s, mem, ES, di, sz, om)
            if s[XREAD]:
                return str_abort(s, start)
            alu(s, 7, getr(s, 0, sz), b, sz)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        elif kind == 0x6C:                             # INS
            v = port_in(s, mem, s[EDX] & 0xFFFF, sz, abi.Q_IO_STRING | (abi.Q_IO_REP if rep else 0))
            if v < 0:
                s[EIP] = start
                return X_SIN
            wrm(s, mem, ES, di, sz, om, v)
            if s[XREAD]:
                return str_abort(s, start)
            s[EDI] = (s[EDI] & ~om) | ((di + d) & om)
        else:                                          # OUTS
            v = rdm(s, mem, sseg, si, sz, om)
            if s[XREAD]:
                return str_abort(s, start)
            port_out(s, mem, s[EDX] & 0xFFFF, v, sz, abi.Q_IO_STRING | (abi.Q_IO_REP if rep else 0))
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
