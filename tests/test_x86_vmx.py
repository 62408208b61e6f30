"""VMX non-root operation of the x86 core (cores/x86/vmx.py) against the rules of the
Intel SDM vol. 3C: ch. 25.1 (instructions that cause VM exits, unconditionally and
by the processor-based controls of table 24-6, and which exceptions take priority),
25.2 (events: external-interrupt and NMI exiting, interrupt and NMI windows), 25.3
(CR0/CR4 guest/host masks and read shadows), 27.2.1 (exit qualifications: table
27-3 for control-register accesses, 27-4 for MOV DR, the linear address for
INVLPG) and appendix C (basic exit reasons).  Instruction exits are fault-like: the
instruction is not executed, RIP stays at it and the exit reports its length."""
import numpy as np
import pytest

from cores.x86 import X86, cpu
from cores.x86 import vmx as V
from emu import abi
from emu.core import flat_memory
from tests.conftest import x86_flat_protected

CODE = 0x2000


def guest(code, protected=False, **regs):
    """A core in VMX non-root operation (no controls yet) about to run ``code``."""
    c = X86(model="p6")
    mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
    mem[0][CODE:CODE + len(code)] = np.frombuffer(bytes(code), np.uint8)
    c.set_registers(cs=0, ip=CODE, ss=0, sp=0x8000, ds=0, es=0, flags=0x2, **regs)
    if protected:
        x86_flat_protected(c)
        c.state[cpu.EIP] = CODE
        c.state[cpu.ESP] = 0x8000
    c.state[cpu.VMX] = 1
    return c, mem


def exit_of(c, mem, budget=100):
    s = c.state
    r = c.execute(mem, budget)
    return (abi.EXIT_NAMES[r], int(s[cpu.VMX_REASON]) if r == abi.EXIT_VMEXIT else None,
            int(s[abi.S_EXIT_QUAL]), int(s[cpu.EXIT_INFO + abi.EI_ILEN]), int(s[cpu.EIP]))


def test_cpuid_exits_unconditionally_and_is_not_executed():
    c, mem = guest(bytes.fromhex("0F A2"), eax=0, ebx=0x1234)
    assert exit_of(c, mem) == ("vmexit", V.R_CPUID, 0, 2, CODE)
    assert c.get_registers()["ebx"] == 0x1234              # not executed
    c.state[cpu.VMX] = 0                                    # root operation: it runs
    assert c.execute(mem, 100) == abi.EXIT_BUDGET and c.get_registers()["ebx"] == 0x756E6547


@pytest.mark.parametrize("code, ctl, reason, qual, ilen", [
    ("F4", V.P_HLT, V.R_HLT, 0, 1),
    ("66 F4", V.P_HLT, V.R_HLT, 0, 2),                      # the length counts prefixes
    ("0F 31", V.P_RDTSC, V.R_RDTSC, 0, 2),
    ("0F 33", V.P_RDPMC, V.R_RDPMC, 0, 2),
    ("0F 22 D9", V.P_CR3_LOAD, V.R_CR, 3 | (1 << 8), 3),     # MOV CR3, ECX: CR 3, type 0, reg 1
    ("0F 20 DA", V.P_CR3_STORE, V.R_CR, 3 | (1 << 4) | (2 << 8), 3),   # MOV EDX, CR3: type 1, reg 2
    ("0F 23 C3", V.P_MOV_DR, V.R_DR, 0 | (3 << 8), 3),       # MOV DR0, EBX: to DR (bit 4 clear)
    ("0F 21 FE", V.P_MOV_DR, V.R_DR, 7 | (1 << 4) | (6 << 8), 3),       # MOV ESI, DR7: from DR
    ("0F 01 3D 00 30 00 00", V.P_INVLPG, V.R_INVLPG, 0x3000, 7),        # INVLPG [3000h]: the address
])
def test_controlled_instructions_exit_only_with_their_control(code, ctl, reason, qual, ilen):
    code = bytes.fromhex(code)
    for on in (False, True):
        c, mem = guest(code, protected=True)
        c.state[cpu.CR4] |= cpu.PCE
        c.state[cpu.VMX_PROC] = ctl if on else 0xFFFFFFFF & ~ctl & ~(V.P_IWIN | V.P_NMIWIN)
        if on:
            assert exit_of(c, mem) == ("vmexit", reason, qual, ilen, CODE)
        else:
            assert c.execute(mem, 1) in (abi.EXIT_BUDGET, abi.EXIT_HLT)
            assert int(c.state[cpu.EIP]) == CODE + len(code)


