"""System instructions and privilege checks (Intel SDM vol. 3, 2.8 "system instruction summary").

Every privileged or sensitive operation of the core passes through this module:
``cpl0`` (instructions that need CPL 0), ``iopl_ok`` (CLI/STI at CPL <= IOPL),
``io_allowed`` (IN/OUT/INS/OUTS: IOPL, then the TSS I/O permission bitmap, SDM
vol. 1, 18.5) and ``sys_0f`` (the two-byte system opcodes: descriptor-table
registers, LLDT/LTR, LAR/LSL/VERR/VERW, MOV CRn/DRn, INVLPG, MSRs, TSC, CPUID,
SYSENTER/SYSEXIT).  These are the places where a VMM intercept goes.

Model gating: 486 adds INVLPG, INVD/WBINVD, CR0.WP/AM/NE/CD/NW; the Pentium CR4
(VME PVI TSD DE PSE), CPUID, RDTSC, RDMSR/WRMSR; the P6 CR4.PGE/PCE, RDPMC,
SYSENTER/SYSEXIT.  What a model lacks raises #UD.  There is no FPU: CPUID.1 EDX
bit 0 is clear, and ESC opcodes are decoded and ignored (CR0.EM/TS give #NM).
"""

from numba import njit

from emu import abi

from .state import (CR0_MASK, CR0_SHADOW, VMX, DBACT, FEAT, INHIBIT, SEL, STRICT, SWINT, VIF, VIP, APICBASE, BASE, EBX, CPL, CR0, CR2, CR3, CR4, CS, DE, DR, EAX, ECX, EDX, EIP, ESP, FLAGS, GDTB,
                    GDTL, IDTB, IDTL, IF, IOPL, J, LDTB, LDTL, LDTR, MODEL, MSR_CS, MSR_EIP, MSR_ESP, PCE, PE,
                    PG, PGE, PSE, RF, SS, TR, TRA, TRB, TRL, TSC_OFF, TSD, VM, WP, XREAD, ZF)
from .regs import getr, setr
from .paging import raise_exc, tlb_flush, tlb_invlpg
from .memory import fetch8, protected, rd16, rdm, sys_rd, wrm
from .stack import push
from .segments import desc_attr, desc_base, desc_limit, read_desc, set_cache
from .tasks import set_busy
from .modrm import modrm_ea, rm_rd, rm_wr
from .interrupts import ud
from .vmx import (CR_CLTS, CR_LMSW, CR_MOV_FROM, P_CR3_LOAD, P_CR3_STORE, P_INVLPG, P_MOV_DR, P_RDPMC,
                  P_RDTSC, R_CPUID, R_CR, R_DR, R_INVD, R_INVLPG, R_RDMSR, R_RDPMC, R_RDTSC, R_WRMSR,
                  cr_read, cr_write_exits, cr_written, exiting, msr_exits, vmexit)

VME_, PVI_ = 1, 2                                # CR4 bits
TF_ = 0x100

# CPUID.1 EDX feature bits (SDM vol. 2, CPUID, table 3-11)
F_VME, F_DE, F_PSE, F_TSC, F_MSR, F_CX8, F_SEP, F_PGE, F_CMOV = (2, 4, 8, 0x10, 0x20, 0x100, 0x800, 0x2000,
                                                                 0x8000)


@njit(**J)
def features(model):
    if model < 5:
        return 0
    f = F_VME | F_DE | F_PSE | F_TSC | F_MSR | F_CX8
    if model >= 6:
        f |= F_SEP | F_PGE | F_CMOV
    return f


@njit(**J)
def cpl0(s):
    """A privileged instruction: #GP(0) unless CPL = 0 (always in real mode)."""
    if (s[CR0] & PE) and s[CPL] != 0:
        raise_exc(s, 13, 0)
        return False
    return True


@njit(**J)
def sensitive(s):
    """A sensitive but unprivileged instruction (it reads or changes privileged state
    without CPL 0: Robin & Irvine, USENIX Security 2000).  On the strict model
    (params ``strict: true``: a Popek-Goldberg-virtualizable x86, the VMM's host
    CPU for trap-and-emulate) it traps with #GP(0) outside ring 0 in protected
    mode; on a real x86 it just runs.  True: go on."""
    if s[STRICT] and (s[CR0] & PE) and not (s[FLAGS] & VM) and s[CPL] != 0:
        raise_exc(s, 13, 0)
        return False
    return True


