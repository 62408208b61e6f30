"""Far control transfers: JMP/CALL far, RETF, IRET (Intel SDM vol. 2: JMP, CALL, RET, IRET).

Real and V86 mode load CS like any segment register.  Protected mode checks the
target: a code segment (conforming: DPL <= CPL; non-conforming: RPL <= CPL and
DPL = CPL), a call gate (DPL >= CPL and RPL; a CALL to a more privileged
non-conforming segment switches to the TSS stack of that ring and copies the
gate's parameter count of words/dwords), a TSS or a task gate (task switch).
Returns (RETF, IRET) to an outer ring pop SS:ESP too and null the data segment
registers the outer ring may not use; IRET with VM set in the popped EFLAGS at
CPL 0 returns to V86 mode, with NT set it returns to the previous task.
"""

from numba import njit

from .state import (CPL, CS, EIP, ESP, FLAGS, IF, IOPL, J, LIMIT, MODEL, NT, RF, SEL, SS, SSB, SCRATCH, TRB, VIF, VIP, VM, XREAD)
from .paging import raise_exc
from .memory import protected, sys_rd
from .segments import desc_attr, desc_limit, load_desc, load_seg, null_outer_segments, read_desc, set_cache
from .stack import peek, pop, push, sp_add
from .tasks import SW_CALL, SW_IRET, SW_JMP, task_switch, tss_stack
from .system import vme, vpopf


@njit(**J)
def flags_mask(s):
    """EFLAGS bits the model implements (writable): 386 up to VM, AC on the 486,
    VIF VIP ID on the Pentium and later (SDM vol. 1, 3.4.3)."""
    m = s[MODEL]
    if m == 0:
        return 0x0FD5
    if m < 3:
        return 0x7FD5 if m == 2 else 0x0FD5
    if m == 3:
        return 0x37FD5
    if m == 4:
        return 0x77FD5
    return 0x3F7FD5


@njit(**J)
def write_flags(s, v, w, cpl, is_iret):
    """POPF / IRET write of EFLAGS: IOPL only at CPL 0, IF only at CPL <= IOPL; VM is
    not changed; RF only by IRET, VIF and VIP only by IRETD at CPL 0; a 16-bit write
    keeps the high half (SDM vol. 2, POPF and IRET)."""
    f = s[FLAGS]
    if s[MODEL] == 0:
        s[FLAGS] = (v & 0x0FD5) | 0xF002
        return
    keep = VM
    if not is_iret:
        keep |= RF
    if not is_iret or cpl > 0 or w == 2:
        keep |= VIF | VIP
    if protected(s) or (f & VM):
        if cpl > 0:
            keep |= IOPL
        if cpl > ((f & IOPL) >> 12):
            keep |= IF
    if w == 2:
        v = (v & 0xFFFF) | (f & 0xFFFF0000)
    m = flags_mask(s)
    s[FLAGS] = ((v & ~keep & m) | (f & keep)) | 2


@njit(**J)
def jump_near(s, target, w):
    """EIP = target in the operand size; beyond the CS limit: #GP(0), in every mode
    (SDM vol. 2, JMP/Jcc/CALL/RET: a 32-bit target in real or V86 mode is checked
    against the CS limit, FFFFh there)."""
    target &= 0xFFFF if w == 2 else 0xFFFFFFFF
    if target > s[LIMIT + CS]:
        raise_exc(s, 13, 0)
        return
    s[EIP] = target


@njit(**J)
def real_target_ok(s, off):
    """Real / V86-mode far JMP, CALL, RETF, IRET: the new EIP within the CS limit, else
    #GP(0) before CS is loaded (SDM vol. 2, their real-address mode pseudo-code)."""
    if off > s[LIMIT + CS]:
        raise_exc(s, 13, 0)
        return False
    return True


@njit(**J)
def code_ok(s, sel, a, cpl, err):
    """Checks of a code segment descriptor for a direct JMP/CALL (False: raised)."""
    dpl = (a >> 5) & 3
    if (a & 0x18) != 0x18:
        raise_exc(s, 13, err)
        return False
    if a & 4:
        if dpl > cpl:
            raise_exc(s, 13, err)
            return False
    elif (sel & 3) > cpl or dpl != cpl:
        raise_exc(s, 13, err)
        return False
    if (a & 0x80) == 0:
        raise_exc(s, 11, err)
        return False
    return True


