"""SingleStepTests Z80 vectors (../shared/vectors/z80): every opcode, registers
(including undocumented flags, WZ/MEMPTR, R, Q, IFF), memory and port I/O.
The core has three ways through an instruction, and each is checked: the run
loop's inline fast path compiled for a flat 64 KiB map (first 10 vectors of each
of the 1604 files), the same for a paged map (5), and the general decoder
cpu.execute (5).  The full 100 per file in all three ways are marked slow."""
import gzip
import json
from functools import lru_cache

import numpy as np
import pytest

from cores.z80 import Z80
from emu import abi
from emu.core import flat_memory

from .conftest import VECTORS

ZDIR = VECTORS / "z80"
FILES = sorted(p.name[:-8] for p in ZDIR.glob("*.json.gz")) if ZDIR.exists() else []
SKIP = pytest.mark.skipif(not FILES, reason=f"Z80 vectors not found in {ZDIR}")
REGS = ("a", "b", "c", "d", "e", "f", "h", "l", "i", "r", "pc", "sp", "ix", "iy", "wz",
        "af_", "bc_", "de_", "hl_", "iff1", "iff2", "im", "ei", "p", "q")


@lru_cache(maxsize=None)
def load(name):
    return json.load(gzip.open(ZDIR / f"{name}.json.gz"))


CPU = Z80(4e6)
MEM = flat_memory(16, 8)
# The same 64 KiB with its pages scrambled (page i at offset 256 * (77 i + 5) mod 64 KiB):
# the core compiles flat maps and paged maps into different loops; both must pass.
PAGED = flat_memory(16, 8)
PAGED[1][:] = ((np.arange(256) * 77 + 5) % 256) * 256
PAGED[2][:] = PAGED[1]


def run_vector(t, mem=MEM, general=False):
    cpu = CPU
    data, rpage = mem[0], mem[1]

    def phys(a):
        return rpage[a >> 8] + (a & 0xFF)
    ini = t["initial"]
    cpu.state[:] = 0
    cpu.state[abi.S_BREAK] = -1
    cpu.set_registers(**{k: ini[k] for k in REGS if k in ini})
    if general:
        # A breakpoint on the first instruction sends it through the general
        # decoder (cpu.execute) instead of the run loop's inline fast path.
        cpu.state[abi.S_BREAK] = ini["pc"]
    data[:] = 0
    for a, v in ini["ram"]:
        data[phys(a)] = v
    writes = run_one(t, lambda: cpu.execute(mem, 1), cpu.state)
    return final_problems(t, cpu.get_registers(), lambda a: data[phys(a)], writes)


def run_one(t, run, state):
    """Run vector ``t``'s instruction by ``run()`` (a run of budget 1), answering its
    port reads from the vector; the port writes it made."""
    reads = [p for p in t.get("ports", []) if p[2] == "r"]
    writes = []
    while True:
        reason = run()
        if reason == abi.EXIT_IO_IN:
            port, value, _ = reads.pop(0)
            assert state[abi.S_EXIT_ADDR] == port, "IN from the wrong port"
            state[abi.S_EXIT_DATA] = value
            state[abi.S_PENDING] = 1
            continue
        if reason == abi.EXIT_IO_OUT:
            writes.append([int(state[abi.S_EXIT_ADDR]), int(state[abi.S_EXIT_DATA]), "w"])
        return writes


def final_problems(t, regs, peek, writes):
    """How the registers, the memory (``peek(addr)``) and the port writes after a run
    differ from vector ``t``'s final state."""
    fin, problems = t["final"], []
    for k in REGS:
        if k in fin and regs[k] != fin[k]:
            problems.append(f"{k}={regs[k]:#x} want {fin[k]:#x}")
    for a, v in fin["ram"]:
        if peek(a) != v:
            problems.append(f"mem[{a:#06x}]={peek(a):#x} want {v:#x}")
    want_w = [p for p in t.get("ports", []) if p[2] == "w"]
    if writes != want_w:
        problems.append(f"port writes {writes} want {want_w}")
    return problems


def check_file(name, count, mem=MEM, general=False):
    failures = []
    for t in load(name)[:count]:
        p = run_vector(t, mem, general)
        if p:
            failures.append(f"{t['name']}: {', '.join(p)}")
    assert not failures, f"{len(failures)} failing, e.g. " + "; ".join(failures[:3])


@SKIP
@pytest.mark.parametrize("name", FILES)
def test_z80_vectors_quick(name):
    check_file(name, 10)


@SKIP
@pytest.mark.parametrize("name", FILES)
def test_z80_vectors_paged(name):
    check_file(name, 5, PAGED)


@SKIP
@pytest.mark.parametrize("name", FILES)
def test_z80_vectors_general(name):
    check_file(name, 5, general=True)


@SKIP
@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_z80_vectors_full(name):
    check_file(name, 100)
    check_file(name, 100, PAGED)
    check_file(name, 100, general=True)