@njit(**J)
def iopl_ok(s):
    """CLI/STI/(V86) PUSHF/POPF/INT n/IRET: CPL <= IOPL (V86: IOPL = 3), else #GP(0)."""
    if (s[CR0] & PE) and s[CPL] > ((s[FLAGS] & IOPL) >> 12):
        raise_exc(s, 13, 0)
        return False
    return True


@njit(**J)
def vme(s):
    """V86 mode at IOPL < 3 with CR4.VME: the IOPL-sensitive instructions act on VIF
    (SDM vol. 3, 20.3 "interrupt and exception handling in virtual-8086 mode")."""
    return (s[FLAGS] & VM) != 0 and (s[FLAGS] & IOPL) != IOPL and (s[CR4] & VME_) != 0


@njit(**J)
def cli_sti(s, sti):
    """CLI / STI: IF at CPL <= IOPL (V86: IOPL 3); else VIF in V86 mode with CR4.VME
    and at CPL 3 with CR4.PVI (STI with VIP set: #GP(0)); else #GP(0)."""
    f = s[FLAGS]
    if (s[CR0] & PE) == 0 or s[CPL] <= ((f & IOPL) >> 12):
        s[FLAGS] = (f | IF) if sti else (f & ~IF)
        if sti:
            s[INHIBIT] = 1
        return
    if vme(s) or ((f & VM) == 0 and s[CPL] == 3 and (s[CR4] & PVI_)):
        if sti and (f & VIP):
            raise_exc(s, 13, 0)
            return
        s[FLAGS] = (f | VIF) if sti else (f & ~VIF)
        return
    raise_exc(s, 13, 0)


@njit(**J)
def vpopf(s, v):
    """POPF / IRET of a 16-bit FLAGS image under VME: its IF goes to VIF, IF and IOPL
    stay; TF set, or IF set while VIP is, raises #GP(0) (SDM vol. 3, 20.3.1)."""
    f = s[FLAGS]
    if (v & TF_) or ((v & IF) and (f & VIP)):
        raise_exc(s, 13, 0)
        return
    nf = (f & ~0xFFFF) | (v & 0x7FD5 & ~(IF | IOPL)) | (f & (IF | IOPL)) | 2   # bits 3, 5, 15 stay 0
    nf = (nf | VIF) if v & IF else (nf & ~VIF)
    s[FLAGS] = nf


@njit(**J)
def v86_redirect(s, mem, vec):
    """INT n in V86 mode with CR4.VME: a clear bit in the TSS's interrupt redirection
    bitmap (the 32 bytes below the I/O map base) sends it to the V86 program's own
    vector table, as real mode would, with VIF in the place of IF at IOPL < 3
    (SDM vol. 3, 20.3.3, methods 5 and 6).  True if redirected."""
    if (s[CR4] & VME_) == 0:
        return False
    base = sys_rd(s, mem, s[TRB] + 0x66, 2)
    a = base - 32 + (vec >> 3)
    if a < 0 or a > s[TRL] or (sys_rd(s, mem, s[TRB] + a, 1) >> (vec & 7)) & 1:
        return False
    f = s[FLAGS]
    iopl3 = (f & IOPL) == IOPL
    img = f & 0xFFFF
    if not iopl3:
        img = (img & ~IF) | IOPL | (IF if f & VIF else 0)
    ip = rd16(s, mem, vec * 4)
    cs = rd16(s, mem, vec * 4 + 2)
    push(s, mem, img, 2)
    push(s, mem, s[SEL + CS], 2)
    push(s, mem, s[EIP], 2)
    if s[XREAD]:
        return True
    s[FLAGS] = (f & ~(TF_ | IF)) if iopl3 else (f & ~(TF_ | VIF))
    set_cache(s, CS, cs, cs << 4, 0xFFFF, 0xFB)
    s[EIP] = ip
    s[SWINT] = 1
    return True


