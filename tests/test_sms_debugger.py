"""The debugger and script hooks on the sms machine, whose board drives the frames
(emu.machines.sms): while anything is set the board runs the frame in Python around
the debugger's CPU loop, and the machine runs as it does in the compiled frame loop.

Facts used (roms_test/sms/common.inc and game.asm, the bundled Snake): the frame
interrupt handler at 0038h is ``push af; in a,(VDP_CTRL=BFh); ld a,(frame); inc a;
ld (frame),a`` with ``frame`` at C000h, so 003Fh writes the frame counter; the main
loop is ``loop: halt; call game_frame; jr loop``."""
import re

import numpy as np
import pytest

from emu import Machine
from tests.conftest import ROOT
from tests.test_break_table import _check_breaks

pytest.importorskip("cores.z80")

GAME = (ROOT / "roms_test" / "sms" / "game.sms").read_bytes()
IRQ, WRITE_FRAME, FRAME = 0x38, 0x3F, 0xC000
_m = re.search(rb"\x76\xCD(..)\x18\xFA", GAME, re.S)         # loop: halt; call game_frame; jr loop
GAME_FRAME = int.from_bytes(_m.group(1), "little")
LOOP = _m.start()


def _sms():
    m = Machine.load("sms")
    m.debugger.GO_LIMIT = 2.0
    return m


def _same(a, b):
    bt = a.cpu.break_table                          # (b's holds its hook's address)
    assert np.array_equal(a.cpu.state[:bt], b.cpu.state[:bt])
    assert np.array_equal(a.mem.data, b.mem.data)
    board_a, board_b = a.devices["board"], b.devices["board"]
    for f in ("vram", "cram", "vs", "psg", "sys"):
        assert np.array_equal(getattr(board_a, f), getattr(board_b, f)), f


def test_the_python_frame_path_runs_the_machine_as_the_compiled_one():
    """A hook that never fires puts the board on its Python frame path: 20 frames there
    leave the machine exactly as 20 compiled frames do (CPU, memory, VDP, PSG)."""
    a, b = _sms(), _sms()
    for m in (a, b):
        m.step_frame(3)
    h = b.on_exec(0x7FF0, lambda m: None)              # (the header: never executed)
    assert b.scheduler.cpu_hooks
    for m in (a, b):
        m.step_frame(20)
    _same(a, b)
    assert a.screen.framebuffer.tobytes() == b.screen.framebuffer.tobytes()
    h.remove()
    assert not b.scheduler.cpu_hooks                   # back to the compiled loop
    for m in (a, b):
        m.step_frame(5)
    _same(a, b)


def test_sms_breakpoints_against_stepping():
    """Several breakpoints in Snake (start-up, the frame handler, game_frame) hit at the
    arrivals single-stepping found."""
    _check_breaks(_sms, 4000, 10, prepare=lambda m: m.step_frame(2))


def test_sms_breakpoint_step_watchpoint_and_stop_mid_frame():
    m = _sms()
    d = m.debugger
    m.step_frame(30)                                   # (the frame interrupt is on from frame 18)
    d.command(f"bp {GAME_FRAME:x}")
    out = d.command("g")
    assert out.startswith("breakpoint 1") and m.cpu.pc == GAME_FRAME
    assert m.cpu.get_registers()["sp"] < 0xDFF0       # (called: the return address pushed)
    d.command("bpclear")
    d.command("s")
    assert m.cpu.pc == GAME_FRAME + 3                  # ld a,(dead): three bytes
    before = m.memory[FRAME]
    d.command(f"wp {FRAME:x},1,w")
    out = d.command("g")
    assert re.match(f"watchpoint \\d+: write to {FRAME:X}-{FRAME:X} at {WRITE_FRAME:X}\n", out), out
    assert m.memory[FRAME] == (before + 1) & 0xFF
    d.command("wpclear")
    n = m.memory[FRAME]
    m.step_frame(10)                                   # compiled again: the game runs on (the
    assert not m.scheduler.cpu_hooks and m.memory[FRAME] == (n + 9) & 0xFF   # first ends this one)


def test_sms_script_hooks():
    """on_exec, on_write and on_port on the sms: each frame runs the handler once, reads
    VDP_CTRL there and writes the frame counter."""
    m = _sms()
    m.step_frame(30)                                   # (the frame interrupt is on from frame 18)
    seen = {"exec": [], "write": [], "port": []}
    hs = [m.on_exec(IRQ, lambda mm: seen["exec"].append(mm.cpu.pc)),
          m.on_write(FRAME, lambda mm, acc: seen["write"].append((acc.pc, acc.value))),
          m.on_port(0xBF, lambda mm, acc: seen["port"].append(acc.kind))]
    f0 = m.memory[FRAME]
    m.step_frame(10)
    assert seen["exec"] == [IRQ] * 10
    assert seen["write"] == [(WRITE_FRAME, (f0 + i) & 0xFF) for i in range(1, 11)]
    assert seen["port"].count("in") == 10
    for h in hs:
        h.remove()
    assert not m.scheduler.cpu_hooks
