"""toy8 speed: a counting loop with loads, stores and read-modify-writes."""
from __future__ import annotations

import time

from emu import abi
from emu.core import flat_memory

from . import PC, Toy8

# loop: LD A,[1000h]; ADD A,3; ST [1000h],A; INC [1001h]; JNZ loop; JMP loop
PROGRAM = bytes([0x02, 0x00, 0x10, 0x04, 0x03, 0x03, 0x00, 0x10, 0x0D, 0x01, 0x10,
                 0x06, 0x00, 0x00, 0x05, 0x00, 0x00])


def bench(seconds: float = 2.0) -> dict:
    t0 = time.perf_counter()
    cpu = Toy8(1e6)
    mem = flat_memory(16, 8)
    mem[0][:len(PROGRAM)] = memoryview(PROGRAM)
    cpu.execute(mem, 10)
    first = time.perf_counter() - t0
    cpu.state[PC] = 0
    n0, t = cpu.state[abi.S_INSNS], time.perf_counter()
    while time.perf_counter() - t < seconds:
        cpu.execute(mem, 10_000_000)
    dt = time.perf_counter() - t
    return {"mips": (cpu.state[abi.S_INSNS] - n0) / dt / 1e6, "first_run_s": first}
