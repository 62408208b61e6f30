"""VMX non-root operation: the core as VT-x runs a guest (Intel SDM vol. 3C, ch. 25
"VMX non-root operation", ch. 27 "VM exits"; the fields: ch. 24 "virtual machine
control structures").

With ``state[VMX]`` set the core runs a guest at the guest's own privilege levels
and the VMCS fields it keeps in its state array (cores/x86/state.py) decide what
leaves it for the VMM as ``EXIT_VMEXIT``, with the basic exit reason in
``state[VMX_REASON]``, the exit qualification in S_EXIT_QUAL and the instruction
length in the exit-info block:

* pin-based controls (``VMX_PIN``): external-interrupt exiting (the INT line exits
  whatever RFLAGS.IF says), NMI exiting;
* processor-based controls (``VMX_PROC``): interrupt-window exiting, HLT, INVLPG,
  RDPMC, RDTSC, CR3-load, CR3-store and MOV-DR exiting (bit positions as in SDM
  table 24-6); CPUID and INVD exit unconditionally; RDMSR/WRMSR exit unless "use
  MSR bitmaps" is set and the MSR's bit in the 4 KiB bitmaps (SDM 24.6.9: read
  low, read high, write low, write high; at ``VMX_MSRBM`` in host memory) is clear;
* CR0/CR4 guest/host masks and read shadows: a MOV to CR0/CR4, CLTS or LMSW that
  would set a masked bit to other than its shadow exits; reads (MOV from CR0/CR4,
  SMSW) see the shadow for masked bits (SDM 25.3);
* the exception bitmap (``EXC_BITMAP``): those vectors leave as EXIT_EXCEPTION
  (basic exit reason 0);
* I/O: the ports whose accesses exit are the address space's ``ioflags`` (the I/O
  bitmaps), with VT-x's qualification (emu.abi); EPT: the p2m (``rpage/wpage``),
  whose device pages exit as MMIO exits with the EPT-violation qualification;
* event injection on entry: ``INJ_INFO``/``INJ_ERR`` (run.py).

Instruction exits are fault-like, as on VT-x: the instruction is undone (EIP at its
first byte) and its length reported, so the VMM emulates it and moves EIP on.  The
privilege checks that come first on VT-x (#GP for CPL > 0, #UD) come first here.
Not modelled: secondary controls (descriptor-table exiting, unrestricted guest as
a control: the core runs real mode in non-root operation as an unrestricted guest
does), CR3-target values, task-switch exits, the preemption timer.
"""
import numpy as np
from numba import njit

from emu import abi

from .state import (CR0, CR0_MASK, CR0_SHADOW, CR4, CR4_MASK, CR4_SHADOW, EIP, EXIT_INFO, FLAGS, IF, J,
                    VMX, VMX_MSRBM, VMX_PIN, VMX_PROC, VMX_QUAL, VMX_REASON, X_FAULTED, XERR, XREAD,
                    XVEC)

VMEXIT_VEC = 0x100          # XVEC of an instruction that causes a VM exit (not a vector)

# basic exit reasons (SDM vol. 3D, appendix C)
R_EXCEPTION, R_EXT_INT, R_TRIPLE, R_IWIN, R_NMIWIN = 0, 1, 2, 7, 8
R_CPUID, R_HLT, R_INVD, R_INVLPG, R_RDPMC, R_RDTSC = 10, 12, 13, 14, 15, 16
R_CR, R_DR, R_IO, R_RDMSR, R_WRMSR, R_EPT = 28, 29, 30, 31, 32, 48

# pin-based controls (SDM table 24-5)
PIN_EXT, PIN_NMI = 1 << 0, 1 << 3
# primary processor-based controls (SDM table 24-6)
P_IWIN, P_HLT, P_INVLPG, P_RDPMC, P_RDTSC = 1 << 2, 1 << 7, 1 << 9, 1 << 11, 1 << 12
P_CR3_LOAD, P_CR3_STORE, P_NMIWIN, P_MOV_DR = 1 << 15, 1 << 16, 1 << 22, 1 << 23
P_MSR_BITMAPS = 1 << 28

# CR-access qualification access types (SDM table 27-3)
CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW = 0, 1, 2, 3


