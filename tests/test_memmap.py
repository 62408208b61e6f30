"""Memory size on the pc machine: the YAML's ram_size (and `emu run --ram`), the
CMOS bytes the chipset model fills from it, and the BIOS's INT 15h answers
(E820h, E801h, 88h) as roms_test/x86/memmap.img reports them, against what the
BIOS interface definitions say they must be for that much RAM:

* 88h: AX = KiB above 1 MiB, saturated at FFFFh;
* E801h: AX = CX = KiB from 1 MiB to 16 MiB, BX = DX = 64 KiB blocks above 16 MiB;
* E820h (ACPI 3.0, 14.1): 20-byte entries (base, length, type), EAX = 'SMAP',
  EBX = continuation (0 after the last), type 1 for RAM, the 640 KiB-1 MiB
  hole absent, the BIOS ROM, I/O APIC and local APIC ranges reserved; a call
  without the 'SMAP' signature fails with CF set and AH = 86h;
* CMOS 15h/16h base KiB, 17h/18h = 30h/31h KiB above 1 MiB saturating at
  65535, 34h/35h 64 KiB blocks above 16 MiB (IBM AT Technical Reference; the
  Bochs/QEMU layout for the last).
"""
import itertools
import subprocess
import sys

import pytest

from emu.config import load_spec
from emu.errors import ConfigError
from emu.machine import Machine
from tests.conftest import ROOT

try:
    import cores.x86  # noqa: F401
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable yet ({e})", allow_module_level=True)

MiB = 1 << 20
MEMMAP = ROOT / "roms_test" / "x86" / "memmap.img"


def expected_map(spec):
    """The E820 map the board must report, from the YAML alone: conventional RAM
    below the top KiB of base memory, then the ROM, extended RAM (the map entry
    with end: ram_size), the APIC pages (their map entries) and the reset alias."""
    mem = {e.target: e for e in spec.memory["maincpu"] if e.kind in ("ram", "device")}
    ext = next(e for e in spec.memory["maincpu"] if e.ram_top)
    return [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2),
            (ext.start, spec.ram_size - ext.start, 1),
            (mem["ioapic"].start, mem["ioapic"].end + 1 - mem["ioapic"].start, 2),
            (mem["lapic"].start, mem["lapic"].end + 1 - mem["lapic"].start, 2),
            (0xFFFF0000, 0x10000, 2)]


def run_memmap(ram):
    m = Machine.load("pc", [MEMMAP], ram_size=ram)
    dbg = m.devices["debug"]
    assert m.run_until(lambda mm: "MEMMAP DONE" in dbg.text, 10), dbg.text
    lines = dbg.text[dbg.text.index("X88"):].splitlines()
    return m, {ln.split()[0] if not ln.startswith("E820 ") else ln: ln.split()[1:] for ln in lines}, lines


@pytest.mark.parametrize("ram,size", [(None, 16 * MiB), ("64M", 64 * MiB), ("256MiB", 256 * MiB)])
def test_int15_memory_services(ram, size):
    spec = load_spec("pc", ram)
    assert spec.ram_size == size                      # 16 MiB is the pc default
    m, _, lines = run_memmap(ram)
    ext_kb = (size - MiB) // 1024
    # 88h
    x88 = lines[0].split()
    assert x88 == ["X88", "0", f"{min(ext_kb, 0xFFFF):04X}"]
    # E801h
    low = min(size, 16 * MiB) - MiB
    high = max(size - 16 * MiB, 0) // 0x10000
    e801 = lines[1].split()
    assert e801 == ["E801", "0", f"{low // 1024:04X}", f"{high:04X}", f"{low // 1024:04X}",
                    f"{high:04X}"]
    # E820h: every entry, its size and continuation value
    want = expected_map(spec)
    got = [ln.split()[1:] for ln in lines if ln.startswith("E820 ") and ln.split()[1] not in
           ("END", "BAD")]
    assert len(got) == len(want)
    for i, (g, (base, length, typ)) in enumerate(zip(got, want)):
        b_hi, b_lo, l_hi, l_lo, t, ecx, ebx = (int(x, 16) for x in g)
        assert (b_hi << 32 | b_lo, l_hi << 32 | l_lo, t) == (base, length, typ), i
        assert ecx == 20                              # 20-byte entries
        assert ebx == (i + 1 if i + 1 < len(want) else 0)
    assert f"E820 END {len(want):02X}" in lines
    assert "E820 BAD 1 86" in lines
    # the map: sorted, no overlaps, RAM nowhere in 640 KiB-1 MiB, RAM = the YAML's
    ranges = [(int(g[0] + g[1], 16), int(g[2] + g[3], 16), int(g[4], 16)) for g in got]
    for (b0, l0, _), (b1, _, _) in itertools.pairwise(ranges):
        assert b0 + l0 <= b1
    ram_ranges = [(b, b + n) for b, n, t in ranges if t == 1]
    assert all(e <= 0xA0000 or b >= 0x100000 for b, e in ram_ranges)
    assert sum(e - b for b, e in ram_ranges) == 0x9FC00 + size - MiB
    # and the RAM is there: the last byte of extended memory holds what is written
    m.memory[size - 1] = 0x5A
    assert m.memory[size - 1] == 0x5A and m.mem.regions["ext"][1] == size - MiB


