"""Differential test against the `z80` package from PyPI (test-only oracle):
random register states and random instruction streams, stepped one
instruction at a time, comparing registers, memory, port writes and T-states."""
import random

import numpy as np
import pytest

from cores.z80 import Z80
from cores.z80.disasm import disassemble
from emu import abi
from emu.core import flat_memory

z80 = pytest.importorskip("z80", reason="the z80 package from PyPI is a test-only oracle")

REGS = ["a", "f", "b", "c", "d", "e", "h", "l", "sp", "pc", "i", "iff1", "iff2"]


def port_value(port):
    return (port * 7 + 3) & 0xFF


def oracle_regs(m):
    out = {k: getattr(m, k) for k in REGS}
    out.update(ix=m.ix, iy=m.iy, af_=m.alt_af, bc_=m.alt_bc, de_=m.alt_de, hl_=m.alt_hl)
    return out


def run_program(seed, steps=150):
    rnd = random.Random(seed)
    image = bytearray(rnd.randrange(256) for _ in range(0x10000))
    # keep the stream interesting: no HALT (it would end the comparison)
    for a in range(0x10000):
        if image[a] == 0x76:
            image[a] = 0
    regs = {k: rnd.randrange(256) for k in "abcdefhl"}
    regs.update(sp=rnd.randrange(0x10000), ix=rnd.randrange(0x10000), iy=rnd.randrange(0x10000),
                pc=rnd.randrange(0x10000))
    # oracle
    m = z80.Z80Machine()
    m.set_memory_block(0, bytes(image))
    for k in "abcdefhl":
        setattr(m, k, regs[k])
    m.sp, m.ix, m.iy, m.pc = regs["sp"], regs["ix"], regs["iy"], regs["pc"]
    out_o = []
    m.set_input_callback(lambda port: port_value(port))
    m.set_output_callback(lambda port, value: out_o.append((port, value)))
    # ours
    cpu = Z80(4e6)
    cpu.state[:] = 0
    cpu.state[abi.S_BREAK] = -1
    cpu.set_registers(**regs)
    mem = flat_memory(16, 8)
    mem[0][:] = np.frombuffer(bytes(image), dtype=np.uint8)
    out_u = []
    for step in range(steps):
        before = cpu.get_registers()["pc"]
        ticks0 = m.frame_tick
        m.ticks_to_stop = 1
        m.run()
        # the oracle stops after a DD/FD prefix byte; ours runs prefix + opcode as one step
        if image[before] in (0xDD, 0xFD) and image[(before + 1) & 0xFFFF] not in (0xDD, 0xFD, 0xED):
            m.ticks_to_stop = 1
            m.run()
        t0 = cpu.cycles
        while True:
            reason = cpu.execute(mem, 1)
            if reason == abi.EXIT_IO_IN:
                cpu.state[abi.S_EXIT_DATA] = port_value(int(cpu.state[abi.S_EXIT_ADDR]))
                cpu.state[abi.S_PENDING] = 1
                continue
            if reason == abi.EXIT_IO_OUT:
                out_u.append((int(cpu.state[abi.S_EXIT_ADDR]), int(cpu.state[abi.S_EXIT_DATA])))
            break
        ours = cpu.get_registers()
        theirs = oracle_regs(m)
        repeating_block = (image[before] == 0xED and 0xB0 <= image[(before + 1) & 0xFFFF] <= 0xBB
                           and ours["pc"] == before)
        if image[before] in (0x37, 0x3F) or repeating_block:
            # SCF/CCF: X/Y come from the Q latch (Patrik Rak); a repeating block
            # instruction takes X/Y (and for INxR/OTxR H/P) from its interrupted state
            # (Helcmanovsky 2022).  The SingleStepTests vectors check both; this oracle
            # models neither, so compare the other bits and continue from our flags.
            mask = 0xC3 if repeating_block and image[(before + 1) & 0xFFFF] & 2 else 0xD7
            ours["f"] &= mask
            theirs["f"] &= mask
            m.f = cpu.get_registers()["f"]        # continue from the same flags
        diff = {k: (ours[k], v) for k, v in theirs.items() if ours[k] != v}
        assert not diff, f"seed {seed} step {step} at {before:04X}: (ours, oracle) {diff}"
        assert cpu.cycles - t0 == m.frame_tick - ticks0, (
            f"seed {seed} step {step} {disassemble(lambda a: image[a & 0xFFFF], before)}: "
            f"T-states {cpu.cycles - t0} vs {m.frame_tick - ticks0}")
        assert out_u == out_o, f"seed {seed} step {step}: port writes differ"
    assert bytes(mem[0]) == bytes(m.memory[:0x10000]), f"seed {seed}: memory differs"


@pytest.mark.parametrize("seed", range(20))
def test_random_programs_match_the_oracle(seed):
    run_program(seed)
