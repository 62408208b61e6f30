"""Opcodes C0-EF: shifts by immediate, RET/RETF, LES/LDS, MOV imm, ENTER/LEAVE, INT/IRET, shifts by 1/CL, AAM/AAD, XLAT, LOOP/JCXZ, IN/OUT, CALL/JMP."""

from numba import njit

from emu import abi

from .state import (CR0, EM, TS, AF, ARITH, CF, DS, EAX, EBP, EBX, ECX, EDX, EIP, ES, ESP, FLAGS, IOPL, J, JI, MODEL,
                    OF, SS, SSB, VM, X_IN, ZF)
from .regs import getr, setr, sext
from .memory import fetch16, fetch8, fetchs8, fetchw, rdm
from .segments import load_seg
from .stack import pop, push, sp_add
from .alu import shift, szp
from .interrupts import do_int, fault, gp, ud
from .far import far_jump, iret, jump_near, far_ret
from .system import io_allowed, sensitive, v86_redirect
from .ports import port_in, port_out
from .modrm import modrm_ea, rm_rd, rm_wr


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


# ---- C0-CF ------------------------------------------------------------------------------------------
@njit(**J)
def g_cx(s, mem, op, seg, w, a32, start):
    model = s[MODEL]
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if model == 0:
        if op == 0xC0 or op == 0xC1:
            op += 2
        elif op == 0xC8 or op == 0xC9:
            op += 2
    if op == 0xC3 or op == 0xC2:                       # RET near
        extra = fetch16(s, mem) if op == 0xC2 else 0
        ip = pop(s, mem, w)
        sp_add(s, extra)
        jump_near(s, ip, w)
        return 0
    if op >= 0xCA and op <= 0xCF or op == 0xC4 or op == 0xC5:
        if not sensitive(s):                           # RETF INT3 INT n INTO IRET LES LDS
            return 0
    if op == 0xCB or op == 0xCA:                       # RETF
        extra = fetch16(s, mem) if op == 0xCA else 0
        far_ret(s, mem, w, extra)
        return 0
    if op == 0xCD:
        vec = fetch8(s, mem)
        if s[FLAGS] & VM:
            if v86_redirect(s, mem, vec):
                return 51
            if (s[FLAGS] & IOPL) != IOPL:
                return gp(s, 0)                        # V86 INT n at IOPL < 3
        return do_int(s, mem, vec, s[EIP])
    if op == 0xCC:
        return do_int(s, mem, 3, s[EIP])
    if op == 0xCE:
        if s[FLAGS] & OF:
            return do_int(s, mem, 4, s[EIP])
        return 0
    if op == 0xCF:                                     # IRET
        iret(s, mem, w)
        return 0
    if op == 0xC4 or op == 0xC5:                       # LES / LDS
        modrm = fetch8(s, mem)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        if sg < 0:
            if model != 0:
                return ud(s, mem, start)
            sg, off = DS if seg < 0 else seg, 0
        v = rdm(s, mem, sg, off, w, om)
        sel = rdm(s, mem, sg, (off + w) & om, 2, om)
        setr(s, (modrm >> 3) & 7, w, v)
        load_seg(s, mem, ES if op == 0xC4 else DS, sel)
        return 0
    if op == 0xC6 or op == 0xC7:                       # MOV r/m, imm
        sz = 1 if op == 0xC6 else w
        modrm = fetch8(s, mem)
        if model != 0 and (modrm & 0x38):
            return ud(s, mem, start)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        v = fetchw(s, mem, sz)
        rm_wr(s, mem, modrm, sg, off, sz, om, v)
        return 0
    if op == 0xC0 or op == 0xC1:                       # shift r/m, imm8 (186+)
        sz = 1 if op == 0xC0 else w
        modrm = fetch8(s, mem)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        v = rm_rd(s, mem, modrm, sg, off, sz, om)
        cnt = fetch8(s, mem) & 0x1F
        rm_wr(s, mem, modrm, sg, off, sz, om, shift(s, (modrm >> 3) & 7, v, cnt, sz))
        return cnt
    if op == 0xC8:                                     # ENTER
        size = fetch16(s, mem)
        level = fetch8(s, mem) & 31
        sm = 0xFFFFFFFF if s[SSB] else 0xFFFF
        push(s, mem, getr(s, 5, w), w)
        frame = s[ESP] & sm
        if level > 0:
            bp = s[EBP] & sm
            for _ in range(level - 1):
                bp = (bp - w) & sm
                push(s, mem, rdm(s, mem, SS, bp, w, sm), w)
            push(s, mem, frame, w)
        setr(s, 5, w, frame)
        sp_add(s, -size)
        return 4 * level
    # C9 LEAVE
    sm = 0xFFFFFFFF if s[SSB] else 0xFFFF
    s[ESP] = (s[ESP] & ~sm) | (s[EBP] & sm)
    setr(s, 5, w, pop(s, mem, w))
    return 0


