"""The VMM's hooks in the x86 core (emu/abi.py): exceptions whose vector is set in
the exception bitmap exit with EXIT_EXCEPTION instead of being delivered (the
instruction undone, vector, error code, a page fault's linear address, CR2 left
alone: VT-x's exception bitmap), and an event injected before run() is delivered
through the guest's IDT as the first thing the CPU does (VT-x's entry
interruption information)."""
import numpy as np

from cores.x86 import X86, cpu
from emu import abi
from emu.core import flat_memory
from tests.conftest import x86_flat_protected


def real(code, handlers=()):
    c = X86(model="p6")
    mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
    d = mem[0]
    d[0x2000:0x2000 + len(code)] = np.frombuffer(bytes(code), np.uint8)
    for vec, addr in handlers:                       # IVT entry -> 0000:addr, a NOP there
        d[vec * 4:vec * 4 + 4] = [addr & 0xFF, addr >> 8, 0, 0]
        d[addr] = 0x90
    c.set_registers(cs=0, ip=0x2000, ss=0, sp=0x8000, ds=0, es=0, flags=0, eax=1, edx=0, ecx=0)
    return c, mem


def test_an_intercepted_exception_exits_with_the_instruction_undone():
    c, mem = real(bytes.fromhex("40  F7 F1"), handlers=[(0, 0x500)])   # INC AX; DIV CX (CX = 0)
    s = c.state
    s[abi.S_INTERCEPT] = abi.INTERCEPT_EXCEPTIONS
    s[cpu.EXC_BITMAP] = 1 << 0
    assert c.execute(mem, 100) == abi.EXIT_EXCEPTION
    r = c.get_registers()
    assert int(s[abi.S_FAULT]) == 0 and int(s[abi.S_EXIT_DATA]) == -1
    assert r["ip"] == 0x2001 and r["eax"] == 2 and r["sp"] == 0x8000   # INC done, DIV undone
    s[cpu.EXC_BITMAP] = 0                            # not in the bitmap: delivered as usual
    assert c.execute(mem, 1) == abi.EXIT_BUDGET
    assert c.get_registers()["ip"] in (0x500, 0x501) and c.get_registers()["sp"] == 0x8000 - 6


def test_a_page_fault_exit_reports_its_address_and_leaves_cr2():
    c = X86(model="p6")
    mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
    d, s = mem[0], c.state
    import struct
    pd, pt = 0x10000, 0x11000
    d[pd:pd + 4] = np.frombuffer(struct.pack("<I", pt | 3), np.uint8)
    d[pt:pt + 4096] = np.frombuffer(struct.pack("<1024I", *[(i << 12) | 3 for i in range(1024)]), np.uint8)
    d[pt + 4 * 0x40:pt + 4 * 0x40 + 4] = 0                  # page 40000h not present
    prog = bytes.fromhex("8B 05 10 00 04 00")               # mov eax, [40010h]
    d[0x5000:0x5000 + len(prog)] = np.frombuffer(prog, np.uint8)
    c.set_registers(eip=0x5000, esp=0x8000, eflags=2)
    x86_flat_protected(c, pd)
    s[cpu.CR2] = 0x1234
    s[abi.S_INTERCEPT] = abi.INTERCEPT_EXCEPTIONS
    s[cpu.EXC_BITMAP] = 1 << 14
    assert c.execute(mem, 100) == abi.EXIT_EXCEPTION
    assert int(s[abi.S_FAULT]) == 14 and int(s[abi.S_EXIT_DATA]) == 0      # not present, read, CPL 0
    assert int(s[X86.exit_info + abi.EI_GLA]) == 0x40010
    assert int(s[cpu.CR2]) == 0x1234 and c.get_registers()["eip"] == 0x5000


def test_an_injected_event_is_delivered_first():
    c, mem = real(bytes.fromhex("90 90"), handlers=[(0x21, 0x600)])
    s = c.state
    s[cpu.INJ_INFO] = 0x80000000 | 0x21
    assert c.execute(mem, 1) == abi.EXIT_BUDGET
    r = c.get_registers()
    assert r["ip"] in (0x600, 0x601) and r["sp"] == 0x8000 - 6
    assert int(mem[0][0x8000 - 6]) | int(mem[0][0x8000 - 5]) << 8 == 0x2000     # returns to the NOP
    assert int(s[cpu.INJ_INFO]) == 0                                             # consumed