@njit(**J)
def io_allowed(s, mem, port, size):
    """IN/OUT permission: always in real mode and at CPL <= IOPL; otherwise every
    port's bit in the TSS I/O bitmap must be clear (beyond the TSS limit: denied)."""
    if (s[CR0] & PE) == 0:
        return True
    if (s[FLAGS] & VM) == 0 and s[CPL] <= ((s[FLAGS] & IOPL) >> 12):
        return True
    if (s[TRA] & 8) == 0 or s[TRL] < 0x67:
        raise_exc(s, 13, 0)
        return False
    base = sys_rd(s, mem, s[TRB] + 0x66, 2)
    a = base + (port >> 3)
    if a + 1 > s[TRL]:
        raise_exc(s, 13, 0)
        return False
    bits = sys_rd(s, mem, s[TRB] + a, 2)
    if (bits >> (port & 7)) & ((1 << size) - 1):
        raise_exc(s, 13, 0)
        return False
    return True


@njit(**J)
def write_cr0(s, v):
    model = s[MODEL]
    v &= 0xFFFFFFFF
    if model >= 4:
        v = (v & 0xE005003F) | 0x10           # ET is hardwired on the 486 and later
        if (v & 0x20000000) and (v & 0x40000000) == 0:
            raise_exc(s, 13, 0)                # NW without CD
            return
    else:
        v &= 0x8000001F
    if (v & PG) and (v & PE) == 0:
        raise_exc(s, 13, 0)
        return
    old = s[CR0]
    s[CR0] = v
    if (old ^ v) & (PG | WP | PE):
        tlb_flush(s, False)


@njit(**J)
def write_cr4(s, v):
    ok = 0x3F if s[MODEL] == 5 else 0x1BF      # VME PVI TSD DE PSE (PAE MCE) / + PGE PCE
    v &= 0xFFFFFFFF
    if v & ~ok & 0xFFFFFFFF or (v & 0x20):     # PAE is not implemented
        raise_exc(s, 13, 0)
        return
    old = s[CR4]
    s[CR4] = v
    if (old ^ v) & (PGE | PSE):
        tlb_flush(s, False)


@njit(**J)
def rd_msr(s, n):
    if n == 0x10:
        return s[abi.S_CYCLES] + s[TSC_OFF]
    if n == 0x1B:
        return s[APICBASE]
    if n == 0x174:
        return s[MSR_CS]
    if n == 0x175:
        return s[MSR_ESP]
    if n == 0x176:
        return s[MSR_EIP]
    raise_exc(s, 13, 0)
    return 0


@njit(**J)
def wr_msr(s, n, v):
    if n == 0x10:
        s[TSC_OFF] = v - s[abi.S_CYCLES]
    elif n == 0x1B:
        s[APICBASE] = v & 0xFFFFF900
    elif n == 0x174:
        s[MSR_CS] = v & 0xFFFF
    elif n == 0x175:
        s[MSR_ESP] = v & 0xFFFFFFFF
    elif n == 0x176:
        s[MSR_EIP] = v & 0xFFFFFFFF
    else:
        raise_exc(s, 13, 0)


@njit(**J)
def visible(s, sel, a, code_conforming_ok):
    """LAR/LSL/VERR/VERW privilege rule: DPL >= CPL and DPL >= RPL, except for
    conforming code segments."""
    if code_conforming_ok and (a & 0x1C) == 0x1C:
        return True
    dpl = (a >> 5) & 3
    return dpl >= s[CPL] and dpl >= (sel & 3)


@njit(**J)
def lar_lsl(s, mem, op, sel):
    """(ok, value) of LAR (op 2) / LSL (op 3) for ``sel``."""
    if (sel & 0xFFFC) == 0:
        return False, 0
    lo, hi = read_desc(s, mem, sel)
    if lo < 0:
        return False, 0
    a = desc_attr(hi)
    if (a & 0x10) == 0:
        t = a & 0xF
        if op == 2:
            valid = t == 1 or t == 2 or t == 3 or t == 4 or t == 5 or t == 9 or t == 11 or t == 12
        else:
            valid = t == 1 or t == 2 or t == 3 or t == 9 or t == 11
        if not valid:
            return False, 0
    if not visible(s, sel, a, True):
        return False, 0
    if op == 2:
        return True, hi & 0x00FFFF00
    return True, desc_limit(lo, hi)


