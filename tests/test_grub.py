"""GRUB 2 (Debian grub-pc-bin) from an ATA hard-disk image built by
roms_test/grub/build.sh: it boots to its shell on the serial console (COM1, the
16550A; the VGA screen shows it too), `lsmmap` (GRUB still on the BIOS disk)
shows the machine's RAM, then `insmod pata` (GRUB's own driver: PCI walk, ATA
registers) and `ls (ata0)` show the disk with the image's size.  The commands go
in and the answers come out through the UART.

GRUB decompresses itself above 1 MiB and takes its heap from the E820 map, so
the machine needs extended memory; the test is skipped on a machine without it
(EMU_GRUB_MACHINE names another machine file to run it on)."""
import os
import re
import shutil
import subprocess

import pytest

from emu.machine import Machine
from tests.conftest import ROOT

MACHINE = os.environ.get("EMU_GRUB_MACHINE", "pc")
DISK_BYTES = 8 << 20


def ram_ranges(m):
    """(start, end) of the RAM the YAML maps for the main CPU."""
    return [(e.start, e.end + 1) for e in m.spec.memory[m.cpu.name] if e.kind == "ram"]


def screen(m):
    return "\n".join(line.rstrip() for line in m.devices["vga"].text_lines() if line.strip())


ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[=>78])")


def serial(m):
    """What GRUB wrote to COM1, without its terminal escape sequences."""
    raw = bytes(m.devices["com1"].backend.output).decode("latin-1")
    return ANSI.sub("", raw).replace("\r", "")


def at_prompt(text):
    return text.rstrip().endswith("grub>")


def command(m, text, seconds=60):
    """Type a command at the grub> prompt through COM1; GRUB's answer on COM1 once the
    next prompt shows."""
    before = serial(m).count("grub>")
    m.devices["com1"].backend.feed(text + "\r")
    assert m.run_until(lambda mm: serial(mm).count("grub>") > before and at_prompt(serial(mm)),
                       seconds), serial(m)[-2000:]
    out = serial(m)
    return out[out.rindex(text):]


@pytest.mark.skipif(shutil.which("grub-mkimage") is None, reason="needs grub-pc-bin")
def test_grub_boots_from_ata_and_finds_the_disk_through_pata(tmp_path):
    m = Machine.load(MACHINE)
    if not any(start >= 0x100000 for start, _ in ram_ranges(m)):
        pytest.skip(f"{MACHINE} has no memory above 1 MiB (GRUB decompresses itself there)")
    img = tmp_path / "grub.hdd"
    r = subprocess.run(["sh", str(ROOT / "roms_test" / "grub" / "build.sh"), str(img),
                        str(DISK_BYTES)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = Machine.load(MACHINE, {"hdd": img})
    assert m.run_until(lambda mm: at_prompt(serial(mm)), 120), serial(m)[-2000:]
    assert m.run_until(lambda mm: at_prompt(screen(mm)), 5), screen(m)   # and the VGA console

    out = command(m, "lsmmap")
    avail = [(int(b, 16), int(n, 16)) for b, n in
             re.findall(r"base_addr = (0x[0-9a-f]+), length = (0x[0-9a-f]+), available", out)]
    assert avail and avail[0][0] == 0
    ram = ram_ranges(m)
    for base, length in avail:                   # available RAM is RAM the YAML declares
        assert any(s <= base and base + length <= e for s, e in ram), (hex(base), hex(length))
    high = sum(e - max(s, 0x100000) for s, e in ram if e > 0x100000)
    assert sum(n for b, n in avail if b >= 0x100000) >= high - (1 << 20)

    assert "error" not in command(m, "insmod pata")
    out = command(m, "ls")
    assert "(ata0)" in out and "(hd0)" not in out  # the BIOS disk driver has stopped
    out = command(m, "ls (ata0)")
    assert "Device ata0" in out
    size = re.search(r"Total size\s+(\d+)KiB", out)
    assert size and int(size.group(1)) == DISK_BYTES // 1024
