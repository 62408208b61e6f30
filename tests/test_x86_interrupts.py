"""x86 interrupts and exits through the run ABI: IRQ delivery via the IVT with
IF, the one-instruction shadow after STI and MOV SS, HLT exit and wake-up,
NMI, INT n / IRET, INTO, divide error, TF single-step, IN/OUT exits (IN is
restartable), posted OUTs, and MMIO reads/writes."""
import numpy as np
import pytest

from cores.x86 import X86, cpu
from emu import abi
from emu.core import flat_memory


def machine(code, model=8086, at=0x2000, handlers=None):
    c = X86(model=model)
    mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
    d = mem[0]
    d[at:at + len(code)] = np.frombuffer(bytes(code), np.uint8)
    # handlers: vector -> (address, code); IVT entries point at 0000:address
    for vec, (addr, hcode) in (handlers or {}).items():
        d[vec * 4:vec * 4 + 4] = [addr & 0xFF, addr >> 8, 0, 0]
        d[addr:addr + len(hcode)] = np.frombuffer(bytes(hcode), np.uint8)
    c.set_registers(cs=0, ip=at, ss=0, sp=0x8000, ds=0, es=0, flags=0)
    return c, mem


def word(mem, a):
    return int(mem[0][a]) | int(mem[0][a + 1]) << 8


def steps(c, mem, n):
    for _ in range(n):
        r = c.execute(mem, 1)
        assert r == abi.EXIT_BUDGET, abi.EXIT_NAMES[r]


IRET = [0xCF]


def test_irq_needs_if_and_respects_sti_shadow():
    # CLI; NOP; STI; NOP; NOP; NOP
    c, mem = machine([0xFA, 0x90, 0xFB, 0x90, 0x90, 0x90], handlers={0x20: (0x500, IRET)})
    c.set_irq(True, 0x20)
    steps(c, mem, 2)                                   # CLI, NOP: masked
    assert c.get_registers()["ip"] == 0x2002
    steps(c, mem, 1)                                   # STI: shadow covers the next instruction
    r = c.execute(mem, 1)                              # NOP after STI runs first
    assert r == abi.EXIT_BUDGET and c.get_registers()["ip"] == 0x2004
    r = c.execute(mem, 100)
    assert r == abi.EXIT_IRQ_ACK
    regs = c.get_registers()
    assert (regs["cs"], regs["ip"]) == (0, 0x500)
    assert regs["flags"] & cpu.IF == 0
    assert regs["sp"] == 0x8000 - 6
    assert word(mem, 0x8000 - 6) == 0x2004              # return address
    assert word(mem, 0x8000 - 2) & cpu.IF              # pushed flags had IF set
    c.set_irq(False)
    r = c.execute(mem, 1)                              # IRET back to the main code
    assert c.get_registers()["ip"] == 0x2004 and c.get_registers()["flags"] & cpu.IF


def test_mov_ss_shadow():
    # STI; NOP; MOV SS,AX; NOP
    c, mem = machine([0xFB, 0x90, 0x8E, 0xD0, 0x90], handlers={0x21: (0x500, IRET)})
    steps(c, mem, 3)                                   # STI, NOP, MOV SS
    c.set_irq(True, 0x21)                              # raised during MOV SS: the next instruction is protected
    assert c.execute(mem, 1) == abi.EXIT_BUDGET
    assert c.get_registers()["ip"] == 0x2005
    assert c.execute(mem, 10) == abi.EXIT_IRQ_ACK


def test_hlt_exits_and_wakes():
    # STI; HLT; INC AX
    c, mem = machine([0xFB, 0xF4, 0x40], handlers={0x08: (0x500, IRET)})
    cyc0 = c.cycles
    r = c.execute(mem, 1000)
    assert r == abi.EXIT_HLT
    assert c.cycles >= cyc0 + 1000                     # idle time consumed
    assert c.get_registers()["ip"] == 0x2002 and c.state[cpu.HALTED]
    assert c.execute(mem, 1000) == abi.EXIT_HLT        # still halted, nothing pending
    c.set_irq(True, 0x08)
    assert c.execute(mem, 1000) == abi.EXIT_IRQ_ACK
    assert not c.state[cpu.HALTED]
    assert word(mem, 0x8000 - 6) == 0x2002              # returns after the HLT
    c.set_irq(False)
    steps(c, mem, 2)                                   # IRET, INC AX
    assert c.get_registers()["ax"] == 1


