"""Rewind (emu/rewind.py): snapshots as reverse dirty-page deltas under a memory cap.
Going back must give exactly the machine as it was: each check compares with the
machine's own save state written at that moment (memory, CPU state, disks)."""
import subprocess
import sys

import numpy as np
import pytest

from emu.errors import EmuError
from emu.machine import Machine
from tests.conftest import ROOT


def states_equal(m, path):
    """The machine now against the save state at ``path`` (memory, CPUs, device arrays)."""
    with np.load(path) as z:
        assert np.array_equal(m.mem.snapshot(), z["memory"])
        for name, cpu in m.cpus.items():
            assert np.array_equal(cpu.state, z[f"cpu.{name}"]), name
        for k in z.files:
            if k.startswith("dev.") and z[k].nbytes >= 64 << 10:      # disks: kept as deltas
                dev, field = k[4:].split(".", 1)
                assert np.array_equal(np.asarray(m.devices[dev].save_state()[field]).reshape(-1).view(np.uint8),
                                      z[k].reshape(-1).view(np.uint8)), k


def test_cpm_goes_back_snapshot_by_snapshot(tmp_path):
    m = Machine.load("cpm")
    try:
        m.run_for(0.5)
        m.enable_rewind(span=30, interval=0.25)
        marks = []
        for i in range(4):
            m.type("DIR\r") if i == 1 else None
            m.run_for(0.25)
            p = tmp_path / f"s{i}.state"
            m.save_state(p)
            marks.append((m.time, p))
        m.run_for(0.6)
        for t, p in reversed(marks):               # back through every delta in turn
            assert m.rewind(m.time - t) == pytest.approx(t)
            states_equal(m, p)
        m.run_for(0.5)                              # and it runs on from there
        assert m.time > marks[0][0]
    finally:
        m.shutdown()


def test_pc_disk_writes_are_undone(tmp_path):
    img = tmp_path / "os.img"
    img.write_bytes((ROOT / "roms_test" / "os" / "os.img").read_bytes())
    m = Machine.load("pc", {"hdd": img}, persist=False)
    try:
        com = m.devices["com1"].backend
        assert m.run_until(lambda mm: com.output.endswith(b"$ "), 30)
        m.enable_rewind(span=30, interval=0.2)
        m.run_for(0.2)
        before = tmp_path / "before.state"
        m.save_state(before)
        t0 = m.time
        com.feed(b"echo rewound > r\r")
        n = len(com.output)
        assert m.run_until(lambda mm: com.output[n:].endswith(b"$ "), 30)
        m.run_for(1.0)                              # (several snapshots later)
        assert len(m.rewinder.snaps) > 3
        m.rewind(m.time - t0)
        states_equal(m, before)
        com.feed(b"cat r\r")
        n = len(com.output)
        assert m.run_until(lambda mm: com.output[n:].endswith(b"$ "), 30)
        assert b"rewound" not in com.output[n:]    # the file was never written
    finally:
        m.shutdown()


def test_the_memory_cap_and_the_span_bound_the_history():
    m = Machine.load("cpm")
    try:
        rw = m.enable_rewind(span=1.0, interval=0.1)
        m.run_for(3.0)
        assert rw.seconds <= 1.0 + 0.2
        small = m.enable_rewind(span=30, interval=0.1, cap=150 << 10)
        m.type("DIR\r")
        m.run_for(2.0)
        assert small.nbytes <= (150 << 10) or len(small.snaps) == 1
        assert small.seconds < 2.0
    finally:
        m.shutdown()


def test_rewind_off_and_bad_arguments_are_one_line_errors():
    m = Machine.load("toy")
    try:
        with pytest.raises(EmuError, match="rewind is off"):
            m.rewind(1.0)
    finally:
        m.shutdown()
    r = subprocess.run([sys.executable, "-m", "emu", "run", "toy", "--headless", "--frames", "2",
                        "--rewind", "-1"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--rewind -1" in r.stderr
