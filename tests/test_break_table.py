"""The cores' break table (emu/abi.py, "Execution breakpoints"): many execution
breakpoints checked by the cores themselves, on every path, stopping exactly before the
instruction; and the debugger running whole slices with them.

Ground truth is single-stepping: on the bare cores ``run(state, mem, 1)`` (one
instruction, or one piece of a REP), on the machines the debugger's ``step`` (which
runs the CPU one instruction at a time and checks in Python); the sequence of
(PC, instructions retired) it produces is what the breakpoints must find, in order.

* bare cores, a breakpoint on every instruction of a workload (cores/x86/bench.py's
  real-mode loop: inline fast path and general decoder; its protected-mode loop with
  paging, CPL 3 and INT 80h system calls: fast32's path, the general decoder, an
  interrupt gate; cores/z80/bench.py's loop): every run must stop before the very next
  instruction, so a path that skipped the check would run past one and fail;
* machines (roms_test/): the pc BIOS in real mode, the protected-mode OS's kernel and
  shell, CP/M, the toy ROM: several breakpoints spread over the executed code hit in
  the order and at the instruction counts stepping found.
"""
import json
import shutil

import numpy as np
import pytest

from emu import Machine, abi
from emu.core import flat_memory
from tests.conftest import ROOT


# ---- bare cores -------------------------------------------------------------------------
def _stepped(cpu, mem, n):
    """(pc, insns) before each of the next n instructions, by run(state, mem, 1)."""
    seq = []
    while len(seq) < n:
        at = (cpu.pc, int(cpu.state[abi.S_INSNS]))
        if not seq or seq[-1] != at:              # (a REP goes on in pieces: one entry)
            seq.append(at)
        cpu.execute(mem, 1)
    return seq


def _with_breaks(cpu, mem, addrs, n):
    """(pc, insns) of the next n stops with the break table holding ``addrs``."""
    assert cpu.set_breakpoints(addrs)
    out = []
    for _ in range(n):
        r = cpu.execute(mem, 10_000_000)
        assert r == abi.EXIT_BREAKPOINT, abi.EXIT_NAMES.get(r, r)
        out.append((cpu.pc, int(cpu.state[abi.S_INSNS])))
    cpu.set_breakpoints(())
    return out


def _retrace(make, n, warm=0):
    """Two identical cores: one stepped, one with a breakpoint on every address the
    stepped one executed; the breakpointed runs stop at each next instruction."""
    a, mem_a = make()
    b, mem_b = make()
    for c, mem in ((a, mem_a), (b, mem_b)):
        if warm:
            c.execute(mem, warm)
    seq = _stepped(a, mem_a, n)
    addrs = {pc for pc, _ in seq}
    assert len(addrs) <= abi.BT_MAX, len(addrs)
    assert _with_breaks(b, mem_b, addrs, n - 1) == seq[1:]
    assert b.state[b.break_table + abi.BT_COUNT] == 0
    return seq


def test_x86_real_mode_every_instruction_stops(root):
    from cores.x86 import X86
    from cores.x86 import bench

    def make():
        x = X86(4.77e6)
        mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)
        mem[0][:len(bench.PROGRAM)] = np.frombuffer(bench.PROGRAM, dtype=np.uint8)
        x.set_registers(cs=0, ip=0)
        return x, mem
    seq = _retrace(make, 1200)
    assert len({pc for pc, _ in seq}) > 20            # the whole loop, REP MOVSW included


@pytest.mark.parametrize("which", ["syscalls", "loop"])
def test_x86_protected_mode_paging_every_instruction_stops(which):
    from cores.x86 import bench
    from cores.x86 import cpu as c

    def make():
        if which == "loop":
            x, mem = bench._pm_machine(bench._pm_loop_image(), bench.LOOP)
            x.set_registers(esi=0xFFFFFFFF)
        else:
            x, mem = bench._pm_machine(bench._pm_image(), bench.UCODE)
            x.set_registers(ecx=30)                   # a system call every 30 iterations
        return x, mem
    seq = _retrace(make, 1500)
    if which == "syscalls":                           # ring 3 and the INT 80h handler
        assert any(bench.KCODE <= pc < bench.KCODE + 7 for pc, _ in seq)
        assert any(bench.UCODE <= pc < bench.UCODE + 0x40 for pc, _ in seq)
    a, mem = make()
    a.execute(mem, 5000)
    assert a.state[c.CR0] & c.PG and a.state[c.CSD]    # (the fast32 path's conditions)