def test_nmi_ignores_if():
    c, mem = machine([0xFA, 0x90, 0x90], handlers={2: (0x600, [0x43, 0xCF])})   # handler: INC BX; IRET
    steps(c, mem, 1)
    c.nmi()
    steps(c, mem, 1)                                   # NMI entry + first handler instruction
    assert c.state[abi.S_NMI] == 0
    steps(c, mem, 2)
    regs = c.get_registers()
    assert regs["bx"] == 1 and regs["ip"] == 0x2001


def test_int_iret_into_and_divide_error():
    # MOV AX,7; INT 40h; INTO (OF=0: nothing); MOV CL,0; DIV CL
    code = [0xB8, 0x07, 0x00, 0xCD, 0x40, 0xCE, 0xB1, 0x00, 0xF6, 0xF1, 0x90]
    c, mem = machine(code, handlers={0x40: (0x500, [0x40, 0xCF]), 0: (0x580, IRET)})
    steps(c, mem, 2)
    assert (c.get_registers()["ip"], c.get_registers()["sp"]) == (0x500, 0x8000 - 6)
    steps(c, mem, 2)                                   # INC AX; IRET
    regs = c.get_registers()
    assert regs["ax"] == 8 and regs["ip"] == 0x2005 and regs["sp"] == 0x8000
    steps(c, mem, 1)                                   # INTO with OF clear
    assert c.get_registers()["ip"] == 0x2006
    steps(c, mem, 2)                                   # DIV CL -> INT 0
    assert c.get_registers()["ip"] == 0x580
    assert word(mem, 0x8000 - 6) == 0x200A              # 8086: address of the next instruction


def test_divide_error_386_points_at_div():
    c, mem = machine([0xB1, 0x00, 0xF6, 0xF1], model=386, handlers={0: (0x580, IRET)})
    steps(c, mem, 2)
    assert c.get_registers()["ip"] == 0x580
    assert word(mem, 0x8000 - 6) == 0x2002


def test_trap_flag_single_step():
    # PUSHF; POP AX; OR AH,1; PUSH AX; POPF; NOP; NOP; NOP; PUSHF; POP AX; AND AH,FE; PUSH AX; POPF
    code = [0x9C, 0x58, 0x80, 0xCC, 0x01, 0x50, 0x9D, 0x90, 0x90, 0x90,
            0x9C, 0x58, 0x80, 0xE4, 0xFE, 0x50, 0x9D, 0x90]
    # INT 1 handler: INC word [0x700]; IRET
    c, mem = machine(code, handlers={1: (0x500, [0xFF, 0x06, 0x00, 0x07, 0xCF])})
    for _ in range(40):
        c.execute(mem, 1)
        if c.get_registers()["ip"] == 0x2012:
            break
    # traps after: NOP NOP NOP PUSHF POP OR PUSH POPF(clears TF, still traps)
    assert c.get_registers()["ip"] == 0x2012
    assert word(mem, 0x700) == 8


