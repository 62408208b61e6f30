"""ModRM/SIB decoding: the effective address of a memory operand (Intel SDM vol. 2, 2.1.5)."""

from numba import njit

from .state import DS, EAC, EBP, EBX, EDI, ESI, J, JI, REG, SS
from .regs import getr, setr
from .memory import fetch16, fetch32, fetch8, fetchs8, rdm, wrm


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
def modrm_ea(s, mem, modrm, seg, a32):
    """(segment, offset) of the memory operand; segment -1 for a register operand."""
    mod = modrm >> 6
    if mod == 3:
        return -1, 0
    rm = modrm & 7
    dseg = DS
    if a32 == 0:
        if mod == 0 and rm == 6:
            off = fetch16(s, mem)
            s[EAC] = 6
        else:
            dseg, off = ea16_base(s, rm)
            if mod == 1:
                off += fetchs8(s, mem)
                s[EAC] = 11
            elif mod == 2:
                off += fetch16(s, mem)
                s[EAC] = 11
            else:
                s[EAC] = 7
        off &= 0xFFFF
    else:
        if rm == 4:
            sib = fetch8(s, mem)
            b = sib & 7
            idx = (sib >> 3) & 7
            if b == 5 and mod == 0:
                off = fetch32(s, mem)
            else:
                off = s[REG + b]
                if b == 4 or b == 5:
                    dseg = SS
            if idx != 4:
                off += s[REG + idx] << (sib >> 6)
        elif rm == 5 and mod == 0:
            off = fetch32(s, mem)
        else:
            off = s[REG + rm]
            if rm == 5:
                dseg = SS
        if mod == 1:
            off += fetchs8(s, mem)
        elif mod == 2:
            off += fetch32(s, mem)
        off &= 0xFFFFFFFF
        s[EAC] = 8
    if seg >= 0:
        dseg = seg
    return dseg, off


@njit(**JI)
def rm_rd(s, mem, modrm, sg, off, w, om):
    if sg < 0:
        return getr(s, modrm & 7, w)
    return rdm(s, mem, sg, off, w, om)


@njit(**JI)
def rm_wr(s, mem, modrm, sg, off, w, om, v):
    if sg < 0:
        setr(s, modrm & 7, w, v)
    else:
        wrm(s, mem, sg, off, w, om, v)
