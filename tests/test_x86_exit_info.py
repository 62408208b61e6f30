"""What a VMM learns of an x86 exit (emu/abi.py): the exit qualification in VT-x's
layout for I/O (SDM vol. 3C, "Exit Qualification for I/O Instructions": size - 1,
direction, string, REP, immediate, port in bits 31:16) and EPT-violation bits
for MMIO, the instruction length of I/O exits, and the guest-linear and
guest-physical addresses of MMIO accesses (different once paging maps them)."""
import struct

import numpy as np

from cores.x86 import X86
from emu import abi
from emu.core import flat_memory
from tests.conftest import x86_flat_protected


def info(c):
    s, ei = c.state, X86.exit_info
    return (int(s[abi.S_EXIT_QUAL]), int(s[ei + abi.EI_ILEN]), int(s[ei + abi.EI_GLA]),
            int(s[ei + abi.EI_GPA]))


def real(code):
    c = X86(model="p6")
    mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
    mem[0][0x2000:0x2000 + len(code)] = np.frombuffer(bytes(code), np.uint8)
    c.set_registers(cs=0, ip=0x2000, ss=0, sp=0x8000, ds=0, es=0, flags=0, edx=0x3F8, ecx=2, esi=0x100)
    mem[1][0xB] = mem[2][0xB] = abi.PAGE_MMIO
    return c, mem


def test_io_exit_qualification_and_length():
    c, mem = real(bytes.fromhex("E6 80  66 EF  EC  F3 6E"))
    assert c.execute(mem, 100) == abi.EXIT_IO_OUT            # OUT 80h, AL
    assert info(c)[:3] == ((0x80 << 16) | abi.Q_IO_IMM | 0, 2, -1)
    assert c.execute(mem, 100) == abi.EXIT_IO_OUT            # 66 OUT DX, EAX
    assert info(c)[:2] == ((0x3F8 << 16) | 3, 2)
    assert c.execute(mem, 100) == abi.EXIT_IO_IN             # IN AL, DX (restartable)
    assert info(c)[:2] == ((0x3F8 << 16) | abi.Q_IO_IN, 1)
    c.state[abi.S_EXIT_DATA], c.state[abi.S_PENDING] = 0x5A, 1
    assert c.execute(mem, 100) == abi.EXIT_IO_OUT            # REP OUTSB: its first byte
    assert info(c)[:2] == ((0x3F8 << 16) | abi.Q_IO_STRING | abi.Q_IO_REP, 2)
    assert c.get_registers()["eax"] & 0xFF == 0x5A


def test_mmio_real_mode_has_no_linear_address():
    c, mem = real(bytes.fromhex("A1 02 B0"))                  # MOV AX, [B002]
    assert c.execute(mem, 100) == abi.EXIT_MMIO_READ
    assert info(c) == (abi.Q_MEM_READ, 0, -1, 0xB002)


def test_mmio_under_paging_reports_linear_and_physical():
    c = X86(model="p6")
    mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
    d = mem[0]
    pd, pt0, pt1, code = 0x10000, 0x11000, 0x12000, 0x5000
    d[pd:pd + 8] = np.frombuffer(struct.pack("<II", pt0 | 3, pt1 | 3), np.uint8)
    d[pt0:pt0 + 4096] = np.frombuffer(struct.pack("<1024I", *[(i << 12) | 3 for i in range(1024)]), np.uint8)
    d[pt1:pt1 + 4] = np.frombuffer(struct.pack("<I", 0xB000 | 3), np.uint8)   # 400000h -> B000h
    prog = bytes.fromhex("8B 05 08 00 40 00  89 05 0C 00 40 00")      # mov eax,[400008h]; mov [40000Ch],eax
    d[code:code + len(prog)] = np.frombuffer(prog, np.uint8)
    mem[1][0xB] = mem[2][0xB] = abi.PAGE_MMIO
    s = c.state
    c.set_registers(eip=code, esp=0x8000, eflags=2)
    x86_flat_protected(c, pd)
    assert c.execute(mem, 100) == abi.EXIT_MMIO_READ
    assert int(s[abi.S_EXIT_ADDR]) == 0xB008
    assert info(c) == (abi.Q_MEM_READ | abi.Q_MEM_GLA, 0, 0x400008, 0xB008)
    s[abi.S_EXIT_DATA], s[abi.S_PENDING] = 0x11223344, 1
    assert c.execute(mem, 100) == abi.EXIT_MMIO_WRITE
    assert int(s[abi.S_EXIT_DATA]) == 0x11223344
    assert info(c) == (abi.Q_MEM_WRITE | abi.Q_MEM_GLA, 0, 0x40000C, 0xB00C)