def test_in_out_exits():
    # IN AL,60h; OUT 61h,AL; IN AX,DX; OUT DX,AX
    c, mem = machine([0xE4, 0x60, 0xE6, 0x61, 0xED, 0xEF])
    c.set_registers(dx=0x3F8)
    r = c.execute(mem, 100)
    assert r == abi.EXIT_IO_IN and c.state[abi.S_EXIT_ADDR] == 0x60 and c.state[abi.S_EXIT_SIZE] == 1
    assert c.get_registers()["ip"] == 0x2000            # restartable
    c.state[abi.S_EXIT_DATA] = 0x5A
    c.state[abi.S_PENDING] = 1
    r = c.execute(mem, 100)
    assert r == abi.EXIT_IO_OUT
    assert (c.state[abi.S_EXIT_ADDR], c.state[abi.S_EXIT_DATA]) == (0x61, 0x5A)
    assert c.get_registers()["ip"] == 0x2004            # OUT exits after completion
    r = c.execute(mem, 100)
    assert r == abi.EXIT_IO_IN and c.state[abi.S_EXIT_SIZE] == 2 and c.state[abi.S_EXIT_ADDR] == 0x3F8
    c.state[abi.S_EXIT_DATA] = 0x1234
    c.state[abi.S_PENDING] = 1
    mem[3][0x3F8] = abi.IOF_POSTED
    r = c.execute(mem, 20)                             # OUT to a posted port: logged, no exit
    assert r == abi.EXIT_BUDGET
    assert c.state[abi.S_IOLOG_COUNT] == 1
    assert list(mem[4][:2]) == [0x3F8 | (2 << 32), 0x1234]


def test_mmio_read_restart_and_write():
    # MOV AX,[0xB000]; ADD [0xB002],AX  with page 0xB000 as MMIO
    c, mem = machine([0xA1, 0x00, 0xB0, 0x01, 0x06, 0x02, 0xB0])
    mem[1][0xB] = abi.PAGE_MMIO
    mem[2][0xB] = abi.PAGE_MMIO
    r = c.execute(mem, 100)
    assert r == abi.EXIT_MMIO_READ and c.state[abi.S_EXIT_ADDR] == 0xB000 and c.state[abi.S_EXIT_SIZE] == 2
    assert c.get_registers()["ip"] == 0x2000
    c.state[abi.S_EXIT_DATA] = 0x1111
    c.state[abi.S_PENDING] = 1
    r = c.execute(mem, 100)
    assert r == abi.EXIT_MMIO_READ and c.state[abi.S_EXIT_ADDR] == 0xB002
    assert c.get_registers()["ax"] == 0x1111 and c.get_registers()["ip"] == 0x2003
    c.state[abi.S_EXIT_DATA] = 0x2222
    c.state[abi.S_PENDING] = 1
    r = c.execute(mem, 100)
    assert r == abi.EXIT_MMIO_WRITE
    assert (c.state[abi.S_EXIT_ADDR], c.state[abi.S_EXIT_SIZE], c.state[abi.S_EXIT_DATA]) == (0xB002, 2, 0x3333)
    assert c.get_registers()["ip"] == 0x2007


def test_rep_stops_for_interrupts_and_resumes():
    # STI; MOV CX,100; REP STOSB (ES:DI=0:0x1000)
    c, mem = machine([0xFB, 0xB9, 0x64, 0x00, 0xF3, 0xAA, 0x90], handlers={0x30: (0x500, IRET)})
    c.set_registers(di=0x1000, ax=0x77)
    steps(c, mem, 2)
    c.execute(mem, 50)                                 # part of the REP
    cx = c.get_registers()["cx"]
    assert 0 < cx < 100 and c.get_registers()["ip"] == 0x2004
    c.set_irq(True, 0x30)
    assert c.execute(mem, 10) == abi.EXIT_IRQ_ACK
    assert word(mem, 0x8000 - 6) == 0x2004              # resumes at the REP prefix
    c.set_irq(False)
    c.execute(mem, 100000)
    regs = c.get_registers()
    assert regs["cx"] == 0 and regs["di"] == 0x1064
    assert (mem[0][0x1000:0x1064] == 0x77).all()


@pytest.mark.parametrize("model", [8086, 386])
def test_breakpoint(model):
    c, mem = machine([0x90, 0x90, 0x90, 0x90], model=model)
    c.state[abi.S_BREAK] = 0x2002
    assert c.execute(mem, 100) == abi.EXIT_BREAKPOINT
    assert c.pc == 0x2002