@njit(**J)
def far_jump(s, mem, sel, off, w, call):
    """JMP far / CALL far to sel:off with operand size w."""
    sel &= 0xFFFF
    if not protected(s):
        off &= 0xFFFF if w == 2 else 0xFFFFFFFF
        if not real_target_ok(s, off):
            return
        if call:
            push(s, mem, s[SEL + CS], w)
            push(s, mem, s[EIP], w)
        load_seg(s, mem, CS, sel)
        s[EIP] = off
        return
    err = sel & 0xFFFC
    if err == 0:
        raise_exc(s, 13, 0)
        return
    lo, hi = read_desc(s, mem, sel)
    if lo < 0:
        raise_exc(s, 13, err)
        return
    a = desc_attr(hi)
    cpl = s[CPL]
    if a & 0x10:                               # code segment
        if not code_ok(s, sel, a, cpl, err):
            return
        off &= 0xFFFF if w == 2 else 0xFFFFFFFF
        if off > desc_limit(lo, hi):
            raise_exc(s, 13, 0)
            return
        if call:
            push(s, mem, s[SEL + CS], w)
            push(s, mem, s[EIP], w)
        load_desc(s, mem, CS, (sel & 0xFFFC) | cpl, lo, hi)
        s[EIP] = off
        return
    typ = a & 0x1F
    dpl = (a >> 5) & 3
    if typ == 1 or typ == 9 or typ == 5:       # TSS or task gate
        if dpl < cpl or dpl < (sel & 3):
            raise_exc(s, 13, err)
            return
        if typ == 5:
            if (a & 0x80) == 0:
                raise_exc(s, 11, err)
                return
            sel = (lo >> 16) & 0xFFFF
        task_switch(s, mem, sel, SW_CALL if call else SW_JMP, 0)
        return
    if typ != 4 and typ != 12:
        raise_exc(s, 13, err)
        return
    # call gate
    if dpl < cpl or dpl < (sel & 3):
        raise_exc(s, 13, err)
        return
    if (a & 0x80) == 0:
        raise_exc(s, 11, err)
        return
    gw = 4 if typ == 12 else 2
    tsel = (lo >> 16) & 0xFFFF
    toff = (lo & 0xFFFF) | (hi & 0xFFFF0000) if gw == 4 else lo & 0xFFFF
    pcount = hi & 0x1F
    if (tsel & 0xFFFC) == 0:
        raise_exc(s, 13, 0)
        return
    clo, chi = read_desc(s, mem, tsel)
    ca = desc_attr(chi)
    tdpl = (ca >> 5) & 3
    terr = tsel & 0xFFFC
    if clo < 0 or (ca & 0x18) != 0x18 or tdpl > cpl:
        raise_exc(s, 13, terr)
        return
    if (ca & 0x80) == 0:
        raise_exc(s, 11, terr)
        return
    if toff > desc_limit(clo, chi):
        raise_exc(s, 13, 0)
        return
    if not call:
        if (ca & 4) == 0 and tdpl != cpl:
            raise_exc(s, 13, terr)
            return
        load_desc(s, mem, CS, (tsel & 0xFFFC) | cpl, clo, chi)
        s[EIP] = toff
        return
    if (ca & 4) == 0 and tdpl < cpl:           # more privileged: new stack
        nss, nesp = tss_stack(s, mem, tdpl)
        if nss < 0:
            return
        slo, shi = read_desc(s, mem, nss)
        sa = desc_attr(shi)
        if (nss & 0xFFFC) == 0 or slo < 0 or (nss & 3) != tdpl or ((sa >> 5) & 3) != tdpl or \
                (sa & 0x1A) != 0x12:
            raise_exc(s, 10, nss & 0xFFFC)
            return
        if (sa & 0x80) == 0:
            raise_exc(s, 12, nss & 0xFFFC)
            return
        oss = s[SEL + SS]
        oesp = s[ESP]
        ocs = s[SEL + CS]
        oeip = s[EIP]
        for i in range(pcount):                # parameters, read before the old stack is left
            s[SCRATCH + i] = peek(s, mem, i * gw, gw)
        s[CPL] = tdpl
        load_desc(s, mem, SS, nss, slo, shi)
        s[ESP] = nesp if s[SSB] else (s[ESP] & ~0xFFFF) | (nesp & 0xFFFF)
        push(s, mem, oss, gw)
        push(s, mem, oesp, gw)
        for i in range(pcount - 1, -1, -1):
            push(s, mem, s[SCRATCH + i], gw)
        push(s, mem, ocs, gw)
        push(s, mem, oeip, gw)
        load_desc(s, mem, CS, (tsel & 0xFFFC) | tdpl, clo, chi)
        s[EIP] = toff
        return
    push(s, mem, s[SEL + CS], gw)
    push(s, mem, s[EIP], gw)
    load_desc(s, mem, CS, (tsel & 0xFFFC) | cpl, clo, chi)
    s[EIP] = toff


@njit(**J)
def ret_cs_ok(s, sel, lo, a, cpl):
    """Checks of the CS popped by RETF/IRET (False: raised)."""
    err = sel & 0xFFFC
    rpl = sel & 3
    dpl = (a >> 5) & 3
    if err == 0:
        raise_exc(s, 13, 0)
        return False
    if lo < 0 or (a & 0x18) != 0x18 or rpl < cpl or ((a & 4) and dpl > rpl) or ((a & 4) == 0 and dpl != rpl):
        raise_exc(s, 13, err)
        return False
    if (a & 0x80) == 0:
        raise_exc(s, 11, err)
        return False
    return True


