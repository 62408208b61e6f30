"""Save states are refused, with one line and without touching the machine,
when they were made by another machine file, ROM or cartridge set, media
layout or format version; and they are written atomically."""
import io
import json
import os
import shutil

import numpy as np
import pytest

from emu import savestate
from emu.errors import StateError
from emu.machine import Machine
from tests.conftest import ROOT

SMS = ROOT / "roms_test" / "sms"


def rewrite_meta(path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    meta.update(changes)
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    path.write_bytes(buf.getvalue())


def refused(m, path, match):
    before = (m.mem.data.copy(), m.cpu.state.copy())
    with pytest.raises(StateError, match=match) as e:
        m.load_state(path)
    assert "\n" not in str(e.value)
    assert np.array_equal(before[0], m.mem.data) and np.array_equal(before[1], m.cpu.state)


def test_other_cartridge_same_machine_is_refused(tmp_path):
    a = Machine.load("sms", [SMS / "game.sms"])
    a.save_state(tmp_path / "s.state")
    b = Machine.load("sms", [SMS / "vdptest.sms"])
    refused(b, tmp_path / "s.state", "different machine file or ROM/media set for 'sms'")
    Machine.load("sms", [SMS / "game.sms"]).load_state(tmp_path / "s.state")    # the same: fine


def test_other_machine_file_with_the_same_name_is_refused(tmp_path):
    Machine.load("toy").save_state(tmp_path / "t.state")
    f = tmp_path / "toy.yaml"
    f.write_text((ROOT / "machines" / "toy.yaml").read_text()
                 .replace("../roms_test", str(ROOT / "roms_test"))
                 .replace("hz: 60", "hz: 50"))            # same name, same ROMs, other timer
    refused(Machine.load(str(f)), tmp_path / "t.state", "different machine file")


def test_other_media_layout_is_refused(tmp_path):
    """A disk's contents travel in the state, so the same drives must hold media of
    the same sizes: a state made with one disk does not load with two."""
    img = ROOT / "roms_test" / "cpm" / "cpm.img"
    Machine.load("cpm", [img]).save_state(tmp_path / "c.state")
    b = tmp_path / "b.img"
    shutil.copy(img, b)
    refused(Machine.load("cpm", [img, b]), tmp_path / "c.state", "ROM/media set")


@pytest.mark.parametrize("fmt, word", [(savestate.FORMAT + 1, "newer"), (savestate.FORMAT - 1, "older")])
def test_other_format_version_is_refused(tmp_path, fmt, word):
    m = Machine.load("toy")
    m.save_state(tmp_path / "v.state")
    rewrite_meta(tmp_path / "v.state", format=fmt)
    refused(m, tmp_path / "v.state", f"format {fmt} is {word} than this emulator's \\({savestate.FORMAT}\\)")


def test_damaged_state_is_refused(tmp_path):
    m = Machine.load("toy")
    m.save_state(tmp_path / "d.state")
    with np.load(tmp_path / "d.state") as z:
        arrays = {k: z[k] for k in z.files if k != "memory"}
    np.savez(tmp_path / "d.npz", **arrays)
    os.replace(tmp_path / "d.npz", tmp_path / "d.state")
    refused(m, tmp_path / "d.state", "damaged")
    (tmp_path / "junk.state").write_bytes(b"PK\x03\x04 not really")
    refused(m, tmp_path / "junk.state", "not a save state")
    refused(m, tmp_path / "none.state", "no such save state")


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    """A failure while writing leaves the previous state whole and no temporary file."""
    m = Machine.load("toy")
    path = tmp_path / "s.state"
    m.save_state(path)
    old = path.read_bytes()
    m.step_frame(3)

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(StateError, match="s.state: cannot write the save state \\(No space left"):
        m.save_state(path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["s.state"]
