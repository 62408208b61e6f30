"""The protected-mode fast path: 32-bit code with a 32-bit stack, at any CPL, paging on or off.

``run32`` runs the common unprefixed instructions of such code back to back with
EIP, the code page and the segment rights in locals, and returns to ``run`` at
the first instruction it cannot finish.  It never starts one it cannot finish:
every memory operand is checked before anything changes (the segment's cached
rights and limit, a TLB hit with the rights the access needs and, for a write,
the dirty bit, and a RAM page on the bus), so a fault, a TLB miss, MMIO, a page
crossing, a prefix or any instruction not in the table below is left to the
general path (``execute``), which raises what the chip raises.  Nothing here
changes the TLB, the segments, IF, TF or the interrupt shadow, so ``run``'s
checks between instructions only matter again when it returns.

The table ``FT32`` (opcode, 0F opcodes at 0x100 + op) gives each instruction a
class and whether it has a ModRM byte, reads and/or writes its r/m operand.
"""

import numpy as np
from numba import njit

from .tables import CYC
from .state import (AMASK, ATTR, BASE, CF, CPL, CR0, CS, DS, EIP, ESP, FLAGS, J, LIMIT, MODEL, PB, PG, PM, REG, SS)
from .regs import getr, setr, sext
from .alu import alu_i, flag_op, imul_flags, incdec_i, shift
from .fast import cond_t
from .ops_regs import cbw_cwd, xchg_ax
from .ops_ctrl import loop_taken
from .memory import rd_h, wr_h
from .paging import TLB_D, TLB_P, TLB_U, TLB_W, tlb_hit
from .jit import JH, hot              # (the hot loops take Numba-inlined copies: see jit.py)
getr, setr, sext, flag_op, cbw_cwd, xchg_ax, loop_taken, rd_h, wr_h, tlb_hit, alu_i, incdec_i = hot(
    getr, setr, sext, flag_op, cbw_cwd, xchg_ax, loop_taken, rd_h, wr_h, tlb_hit, alu_i, incdec_i)

# FT32 bits 0-2: ModRM byte, reads r/m, writes r/m; bits 3-4: operand size (0: opcode bit 0
# selects byte or dword; 1 byte, 2 word, 3 dword); the class from bit 5
F_MODRM, F_RD, F_WR, F_BYTE, F_WORD, F_DWORD = 1, 2, 4, 8, 16, 24
(C_ALU, C_ACC, C_INCDEC, C_PUSH, C_POP, C_JCC, C_MOV, C_MOVI, C_LEA, C_XCHG, C_CBW, C_SHIFT, C_RET, C_CALL,
 C_JMP, C_LOOP, C_GRP3, C_GRP5, C_FLAG, C_MOVX, C_SETCC, C_CMOV, C_IMUL, C_MOFFS, C_PUSHI) = range(1, 26)


def _table():
    t = np.zeros(512, dtype=np.int64)

    def put(ops, cls, flags=0):
        for op in ops:
            t[op] = (cls << 5) | flags

    for op in range(0x40):
        if (op & 7) < 4 and op not in (0x0F,):
            # ALU r/m, r writes r/m (not CMP, 38/39); ALU r, r/m reads it
            put([op], C_ALU, F_MODRM | F_RD | (F_WR if (op & 2) == 0 and (op >> 3) != 7 else 0))
        elif (op & 7) < 6:
            put([op], C_ACC)
    put(range(0x40, 0x50), C_INCDEC)
    put(range(0x50, 0x58), C_PUSH)
    put(range(0x58, 0x60), C_POP)
    put((0x68, 0x6A), C_PUSHI)
    put((0x69, 0x6B), C_IMUL, F_MODRM | F_RD)
    put(range(0x70, 0x80), C_JCC)
    put((0x80, 0x81, 0x82, 0x83), C_ALU, F_MODRM | F_RD | F_WR)   # (CMP drops the write below)
    put((0x84, 0x85), C_ALU, F_MODRM | F_RD)
    put((0x86, 0x87), C_XCHG, F_MODRM | F_RD | F_WR)
    put((0x88, 0x89), C_MOV, F_MODRM | F_WR)
    put((0x8A, 0x8B), C_MOV, F_MODRM | F_RD)
    put((0x8D,), C_LEA, F_MODRM)
    put(range(0x90, 0x98), C_XCHG)
    put((0x98, 0x99), C_CBW)
    put((0xA0, 0xA1), C_MOFFS, F_RD)
    put((0xA2, 0xA3), C_MOFFS, F_WR)
    put((0xA8, 0xA9), C_ACC)
    put(range(0xB0, 0xC0), C_MOVI)
    put((0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3), C_SHIFT, F_MODRM | F_RD | F_WR)
    put((0xC2, 0xC3), C_RET)
    put((0xC6, 0xC7), C_MOV, F_MODRM | F_WR)
    put((0xE0, 0xE1, 0xE2, 0xE3), C_LOOP)
    put((0xE8,), C_CALL)
    put((0xE9, 0xEB), C_JMP)
    put((0xF6, 0xF7), C_GRP3, F_MODRM | F_RD | F_WR)
    put((0xF5, 0xF8, 0xF9, 0xFC, 0xFD), C_FLAG)          # not CLI/STI: IOPL and the shadow
    put((0xFE, 0xFF), C_GRP5, F_MODRM | F_RD)
    put(range(0x140, 0x150), C_CMOV, F_MODRM | F_RD | F_DWORD)
    put(range(0x180, 0x190), C_JCC)
    put(range(0x190, 0x1A0), C_SETCC, F_MODRM | F_WR | F_BYTE)
    put((0x1AF,), C_IMUL, F_MODRM | F_RD)
    put((0x1B6, 0x1BE), C_MOVX, F_MODRM | F_RD | F_BYTE)
    put((0x1B7, 0x1BF), C_MOVX, F_MODRM | F_RD | F_WORD)
    return t


