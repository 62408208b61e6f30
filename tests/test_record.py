"""Recording and replay (emu/record.py): a replay reproduces the recorded run bit for
bit: the screen frame by frame and the final machine state, though the host's
clock (which the PC's RTC starts from) has moved on and the host input is gone."""
import hashlib
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from emu.machine import Machine
from emu.record import Recorder, RecordError, Replayer
from tests.conftest import ROOT

OS = ROOT / "roms_test" / "os" / "os.img"


def run_pc(img, frames, record=None, replay=None):
    m = Machine.load("pc", {"hdd": img}, persist=False)
    rec = Recorder(m, record) if record else None
    if replay:
        m.replayer = Replayer(m, replay)
    hashes = []
    try:
        for f in range(frames):
            if rec is not None and f == 40:                   # host input, at known frames
                m.devices["com1"].backend.feed(b"hello replay\r")
            if rec is not None and f == 90:
                m.key_event("a", True)
                m.key_event("a", False)
            m.step_frame()
            hashes.append(hashlib.sha1(m.screen.framebuffer.tobytes()).hexdigest())
        return hashes, m.mem.snapshot(), m.cpu.state.copy(), m.devices["com1"].backend.output
    finally:
        if rec is not None:
            rec.finish()
        m.shutdown()


def test_a_replay_is_the_recorded_run_frame_by_frame(tmp_path):
    img = tmp_path / "os.img"
    img.write_bytes(OS.read_bytes())
    rec = tmp_path / "run.rec"
    a = run_pc(img, 150, record=rec)
    assert b"hello from pid" in a[3]                         # the input did something
    time.sleep(1.1)                                          # the host clock moves on
    b = run_pc(img, 150, replay=rec)
    assert a[0] == b[0]                                      # every frame's screen
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2]) and a[3] == b[3]
    c = run_pc(img, 150)                                     # without the recording: not the same
    assert not np.array_equal(a[1], c[1])


def test_the_cli_records_and_replays(tmp_path):
    rec, s1, s2 = tmp_path / "c.rec", tmp_path / "1.state", tmp_path / "2.state"

    def emu(*args):
        return subprocess.run([sys.executable, "-m", "emu", "run", "cpm", "--headless", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    r = emu("--frames", "120", "--type", "DIR\\r", "--record", str(rec), "--save-state", str(s1))
    assert r.returncode == 0, r.stderr
    assert json.loads(rec.read_text())["frames"] == 120
    r = emu("--replay", str(rec), "--save-state", str(s2))
    assert r.returncode == 0, r.stderr
    with np.load(s1) as x, np.load(s2) as y:
        assert np.array_equal(x["memory"], y["memory"]) and np.array_equal(x["cpu.maincpu"], y["cpu.maincpu"])
    bad = tmp_path / "bad.rec"
    bad.write_text("{not json")
    r = emu("--replay", str(bad))
    assert r.returncode == 2 and "not a recording or damaged" in r.stderr and r.stderr.count("\n") == 1


def test_a_recording_is_refused_for_another_machine_or_changed_media(tmp_path):
    img = tmp_path / "os.img"
    img.write_bytes(OS.read_bytes())
    rec = tmp_path / "r.rec"
    run_pc(img, 5, record=rec)
    m = Machine.load("cpm")
    try:
        with pytest.raises(RecordError, match="recorded on machine 'pc'"):
            Replayer(m, rec)
    finally:
        m.shutdown()
    data = bytearray(img.read_bytes())
    data[1024 * 512] ^= 0xFF                                 # the file system's superblock
    img.write_bytes(bytes(data))
    m = Machine.load("pc", {"hdd": img}, persist=False)
    try:
        with pytest.raises(RecordError, match="slot 'hdd' is not the one recorded with"):
            Replayer(m, rec)
    finally:
        m.shutdown()