def cmos(m, reg):
    io = m.spaces["maincpu"]
    io.io_write(0x70, reg, 1)
    return io.io_read(0x71, 1)


@pytest.mark.parametrize("ram", ["2M", "16M", "64M", "65M", "256M", "1G"])
def test_cmos_memory_bytes(ram):
    m = Machine.load("pc", ram_size=ram)
    size = m.spec.ram_size
    ext_kb = (size - MiB) // 1024
    assert cmos(m, 0x15) | cmos(m, 0x16) << 8 == 640
    assert cmos(m, 0x17) | cmos(m, 0x18) << 8 == min(ext_kb, 65535)
    assert cmos(m, 0x30) | cmos(m, 0x31) << 8 == min(ext_kb, 65535)
    assert cmos(m, 0x34) | cmos(m, 0x35) << 8 == max(size - 16 * MiB, 0) // 0x10000


def test_ram_size_errors():
    for bad, words in (("1M", "too small"), ("3000000", "whole number of 4096-byte pages"),
                       ("4G", "runs into"), ("lots", "bad number")):
        with pytest.raises(ConfigError) as e:
            load_spec("pc", bad)
        assert "ram_size" in str(e.value) and words in str(e.value)
    with pytest.raises(ConfigError, match="fixed"):
        load_spec("toy", "4M")


def test_ram_option_on_the_command_line():
    r = subprocess.run([sys.executable, "-m", "emu", "run", "pc", "--ram", "4080M", "--headless",
                        "--frames", "1"], check=False, capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "ram_size" in r.stderr
    r = subprocess.run([sys.executable, "-m", "emu", "run", "cpm", "--ram", "1M", "--headless",
                        "--frames", "1"], check=False, capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 2 and "RAM size is fixed" in r.stderr and "Traceback" not in r.stderr


def test_state_of_another_ram_size_is_refused(tmp_path):
    from emu.errors import StateError
    a = Machine.load("pc", ram_size="32M")
    a.save_state(tmp_path / "s.state")
    b = Machine.load("pc")
    with pytest.raises(StateError, match="32768 KiB of RAM"):
        b.load_state(tmp_path / "s.state")


def test_ram_size_key_and_its_map_entry_go_together(tmp_path):
    base = """name: t
cpus: {maincpu: {core: z80, clock: 1MHz}}
%s
memory:
  maincpu:
    - {start: 0x0000, end: 0x0FFF, ram: low}
    - {start: 0x1000, end: %s, ram: high}
"""
    cases = [("", "ram_size", "memory.maincpu[1].end", "needs a top-level ram_size key"),
             ("ram_size: 32KiB", "0x1FFF", "ram_size", "no memory map entry has 'end: ram_size'"),
             ("ram_size: 128KiB", "ram_size", "ram_size", "beyond the address space")]
    for top, end, key, words in cases:
        f = tmp_path / "t.yaml"
        f.write_text(base % (top, end))
        with pytest.raises(ConfigError) as e:
            load_spec(f)
        assert f"{key}: " in str(e.value) and words in str(e.value), str(e.value)
    f.write_text(base % ("ram_size: 32KiB", "ram_size"))
    spec = load_spec(f)
    assert spec.ram_sizes["high"] == 28 * 1024 and load_spec(f, "48K").ram_sizes["high"] == 44 * 1024
