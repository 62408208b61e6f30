"""The run loop (run ABI: emu/abi.py).

The common unprefixed 16-bit instructions are decoded and executed inline with
IP, the CS base and the code page translation in locals, and make no calls on the
RAM path (tables and helpers in ``fast``).  Every other instruction (prefixes, 386
forms, anything that could cross a page or wrap IP, or TF set) goes through
``execute``.  Checks that rarely matter (interrupt lines, interrupt shadow, HALT,
TF, breakpoint) sit behind one ``rare`` flag: the lines only change between runs,
TF and HALT only in the slow path.

Exits: IN and MMIO reads are restartable (the instruction is undone from a
per-instruction snapshot, taken only on the slow path when the map has MMIO-read
pages; the inline path reads its one operand before changing anything); OUT and
MMIO writes leave after the instruction.
"""

import numpy as np
from numba import njit

from emu import abi

from .tables import CYC
from emu.breaks import bp_hit, bp_range, bp_window

from .state import (BREAKS, VMX, VMX_QUAL, VMX_REASON, DBACT, DBHIT, EXC_BITMAP, IDT_INFO, INJ_ERR, INJ_INFO, XLIN, RF, A20, AMASK, BASE, CR0, CS, CSD, DF, DR, DS, ECX, EDI, EIP, END, ES, ESI, ESP, FLAGS, HALTED,
                    IF, INHIBIT, JTOP, MODEL, PARTIAL, PB, PE, PG, PM, REG, SEL, SHUTDOWN, SS, SSB, SWINT, TF, VM, XERR,
                    XREAD, XVEC, X_IN, X_MMIO_RD, X_SIN, X_SREAD)

REAL_PAGES = 0x110000 >> PB                    # pages real mode can address (A20 on)
from .regs import getr, setr
from .jit import hot
from .segments import load_seg
from .alu import alu_i, incdec_i, shift
from .interrupts import deliver
from .memory import exit_info
from .regs import restore, snapshot
from .paging import db_match
from .execute import execute
from .fast32 import run32
from .vmx import VMEXIT_VEC, event_exit, watches_events
from .fast import (C_ALU, C_CALL, C_GRP5, C_LEA, C_MOV, C_MOVRMI, C_MOVRS, C_POP, C_PUSH, C_RET, C_SHIFT,
    C_STR, C_XCHG, FT, F_MODRM, F_READ, F_WORD, XT, ea16, express, mrd, mwr, shift1)
getr, setr, alu_i, incdec_i = hot(getr, setr, alu_i, incdec_i)


