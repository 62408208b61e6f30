"""Malformed machine files: each gives one line naming the file, the key path
and the problem — never a traceback."""
import subprocess
import sys

import pytest

from emu.config import load_spec
from emu.errors import ConfigError

GOOD = """\
name: t
description: test machine
cpus:
  maincpu: {core: toy8, clock: 1MHz}
roms:
  bios: {file: ROOT/roms_test/toy/demo.rom, size: 256, sha1: dd1c0ff2cd1b0b7bacd69b6e5d38c3feb97f911b}
memory:
  maincpu:
    - {start: 0x0000, end: 0x00FF, rom: bios}
    - {start: 0x8000, end: 0x8FFF, ram: main}
    - {start: 0xF000, end: 0xF0FF, device: console}
ports:
  maincpu:
    - {start: 0x10, device: tick}
devices:
  console: {type: serial_console, base: 0xF000}
  tick: {type: timer, hz: 60, irq: maincpu}
inputs:
  fire: {key: space}
"""

# (name, replace-this, with-this, expected key path, expected words in the problem)
CASES = [
    ("yaml syntax", "cpus:\n", "cpus: [\n", "line", "YAML syntax error"),
    ("not a mapping", None, "- just\n- a list\n", "(top level)", "must be a mapping"),
    ("missing key", "name: t\n", "", "name", "required key is missing"),
    ("unknown top key", "name: t\n", "name: t\nscren: {}\n", "scren", "unknown key"),
    ("unknown core", "core: toy8", "core: z8000", "cpus.maincpu.core", "unknown core 'z8000'"),
    ("bad clock", "clock: 1MHz", "clock: fast", "cpus.maincpu.clock", "bad frequency 'fast'"),
    ("bad number", "end: 0x8FFF", "end: 0x8FFG", "memory.maincpu[1].end", "bad number"),
    ("overlap", "start: 0xF000, end: 0xF0FF", "start: 0x8F00, end: 0x8FFF",
     "memory.maincpu[2]", "overlaps memory.maincpu[1]"),
    ("end before start", "start: 0x8000, end: 0x8FFF", "start: 0x8000, end: 0x7FFF",
     "memory.maincpu[1].end", "must be >= start"),
    ("out of range", "end: 0x8FFF", "end: 0x18FFF", "memory.maincpu[1].end", "must be <= 0xFFFF"),
    ("misaligned", "end: 0x8FFF", "end: 0x8FFE", "memory.maincpu[1]", "not aligned"),
    ("unknown rom region", "rom: bios}", "rom: basic}", "memory.maincpu[0].rom", "unknown ROM region 'basic'"),
    ("rom wrong size", "size: 256,", "size: 512,", "roms.bios.size", "is 256 bytes, expected 512"),
    ("rom wrong hash", "sha1: dd1c", "sha1: 0d1c", "roms.bios.sha1", "has SHA-1"),
    ("rom bad hash format", "sha1: dd1c0ff2cd1b0b7bacd69b6e5d38c3feb97f911b", "sha1: xyz",
     "roms.bios.sha1", "40 hex digits"),
    ("missing file", "roms_test/toy/demo.rom", "roms_test/toy/nothere.rom", "roms.bios.file", "file not found"),
    ("unknown device type", "type: timer", "type: flux_capacitor", "devices.tick.type",
     "unknown device type 'flux_capacitor'"),
    ("unknown device param", "hz: 60", "hz: 60, speed: 3", "devices.tick.speed", "unknown parameter"),
    ("map names unknown device", "device: tick}", "device: tock}", "ports.maincpu[0].device",
     "unknown device 'tock'"),
    ("bad irq wiring", "irq: maincpu", "irq: subcpu", "devices.tick.irq", "neither a cpu"),
    ("unknown cpu in map", "memory:\n  maincpu:", "memory:\n  audiocpu:", "memory.audiocpu", "unknown cpu"),
    ("unknown input key", "key: space", "key: hyperspace", "inputs.fire", "unknown key name"),
    ("bad access", "ram: main}", "ram: main, access: x}", "memory.maincpu[1].access", "must be r, w or rw"),
    ("two kinds", "ram: main}", "ram: main, rom: bios}", "memory.maincpu[1]", "needs exactly one of"),
]


def write(tmp_path, root, text):
    f = tmp_path / "bad.yaml"
    f.write_text(text.replace("ROOT", str(root)))
    return f


def test_good_file_loads(tmp_path, root):
    spec = load_spec(write(tmp_path, root, GOOD))
    assert spec.name == "t" and spec.cpus["maincpu"].clock == 1e6


@pytest.mark.parametrize("name,old,new,key,problem", CASES, ids=[c[0] for c in CASES])
def test_malformed(tmp_path, root, name, old, new, key, problem):
    if old is None:
        text = new
    else:
        assert old in GOOD, old
        text = GOOD.replace(old, new, 1)
    f = write(tmp_path, root, text)
    with pytest.raises(ConfigError) as ei:
        spec = load_spec(f)
        from emu.config import load_rom
        for r in spec.roms.values():
            load_rom(spec, r)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(str(f) + ": ")
    assert key in msg and problem in msg, msg


def test_cli_check_prints_one_line_without_traceback(tmp_path, root):
    f = write(tmp_path, root, GOOD.replace("core: toy8", "core: z8000"))
    r = subprocess.run([sys.executable, "-m", "emu", "check", str(f)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cpus.maincpu.core" in lines[0] and str(f) in lines[0]


def test_cli_check_good_machines(root):
    files = [str(p) for p in sorted((root / "machines").glob("*.yaml"))]
    r = subprocess.run([sys.executable, "-m", "emu", "check", *files], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
