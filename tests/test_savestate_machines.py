"""Save states of every shipped machine with a workload running: save in the
middle of the work, load the state in a fresh Python process, continue with the
same inputs, and require the screen, memory, CPU state, console output, disk
contents and sound to be identical to a run that was never interrupted.
Only the public Machine API is used (Machine.load, type, press, key_event,
step_frame, save_state, load_state, screen, memory, audio)."""
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

from emu.machine import Machine
from tests.conftest import ROOT


@dataclass
class Workload:
    media: list
    save_at: int                     # frame of the save
    total: int                       # frames in all
    inputs: dict = field(default_factory=dict)      # frame -> [(action, args...)]
    console: str = "console"         # the device whose text is the console output


WORKLOADS = {
    # the timer ISR counts ticks while the program echoes console input
    "toy": Workload([], 30, 90, {5: [("type", "ab")], 40: [("type", "cd")]}),
    # FILETEST creates, writes, renames and erases files on the (snapshot) disk;
    # the save falls in the middle of it
    "cpm": Workload([], 45, 175, {3: [("type", "FILETEST\r")], 155: [("type", "DIR\r")]}),
    # Snake: start, turn, and keep playing past the save
    "pc": Workload(["game.img"], 40, 100, {
        10: [("key", "space", True)], 12: [("key", "space", False)],
        25: [("key", "down", True)], 27: [("key", "down", False)],
        50: [("key", "left", True)], 52: [("key", "left", False)]}, console="debug"),
    "sms": Workload([], 60, 150, {
        20: [("press", "p1_button1")], 24: [("release", "p1_button1")],
        40: [("press", "p1_down")], 45: [("release", "p1_down")],
        80: [("press", "p1_left")], 86: [("release", "p1_left")]}, console=None),
}


def load(name, media_dir):
    w = WORKLOADS[name]
    m = Machine.load(name, [os.path.join(media_dir, f) for f in w.media] or None)
    if "rtc" in m.devices:
        # the pc's clock starts from the host's time: give every run the same start
        m.devices["rtc"].epoch = 1_700_000_000.0
    return m


def drive(m, name, start, end, record_from=None):
    w = WORKLOADS[name]
    for f in range(start, end):
        if f == record_from:
            m.audio.recording = []
        for action, *a in w.inputs.get(f, ()):
            {"type": m.type, "press": m.press, "release": m.release,
             "key": m.key_event}[action](*a)
        m.step_frame()


def results(m, name):
    w = WORKLOADS[name]
    disk = m.devices.get("disk")
    return {
        "memory": m.mem.data.copy(),
        "cpu": np.concatenate([c.state for c in m.cpu_list]),
        "screen": m.screen.framebuffer.copy() if m.screen else np.zeros(0),
        "console": np.frombuffer(m.devices[w.console].text.encode("latin-1"), np.uint8)
        if w.console else np.zeros(0),
        "disks": np.concatenate([np.frombuffer(bytes(u.data), np.uint8) for u in disk.units
                                 if u is not None]) if disk else np.zeros(0),
        "audio": np.concatenate(m.audio.recording or [np.zeros(0, np.int16)]),
        "clock": np.array([m.time, m.frame]),
    }


RESUME = """
import sys
import numpy as np
from tests.test_savestate_machines import WORKLOADS, drive, load, results
name, media_dir, state, out = sys.argv[1:]
m = load(name, media_dir)
m.load_state(state)
w = WORKLOADS[name]
drive(m, name, w.save_at, w.total, record_from=w.save_at)
np.savez(out, **results(m, name))
"""


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_state_saved_mid_work_resumes_identically_in_a_fresh_process(name, tmp_path):
    w = WORKLOADS[name]
    for f in w.media:
        shutil.copy(ROOT / "roms_test" / "x86" / f, tmp_path / f)
    # the reference: never interrupted
    ref = load(name, tmp_path)
    drive(ref, name, 0, w.total, record_from=w.save_at)
    want = results(ref, name)
    # the same inputs up to the save point, then a state file
    m = load(name, tmp_path)
    drive(m, name, 0, w.save_at)
    at_save = results(m, name)
    state = tmp_path / f"{name}.state"
    m.save_state(state)
    out = tmp_path / "resumed.npz"
    r = subprocess.run([sys.executable, "-c", RESUME, name, str(tmp_path), str(state), str(out)],
                       capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert r.returncode == 0, r.stderr
    with np.load(out) as z:
        got = {k: z[k] for k in z.files}
    bad = [k for k in want if not np.array_equal(want[k], got[k])]
    assert not bad, f"{name}: differs after resuming: {bad}"
    # the work was really under way at the save: the run went on changing things
    assert not np.array_equal(at_save["memory"], want["memory"])
    if m.screen is not None:
        assert not np.array_equal(at_save["screen"], want["screen"])
    if name in ("toy", "cpm"):
        assert len(want["console"]) > len(at_save["console"]) > 0
    if name == "cpm":
        assert "ALL PASSED" not in bytes(at_save["console"]).decode("latin-1")
        text = bytes(want["console"]).decode("latin-1")
        assert "FILETEST: ALL PASSED" in text and text.rstrip().endswith("A>")
        assert not np.array_equal(at_save["disks"], want["disks"])   # written after the save
    if name in ("pc", "sms"):
        assert len(want["audio"]) > 0
