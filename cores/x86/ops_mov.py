"""Opcodes 80-AF: group 1, TEST/XCHG/MOV, LEA, MOV Sreg, POP r/m, XCHG AX, CBW/CWD, far CALL, PUSHF/POPF, SAHF/LAHF, MOV moffs."""

from numba import njit

from .state import CR0, MP, TS, CPL, CS, DS, EAX, FLAGS, IF, INHIBIT, IOPL, J, MODEL, SEL, SS, VIF, VM, XREAD
from .regs import getr, setr, wmask
from .memory import fetch16, fetch32, fetch8, fetchs8, fetchw, rdm, wrm
from .segments import load_seg
from .stack import pop, push
from .alu import alu
from .interrupts import fault, ud
from .far import far_jump, write_flags
from .system import sensitive, vme, vpopf
from .interrupts import gp
from .modrm import modrm_ea, rm_rd, rm_wr
from .ops_regs import cbw_cwd, xchg_ax


# ---- 80-8F ------------------------------------------------------------------------------------
@njit(**J)
def g_8x(s, mem, op, seg, w, a32, start):
    om = 0xFFFFFFFF if a32 else 0xFFFF
    modrm = fetch8(s, mem)
    r = (modrm >> 3) & 7
    if op == 0x8D:                                     # LEA
        sg, off = modrm_ea(s, mem, modrm, -1, a32)
        if sg < 0:
            if s[MODEL] != 0:
                return ud(s, mem, start)
            off = 0
        setr(s, r, w, off)
        return 0
    sg, off = modrm_ea(s, mem, modrm, seg, a32)
    mem_ = 5 if sg >= 0 else 0
    if op < 0x84:                                      # group 1
        sz = 1 if (op & 1) == 0 else w
        a = rm_rd(s, mem, modrm, sg, off, sz, om)
        if op == 0x83:
            b = fetchs8(s, mem) & wmask(sz)
        else:
            b = fetchw(s, mem, sz)
        v = alu(s, r, a, b, sz)
        if r != 7:
            rm_wr(s, mem, modrm, sg, off, sz, om, v)
            return mem_ * 2
        return mem_
    if op < 0x86:                                      # TEST
        sz = 1 if (op & 1) == 0 else w
        alu(s, 4, rm_rd(s, mem, modrm, sg, off, sz, om), getr(s, r, sz), sz)
        return mem_
    if op < 0x88:                                      # XCHG
        sz = 1 if (op & 1) == 0 else w
        a = rm_rd(s, mem, modrm, sg, off, sz, om)
        b = getr(s, r, sz)
        rm_wr(s, mem, modrm, sg, off, sz, om, b)
        setr(s, r, sz, a)
        return mem_ * 3
    if op < 0x8C:                                      # MOV
        sz = 1 if (op & 1) == 0 else w
        if op < 0x8A:
            rm_wr(s, mem, modrm, sg, off, sz, om, getr(s, r, sz))
        else:
            setr(s, r, sz, rm_rd(s, mem, modrm, sg, off, sz, om))
        return mem_
    if (op == 0x8C or op == 0x8E) and not sensitive(s):
        return 0
    if op == 0x8C:                                     # MOV r/m, Sreg
        if s[MODEL] == 0:
            r &= 3
        elif r > 5:
            return ud(s, mem, start)
        if sg < 0:
            setr(s, modrm & 7, w, s[SEL + r])
        else:
            wrm(s, mem, sg, off, 2, om, s[SEL + r])
        return mem_
    if op == 0x8E:                                     # MOV Sreg, r/m
        if s[MODEL] == 0:
            r &= 3
        elif r > 5 or r == CS:
            return ud(s, mem, start)
        load_seg(s, mem, r, rm_rd(s, mem, modrm, sg, off, 2, om))
        if r == SS:
            s[INHIBIT] = 1
        return mem_
    # 8F: POP r/m (8086 ignores reg)
    if r != 0 and s[MODEL] != 0:
        return ud(s, mem, start)
    v = pop(s, mem, w)
    if sg >= 0:
        # the offset was computed before SP changed, except for 386 [ESP]-based forms
        wrm(s, mem, sg, off, w, om, v)
    else:
        setr(s, modrm & 7, w, v)
    return mem_


# ---- 90-AF --------------------------------------------------------------------------------------
@njit(**J)
def g_9x(s, mem, op, seg, rep, w, a32, start):
    if op < 0x98:                                      # XCHG AX, r
        xchg_ax(s, op & 7, w)
        return 0
    if op < 0x9A:
        cbw_cwd(s, op, w)
        return 0
    if (op == 0x9A or op == 0x9C or op == 0x9D) and not sensitive(s):
        return 0                                       # CALL far, PUSHF, POPF (strict model)
    if op == 0x9A:                                     # CALL far
        ip = fetchw(s, mem, w)
        cs = fetch16(s, mem)
        far_jump(s, mem, cs, ip, w, True)
        return 0
    if op == 0x9B:                                     # WAIT: #NM when CR0.MP and TS
        if s[MODEL] >= 2 and (s[CR0] & (MP | TS)) == (MP | TS):
            return fault(s, mem, 7, start)
        return 0
    if op == 0x9C:                                     # PUSHF: VM and RF read as 0
        if (s[FLAGS] & VM) and (s[FLAGS] & IOPL) != IOPL:
            if w == 2 and vme(s):                      # VME: IF = VIF, IOPL = 3 in the image
                f = s[FLAGS]
                push(s, mem, (f & 0xCDFF) | IOPL | (IF if f & VIF else 0), 2)
            else:
                gp(s, 0)
            return 0
        push(s, mem, s[FLAGS] & (0xFFFF if w == 2 else 0xFCFFFF), w)
        return 0
    if op == 0x9D:                                     # POPF
        if (s[FLAGS] & VM) and (s[FLAGS] & IOPL) != IOPL:
            if w == 2 and vme(s):
                v = pop(s, mem, 2)
                vpopf(s, v)
            else:
                gp(s, 0)
            return 0
        v = pop(s, mem, w)
        if s[XREAD] == 0:
            write_flags(s, v, w, s[CPL], False)
        return 0
    if op == 0x9E:                                     # SAHF
        s[FLAGS] = (s[FLAGS] & ~0xD5) | ((s[EAX] >> 8) & 0xD5)
        return 0
    if op == 0x9F:                                     # LAHF
        setr(s, 4, 1, s[FLAGS] & 0xFF)
        return 0
    om = 0xFFFFFFFF if a32 else 0xFFFF
    if op < 0xA4:                                      # MOV AL/AX <-> moffs
        off = fetch32(s, mem) if a32 else fetch16(s, mem)
        sg = DS if seg < 0 else seg
        sz = 1 if (op & 1) == 0 else w
        if op < 0xA2:
            setr(s, 0, sz, rdm(s, mem, sg, off, sz, om))
        else:
            wrm(s, mem, sg, off, sz, om, getr(s, 0, sz))
        return 0
    if op == 0xA8:
        alu(s, 4, s[EAX] & 0xFF, fetch8(s, mem), 1)
        return 0
    if op == 0xA9:
        alu(s, 4, getr(s, 0, w), fetchw(s, mem, w), w)
        return 0
    return ud(s, mem, start)
