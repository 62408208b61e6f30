"""Script hooks (Machine.on_exec / on_read / on_write / on_port, on top of the debugger's
breakpoints and watchpoints), x86 exception and mode-switch breakpoints, and 32-bit
disassembly in the debugger.

Facts used: roms_test/cpm/bios.asm (the BIOS jump table at FA00h, CONOUT at FA0Ch:
``ld a,c; out (CONDAT_P=01h),a``), roms_test/cpm/progs/hello.com (``ld de,msg; ld c,9;
call 5; ret`` with msg at 109h, printed by BDOS function 9), roms_test/os (the PM OS:
``fault div`` divides by zero in ring 3, ``fault kernel`` writes to 00100000h, a
supervisor page, and the kernel reports what it was told)."""
import re
import shutil

import pytest

from emu import Machine, abi
from emu.debugger import DebugError
from tests.conftest import ROOT

CPM = ROOT / "roms_test" / "cpm"
HELLO = (CPM / "progs" / "hello.com").read_bytes()
MSG = 0x109                                           # msg: in hello.asm
CONOUT = 0xFA0C                                       # BIOS jump table entry 4


@pytest.fixture(scope="module")
def cpm():
    m = Machine.load("cpm")
    assert m.console.wait_for("A>", 10)
    m.console.take()
    return m


def _run_command(m, line):
    m.type(line + "\r")
    assert m.run_until(lambda mm: mm.console.text.endswith("\r\nA>"), 30), m.console.text
    return m.console.take()


def test_cpm_hooks_see_what_the_guest_does_and_the_machine_goes_on(cpm):
    m = cpm
    starts, chars, ports, reads, writes = [], [], [], [], []
    hooks = [
        m.on_exec(0x100, lambda mm: starts.append(int(mm.cpu.state[abi.S_INSNS]))),
        m.on_exec(CONOUT, lambda mm: chars.append(mm.cpu.get_registers()["c"])),
        m.on_port(1, lambda mm, a: ports.append(a)),
        m.on_read(range(MSG, len(HELLO) + 0x100), lambda mm, a: reads.append(a)),
        m.on_write((MSG, len(HELLO) + 0x100), lambda mm, a: writes.append(a)),
    ]
    assert m.scheduler.cpu_hooks                       # hooks installed the debugger's loop
    out = _run_command(m, "hello")
    assert "Hello, world from CP/M!" in out            # the machine went on
    assert len(starts) == 1                            # the TPA entered once
    text = out.encode()
    assert bytes(chars) == text                        # every character passed CONOUT (C)
    assert bytes(a.value for a in ports if a.kind == "out") == text   # ... and OUT (01h),A
    assert all(a.addr & 0xFF == 1 for a in ports)      # (A15-A8 carry A on the Z80)
    assert "".join(chr(a.value) for a in ports if a.kind == "in") == "hello\r"   # CONIN
    # BDOS 9 read every byte of msg up to and including '$', each with its value
    assert sorted({a.addr for a in reads}) == list(range(MSG, 0x100 + len(HELLO)))
    assert all(a.size == 1 and a.value == HELLO[a.addr - 0x100] for a in reads)
    # loading HELLO.COM wrote the bytes of the file there (a disk DMA: one changed span)
    got = {}
    for a in writes:
        for i in range(a.size):
            got[a.addr + i] = (a.value >> (8 * i)) & 0xFF
    assert all(got[x] == HELLO[x - 0x100] for x in range(MSG, 0x100 + len(HELLO)))
    assert all(h.calls > 0 for h in hooks)
    for h in hooks:
        h.remove()
    assert not m.scheduler.cpu_hooks and m.cpu.state[abi.S_BREAK] == -1
    sp = m.spaces["maincpu"]
    assert not sp.read_traps and not sp.write_traps and not sp.io_hold
    n = len(chars)
    assert "Hello" in _run_command(m, "hello") and len(chars) == n    # removed: not called


def test_one_exec_hook_runs_whole_slices_and_a_hook_can_stop(cpm):
    m = cpm
    seen = []

    def fn(mm):
        seen.append(mm.cpu.pc)
        if len(seen) == 3:
            mm.stop_requested = "third character"
    h = m.on_exec(CONOUT, fn)
    d = m.debugger
    assert not d._stepping and m.cpu.state[abi.S_BREAK] == CONOUT   # S_BREAK, no stepping
    m.type("dir\r")
    for _ in range(200):
        m.step_frame()
        if m.stop_requested:
            break
    assert m.stop_requested == "third character" and seen == [CONOUT] * 3
    m.stop_requested = None
    h.remove()
    h.remove()                                         # twice: harmless
    assert "HELLO" in m.console.take() + _wait_prompt(m)


def _wait_prompt(m):
    assert m.run_until(lambda mm: mm.console.text.endswith("A>"), 30)
    return m.console.take()


def test_hooks_and_breakpoints_together(cpm):
    m = cpm
    calls = []
    h = m.on_exec(0x100, lambda mm: calls.append(1))
    d = m.debugger
    d.command("bp 100")
    m.type("hello\r")
    out = d.resume(max_seconds=10)
    assert out.startswith("breakpoint") and m.cpu.pc == 0x100 and calls == [1]
    assert d.command("bplist").count("at 100") == 1    # the hook is not listed
    d.command("bpclear")                               # ... nor deleted
    assert h.active
    d.resume(max_seconds=0.5)
    assert calls == [1]                                # not called again at the same arrival
    h.remove()
    _wait_prompt(m)


@pytest.mark.parametrize("call,msg", [
    (lambda m: m.on_exec("zz", print), "bad expression"),
    (lambda m: m.on_exec(0x100, 5), "not callable"),
    (lambda m: m.on_read(range(5, 5), print), "bad range"),
    (lambda m: m.on_write((10, 2), print), "bad range"),
    (lambda m: m.on_port(0x10000, print), "bad port"),
    (lambda m: m.on_read(range(0, 0x20000), print), "hook range"),
])
def test_bad_hooks_are_refused_in_one_line(cpm, call, msg):
    with pytest.raises(DebugError) as e:
        call(cpm)
    assert msg in str(e.value) and "\n" not in str(e.value)
    assert not cpm.scheduler.cpu_hooks
