"""Interrupt and exception delivery (Intel SDM vol. 3, chapter 6).

Real mode enters the handler through the vector table at IDTR.base (4-byte
entries).  Protected and V86 mode read an interrupt, trap or task gate from the
IDT: a gate to a more privileged non-conforming code segment switches to the
stack the TSS holds for that ring (from V86 mode also saving and clearing the
data segment registers), and the frame is pushed in the gate's width.  An
exception raised while delivering another escalates by the SDM's table 6-5
(contributory and page faults -> #DF, a fault while delivering #DF -> triple
fault, which stops the CPU: ``state[SHUTDOWN]``, run() exits with EXIT_SHUTDOWN).
Error codes of faults raised during the delivery of an external event or an
exception have the EXT bit set.
"""

from numba import njit

from emu import abi

from .state import (XCHAIN, XCHERR, XFCS, XFEIP, AC, BASE, CPL, CR0, CR2, CS, DS, DELIV, EIP, ES, ESP, EXC_BITMAP,
                    FLAGS, FS, GS, IDT_ERR, IDT_INFO, IDTB, IDTL, IF, J, VMX, VMX_REASON, MODEL, NT, PE, RF, SEL, SHUTDOWN, SS, SSB, SWINT, TF, TRA, VM, XERR, XLIN, XREAD, XVEC, X_FAULTED)
from .paging import raise_exc
from .memory import exit_info, rd16, sys_rd
from .segments import desc_attr, load_desc, read_desc, set_cache
from .regs import restore, snapshot
from .stack import push
from .tasks import SW_INT, task_switch, tss_stack


@njit(**J)
def real_int(s, mem, vec, ret_ip):
    """Enter handler ``vec`` through the real-mode vector table."""
    a = s[IDTB] + vec * 4
    ip = rd16(s, mem, a)
    cs = rd16(s, mem, a + 2)
    push(s, mem, s[FLAGS] & 0xFFFF, 2)
    push(s, mem, s[SEL + CS], 2)
    push(s, mem, ret_ip, 2)
    s[FLAGS] &= ~(IF | TF | AC)
    s[SEL + CS] = cs
    s[BASE + CS] = cs << 4
    s[EIP] = ip
    s[SWINT] = 1
    return 51


@njit(**J)
def gate_int(s, mem, vec, err, ret_eip, soft, ext):
    """Deliver ``vec`` through the protected-mode IDT (err < 0: no error code).
    ``soft``: INT n / INT3 / INTO (gate DPL checked against CPL)."""
    idt = vec * 8 + 2 + ext                    # error code naming the IDT entry
    if vec * 8 + 7 > s[IDTL]:
        raise_exc(s, 13, idt)
        return
    lo = sys_rd(s, mem, s[IDTB] + vec * 8, 4)
    hi = sys_rd(s, mem, s[IDTB] + vec * 8 + 4, 4)
    if s[XREAD]:
        return
    typ = (hi >> 8) & 0x1F
    gdpl = (hi >> 13) & 3
    if typ != 5 and typ != 6 and typ != 7 and typ != 14 and typ != 15:
        raise_exc(s, 13, idt)
        return
    if soft and gdpl < s[CPL]:
        raise_exc(s, 13, idt)
        return
    if (hi & 0x8000) == 0:
        raise_exc(s, 11, idt)
        return
    if typ == 5:
        from_task_gate(s, mem, lo >> 16, err, ext)
        return
    sel = (lo >> 16) & 0xFFFF
    off = (lo & 0xFFFF) | (hi & 0xFFFF0000) if typ >= 14 else lo & 0xFFFF
    w = 4 if typ >= 14 else 2
    if (sel & 0xFFFC) == 0:
        raise_exc(s, 13, ext)
        return
    clo, chi = read_desc(s, mem, sel)
    if clo < 0:
        raise_exc(s, 13, (sel & 0xFFFC) | ext)
        return
    a = desc_attr(chi)
    dpl = (a >> 5) & 3
    cpl = s[CPL]
    if (a & 0x18) != 0x18 or dpl > cpl:        # not code, or less privileged
        raise_exc(s, 13, (sel & 0xFFFC) | ext)
        return
    if (a & 0x80) == 0:
        raise_exc(s, 11, (sel & 0xFFFC) | ext)
        return
    flags = s[FLAGS]
    v86 = (flags & VM) != 0
    if (a & 4) == 0 and dpl < cpl:             # inner ring: stack from the TSS
        nss, nesp = tss_stack(s, mem, dpl)
        if nss < 0:
            return
        if (nss & 0xFFFC) == 0:
            raise_exc(s, 10, ext)
            return
        slo, shi = read_desc(s, mem, nss)
        sa = desc_attr(shi)
        if slo < 0 or (nss & 3) != dpl or ((sa >> 5) & 3) != dpl or (sa & 0x1A) != 0x12:
            raise_exc(s, 10, (nss & 0xFFFC) | ext)
            return
        if (sa & 0x80) == 0:
            raise_exc(s, 12, (nss & 0xFFFC) | ext)
            return
        if v86 and dpl != 0:
            raise_exc(s, 13, (sel & 0xFFFC) | ext)
            return
        oss = s[SEL + SS]
        oesp = s[ESP]
        s[CPL] = dpl
        s[FLAGS] = flags & ~VM
        load_desc(s, mem, SS, nss, slo, shi)
        s[ESP] = nesp if s[SSB] else (s[ESP] & ~0xFFFF) | (nesp & 0xFFFF)
        if v86:
            for sr in (GS, FS, DS, ES):
                push(s, mem, s[SEL + sr], w)
            for sr in (GS, FS, DS, ES):
                set_cache(s, sr, 0, 0, 0, 0)
        push(s, mem, oss, w)
        push(s, mem, oesp, w)
    elif v86:
        raise_exc(s, 13, (sel & 0xFFFC) | ext)
        return
    push(s, mem, flags, w)
    push(s, mem, s[SEL + CS], w)
    push(s, mem, ret_eip, w)
    if err >= 0:
        push(s, mem, err, w)
    if s[XREAD]:
        return
    load_desc(s, mem, CS, (sel & 0xFFFC) | s[CPL], clo, chi)
    s[EIP] = off
    f = s[FLAGS] & ~(TF | NT | RF | VM)
    if typ == 6 or typ == 14:                  # interrupt gate
        f &= ~IF
    s[FLAGS] = f
    s[SWINT] = 1