def test_msr_accesses_exit_without_msr_bitmaps():
    for code, reason in (("0F 32", V.R_RDMSR), ("0F 30", V.R_WRMSR)):
        c, mem = guest(bytes.fromhex(code), protected=True, ecx=0x10)
        assert exit_of(c, mem)[:2] == ("vmexit", reason)


def test_privilege_checks_come_before_exits_but_mov_dr_exiting_comes_first():
    # HLT and MOV CR3 at CPL 3: #GP(0) (SDM 25.1.1), in the exception bitmap -> reason 0
    for code, ctl in (("F4", V.P_HLT), ("0F 22 D9", V.P_CR3_LOAD)):
        c, mem = guest(bytes.fromhex(code), protected=True)
        s = c.state
        s[cpu.CPL] = 3
        s[cpu.VMX_PROC] = ctl
        s[cpu.EXC_BITMAP] = 1 << 13
        assert c.execute(mem, 100) == abi.EXIT_EXCEPTION and int(s[abi.S_FAULT]) == 13
        assert int(s[cpu.VMX_REASON]) == V.R_EXCEPTION
    # MOV DR exiting takes priority over the CPL check (SDM 25.1.3)
    c, mem = guest(bytes.fromhex("0F 21 FE"), protected=True)
    c.state[cpu.CPL] = 3
    c.state[cpu.VMX_PROC] = V.P_MOV_DR
    assert exit_of(c, mem)[:2] == ("vmexit", V.R_DR)


def test_cr0_guest_host_mask_and_read_shadow():
    # MOV CR0, EAX setting CD (bit 30) with the host owning CD and the shadow clear: exits
    c, mem = guest(bytes.fromhex("0F 22 C0"), protected=True)
    s = c.state
    cr0 = int(s[cpu.CR0])
    s[cpu.EAX] = cr0 | 0x40000000
    s[cpu.CR0_MASK] = 0x40000000
    s[cpu.CR0_SHADOW] = 0
    assert exit_of(c, mem) == ("vmexit", V.R_CR, 0 | (0 << 8), 3, CODE)
    # the same value as the shadow for the owned bit: no exit; the owned bit unchanged
    s[cpu.CR0_SHADOW] = 0x40000000
    s[cpu.CR0] = cr0
    assert c.execute(mem, 1) == abi.EXIT_BUDGET
    assert int(s[cpu.CR0]) == cr0                            # CD not set: the host owns it
    # reads see the shadow for owned bits: MOV EAX, CR0 and SMSW AX
    c, mem = guest(bytes.fromhex("0F 20 C0 0F 01 E3 F4"), protected=True)
    s = c.state
    s[cpu.CR0_MASK] = 0x40000000 | cpu.TS
    s[cpu.CR0_SHADOW] = 0x40000000 | cpu.TS
    assert c.execute(mem, 100) == abi.EXIT_HLT
    r = c.get_registers()
    assert r["eax"] == int(s[cpu.CR0]) | 0x40000000 | cpu.TS and r["ebx"] & cpu.TS


def test_clts_and_lmsw_with_a_host_owned_ts():
    c, mem = guest(bytes.fromhex("0F 06"), protected=True)
    s = c.state
    s[cpu.CR0] |= cpu.TS
    s[cpu.CR0_MASK] = cpu.TS
    s[cpu.CR0_SHADOW] = cpu.TS                                # shadow TS set: CLTS exits
    assert exit_of(c, mem) == ("vmexit", V.R_CR, V.CR_CLTS << 4, 2, CODE)
    s[cpu.CR0_SHADOW] = 0                                     # shadow clear: no exit, TS kept
    assert c.execute(mem, 1) == abi.EXIT_BUDGET and int(s[cpu.CR0]) & cpu.TS
    # LMSW AX with AX's TS differing from the shadow: exits, the source in bits 31:16
    c, mem = guest(bytes.fromhex("0F 01 F0"), protected=True, eax=0x0009)
    s = c.state
    s[cpu.CR0_MASK] = cpu.TS
    s[cpu.CR0_SHADOW] = 0
    assert exit_of(c, mem) == ("vmexit", V.R_CR, (V.CR_LMSW << 4) | (0x9 << 16), 3, CODE)