def test_z80_every_instruction_stops():
    from cores.z80 import Z80
    from cores.z80 import bench

    def make():
        z = Z80(4e6)
        mem = flat_memory(16, Z80.page_bits)
        mem[0][:len(bench.PROGRAM)] = np.frombuffer(bench.PROGRAM, dtype=np.uint8)
        return z, mem
    seq = _retrace(make, 2000)
    assert len({pc for pc, _ in seq}) > 20


def test_the_table_and_s_break_together_and_the_first_instruction():
    """S_BREAK and the table both stop the core; a run never stops at its first
    instruction (it resumes from a breakpoint address); the table survives a reset."""
    from cores.z80 import Z80
    from cores.z80 import bench
    def make():
        mem = flat_memory(16, Z80.page_bits)
        mem[0][:len(bench.PROGRAM)] = np.frombuffer(bench.PROGRAM, dtype=np.uint8)
        return Z80(4e6), mem
    pcs = [pc for pc, _ in _stepped(*make(), 40)]
    first_at = {pc: pcs.index(pc) for pc in pcs}
    z, mem = make()
    x, y = pcs[4], pcs[6]                             # add a,a / ld (ix+0),a: first time round
    z.set_breakpoints({y})
    z.state[abi.S_BREAK] = x
    assert z.execute(mem, 1000) == abi.EXIT_BREAKPOINT and z.pc == x
    assert z.state[abi.S_INSNS] == first_at[x]
    assert z.execute(mem, 1000) == abi.EXIT_BREAKPOINT and z.pc == y
    assert z.state[abi.S_INSNS] == first_at[y]
    z.state[abi.S_BREAK] = -1
    assert z.set_breakpoints({y}) and z.execute(mem, 1000) == abi.EXIT_BREAKPOINT and z.pc == y
    assert z.state[abi.S_INSNS] > first_at[y]         # the next time round the loop
    z.reset()
    assert z.state[z.break_table + abi.BT_COUNT] == 1
    assert not z.set_breakpoints(range(abi.BT_MAX + 1))   # too many: refused, table empty
    assert z.state[z.break_table + abi.BT_COUNT] == 0


# ---- machines: the debugger with several breakpoints on real ROMs -------------------------
def _ground_truth(m, n):
    """(pc, insns) of the CPU's next n arrivals at an instruction, by `step`: each
    instruction executed, and each PC where an interrupt was taken instead (a
    breakpoint there stops before the interrupt; the instruction comes after the
    handler, a second arrival)."""
    d = m.debugger
    seq = []
    orig = d._step_one

    def record(cpu):
        pc, k = cpu.pc, int(cpu.state[abi.S_INSNS])
        why = orig(cpu)
        if (cpu.pc, int(cpu.state[abi.S_INSNS])) != (pc, k):
            seq.append((pc, k))
        return why
    d._step_one = record
    try:
        while len(seq) < n:
            d.command(f"s {n - len(seq):x}")         # (hex, as every debugger number)
    finally:
        del d._step_one
    return seq