@njit(**J)
def exiting(s, ctl):
    """Non-root operation with processor-based control ``ctl`` set."""
    return s[VMX] != 0 and (s[VMX_PROC] & ctl) != 0


@njit(**J)
def vmexit(s, reason, qual, start):
    """The instruction that began at ``start`` causes a VM exit: abandoned like a fault
    (run() undoes it and returns EXIT_VMEXIT); the first exit or fault raised wins."""
    if s[XREAD] == 0:
        s[XREAD] = X_FAULTED
        s[XVEC] = VMEXIT_VEC
        s[XERR] = reason
        s[VMX_QUAL] = qual
        s[EXIT_INFO + abi.EI_ILEN] = (s[EIP] - start) & 0xFFFFFFFF


@njit(**J)
def cr_read(s, n):
    """CR0 / CR4 as the guest reads it: the read shadow for the bits the host owns."""
    if n == 0:
        v, m, sh = s[CR0], s[CR0_MASK], s[CR0_SHADOW]
    else:
        v, m, sh = s[CR4], s[CR4_MASK], s[CR4_SHADOW]
    if s[VMX] == 0:
        return v
    return (v & ~m) | (sh & m)


@njit(**J)
def cr_write_exits(s, n, v):
    """A MOV to CR0/CR4 of ``v`` exits: it sets a host-owned bit to other than its shadow."""
    if s[VMX] == 0:
        return False
    if n == 0:
        return ((v ^ s[CR0_SHADOW]) & s[CR0_MASK]) != 0
    return ((v ^ s[CR4_SHADOW]) & s[CR4_MASK]) != 0


@njit(**J)
def cr_written(s, n, v):
    """The value a MOV to CR0/CR4 that did not exit stores: host-owned bits unchanged."""
    if s[VMX] == 0:
        return v
    m = s[CR0_MASK] if n == 0 else s[CR4_MASK]
    cur = s[CR0] if n == 0 else s[CR4]
    return (v & ~m) | (cur & m)


@njit(**J)
def watches_events(s):
    """Non-root operation with a control that makes events exit (run() then checks
    every instruction boundary)."""
    return s[VMX] != 0 and ((s[VMX_PIN] & (PIN_EXT | PIN_NMI)) != 0
                            or (s[VMX_PROC] & (P_IWIN | P_NMIWIN)) != 0)


@njit(**J)
def event_exit(s):
    """An event that exits at this instruction boundary (SDM 25.2, 25.3; the blocking
    by STI / MOV SS is checked by the caller): an NMI with NMI exiting (reason 0,
    S_FAULT 2; the NMI is the VMM's to inject), an NMI window, the INT line with
    external-interrupt exiting (not acknowledged: the VMM's interrupt controller
    keeps it), an interrupt window (RFLAGS.IF set).  True: EXIT_VMEXIT."""
    pin, proc = s[VMX_PIN], s[VMX_PROC]
    r = -1
    if s[abi.S_NMI] and pin & PIN_NMI:
        s[abi.S_NMI] = 0
        s[abi.S_FAULT] = 2
        r = R_EXCEPTION
    elif proc & P_NMIWIN:
        r = R_NMIWIN
    elif s[abi.S_IRQ] & 1 and pin & PIN_EXT:
        r = R_EXT_INT
    elif proc & P_IWIN and s[FLAGS] & IF:
        r = R_IWIN
    if r < 0:
        return False
    s[VMX_REASON] = r
    s[abi.S_EXIT_QUAL] = 0
    s[EXIT_INFO + abi.EI_ILEN] = 0
    return True


@njit(**J)
def msr_exits(s, mem, n, write):
    """RDMSR/WRMSR of MSR ``n`` exits (SDM 25.1.3): always without MSR bitmaps; with
    them, by the MSR's bit (MSRs outside 0-1FFFh and C0000000h-C0001FFFh always)."""
    if (s[VMX_PROC] & P_MSR_BITMAPS) == 0 or s[VMX_MSRBM] < 0:
        return True
    if n <= 0x1FFF:
        base = 0x800 if write else 0
    elif 0xC0000000 <= n <= 0xC0001FFF:
        base = 0xC00 if write else 0x400
        n -= 0xC0000000
    else:
        return True
    b = np.int64(mem[0][s[VMX_MSRBM] + base + (n >> 3)])
    return ((b >> (n & 7)) & 1) != 0