def test_unconditional_invd():
    c, mem = guest(bytes.fromhex("0F 08"), protected=True)
    assert exit_of(c, mem)[:2] == ("vmexit", V.R_INVD)


def test_interrupt_window_opens_when_if_is_set_after_the_sti_shadow():
    # STI; NOP; NOP with interrupt-window exiting: the window opens after the NOP that
    # follows STI (blocking by STI, SDM 25.2 / 24.4.2)
    c, mem = guest(bytes.fromhex("FB 90 90"))
    s = c.state
    s[cpu.VMX_PROC] = V.P_IWIN
    assert exit_of(c, mem) == ("vmexit", V.R_IWIN, 0, 0, CODE + 2)
    c, mem = guest(bytes.fromhex("90 90"))                  # IF clear: no window
    c.state[cpu.VMX_PROC] = V.P_IWIN
    assert c.execute(mem, 2) == abi.EXIT_BUDGET


def test_external_interrupt_exiting_ignores_if_and_does_not_deliver():
    c, mem = guest(bytes.fromhex("90 90"))
    s = c.state
    s[cpu.VMX_PIN] = V.PIN_EXT
    s[abi.S_IRQ], s[abi.S_IRQ_VECTOR] = 1, 0x20
    assert exit_of(c, mem) == ("vmexit", V.R_EXT_INT, 0, 0, CODE)
    assert int(s[cpu.ESP]) == 0x8000                          # nothing pushed: not delivered
    s[cpu.VMX_PIN] = 0
    s[cpu.FLAGS] |= cpu.IF
    assert c.execute(mem, 100) == abi.EXIT_IRQ_ACK            # without the control: delivered


def test_nmi_exiting():
    c, mem = guest(bytes.fromhex("90"))
    s = c.state
    s[cpu.VMX_PIN] = V.PIN_NMI
    s[abi.S_NMI] = 1
    assert exit_of(c, mem)[:2] == ("vmexit", V.R_EXCEPTION)
    assert int(s[abi.S_FAULT]) == 2 and int(s[abi.S_NMI]) == 0 and int(s[cpu.ESP]) == 0x8000


def test_exception_bitmap_applies_in_non_root_operation():
    c, mem = guest(bytes.fromhex("0F 0B"))                   # UD2
    s = c.state
    s[cpu.EXC_BITMAP] = 1 << 6
    assert c.execute(mem, 100) == abi.EXIT_EXCEPTION
    assert int(s[abi.S_FAULT]) == 6 and int(s[cpu.VMX_REASON]) == V.R_EXCEPTION
    assert int(s[cpu.EIP]) == CODE


def test_root_operation_ignores_every_control():
    c, mem = guest(bytes.fromhex("F4"))
    s = c.state
    s[cpu.VMX] = 0
    s[cpu.VMX_PROC] = 0xFFFFFFFF
    s[cpu.VMX_PIN] = 0xFF
    s[abi.S_IRQ] = 1
    assert c.execute(mem, 100) == abi.EXIT_HLT


def test_msr_bitmaps_decide_which_msrs_exit():
    """SDM 24.6.9: the read bitmap for MSRs 0-1FFFh at bytes 0-1023 of the 4 KiB, for
    C0000000h-C0001FFFh at 1024-2047, the write bitmaps at 2048 and 3072; a set bit
    exits; MSRs outside both ranges always exit."""
    BM = 0x9000
    cases = [("0F 32", 0x174, None), ("0F 30", 0x174, None), ("0F 32", 0x10, 0x10 >> 3),
             ("0F 30", 0x10, 0x800 + (0x10 >> 3)), ("0F 32", 0x1234567, None)]
    for code, msr, byte in cases:
        c, mem = guest(bytes.fromhex(code), protected=True, ecx=msr)
        s = c.state
        s[cpu.VMX_PROC] = V.P_MSR_BITMAPS
        s[cpu.VMX_MSRBM] = BM
        if byte is not None:
            mem[0][BM + byte] = 1 << (msr & 7)
        r = c.execute(mem, 1)
        exits = r == abi.EXIT_VMEXIT
        assert exits == (byte is not None or msr > 0x1FFF), (code, hex(msr))
        if not exits:                               # it ran: SYSENTER_CS read or written
            assert int(s[cpu.EIP]) == CODE + 2
