"""Z80 interrupt behaviour (Zilog UM0080, "Interrupt Response"): IM 1/2, NMI,
the EI delay, HALT and RETN, through the run ABI's exits."""
import numpy as np

from cores.z80 import Z80
from emu import abi
from emu.core import flat_memory


def setup(program, **regs):
    cpu = Z80(4e6)
    mem = flat_memory(16, 8)
    mem[0][:len(program)] = np.frombuffer(bytes(program), dtype=np.uint8)
    cpu.set_registers(pc=0, sp=0x8000, **regs)
    return cpu, mem


def test_im1_after_ei_delay():
    # EI ; NOP ; NOP
    cpu, mem = setup([0xFB, 0x00, 0x00], im=1)
    cpu.set_irq(True)
    assert cpu.execute(mem, 1) == abi.EXIT_BUDGET          # EI: no interrupt yet
    assert cpu.execute(mem, 1) == abi.EXIT_BUDGET          # the instruction after EI still runs
    assert cpu.pc == 2
    c0 = cpu.cycles
    assert cpu.execute(mem, 1) == abi.EXIT_IRQ_ACK
    r = cpu.get_registers()
    assert r["pc"] == 0x38 and r["iff1"] == 0 and r["iff2"] == 0 and r["sp"] == 0x7FFE
    assert mem[0][0x7FFE] == 2 and mem[0][0x7FFF] == 0      # return address 0002h
    assert cpu.cycles - c0 == 13


def test_im2_vector_table():
    cpu, mem = setup([0x00], im=2, i=0x90, iff1=1, iff2=1)
    mem[0][0x9020:0x9022] = [0x34, 0x12]
    cpu.set_irq(True, vector=0x20)
    assert cpu.execute(mem, 1) == abi.EXIT_IRQ_ACK
    assert cpu.pc == 0x1234 and cpu.cycles == 19


def test_disabled_interrupts_are_ignored():
    cpu, mem = setup([0x00, 0x00], im=1, iff1=0)
    cpu.set_irq(True)
    assert cpu.execute(mem, 8) == abi.EXIT_BUDGET and cpu.pc == 2


def test_nmi_keeps_iff2_and_retn_restores():
    """UM0080 "Non-Maskable Interrupt Response": at the end of the current
    instruction the CPU resets IFF1 (IFF2 keeps the interrupt state from before
    the NMI), pushes PC and continues at 0066h, in 11 T-states (a 5-T M1
    plus two 3-T stack writes).  RETN (14 T) pops PC and restores IFF1 from IFF2."""
    cpu, mem = setup([0x00] * 4, iff1=1, iff2=1)
    mem[0][0x66:0x68] = [0xED, 0x45]                        # RETN
    assert cpu.execute(mem, 4) == abi.EXIT_BUDGET and cpu.pc == 1   # one NOP
    cpu.nmi()
    c0 = cpu.cycles
    cpu.execute(mem, 1)
    r = cpu.get_registers()
    assert r["pc"] == 0x0066 and r["iff1"] == 0 and r["iff2"] == 1
    assert cpu.cycles - c0 == 11
    assert r["sp"] == 0x7FFE and list(mem[0][0x7FFE:0x8000]) == [0x01, 0x00]   # returns to 0001h
    c0 = cpu.cycles
    cpu.execute(mem, 1)                                     # RETN
    r = cpu.get_registers()
    assert r["pc"] == 0x0001 and r["sp"] == 0x8000 and r["iff1"] == 1 and r["iff2"] == 1
    assert cpu.cycles - c0 == 14


def test_halt_idles_until_an_interrupt():
    cpu, mem = setup([0xFB, 0x76, 0x00], im=1)               # EI ; HALT ; NOP
    assert cpu.execute(mem, 1000) == abi.EXIT_HLT
    assert cpu.pc == 2 and cpu.get_registers()["halted"] == 1
    assert cpu.cycles >= 1000                                # the budget was spent halted
    cpu.set_irq(True)
    assert cpu.execute(mem, 100) == abi.EXIT_IRQ_ACK
    assert cpu.pc == 0x38 and cpu.get_registers()["halted"] == 0
    assert mem[0][0x7FFE] == 2                               # resumes after the HALT


def test_breakpoint_stops_before_the_instruction_and_resumes():
    # 0: LD B,3 ; 2: loop: INC A ; 3: DJNZ loop ; 5: HALT
    cpu, mem = setup([0x06, 0x03, 0x3C, 0x10, 0xFD, 0x76], a=0)
    cpu.state[abi.S_BREAK] = 2
    assert cpu.execute(mem, 1000) == abi.EXIT_BREAKPOINT
    assert cpu.pc == 2 and cpu.get_registers()["a"] == 0     # INC A not executed yet
    # a run that starts on the breakpoint executes it, then stops on the next pass
    assert cpu.execute(mem, 1000) == abi.EXIT_BREAKPOINT
    assert cpu.pc == 2 and cpu.get_registers()["a"] == 1
    cpu.state[abi.S_BREAK] = -1                              # cleared: the fast loop runs on
    assert cpu.execute(mem, 1000) == abi.EXIT_HLT
    assert cpu.get_registers()["a"] == 3 and cpu.pc == 6


def test_huge_budget_runs_in_chunks_and_counts_exactly():
    # JR $ (12 T-states, one instruction, R + 1 each): 3 * 2**30 cycles in one call
    cpu, mem = setup([0x18, 0xFE], r=0)
    budget = 3 << 30
    assert cpu.execute(mem, budget) == abi.EXIT_BUDGET
    n = -(-budget // 12)                                      # the last one may overshoot
    assert cpu.state[abi.S_INSNS] == n and cpu.cycles == 12 * n
    assert cpu.get_registers()["r"] == n % 128 and cpu.pc == 0