def _pick(seq, k):
    """k breakpoint addresses spread over the executed code, none at the start PC."""
    start = seq[0][0]
    order = []
    for pc, _ in seq[1:]:
        if pc != start and pc not in order:
            order.append(pc)
    step = max(1, len(order) // k)
    return order[::step][:k]


def _stops(m, addrs, n):
    """(pc, insns) of the first n stops of `g` with breakpoints at ``addrs``, which the
    core checks (the break table): the CPU runs whole slices."""
    d = m.debugger
    for x in addrs:
        d.command(f"bp {x:x}")
    assert not d._stepping
    bt = m.cpu.break_table
    assert sorted(int(v) for v in m.cpu.state[bt + abi.BT_ADDRS:][:len(addrs)]) == sorted(addrs)
    d.GO_LIMIT = 1.0
    got = []
    while len(got) < n:
        out = d.command("g")
        if out.startswith("still running"):          # none of them is reached any more
            break
        assert out.startswith("breakpoint"), out
        got.append((m.cpu.pc, int(m.cpu.state[abi.S_INSNS])))
    return got


def _check_breaks(make, n, k, prepare=lambda m: None):
    """Step a machine n instructions; pick k addresses it executed; a second machine, the
    same up to there, goes with breakpoints on them: it stops at each arrival at one of
    them that stepping found, in order, at the same instruction count.  (Stepping and
    whole slices deliver posted port writes at different times, so on a pc the two
    runs part after some 10**4 instructions: n stays below that.)"""
    ms = [make() for _ in range(2)]
    try:
        for m in ms:
            prepare(m)
        assert ms[0].cpu.pc == ms[1].cpu.pc and ms[0].cpu.cycles == ms[1].cpu.cycles
        seq = _ground_truth(ms[0], n)
        addrs = _pick(seq, k)
        want = [(pc, i) for pc, i in seq[1:] if pc in addrs]
        got = _stops(ms[1], addrs, len(want))
        assert got == want
        assert len(want) >= k and {pc for pc, _ in want} == set(addrs)
        return seq, addrs
    finally:
        for m in ms:
            m.shutdown()


def test_toy_rom_several_breakpoints():
    _check_breaks(lambda: Machine.load("toy"), 400, 6)


def test_cpm_several_breakpoints():
    """CP/M from its boot ROM: the loader, the BDOS and BIOS up to the prompt."""
    seq, _ = _check_breaks(lambda: Machine.load("cpm"), 6000, 12)
    assert max(pc for pc, _ in seq) >= 0xE000          # (into the resident system)


def test_pc_bios_real_mode_several_breakpoints():
    """The pc BIOS's power-on code (real mode: the inline path and the general one)."""
    _check_breaks(lambda: Machine.load("pc"), 8000, 16)


def test_pm_os_several_breakpoints(tmp_path):
    """The protected-mode OS's kernel once it is up (paging, ring 0 and ring 3, the timer
    interrupt): from its shell prompt, running a command."""
    from cores.x86 import cpu as c
    disks = iter(range(2))

    def make():
        img = tmp_path / f"os{next(disks)}.img"
        shutil.copyfile(ROOT / "roms_test" / "os" / "os.img", img)
        return Machine.load("pc", {"hdd": img})

    def prepare(m):
        assert m.run_until(lambda mm: "\n$ " in mm.devices["com1"].backend.output.decode("latin1"), 30)
        m.type("ps\r")
        assert m.cpu.state[c.CR0] & c.PG
    _check_breaks(make, 6000, 12, prepare)


def test_a_saved_state_loads_under_the_breakpoints_set_now(tmp_path):
    """The break table is the debugger's, not the machine's: loading a state (or
    rewinding) keeps the breakpoints set now; a state of other CPU arrays is refused."""
    from emu import savestate
    from emu.errors import StateError
    m = Machine.load("toy")
    d = m.debugger
    d.command("bp 42")
    m.step_frame(1)
    savestate.save(m, tmp_path / "a.state")
    d.command("bpclear")
    d.command("bp 50")
    d.command("bp 8")
    savestate.load(m, tmp_path / "a.state")
    bt = m.cpu.break_table
    assert sorted(int(v) for v in m.cpu.state[bt + abi.BT_ADDRS:][:2]) == [0x08, 0x50]
    assert m.cpu.state[bt + abi.BT_COUNT] == 2
    meta, arrays = savestate.capture(m)
    arrays["cpu.maincpu"] = arrays["cpu.maincpu"][:-abi.BT_SIZE]      # (a format-2 CPU array)
    with open(tmp_path / "b.state", "wb") as f:
        np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    with pytest.raises(StateError, match="damaged"):
        savestate.load(m, tmp_path / "b.state")
