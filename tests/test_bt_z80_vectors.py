"""The SingleStepTests Z80 vectors through the binary translator (emu.vmm.bt_z80*):
each vector's instruction is translated into x86 code, run by the VMM's host x86
CPU from the vector's initial state, and the final registers (undocumented
flags, WZ/MEMPTR, R, Q, IFF, EI, P), memory and port writes compared.  Blocks
are one instruction long here, so each vector is exactly one translation.
Instructions the translator leaves to the VMM's Z80 model (emu.vmm.bt_z80_gen
says which) pass through that callout; ``test_translated_share`` checks that
most opcode files really run as x86 code.  Default: 2 vectors of every file;
slow: all 100."""
import numpy as np
import pytest

from cores.z80 import Z80
from emu import abi
from emu.vmm.bt_z80_engine import Z80Engine
from emu.vmm.hostmem import HostMemory
from emu.vmm.trap import HostCPU

from .test_z80_vectors import FILES, REGS, SKIP, final_problems, load, run_one


class Rig:
    def __init__(self):
        self.hm = HostMemory(8 << 20)
        self.host = HostCPU(self.hm, False, 25e6)
        self.cpu = Z80(4e6)
        fr = self.hm.alloc(16, "z80", contiguous=True)
        rp = np.repeat(fr * 4096, 16) + np.tile(np.arange(16, dtype=np.int64) * 256, 16)
        self.mem = (self.hm.data, rp, rp.copy(), np.zeros(1 << 16, dtype=np.uint16),
                    np.zeros(3 * abi.IOLOG_ENTRIES, dtype=np.int64))
        self.base = int(fr[0]) * 4096
        self.eng = Z80Engine(self.hm, self.host, self.cpu.state, self.mem, "z80", max_insns=1)


RIG = None


def rig():
    global RIG
    if RIG is None:
        RIG = Rig()
    return RIG


def run_vector(t):
    g = rig()
    cpu, eng, data, base = g.cpu, g.eng, g.hm.data, g.base
    ini = t["initial"]
    cpu.state[:] = 0
    cpu.state[abi.S_BREAK] = -1
    cpu.set_registers(**{k: ini[k] for k in REGS if k in ini})
    data[base:base + 0x10000] = 0
    for a, v in ini["ram"]:
        data[base + a] = v
    eng.flush()
    i0 = int(eng.stats["interp"])
    writes = run_one(t, lambda: eng.run(1), cpu.state)
    problems = final_problems(t, cpu.get_registers(), lambda a: data[base + a], writes)
    return problems, eng.stats["interp"] == i0


def check_file(name, count):
    failures, native = [], 0
    for t in load(name)[:count]:
        p, translated = run_vector(t)
        native += translated
        if p:
            failures.append(f"{t['name']}: {', '.join(p)}")
    assert not failures, f"{len(failures)} failing, e.g. " + "; ".join(failures[:3])
    return native


@SKIP
@pytest.mark.parametrize("name", FILES)
def test_bt_z80_vectors_sample(name):
    check_file(name, 2)


@SKIP
@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_bt_z80_vectors_full(name):
    check_file(name, 100)


@SKIP
def test_translated_share():
    """All but a few opcode files run as x86 code, not on the VMM's Z80 model (the
    untranslated ones: emu.vmm.bt_z80_gen)."""
    native = sum(check_file(n, 1) for n in FILES)
    assert native >= 0.97 * len(FILES), native      # (1571 of 1604: all but I/O and HALT)


@SKIP
def test_in_a_n_of_a_published_port_runs_as_x86_code():
    """IN A,(n) of a port whose status byte the machine publishes (emu.abi IOF_READ),
    with a port mask of FF as the CP/M machine has: in x86 code, no callout."""
    g = rig()
    eng = Z80Engine(g.hm, g.host, g.cpu.state, g.mem, "z80-fastin", max_insns=1, port_mask=0xFF)
    saved, g.eng = g.eng, eng
    saved.leave()                                     # (two engines share the host CPU: a world switch)
    try:
        for t in load("db")[:20]:
            (port, value, _), = t["ports"]
            g.mem[3][:] = 0
            g.mem[3][port & 0xFF] = (value << 8) | abi.IOF_READ
            t = dict(t, ports=[])                     # answered without an exit
            problems, translated = run_vector(t)
            assert not problems and translated, (t["name"], problems)
    finally:
        eng.leave()
        g.eng = saved
        saved.enter()
        g.mem[3][:] = 0
        eng.destroy()
