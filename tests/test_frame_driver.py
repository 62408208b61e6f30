"""A machine whose device drives the frames (machines/sms.yaml's board) keeps
emulated time like any other: Machine.time follows the CPU's clock, timers fire
at their deadlines, every device's frame_end runs, and `emu check` refuses what
a frame driver cannot do (a second CPU, another device on the CPU's INT pin)."""
import math
import subprocess
import sys

import pytest
import yaml

from emu.device import Device
from emu.errors import ConfigError

pytest.importorskip("cores.z80")
from emu.machine import Machine  # noqa: E402

CLOCK = 3579545
FRAME_CYCLES = 262 * 228                 # NTSC: 262 lines of 228 Z80 cycles


class FrameCounter(Device):
    """Counts frame_end calls (a device's per-frame hook)."""

    def reset(self):
        self.frames = 0

    def frame_end(self):
        self.frames += 1


def sms_with(tmp_path, root, **extra):
    """machines/sms.yaml plus ``extra`` top-level keys merged into it, as a file."""
    raw = yaml.safe_load((root / "machines" / "sms.yaml").read_text())
    raw["media"]["cart"]["default"] = str(root / "roms_test" / "sms" / "game.sms")
    for key, value in extra.items():
        raw[key] = {**raw.get(key, {}), **value}
    path = tmp_path / "sms_plus.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_time_timers_and_frame_hooks_run_under_the_frame_driver(tmp_path, root):
    path = sms_with(tmp_path, root, devices={
        "tick": {"type": "timer", "hz": 1000},
        "count": {"type": "tests.test_frame_driver:FrameCounter"}})
    with Machine.load(path) as m:
        fired = []
        m.scheduler.periodic(lambda: fired.append(m.cpu.cycles), 1 / 997)
        m.step_frame(30)
        # time is the CPU's: 30 frames of 59,736 cycles at 3.579545 MHz
        assert m.cpu.cycles == 30 * FRAME_CYCLES
        assert m.time == pytest.approx(30 * FRAME_CYCLES / CLOCK)
        assert m.devices["tick"].ticks == int(m.time * 1000)
        assert m.devices["count"].frames == 30
        # each timer fired when the CPU reached its deadline (the longest Z80
        # instruction is 23 cycles), not at the end of the frame
        assert len(fired) == int(m.time * 997)
        for k, cycles in enumerate(fired, 1):
            due = math.ceil(k / 997 * CLOCK)
            assert 0 <= cycles - due <= 23, (k, cycles, due)


@pytest.mark.parametrize("extra,problem", [
    ({"devices": {"tick": {"type": "timer", "irq": "maincpu"}}},
     "devices.tick.irq: the frame driver 'board' drives maincpu's INT line itself"),
    ({"cpus": {"sound": {"core": "z80", "clock": "3MHz"}}},
     "devices.board: a frame driver runs one CPU, this machine has 2 (maincpu, sound)"),
])
def test_check_refuses_what_a_frame_driver_cannot_run(tmp_path, root, extra, problem):
    from emu.config import load_spec
    path = sms_with(tmp_path, root, **extra)
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_spec(path)
    r = subprocess.run([sys.executable, "-m", "emu", "check", str(path)], capture_output=True,
                       text=True, cwd=root)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and problem in r.stderr and "Traceback" not in r.stderr


def test_a_timer_on_nmi_is_accepted(tmp_path, root):
    from emu.config import load_spec
    load_spec(sms_with(tmp_path, root, devices={"tick": {"type": "timer", "irq": "maincpu.nmi"}}))