# ---- interrupts and the run loop --------------------------------------------------------------
@njit(**JTOP)
def run(s, mem, budget):
    dm = mem[0]
    cyc = s[abi.S_CYCLES]
    end = cyc + budget
    s[END] = end
    s[abi.S_EXIT_REASON] = 0
    s[XREAD] = 0
    s[IDT_INFO] = 0                                    # (each exit says it afresh)
    rp = mem[1]
    s[AMASK] = s[A20] & ((len(rp) << PB) - 1)
    model = s[MODEL]
    if s[SHUTDOWN]:                                    # stopped by a triple fault until reset
        return abi.EXIT_SHUTDOWN
    if s[INJ_INFO] & 0x80000000:                       # VMM event injection (VT-x's entry
        info = s[INJ_INFO]                             # interruption information)
        s[INJ_INFO] = 0
        s[HALTED] = 0
        deliver(s, mem, info & 0xFF, s[INJ_ERR] if info & 0x800 else -1, s[EIP], 1)
        if s[SHUTDOWN]:
            return abi.EXIT_SHUTDOWN
        if s[abi.S_EXIT_REASON]:                       # an intercepted fault during it
            return s[abi.S_EXIT_REASON]
    # the general path keeps a register snapshot to undo an instruction: for faults
    # (186 and later) and restartable MMIO reads (the 8086 reaches only 1 MiB + 64 KiB)
    snap = model != 0
    if not snap:
        for i in range(min(len(rp), REAL_PAGES)):
            if rp[i] < 0:
                snap = True
                break
    # execution breakpoints (emu/abi.py): S_BREAK and the break table as one range of
    # linear addresses, empty (blo > bhi) with none set
    blo, bhi = bp_range(s, BREAKS)
    brk = bhi >= 0
    insns = s[abi.S_INSNS]
    first = True
    reason = abi.EXIT_BUDGET
    # The interrupt lines are set from Python between runs and only the core clears
    # them (NMI taken): with both low no instruction needs the check.  TF only
    # changes in instructions that take the slow path (POPF, IRET, interrupts).
    lines = s[abi.S_NMI] | (s[abi.S_IRQ] & 1)
    vmxe = watches_events(s)                           # VMX: events that exit (vmx.py)
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
            # a breakpoint stops before the instruction, and before an interrupt taken there
            if brk and not first:
                la = (csb + ip) & 0xFFFFFFFF
                if blo <= la <= bhi and bp_hit(s, BREAKS, la):
                    reason = abi.EXIT_BREAKPOINT
                    break
            first = False
            if s[INHIBIT]:
                s[INHIBIT] = 0
            elif vmxe and event_exit(s):
                reason = abi.EXIT_VMEXIT
                break
            elif lines and (s[abi.S_NMI] or ((s[abi.S_IRQ] & 1) and (s[FLAGS] & IF))):
                s[HALTED] = 0
                if s[abi.S_NMI]:
                    s[abi.S_NMI] = 0
                    lines = s[abi.S_IRQ] & 1
                    deliver(s, mem, 2, -1, ip, 1)
                    cyc += 51
                    ip = s[EIP]
                    csb = s[BASE + CS]
                    if s[SHUTDOWN] or s[abi.S_EXIT_REASON]:
                        reason = abi.EXIT_SHUTDOWN if s[SHUTDOWN] else s[abi.S_EXIT_REASON]
                        break
                    continue
                deliver(s, mem, s[abi.S_IRQ_VECTOR] & 0xFF, -1, s[EIP], 1)
                cyc += 61
                reason = abi.EXIT_SHUTDOWN if s[SHUTDOWN] else abi.EXIT_IRQ_ACK
                if s[abi.S_EXIT_REASON]:               # an intercepted fault during it: the
                    s[IDT_INFO] = 0                    # interrupt stays on its line, not taken
                    reason = s[abi.S_EXIT_REASON]
                break
            if s[HALTED]:
                cyc = end
                reason = abi.EXIT_HLT
                break
            if s[DBACT] & 1:                           # instruction breakpoints: #DB (a fault)
                if s[FLAGS] & RF:
                    s[FLAGS] &= ~RF                    # RF lets this instruction run once
                else:
                    hits = db_match(s, (csb + ip) & 0xFFFFFFFF, 1, 0)
                    if hits:
                        s[DR + 6] |= hits
                        deliver(s, mem, 1, -1, ip, 1)
                        cyc += 51
                        ip = s[EIP]
                        csb = s[BASE + CS]
                        if s[SHUTDOWN] or s[abi.S_EXIT_REASON]:
                            reason = abi.EXIT_SHUTDOWN if s[SHUTDOWN] else s[abi.S_EXIT_REASON]
                            break
                        continue
            elif s[FLAGS] & RF:
                s[FLAGS] &= ~RF
            # the inline paths are real-mode code without paging (linear = physical) and
            # no debug breakpoints
            fast = (s[FLAGS] & TF) == 0 and (s[CR0] & (PE | PG)) == 0 and s[DBACT] == 0
            rare = lines != 0 or brk or not fast or vmxe
            # 32-bit protected-mode code with a 32-bit stack: the fast path of fast32
            pm32 = ((s[CR0] & PE) != 0 and (s[FLAGS] & (VM | TF)) == 0 and s[CSD] != 0 and s[SSB] != 0
                    and s[DBACT] == 0)
            if pm32:
                wlo = 0                                # the EIPs it may run: no breakpoint
                whi = 0xFFFFFFFF                       # but (the first) one at ip
                if brk:
                    wlo, whi, at = bp_window(s, BREAKS, csb, ip, 0, 0xFFFFFFFF, 0xFFFFFFFF)
                cyc, k = run32(s, mem, cyc, end, 1 if lines else end, wlo, whi)
                if k:
                    insns += k
                    ip = s[EIP]
                    continue
        ok = False
        xchk = False
        t = 0
        la = (csb + ip) & s[AMASK]
        pg = la >> PB
        if pg != cpg:
            cpg = pg
            cpo = rp[pg]
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
                        a = mrd(s, mem, sg, off, sz)
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
                    load_seg(s, mem, reg, a)
                    csb = s[BASE + CS]                 # (the 8086 loads CS too)
                    if reg == SS:
                        s[INHIBIT] = 1
                        rare = True
                    e = mem5
                if ok:
                    if wb:
                        if sg < 0:
                            setr(s, modrm & 7, sz, v)
                        elif mwr(s, mem, sg, off, sz, v):
                            xchk = True
                    ip = nip if nip >= 0 else ip + ilen
                    s[EIP] = ip
                    t = CYC[op] + eac + e
        if not ok:
            if snap:
                snapshot(s)
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
            if s[XREAD] == X_MMIO_RD:                  # MMIO read: undo and exit
                restore(s)
                s[XREAD] = 0
                s[abi.S_EXIT_REASON] = 0
                reason = abi.EXIT_MMIO_READ
                break
            if s[XREAD]:                               # exception: undo, deliver
                s[XREAD] = 0
                s[DBHIT] = 0
                vec = s[XVEC]
                err = s[XERR]
                restore(s)
                s[PARTIAL] = 0
                s[abi.S_EXIT_REASON] = 0               # (no write of the undone instruction)
                if vec == VMEXIT_VEC:                  # a VM exit (vmx.py): the instruction undone
                    s[VMX_REASON] = err
                    s[abi.S_EXIT_QUAL] = s[VMX_QUAL]
                    reason = abi.EXIT_VMEXIT
                    break
                if ((s[abi.S_INTERCEPT] & abi.INTERCEPT_EXCEPTIONS) or s[VMX]) and (s[EXC_BITMAP] >> vec) & 1:
                    # the VMM takes it (VT-x exception bitmap): the instruction undone,
                    # the vector in S_FAULT, the error code in S_EXIT_DATA (-1 none), a
                    # page fault's linear address as the exit's GLA; CR2 unchanged
                    s[abi.S_FAULT] = vec
                    s[abi.S_EXIT_DATA] = err
                    s[VMX_REASON] = 0                  # (VT-x: exception or NMI)
                    exit_info(s, 0, 0, s[XLIN] & 0xFFFFFFFF if vec == 14 else -1, -1)
                    reason = abi.EXIT_EXCEPTION
                    break
                deliver(s, mem, vec, err, s[EIP], 1)
                cyc += t + 51
                ip = s[EIP]
                csb = s[BASE + CS]
                rare = True
                if s[SHUTDOWN] or s[abi.S_EXIT_REASON]:
                    reason = abi.EXIT_SHUTDOWN if s[SHUTDOWN] else s[abi.S_EXIT_REASON]
                    break
                continue
            cyc += t
            if s[PARTIAL]:
                s[PARTIAL] = 0
            else:
                insns += 1
                if s[DBHIT]:                           # data breakpoints: #DB after it (a trap)
                    s[DR + 6] |= s[DBHIT]
                    s[DBHIT] = 0
                    deliver(s, mem, 1, -1, s[EIP], 1)
                    cyc += 51
                elif tf and s[SWINT] == 0:             # single step: #DB after the instruction
                    if model >= 3:
                        s[DR + 6] |= 0x4000            # DR6.BS
                    deliver(s, mem, 1, -1, s[EIP], 1)
                    cyc += 51
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