# ---- D0-DF ------------------------------------------------------------------------------------------
@njit(**J)
def g_dx(s, mem, op, seg, w, a32, start):
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op < 0xD4:                                      # group 2
        sz = 1 if (op & 1) == 0 else w
        modrm = fetch8(s, mem)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        v = rm_rd(s, mem, modrm, sg, off, sz, om)
        r = (modrm >> 3) & 7
        if op < 0xD2:
            cnt = 1
        else:
            cnt = s[ECX] & 0xFF
            if s[MODEL] != 0:
                cnt &= 0x1F
        if r == 6 and s[MODEL] == 0 and cnt == 0:
            return 0                                   # SETMOC with CL=0
        rm_wr(s, mem, modrm, sg, off, sz, om, shift(s, r, v, cnt, sz))
        return 4 * cnt if op >= 0xD2 else 0
    if op == 0xD4:                                     # AAM
        b = fetch8(s, mem)
        if b == 0:
            return fault(s, mem, 0, start)
        al = s[EAX] & 0xFF
        ah = al // b
        al = al % b
        s[EAX] = (s[EAX] & ~0xFFFF) | (ah << 8) | al
        s[FLAGS] = (s[FLAGS] & ~ARITH) | szp(al, 1)
        return 0
    if op == 0xD5:                                     # AAD
        b = fetch8(s, mem)
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
        setr(s, 0, 1, rdm(s, mem, sg, off, 1, om))
        return 0
    # D8-DF: ESC.  No coprocessor: with CR0.EM or CR0.TS set, #NM (SDM vol. 3, 2.5,
    # table 9-3); otherwise the operand is decoded and nothing happens (an FNSTSW
    # probe finds its memory operand unwritten: no FPU)
    if s[MODEL] >= 2 and (s[CR0] & (EM | TS)):
        return fault(s, mem, 7, start)
    modrm = fetch8(s, mem)
    modrm_ea(s, mem, modrm, seg, a32)
    return 0


# ---- E0-EF ------------------------------------------------------------------------------------------
@njit(**J)
def g_ex(s, mem, op, w, a32):
    if op < 0xE4:                                      # LOOPNZ LOOPZ LOOP JCXZ
        d = fetchs8(s, mem)
        if loop_taken(s, op, 0xFFFFFFFF if a32 else 0xFFFF):
            jump_near(s, s[EIP] + d, w)
            return 12
        return 0
    if op == 0xE8:                                     # CALL rel
        d = sext(fetchw(s, mem, w), w)
        push(s, mem, s[EIP], w)
        jump_near(s, s[EIP] + d, w)
        return 0
    if op == 0xE9:
        d = sext(fetchw(s, mem, w), w)
        jump_near(s, s[EIP] + d, w)
        return 0
    if op == 0xEB:
        d = fetchs8(s, mem)
        jump_near(s, s[EIP] + d, w)
        return 0
    if op == 0xEA:
        if not sensitive(s):
            return 0
        ip = fetchw(s, mem, w)
        cs = fetch16(s, mem)
        far_jump(s, mem, cs, ip, w, False)
        return 0
    # E4-E7 imm port, EC-EF DX port
    if op < 0xE8:
        port = fetch8(s, mem)
    else:
        port = s[EDX] & 0xFFFF
    sz = 1 if (op & 1) == 0 else w
    if not io_allowed(s, mem, port, sz):
        return 0
    if (op & 2) == 0:                                  # IN
        v = port_in(s, mem, port, sz, abi.Q_IO_IMM if op < 0xE8 else 0)
        if v < 0:
            return X_IN
        setr(s, 0, sz, v)
    else:
        port_out(s, mem, port, getr(s, 0, sz), sz, abi.Q_IO_IMM if op < 0xE8 else 0)
    return 0