FT32 = _table()
RM = 8                                                     # dst: the r/m operand


@njit(**JH)
def imm32(dm, q):
    return (np.int64(dm[q]) | (np.int64(dm[q + 1]) << 8) | (np.int64(dm[q + 2]) << 16)
            | (np.int64(dm[q + 3]) << 24))


@njit(**JH)
def imm_sz(dm, q, sz):
    """An immediate of the operand size (1 or 4 bytes)."""
    return imm32(dm, q) if sz == 4 else np.int64(dm[q])


@njit(**JH)
def imm8s(dm, q):
    v = np.int64(dm[q])
    return v - 256 if v >= 128 else v


@njit(**JH)
def ea32(s, dm, q, modrm):
    """32-bit ModRM memory operand; q indexes the byte after ModRM: (default segment,
    offset, bytes of SIB and displacement) (Intel SDM vol. 2, table 2-2 and 2-3)."""
    mod = modrm >> 6
    rm = modrm & 7
    sg = DS
    n = 0
    if rm == 4:
        sib = np.int64(dm[q])
        n = 1
        b = sib & 7
        x = (sib >> 3) & 7
        if b == 5 and mod == 0:
            off = imm32(dm, q + 1)
            n = 5
        else:
            off = s[REG + b]
            if b == 4 or b == 5:
                sg = SS
        if x != 4:
            off += s[REG + x] << (sib >> 6)
    elif rm == 5 and mod == 0:
        off = imm32(dm, q)
        n = 4
    else:
        off = s[REG + rm]
        if rm == 5:
            sg = SS
    if mod == 1:
        off += imm8s(dm, q + n)
        n += 1
    elif mod == 2:
        off += imm32(dm, q + n)
        n += 4
    return sg, off & 0xFFFFFFFF, n


@njit(**JH)
def host(s, mem, sg, off, w, wr, ok, user, paging):
    """Index in mem[0] of the w bytes at sg:off for a read (wr False) or a write, or -1
    when the general path must do it (a fault, a TLB miss, a page crossing, not RAM).
    ``ok`` has bit sg set when the segment allows the access without further checks."""
    if ((ok >> sg) & 1) == 0 or off + w - 1 > s[LIMIT + sg]:
        return -1
    la = (s[BASE + sg] + off) & 0xFFFFFFFF
    if (la & PM) + w - 1 > PM:
        return -1
    if paging:
        e = tlb_hit(s, la, (TLB_P | user | TLB_W | TLB_D) if wr else (TLB_P | user))
        if e < 0:
            return -1
        la = (e & ~PM) | (la & PM)
    la &= s[AMASK]
    po = np.int64(mem[2][la >> PB]) if wr else np.int64(mem[1][la >> PB])
    if po < 0:
        return -1
    return po + (la & PM)