@njit(**J)
def outer_stack(s, mem, depth, w, rpl):
    """The SS:ESP an outer-ring return pops at ``depth``, checked and loaded (False: raised)."""
    nesp = peek(s, mem, depth, w)
    nss = peek(s, mem, depth + w, w) & 0xFFFF
    if (nss & 0xFFFC) == 0:
        raise_exc(s, 13, 0)
        return False
    lo, hi = read_desc(s, mem, nss)
    a = desc_attr(hi)
    if lo < 0 or (nss & 3) != rpl or ((a >> 5) & 3) != rpl or (a & 0x1A) != 0x12:
        raise_exc(s, 13, nss & 0xFFFC)
        return False
    if (a & 0x80) == 0:
        raise_exc(s, 12, nss & 0xFFFC)
        return False
    load_desc(s, mem, SS, nss, lo, hi)
    s[ESP] = nesp if s[SSB] else (s[ESP] & ~0xFFFF) | (nesp & 0xFFFF)
    return True


@njit(**J)
def far_ret(s, mem, w, extra):
    """RETF [imm16]."""
    if not protected(s):
        ip = pop(s, mem, w)
        cs = pop(s, mem, w)
        if s[XREAD] or not real_target_ok(s, ip):
            return
        load_seg(s, mem, CS, cs)
        s[EIP] = ip
        sp_add(s, extra)
        return
    eip = peek(s, mem, 0, w)
    sel = peek(s, mem, w, w) & 0xFFFF
    if s[XREAD]:
        return
    lo, hi = read_desc(s, mem, sel)
    a = desc_attr(hi)
    cpl = s[CPL]
    if not ret_cs_ok(s, sel, lo, a, cpl):
        return
    if eip > desc_limit(lo, hi):
        raise_exc(s, 13, 0)
        return
    rpl = sel & 3
    if rpl == cpl:
        sp_add(s, 2 * w + extra)
        load_desc(s, mem, CS, sel, lo, hi)
        s[EIP] = eip
        return
    if not outer_stack(s, mem, 2 * w + extra, w, rpl):
        return
    s[CPL] = rpl
    load_desc(s, mem, CS, sel, lo, hi)
    s[EIP] = eip
    sp_add(s, extra)
    null_outer_segments(s, rpl)


@njit(**J)
def iret(s, mem, w):
    """IRET / IRETD."""
    f = s[FLAGS]
    if not protected(s):
        if f & VM and (f & IOPL) != IOPL:
            if w == 2 and vme(s):              # VME: the popped IF goes to VIF
                ip = pop(s, mem, 2)
                cs = pop(s, mem, 2)
                fl = pop(s, mem, 2)
                if s[XREAD] == 0 and real_target_ok(s, ip):
                    vpopf(s, fl)
                    load_seg(s, mem, CS, cs)
                    s[EIP] = ip
                return
            raise_exc(s, 13, 0)                # V86 at IOPL < 3
            return
        ip = pop(s, mem, w)
        cs = pop(s, mem, w)
        fl = pop(s, mem, w)
        if s[XREAD] or not real_target_ok(s, ip):
            return
        load_seg(s, mem, CS, cs)
        s[EIP] = ip
        write_flags(s, fl, w, 0 if (f & VM) == 0 else 3, True)
        return
    if f & NT:                                 # return to the previous task
        link = sys_rd(s, mem, s[TRB], 2)
        task_switch(s, mem, link, SW_IRET, 0)
        return
    eip = peek(s, mem, 0, w)
    sel = peek(s, mem, w, w) & 0xFFFF
    fl = peek(s, mem, 2 * w, w)
    if s[XREAD]:
        return
    cpl = s[CPL]
    if w == 4 and (fl & VM) and cpl == 0:      # back to V86 mode
        nesp = peek(s, mem, 12, 4)
        nss = peek(s, mem, 16, 4)
        segs = (peek(s, mem, 20, 4), peek(s, mem, 24, 4), peek(s, mem, 28, 4), peek(s, mem, 32, 4))
        if s[XREAD]:
            return
        s[FLAGS] = (fl & flags_mask(s)) | 2
        for i in range(4):                     # ES DS FS GS
            sr = (0, 3, 4, 5)[i]
            set_cache(s, sr, segs[i] & 0xFFFF, (segs[i] & 0xFFFF) << 4, 0xFFFF, 0xF3)
        set_cache(s, SS, nss & 0xFFFF, (nss & 0xFFFF) << 4, 0xFFFF, 0xF3)
        set_cache(s, CS, sel, sel << 4, 0xFFFF, 0xFB)
        s[ESP] = nesp & 0xFFFFFFFF
        s[EIP] = eip & 0xFFFF
        s[CPL] = 3
        return
    lo, hi = read_desc(s, mem, sel)
    a = desc_attr(hi)
    if not ret_cs_ok(s, sel, lo, a, cpl):
        return
    if eip > desc_limit(lo, hi):
        raise_exc(s, 13, 0)
        return
    rpl = sel & 3
    if rpl == cpl:
        sp_add(s, 3 * w)
    elif not outer_stack(s, mem, 3 * w, w, rpl):
        return
    load_desc(s, mem, CS, sel, lo, hi)
    s[EIP] = eip
    write_flags(s, fl, w, cpl, True)
    if rpl != cpl:
        s[CPL] = rpl
        null_outer_segments(s, rpl)
