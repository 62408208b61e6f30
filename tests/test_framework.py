"""The framework end to end on the toy machine (machines/toy.yaml, cores/toy8):
bus (ROM, RAM, mirror, bank, MMIO device), exits (port in/out, MMIO read/write,
posted writes, HLT, IRQ acknowledge, breakpoint, fault), scheduler (timer
interrupts in emulated time) and save states."""
import numpy as np
import pytest

from emu import abi
from emu.errors import GuestFault, StateError
from emu.machine import Machine


@pytest.fixture
def toy():
    return Machine.load("toy")


def test_program_output_through_mmio_console_and_bank(toy):
    toy.step_frame(1)
    # "HELLO\r\n" written byte by byte to the memory-mapped console, then the first
    # byte of data-ROM bank 2 (the bank window reads 'C' = 0x41 + 2)
    assert toy.console.text == "HELLO\r\nC"
    assert toy.spaces["maincpu"].banks["databank"].index == 2
    assert toy.memory[0x4000] == ord("C")


def test_posted_writes_arrive_in_order(toy):
    toy.step_frame(1)
    assert toy.devices["latch"].text == "PW"
    assert toy.cpu.state[abi.S_IOLOG_COUNT] == 0


def test_timer_interrupts_follow_emulated_time(toy):
    toy.step_frame(120)            # 2 s at 60 Hz
    ticks = toy.memory[0x8000]
    assert ticks == 119 or ticks == 120
    assert toy.memory[0x9000] == ticks          # mirror of RAM
    assert toy.console.text.endswith("T")       # printed after 60 ticks
    pc = toy.cpu.pc                              # idling: in 'idle:' or the ISR
    assert 0x5D <= pc <= 0x60 or 0x08 <= pc < 0x0E
    # the CPU idles in HLT: cycles still track emulated time (1 MHz)
    assert abs(toy.cpu.cycles - 2_000_000) < 2000


def test_console_input_through_restartable_mmio_reads(toy):
    toy.step_frame(2)
    toy.console.feed("hi!")
    toy.step_frame(2)
    assert toy.console.text == "HELLO\r\nChi!"


def test_mirror_write_reaches_ram(toy):
    toy.memory[0x9123] = 0x5A
    assert toy.memory[0x8123] == 0x5A
    toy.memory[0x0010] = 0x00          # ROM is not writable
    assert toy.memory[0x0010] == 0x03


def test_breakpoint_stops_the_run(toy):
    toy.cpu.state[abi.S_BREAK] = 0x42  # 'loop:'
    toy.step_frame(5)
    assert toy.stop_requested and "breakpoint" in toy.stop_requested
    assert toy.cpu.pc == 0x42


def test_undefined_opcode_is_a_clear_fault(toy):
    toy.memory[0x8800] = 0xEE
    toy.cpu.set_registers(pc=0x8800)
    with pytest.raises(GuestFault, match="fault"):
        toy.step_frame(1)


def _snapshot(m):
    return (m.mem.data.copy(), m.cpu.state.copy(), m.console.text, m.devices["tick"].ticks)


def test_save_load_round_trip_is_bit_identical(toy, tmp_path):
    toy.step_frame(20)
    toy.console.feed("q")
    path = tmp_path / "toy.state"
    toy.save_state(path)
    toy.step_frame(50)
    toy.console.feed("z")
    toy.step_frame(10)
    a = _snapshot(toy)
    # same machine object, rewound
    toy.load_state(path)
    toy.step_frame(50)
    toy.console.feed("z")
    toy.step_frame(10)
    b = _snapshot(toy)
    # a fresh machine restored from the file
    fresh = Machine.load("toy")
    fresh.load_state(path)
    fresh.step_frame(50)
    fresh.console.feed("z")
    fresh.step_frame(10)
    c = _snapshot(fresh)
    for x, y in ((a, b), (a, c)):
        assert np.array_equal(x[0], y[0])
        assert np.array_equal(x[1], y[1])
        assert x[2:] == y[2:]
    assert a[2] == "HELLO\r\nCqT"


def test_state_from_another_machine_is_refused(toy, tmp_path, root):
    path = tmp_path / "x.state"
    toy.save_state(path)
    other_yaml = tmp_path / "other.yaml"
    text = (root / "machines" / "toy.yaml").read_text().replace("name: toy", "name: other")
    other_yaml.write_text(text.replace("../roms_test", str(root / "roms_test")))
    other = Machine.load(str(other_yaml))
    with pytest.raises(StateError, match="for machine 'toy', not 'other'"):
        other.load_state(path)
    (tmp_path / "junk.state").write_bytes(b"not a state")
    with pytest.raises(StateError, match="not a save state"):
        toy.load_state(tmp_path / "junk.state")


def test_save_state_is_atomic(toy, tmp_path):
    path = tmp_path / "s.state"
    path.write_bytes(b"old")
    toy.save_state(path)
    assert not (tmp_path / "s.state.tmp").exists()
    assert path.read_bytes()[:2] == b"PK"


def test_trace_prints_disassembly(toy):
    import io
    from emu.frontend import trace
    out = io.StringIO()
    trace(toy, 3, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["000000", "05", "0E", "00"] and "JMP 000Eh" in lines[0]
    assert "LDI A,48h" in lines[1]
    assert "ST [F001h],A" in lines[2]
    assert toy.console.text == "H"


def test_reset_restores_power_on(toy):
    toy.step_frame(30)
    toy.reset()
    assert toy.memory[0x8000] == 0 and toy.cpu.pc == 0
    assert toy.spaces["maincpu"].banks["databank"].index == 0


def test_rebuild_matches_shipped_roms(tmp_path, root):
    """roms_test/toy/build.sh (the project's toyasm.py) makes the shipped ROMs."""
    import os
    import shutil
    import subprocess
    import sys
    work = tmp_path / "toy"
    shutil.copytree(root / "roms_test" / "toy", work)
    for f in ("demo.rom", "data.rom"):
        (work / f).unlink()
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    r = subprocess.run(["sh", str(work / "build.sh")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    for f in ("demo.rom", "data.rom"):
        assert (work / f).read_bytes() == (root / "roms_test" / "toy" / f).read_bytes(), f