@njit(**J)
def sys_0f(s, mem, op, seg, w, a32, start):
    """0F 00-3F and 0F A2: the system two-byte opcodes."""
    model = s[MODEL]
    om = 0xFFFFFFFF if a32 else 0xFFFF
    pm = protected(s)
    if op == 0x06:                                     # CLTS
        if cpl0(s):
            if s[VMX] and s[CR0_MASK] & 8:             # the host owns TS (SDM 25.3)
                if s[CR0_SHADOW] & 8:
                    vmexit(s, R_CR, CR_CLTS << 4, start)
            else:
                s[CR0] &= ~8
        return 0
    if op == 0x08 or op == 0x09:                       # INVD / WBINVD (no cache model)
        if model < 4:
            return ud(s, mem, start)
        if cpl0(s) and op == 0x08 and s[VMX]:          # INVD exits unconditionally
            vmexit(s, R_INVD, 0, start)
        return 0
    if op == 0x0B:                                     # UD2
        return ud(s, mem, start)
    if op == 0x31:                                     # RDTSC
        if model < 5:
            return ud(s, mem, start)
        if (s[CR4] & TSD) and s[CPL] != 0 and (s[CR0] & PE):
            raise_exc(s, 13, 0)
            return 0
        if exiting(s, P_RDTSC):
            vmexit(s, R_RDTSC, 0, start)
            return 0
        t = s[abi.S_CYCLES] + s[TSC_OFF]
        s[EAX] = t & 0xFFFFFFFF
        s[EDX] = (t >> 32) & 0xFFFFFFFF
        return 0
    if op == 0x30 or op == 0x32:                       # WRMSR / RDMSR
        if model < 5:
            return ud(s, mem, start)
        if not cpl0(s):
            return 0
        if s[VMX] and msr_exits(s, mem, s[ECX], op == 0x30):
            vmexit(s, R_RDMSR if op == 0x32 else R_WRMSR, 0, start)
            return 0
        if op == 0x32:
            v = rd_msr(s, s[ECX])
            s[EAX] = v & 0xFFFFFFFF
            s[EDX] = (v >> 32) & 0xFFFFFFFF
        else:
            wr_msr(s, s[ECX], s[EAX] | (s[EDX] << 32))
        return 0
    if op == 0x33:                                     # RDPMC (no counters: 0)
        if model < 6:
            return ud(s, mem, start)
        if ((s[CR4] & PCE) == 0 and s[CPL] != 0 and (s[CR0] & PE)) or s[ECX] > 1:
            raise_exc(s, 13, 0)
            return 0
        if exiting(s, P_RDPMC):
            vmexit(s, R_RDPMC, 0, start)
            return 0
        s[EAX] = 0
        s[EDX] = 0
        return 0
    if op == 0x34 or op == 0x35:                       # SYSENTER / SYSEXIT (SDM vol. 2)
        if model < 6:
            return ud(s, mem, start)
        if (s[CR0] & PE) == 0 or (s[MSR_CS] & 0xFFFC) == 0 or (op == 0x35 and (s[CPL] != 0 or (s[FLAGS] & VM))):
            raise_exc(s, 13, 0)
            return 0
        c = s[MSR_CS] & 0xFFFC
        if op == 0x34:
            s[FLAGS] &= ~(VM | IF | RF)
            set_cache(s, CS, c, 0, 0xFFFFFFFF, 0xC9B)
            set_cache(s, SS, c + 8, 0, 0xFFFFFFFF, 0xC93)
            s[CPL] = 0
            s[ESP] = s[MSR_ESP]
            s[EIP] = s[MSR_EIP]
        else:
            set_cache(s, CS, (c + 16) | 3, 0, 0xFFFFFFFF, 0xCFB)
            set_cache(s, SS, (c + 24) | 3, 0, 0xFFFFFFFF, 0xCF3)
            s[CPL] = 3
            s[ESP] = s[ECX]
            s[EIP] = s[EDX]
        return 0
    if op == 0xA2:                                     # CPUID
        if model < 5:
            return ud(s, mem, start)
        if s[VMX]:                                     # CPUID exits unconditionally
            vmexit(s, R_CPUID, 0, start)
            return 0
        leaf = s[EAX]
        if leaf == 0:
            s[EAX] = 1
            s[EBX] = 0x756E6547                       # "GenuineIntel"
            s[EDX] = 0x49656E69
            s[ECX] = 0x6C65746E
        else:
            s[EAX] = (model << 8) | (1 << 4) | 1 if leaf == 1 else 0
            s[EBX] = 0
            s[ECX] = 0
            s[EDX] = (features(model) | s[FEAT]) if leaf == 1 else 0   # FEAT: the machine's APIC
        return 0
    if op == 0x20 or op == 0x22 or op == 0x21 or op == 0x23:    # MOV r32, CRn/DRn and back
        modrm = fetch8(s, mem)
        n = (modrm >> 3) & 7
        r = modrm & 7
        if (op == 0x21 or op == 0x23) and exiting(s, P_MOV_DR):
            # (before the CPL and CR4.DE checks: SDM 25.1.3)
            vmexit(s, R_DR, n | ((1 if op == 0x21 else 0) << 4) | (r << 8), start)
            return 0
        if not cpl0(s):
            return 0
        if op == 0x20 or op == 0x22:
            if n == 1 or n > 4 or (n == 4 and model < 5):
                return ud(s, mem, start)
            if op == 0x20:
                if n == 3 and exiting(s, P_CR3_STORE):
                    vmexit(s, R_CR, 3 | (CR_MOV_FROM << 4) | (r << 8), start)
                    return 0
                v = cr_read(s, n) if n == 0 or n == 4 else (s[CR2] if n == 2 else s[CR3])
                setr(s, r, 4, v)
            else:
                v = getr(s, r, 4)
                if ((n == 0 or n == 4) and cr_write_exits(s, n, v)) or (n == 3 and exiting(s, P_CR3_LOAD)):
                    vmexit(s, R_CR, n | (r << 8), start)
                    return 0
                if n == 0:
                    write_cr0(s, cr_written(s, 0, v))
                elif n == 2:
                    s[CR2] = v
                elif n == 3:
                    s[CR3] = v & 0xFFFFF018
                    tlb_flush(s, True)
                else:
                    write_cr4(s, cr_written(s, 4, v))
            return 0
        if (n == 4 or n == 5) and (s[CR4] & DE):
            return ud(s, mem, start)
        if n == 4 or n == 5:
            n += 2
        if s[DR + 7] & 0x2000:                         # DR7.GD: #DB before the access
            s[DR + 7] &= ~0x2000
            s[DR + 6] |= 0x2000                        # DR6.BD
            raise_exc(s, 1, -1)
            return 0
        if op == 0x21:
            setr(s, r, 4, s[DR + n])
        else:
            v = getr(s, r, 4)
            if n == 6:
                v = (v & 0xE00F) | 0xFFFF0FF0
            elif n == 7:
                v = (v & 0xFFFF2BFF) | 0x400
            s[DR + n] = v
            d7 = s[DR + 7]
            act = 0
            for k in range(4):
                if (d7 >> (2 * k)) & 3:
                    act |= 1 if ((d7 >> (16 + 4 * k)) & 3) == 0 else 2
            s[DBACT] = act
        return 0
    modrm = fetch8(s, mem)
    reg = (modrm >> 3) & 7
    if op == 0x00:                                     # group 6
        if not pm:
            return ud(s, mem, start)
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        if (reg <= 1 or reg == 4 or reg == 5) and not sensitive(s):
            return 0
        if reg == 0 or reg == 1:                       # SLDT / STR
            v = s[LDTR] if reg == 0 else s[TR]
            rm_wr(s, mem, modrm, sg, off, w if sg < 0 else 2, om, v)
            return 0
        sel = rm_rd(s, mem, modrm, sg, off, 2, om)
        if s[XREAD]:
            return 0
        if reg == 2 or reg == 3:                       # LLDT / LTR
            if not cpl0(s):
                return 0
            err = sel & 0xFFFC
            if reg == 2 and err == 0:
                s[LDTR] = sel
                s[LDTB] = 0
                s[LDTL] = 0
                return 0
            if err == 0 or (sel & 4):
                raise_exc(s, 13, err)
                return 0
            lo, hi = read_desc(s, mem, sel)
            a = desc_attr(hi)
            t = a & 0x1F
            if lo < 0 or (reg == 2 and t != 2) or (reg == 3 and t != 1 and t != 9):
                raise_exc(s, 13, err)
                return 0
            if (a & 0x80) == 0:
                raise_exc(s, 11, err)
                return 0
            if reg == 2:
                s[LDTR] = sel
                s[LDTB] = desc_base(lo, hi)
                s[LDTL] = desc_limit(lo, hi)
            else:
                set_busy(s, mem, sel, True)
                s[TR] = sel
                s[TRB] = desc_base(lo, hi)
                s[TRL] = desc_limit(lo, hi)
                s[TRA] = a | 2
            return 0
        if reg == 4 or reg == 5:                       # VERR / VERW
            ok = False
            if sel & 0xFFFC:
                lo, hi = read_desc(s, mem, sel)
                a = desc_attr(hi)
                if lo >= 0 and (a & 0x10) and visible(s, sel, a, reg == 4):
                    if reg == 4:
                        ok = (a & 8) == 0 or (a & 2) != 0
                    else:
                        ok = (a & 8) == 0 and (a & 2) != 0
            s[FLAGS] = (s[FLAGS] | ZF) if ok else (s[FLAGS] & ~ZF)
            return 0
        return ud(s, mem, start)
    if op == 0x02 or op == 0x03:                       # LAR / LSL
        if not pm:
            return ud(s, mem, start)
        if not sensitive(s):
            return 0
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        sel = rm_rd(s, mem, modrm, sg, off, 2, om)
        if s[XREAD]:
            return 0
        ok, v = lar_lsl(s, mem, op, sel)
        if ok:
            setr(s, reg, w, v)
            s[FLAGS] |= ZF
        else:
            s[FLAGS] &= ~ZF
        return 0
    if op == 0x01:                                     # group 7
        sg, off = modrm_ea(s, mem, modrm, seg, a32)
        if reg < 4 and sg < 0:
            return ud(s, mem, start)
        if (reg <= 1 or reg == 4) and not sensitive(s):   # SGDT SIDT SMSW
            return 0
        if reg == 0 or reg == 1:                       # SGDT / SIDT (not privileged)
            lim = s[GDTL] if reg == 0 else s[IDTL]
            base = s[GDTB] if reg == 0 else s[IDTB]
            if w == 2:
                base &= 0xFFFFFF
            wrm(s, mem, sg, off, 2, om, lim)
            wrm(s, mem, sg, (off + 2) & om, 4, om, base)
            return 0
        if reg == 2 or reg == 3:                       # LGDT / LIDT
            if not cpl0(s):
                return 0
            lim = rdm(s, mem, sg, off, 2, om)
            base = rdm(s, mem, sg, (off + 2) & om, 4, om)
            if s[XREAD]:
                return 0
            if w == 2:
                base &= 0xFFFFFF
            if reg == 2:
                s[GDTL] = lim
                s[GDTB] = base
            else:
                s[IDTL] = lim
                s[IDTB] = base
            return 0
        if reg == 4:                                   # SMSW (not privileged)
            rm_wr(s, mem, modrm, sg, off, 2 if sg >= 0 else w, om, cr_read(s, 0) & (0xFFFF if w == 2 else 0xFFFFFFFF))
            return 0
        if reg == 6:                                   # LMSW (sets PE, cannot clear it)
            v = rm_rd(s, mem, modrm, sg, off, 2, om)
            if s[XREAD] or not cpl0(s):
                return 0
            src = v & 0xF
            if s[VMX]:                                 # host-owned PE/MP/EM/TS (SDM 25.1.3)
                m, sh = s[CR0_MASK] & 0xF, s[CR0_SHADOW]
                if (src ^ sh) & m & 0xE or (m & 1 and not sh & 1 and src & 1):
                    vmexit(s, R_CR, (CR_LMSW << 4) | (src << 16), start)
                    return 0
                new = (s[CR0] & ~0xE) | (src & 0xE) | (s[CR0] & 1) | (src & 1)
                write_cr0(s, (new & ~m) | (s[CR0] & m))
                return 0
            write_cr0(s, (s[CR0] & ~0xE) | src | (s[CR0] & 1))
            return 0
        if reg == 7:                                   # INVLPG m
            if model < 4 or sg < 0:
                return ud(s, mem, start)
            if cpl0(s):
                if exiting(s, P_INVLPG):
                    vmexit(s, R_INVLPG, (s[BASE + sg] + off) & 0xFFFFFFFF, start)
                else:
                    tlb_invlpg(s, s[BASE + sg] + off)
            return 0
        return ud(s, mem, start)
    return ud(s, mem, start)