@njit(**JH)
def seg_rights(s):
    """Bit masks of the segments that plain reads and writes may use unchecked but for
    the limit: present, expand-up, readable (data or readable code) / writable data."""
    rok = 0
    wok = 0
    for sg in range(6):
        a = s[ATTR + sg]
        if (a & 0x80) == 0:
            continue
        if a & 8:                                          # code: readable?
            if a & 2:
                rok |= 1 << sg
        elif (a & 4) == 0:                                 # expand-up data
            rok |= 1 << sg
            if a & 2:
                wok |= 1 << sg
    return rok, wok


@njit(**J)
def run32(s, mem, cyc, end, n, wlo, whi):
    """Run up to n instructions of 32-bit protected-mode code while cyc < end, stopping
    before one the fast path cannot finish or whose EIP is outside [wlo, whi] (the
    caller's window free of execution breakpoints, emu.breaks.bp_window).
    Returns (cycles, instructions run); s[EIP] is the next instruction."""
    dm = mem[0]
    rp = mem[1]
    eip = s[EIP]
    csb = s[BASE + CS]
    cslim = s[LIMIT + CS]
    user = TLB_U if s[CPL] == 3 else 0
    paging = (s[CR0] & PG) != 0
    rok, wok = seg_rights(s)
    p6 = s[MODEL] >= 6
    # EIPs ebase + dlo .. ebase + span lie in the translated code page (host offset
    # cpo), inside the CS limit and not in the page's last 15 bytes (an instruction
    # there may cross into the next page: the general path fetches it), and inside
    # [wlo, whi]: the loop tests nothing else per instruction
    ebase = 0
    dlo = 0
    span = -1
    cpo = 0
    k = 0
    while k < n and cyc < end:
        d = eip - ebase
        if d < dlo or d > span:                            # translate the code page
            if eip < wlo or eip > whi or eip + 14 > cslim:   # (wlo..whi: the caller's)
                break
            la = (csb + eip) & 0xFFFFFFFF
            if (la & PM) > PM - 15:
                break
            pa = la
            if paging:
                e = tlb_hit(s, la, TLB_P | user)
                if e < 0:
                    break
                pa = (e & ~PM) | (la & PM)
            pa &= s[AMASK]
            cpo = np.int64(rp[pa >> PB])
            if cpo < 0:
                break
            d = la & PM
            ebase = eip - d
            dlo = max(0, wlo - ebase)
            span = min(PM - 15, cslim - 14 - ebase, whi - ebase)
        p = cpo + d
        op = np.int64(dm[p])
        q = p + 1                                          # after the opcode
        if op == 0x0F:
            op = 0x100 + np.int64(dm[p + 1])
            q = p + 2
        m = FT32[op]
        cls = m >> 5
        if cls == 0:
            break
        b = op & 0xFF
        sz = 4 if b & 1 else 1
        fs = m & F_DWORD
        if fs:
            sz = 1 if fs == F_BYTE else (2 if fs == F_WORD else 4)
        # ---- the r/m operand: decoded and checked before anything changes
        modrm = 0
        reg = 0
        mem_op = False
        hi = -1
        sg = 0
        off = 0
        a = 0
        if m & F_MODRM:
            modrm = np.int64(dm[q])
            reg = (modrm >> 3) & 7
            q += 1
            if cls == C_GRP5:
                if reg == 3 or reg == 5 or reg == 7 or (b == 0xFE and reg >= 2):
                    break                                  # far forms, #UD
            elif cls == C_GRP3:
                if reg >= 4 or reg == 1:
                    break                                  # MUL/DIV (#DE), F6 /1
            elif cls == C_LEA:
                if modrm >= 0xC0:
                    break
            elif cls == C_MOV and b >= 0xC6 and reg != 0:
                break
            elif cls == C_CMOV and not p6:
                break
            if modrm < 0xC0:
                mem_op = True
                sg, off, nb = ea32(s, dm, q, modrm)
                q += nb
            elif m & F_RD:
                a = getr(s, modrm & 7, sz)
        elif cls == C_MOFFS:                               # MOV acc <-> [disp32]
            mem_op = True
            sg = DS
            off = imm32(dm, q)
            q += 4
        if mem_op and cls != C_LEA:
            if cls == C_GRP5:                              # INC/DEC write, the others read
                wr = reg < 2
            else:                                          # (not CMP r/m, imm; TEST r/m, imm)
                wr = (m & F_WR) != 0 and not (cls == C_ALU and b >= 0x80 and reg == 7) \
                    and not (cls == C_GRP3 and reg == 0)
            hi = host(s, mem, sg, off, sz, wr, wok if wr else rok, user, paging)
            if hi < 0:
                break
            if m & F_RD:
                a = rd_h(dm, hi, sz)
        # cycles as the general path counts them (execute: CYC of the opcode byte, 0F's for
        # the two-byte forms, 8 for a ModRM memory operand, the ops_* extras; m5 their
        # memory-operand unit), so that which path ran an instruction never shows
        t = CYC[b] if op < 0x100 else CYC[0x0F]
        m5 = 0
        if mem_op:
            m5 = 5
            if m & F_MODRM:
                t += 8
        nip = -1                                           # set by the control transfers
        v = 0
        wb = False                                         # write v to the r/m operand
        # the arithmetic is done once, below: aop 0-7 ADD..CMP (4 also TEST), 8 INC,
        # 9 DEC, on x and y; the result goes to register dst, RM (the r/m operand) or
        # nowhere (-1: CMP, TEST)
        aop = -1
        x = a
        y = 0
        dst = -1
        if cls == C_ALU:
            if b < 0x40:
                aop = b >> 3
                if b & 2:                                  # r, r/m
                    x = getr(s, reg, sz)
                    y = a
                    dst = reg
                else:
                    y = getr(s, reg, sz)
                    dst = RM
                    if aop != 7 and mem_op:
                        t += 7
            elif b >= 0x84:                                # TEST r/m, r
                aop = 4
                y = getr(s, reg, sz)
                t += m5
            else:
                aop = reg
                dst = RM
                t += m5 * 2 if reg != 7 else m5
                if b == 0x81:
                    y = imm32(dm, q)
                    q += 4
                else:
                    y = np.int64(dm[q])
                    if b == 0x83:
                        y = sext(y, 1) & 0xFFFFFFFF
                    q += 1
        elif cls == C_ACC:
            x = getr(s, 0, sz)
            y = imm_sz(dm, q, sz)
            q += sz
            if b >= 0xA8:
                aop = 4
            else:
                aop = b >> 3
                dst = 0
        elif cls == C_MOV:
            if b < 0x8A:
                v = getr(s, reg, sz)
                wb = True
                t += m5
            elif b < 0xC6:
                setr(s, reg, sz, a)
                t += m5
            else:                                          # MOV r/m, imm
                v = imm_sz(dm, q, sz)
                q += sz
                wb = True
        elif cls == C_JCC:
            if op < 0x100:
                d = imm8s(dm, q)
                q += 1
            else:
                d = imm32(dm, q)
                q += 4
            if cond_t(s, b & 15):
                nip = (eip + (q - p) + d) & 0xFFFFFFFF
                if nip > cslim:                            # the general path raises #GP
                    break
                t += 12 if op < 0x100 else 4
        elif cls == C_PUSH or cls == C_PUSHI or cls == C_CALL or (cls == C_GRP5 and (reg == 2 or reg == 6)):
            if cls == C_PUSH:
                v = s[REG + (b & 7)]
            elif cls == C_PUSHI:
                if b == 0x68:
                    v = imm32(dm, q)
                    q += 4
                else:
                    v = imm8s(dm, q) & 0xFFFFFFFF
                    q += 1
            elif cls == C_CALL:
                d = imm32(dm, q)
                q += 4
                v = (eip + (q - p)) & 0xFFFFFFFF
                nip = (v + d) & 0xFFFFFFFF
            elif reg == 2:                                 # CALL r/m
                v = (eip + (q - p)) & 0xFFFFFFFF
                nip = a
                t += 11
            else:                                          # PUSH r/m
                v = a
                t += m5
            if nip > cslim:
                break
            sp = (s[ESP] - 4) & 0xFFFFFFFF
            hs = host(s, mem, SS, sp, 4, True, wok, user, paging)
            if hs < 0:
                break
            wr_h(dm, hs, 4, v)
            s[ESP] = sp
        elif cls == C_POP or cls == C_RET:
            sp = s[ESP]
            hs = host(s, mem, SS, sp, 4, False, rok, user, paging)
            if hs < 0:
                break
            v = rd_h(dm, hs, 4)
            if cls == C_POP:
                s[ESP] = (sp + 4) & 0xFFFFFFFF
                s[REG + (b & 7)] = v                       # (POP ESP: the value read)
            else:
                if v > cslim:
                    break
                extra = 0
                if b == 0xC2:
                    extra = np.int64(dm[q]) | (np.int64(dm[q + 1]) << 8)
                s[ESP] = (sp + 4 + extra) & 0xFFFFFFFF
                nip = v
        elif cls == C_INCDEC:
            sz = 4
            dst = b & 7
            x = s[REG + dst]
            aop = 9 if b >= 0x48 else 8
        elif cls == C_MOVI:
            if b < 0xB8:
                setr(s, b & 7, 1, np.int64(dm[q]))
                q += 1
            else:
                s[REG + (b & 7)] = imm32(dm, q)
                q += 4
        elif cls == C_LEA:
            s[REG + reg] = off
        elif cls == C_XCHG:
            if b >= 0x90:
                if b != 0x90:
                    xchg_ax(s, b & 7, 4)
            else:
                v = getr(s, reg, sz)
                setr(s, reg, sz, a)
                wb = True
                t += m5 * 3
        elif cls == C_CBW:
            cbw_cwd(s, b, 4)
        elif cls == C_SHIFT:
            if b < 0xC2:
                cnt = np.int64(dm[q]) & 0x1F
                q += 1
                t += cnt
            elif b < 0xD2:
                cnt = 1
            else:
                cnt = s[REG + 1] & 0x1F
                t += 4 * cnt
            if cnt:
                v = shift(s, reg, a, cnt, sz)
                wb = True
        elif cls == C_JMP:
            if b == 0xEB:
                d = imm8s(dm, q)
                q += 1
            else:
                d = imm32(dm, q)
                q += 4
            nip = (eip + (q - p) + d) & 0xFFFFFFFF
            if nip > cslim:
                break
        elif cls == C_LOOP:
            d = imm8s(dm, q)
            q += 1
            tgt = (eip + (q - p) + d) & 0xFFFFFFFF
            if tgt > cslim:
                break
            if loop_taken(s, b, 0xFFFFFFFF):
                nip = tgt
                t += 12
        elif cls == C_GRP3:
            if reg == 0:                                   # TEST r/m, imm
                aop = 4
                y = imm_sz(dm, q, sz)
                q += sz
                t += m5
            elif reg == 2:                                 # NOT
                v = a ^ (0xFFFFFFFF if sz == 4 else 0xFF)
                wb = True
                t += m5 * 2
            else:                                          # NEG: 0 - r/m
                t += m5 * 2
                aop = 5
                x = 0
                y = a
                dst = RM
        elif cls == C_GRP5:
            if reg < 2:
                aop = 8 + reg
                dst = RM
                t += m5 * 2
            else:                                          # JMP r/m (CALL/PUSH above)
                if a > cslim:
                    break
                nip = a
        elif cls == C_FLAG:
            if b == 0xF5:
                s[FLAGS] ^= CF
            else:
                flag_op(s, b)
        elif cls == C_MOVX:
            if b >= 0xBE:
                a = sext(a, sz) & 0xFFFFFFFF
            s[REG + reg] = a
        elif cls == C_SETCC:
            v = 1 if cond_t(s, b & 15) else 0
            wb = True
        elif cls == C_CMOV:
            if cond_t(s, b & 15):
                s[REG + reg] = a
        elif cls == C_IMUL:
            if op == 0x1AF:
                x = getr(s, reg, 4)
            else:
                x = a
                if b == 0x69:
                    a = imm32(dm, q)
                    q += 4
                else:
                    a = imm8s(dm, q)
                    q += 1
            s[REG + reg] = imul_flags(s, sext(x, 4) * sext(a & 0xFFFFFFFF, 4), 4)
            if op == 0x1AF:
                t += 20
        else:                                              # C_MOFFS (operand checked above)
            if b >= 0xA2:
                v = getr(s, 0, sz)
                wb = True
            else:
                setr(s, 0, sz, a)
        if aop >= 0:
            if aop < 8:
                res = alu_i(s, aop, x, y, sz)
            else:
                res = incdec_i(s, x, sz, aop == 9)
            if dst == RM:
                if aop != 7:
                    v = res
                    wb = True
            elif dst >= 0 and aop != 7:
                setr(s, dst, sz, res)
        if wb:
            if mem_op:
                wr_h(dm, hi, sz, v)
            else:
                setr(s, modrm & 7, sz, v)
        if nip >= 0:                                       # (checked against the CS limit)
            eip = nip
        else:
            eip = (eip + (q - p)) & 0xFFFFFFFF
        cyc += t
        k += 1
    s[EIP] = eip
    return cyc, k