@njit(**J)
def from_task_gate(s, mem, sel, err, ext):
    """Task gate in the IDT: a task switch (``tasks.py``) with the error code pushed
    on the new task's stack."""
    task_switch(s, mem, sel & 0xFFFF, SW_INT, ext)
    if err >= 0 and s[XREAD] == 0:
        push(s, mem, err, 4 if (s[TRA] & 8) else 2)


@njit(**J)
def do_int(s, mem, vec, ret_ip):
    """Software interrupt (INT n, INT3, INTO, and the 8086's exceptions): real mode
    through the vector table, else through the IDT."""
    if s[CR0] & PE:
        gate_int(s, mem, vec, -1, ret_ip, True, 0)
        return 51
    return real_int(s, mem, vec, ret_ip)


@njit(**J)
def contributory(v):
    return v == 0 or (v >= 10 and v <= 13)


@njit(**J)
def deliver(s, mem, vec, err, ret_eip, ext):
    """Deliver exception or external interrupt ``vec`` from the state in the
    registers (a faulting instruction already undone), escalating faults raised
    during delivery to #DF and to a triple fault (SDM vol. 3, table 6-5).  The
    chain of vectors (with their error codes) and the CS:EIP it started at are kept
    for a shutdown report.  At most four deliveries: a benign event, a contributory
    fault raised by it, a page fault raised by that (handled serially), then #DF."""
    s[XCHAIN] = vec
    s[XCHERR] = err
    s[XFCS] = s[SEL + CS]
    s[XFEIP] = s[EIP]
    for k in range(4):
        snapshot(s)
        s[XREAD] = 0
        if vec == 14:
            s[CR2] = s[XLIN]
        s[DELIV] = vec
        if s[CR0] & PE:
            gate_int(s, mem, vec, err, ret_eip, False, ext)
        else:
            real_int(s, mem, vec, ret_eip)
        s[DELIV] = -1
        if s[XREAD] != X_FAULTED:
            s[XREAD] = 0
            return True
        v2 = s[XVEC]
        e2 = s[XERR]
        restore(s)
        s[XREAD] = 0
        if ((s[abi.S_INTERCEPT] & abi.INTERCEPT_EXCEPTIONS) or s[VMX]) and (s[EXC_BITMAP] >> v2) & 1:
            # the VMM intercepts the fault: it exits with the event in the IDT-vectoring
            # information (SDM vol. 3, 27.2.4) and the state from before the delivery
            s[IDT_INFO] = 0x80000000 | (0x800 if err >= 0 else 0) | vec
            s[IDT_ERR] = max(err, 0)
            s[abi.S_FAULT] = v2
            s[abi.S_EXIT_DATA] = e2
            s[VMX_REASON] = 0
            exit_info(s, 0, 0, s[XLIN] & 0xFFFFFFFF if v2 == 14 else -1, -1)
            s[abi.S_EXIT_REASON] = abi.EXIT_EXCEPTION
            return False
        ret_eip = s[EIP]
        s[XCHAIN] |= (v2 & 0xFF) << (8 * k + 8)
        s[XCHERR + k + 1] = e2
        if vec == 8:
            s[SHUTDOWN] = 1
            return False
        if (contributory(vec) and contributory(v2)) or (vec == 14 and (contributory(v2) or v2 == 14)):
            vec = 8
            err = 0
        else:
            vec = v2
            err = e2
        ext = 1
    s[SHUTDOWN] = 1
    return False


@njit(**J)
def has_error_code(vec):
    return vec == 8 or (vec >= 10 and vec <= 14) or vec == 17


@njit(**J)
def fault(s, mem, vec, start):
    """An exception detected by an instruction: the 8086 enters the handler at once
    with the next instruction's address; later CPUs abandon the instruction and
    deliver it with the faulting instruction's address (run() does that)."""
    if s[MODEL] == 0:
        return real_int(s, mem, vec, s[EIP])
    raise_exc(s, vec, 0 if has_error_code(vec) else -1)
    return 0


@njit(**J)
def ud(s, mem, start):
    """Invalid opcode: #UD (INT 6) on the 186 and later."""
    return fault(s, mem, 6, start)


@njit(**J)
def gp(s, err):
    raise_exc(s, 13, err)
    return 0
