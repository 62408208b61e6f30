"""The pc machine end to end: the project's BIOS (roms_test/pc) boots the
x86 boot disks in roms_test/x86 on the x86 core, headless."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from emu.errors import MediaError
from emu.machine import Machine

try:
    import cores.x86  # noqa: F401
except ImportError as e:                                   # the core is written separately
    pytest.skip(f"cores.x86 is not importable yet ({e}); the pc machine needs it",
                allow_module_level=True)

from tests.conftest import ROOT

X86 = ROOT / "roms_test" / "x86"
PC = ROOT / "roms_test" / "pc"
FLOPPY = 1474560


def boot(media=None, marker=None, seconds=10):
    m = Machine.load("pc", media)
    if marker:
        assert m.run_until(lambda mm: marker in debug(mm), seconds), debug(m)
    return m


def debug(m):
    return m.devices["debug"].text


def text_cells(m, row, col, n):
    """(text, attributes) of n cells of the 80x25 text buffer at B8000."""
    vram = m.memory[0xB8000 + (row * 80 + col) * 2:0xB8000 + (row * 80 + col + n) * 2]
    return vram[0::2].decode("cp437"), list(vram[1::2])


# ---- BIOS ------------------------------------------------------------------------
def test_post_banner_bda_and_vectors():
    m = boot(marker="HELLO OK")
    out = debug(m)
    assert out.startswith("emu PC BIOS")
    assert "POST done, 640 KiB base memory, hard disks: 0" in out
    assert "boot drive 00: booting" in out
    mem = m.memory
    word = lambda a: mem[a] | mem[a + 1] << 8
    assert word(0x410) == 0x0421                    # equipment: 1 floppy, 80x25 colour, 2 COM ports
    assert [word(0x400 + 2 * i) for i in range(4)] == [0x3F8, 0x2F8, 0, 0]   # COM1-COM4 bases
    assert word(0x413) == 640
    assert word(0x41A) == word(0x41C) == 0x1E        # empty keyboard buffer
    assert mem[0x449] == 0x03 and word(0x44A) == 80
    assert mem[0x475] == 0                           # no hard disk
    for vec in (0x08, 0x09, 0x10, 0x13, 0x14, 0x16, 0x19, 0x1A):
        assert word(vec * 4 + 2) == 0xF000, hex(vec)
    # the PIC pair was programmed with vectors 08h and 70h
    pic = m.devices["pic"]
    assert (pic.master.base, pic.slave.base) == (0x08, 0x70)
    assert pic.master.imr & 0x03 == 0                # timer and keyboard unmasked


def test_timer_ticks_advance_at_18_2_hz():
    m = boot(marker="HELLO OK")
    t0 = m.memory[0x46C] | m.memory[0x46D] << 8
    m.run_for(1.0)
    t1 = m.memory[0x46C] | m.memory[0x46D] << 8
    assert 17 <= (t1 - t0) & 0xFFFF <= 19


BIOSTEST = """\
EQ 0421
MEM 0280
X88 0 3C00
C0 0 00 FC
UNS 1 86
E820 00000000 0009FC00 01
E820 0009FC00 00000400 02
E820 000F0000 00010000 02
E820 00100000 00F00000 01
E820 FEC00000 00001000 02
E820 FEE00000 00001000 02
E820 FFFF0000 00010000 02
E820 END 07
RTC 0 23 59 5?
DATE 0 20 24 02 29
K05 00
K01 0 1E61
K00 1E61
K01E 1
K00G 4800
K10G 48E0
K02 00
V0F 5003 00
V08 0742
UP 1F58 2E20
DOWN 1F58 4F20
WIN 0720 5F20 0720
TTY 1804 074C
PAL 2A 2A 3F
DCC 1A 0008
BIOSTEST DONE
"""


def test_bios_services():
    """biostest.img calls INT 10h/11h/12h/15h/16h/1Ah and logs the results:
    equipment, memory, 15 MiB of extended memory (the default 16 MiB pc; the
    sizes are tests/test_memmap.py's), the AT configuration table, E820h map, RTC time/date in BCD, the INT 16h buffer (grey keys: 00h for AH=00h,
    E0h for AH=10h), video mode, read character, scrolling up/down/window,
    teletype scrolling on the last line, the DAC and the display combination.
    DAC 15 in text mode is the EGA colour 0Fh (rgbRGB 001111: 2/3 red and green,
    full blue), as the VGA BIOS loads the 64 EGA colours for 16-colour modes;
    the attribute palette shows text colour 15 through DAC 3Fh."""
    m = Machine.load("pc", [X86 / "biostest.img"])
    rtc = m.devices["rtc"]
    rtc.time = "2024-02-29T23:59:58"
    rtc.reset()
    assert m.run_until(lambda mm: "BIOSTEST DONE" in debug(mm), 10), debug(m)
    got = debug(m)[debug(m).index("EQ "):].splitlines()
    want = BIOSTEST.splitlines()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert len(g) == len(w) and all(b in (a, "?") for a, b in zip(g, w)), (g, w)


def test_tick_counter_rolls_over_at_midnight():
    m = boot(marker="HELLO OK")
    m.memory[0x46C:0x470] = (0x1800AF).to_bytes(4, "little")   # last tick of the day
    m.run_for(0.1)
    ticks = int.from_bytes(m.memory[0x46C:0x470], "little")
    assert ticks < 3 and m.memory[0x470] == 1                  # midnight flag for INT 1Ah


# ---- hello.img: text mode ---------------------------------------------------------
def test_hello_text_and_attributes():
    m = boot(marker="HELLO OK")
    assert text_cells(m, 0, 0, 23) == (" HELLO FROM THE EMU PC ", [0x1E] * 23)
    assert text_cells(m, 2, 0, 25) == ("Printed by INT 10h AH=13h", [0x0A] * 25)
    assert text_cells(m, 4, 0, 19) == ("Teletype via AH=0Eh", [0x07] * 19)
    assert text_cells(m, 6, 0, 7) == ("COLOURS", list(range(0x09, 0x10)))
    assert text_cells(m, 8, 0, 32) == ("Sector 2 says: loaded by INT 13h", [0x07] * 32)
    assert m.devices["vga"].text_lines()[10].rstrip() == "Memory: 640 KiB  boot drive: 00"
    assert m.devices["vga"].mode == 0x03
    # the rendered frame shows row 0 in yellow on blue
    m.step_frame(1)
    fb = m.screen.framebuffer
    assert set(np.unique(fb[0:16, 8:16])) == {0x0000AA, 0xFFFF55}   # 'H' cell


# ---- mode13.img: graphics ------------------------------------------------------------
def mode13_pattern():
    y, x = np.mgrid[0:200, 0:320]
    p = np.where(y < 100, x // 20, (x ^ y) & 0xFF).astype(np.uint8)
    p[0, :] = p[199, :] = 15
    p[:, 0] = p[:, 319] = 15
    return p


def test_mode13_framebuffer_pattern():
    m = boot([X86 / "mode13.img"], marker="MODE13 OK")
    m.step_frame(2)
    vga = m.devices["vga"]
    assert vga.mode == 0x13 and m.memory[0x449] == 0x13
    vram = np.frombuffer(m.memory[0xA0000:0xA0000 + 64000], dtype=np.uint8).reshape(200, 320)
    assert np.array_equal(vram, mode13_pattern())
    # DAC: the red ramp set with AX=1012h, the rest the BIOS default palette
    ramp = [[4 * i + 3, 0, 0] for i in range(15)]
    assert vga.dac[240:255].tolist() == ramp
    assert vga.dac[15].tolist() == [63, 63, 63]
    # what is shown is the pattern through the DAC, pixels doubled.  Expected colours
    # from the DAC's 6-bit values read back through port 3C9h (as a program would),
    # each gun scaled linearly to 8 bits: round(v * 255 / 63)
    io = m.spaces["maincpu"]
    io.io_write(0x3C7, 0, 1)
    six = np.array([io.io_read(0x3C9, 1) for _ in range(768)]).reshape(256, 3)
    eight = np.floor(six * 255 / 63 + 0.5).astype(np.uint32)
    colours = eight[:, 0] << 16 | eight[:, 1] << 8 | eight[:, 2]
    assert colours[15] == 0xFFFFFF and colours[1] == 0x0000AA and colours[6] == 0xAA5500
    assert colours[240 + 14] == 0xEF0000                     # (59, 0, 0): 59 * 255 / 63 = 238.8
    fb = m.screen.framebuffer
    assert np.array_equal(fb[::2, ::2], colours[mode13_pattern()])
    assert np.array_equal(fb[1::2, 1::2], fb[::2, ::2])


def test_mode13_animates_dac_from_the_tick_counter():
    m = boot([X86 / "mode13.img"], marker="MODE13 OK")
    vga = m.devices["vga"]
    seen = set()
    for _ in range(8):
        m.run_for(0.1)
        ticks = m.memory[0x46C]
        r, g, b = vga.dac[255].tolist()
        assert (r, g) == (0, 0) and b in (ticks & 63, (ticks - 1) & 63)
        seen.add(b)
    assert len(seen) >= 5                           # it changes with the clock


# ---- game.img: Snake ---------------------------------------------------------------
def snake_head(m):
    for r, line in enumerate(m.devices["vga"].text_lines()):
        c = line.find("\x02")
        if c >= 0:
            return r, c
    return None


def test_game_starts_and_reacts_to_keys():
    m = boot([X86 / "game.img"], marker="SNAKE READY")
    lines = m.devices["vga"].text_lines()
    assert lines[0].startswith(" SNAKE  Score: 0000")
    assert "Press SPACE to start" in lines[12]
    assert lines[1] == "\xb1".encode("latin1").decode("cp437") * 80    # top wall
    m.type(" ")
    assert m.run_until(lambda mm: "SNAKE START" in debug(mm), 5)
    assert "Press SPACE" not in m.devices["vga"].text_lines()[12]
    assert snake_head(m) == (12, 39)
    assert text_cells(m, 12, 36, 3) == ("\u25a0" * 3, [0x0A] * 3)      # FEh body cells
    m.run_for(0.4)
    row, col = snake_head(m)
    assert row == 12 and col > 39                   # moving right
    m.key_event("up", True)
    m.step_frame(2)
    m.key_event("up", False)
    m.run_for(0.5)
    row2, col2 = snake_head(m)
    assert row2 < 12 and col2 >= col                # turned up
    # straight on into the top wall: game over
    assert m.run_until(lambda mm: "SNAKE OVER 0" in debug(mm), 5)
    assert "GAME OVER" in m.devices["vga"].text_lines()[12]


def test_keyboard_translation_through_int09():
    """Scan codes from the 8042 become scan:ASCII words in the BDA ring buffer
    (hello.img halts without reading keys, so they stay there)."""
    m = boot(marker="HELLO OK")
    kbc = m.devices["kbc"]
    kbc.type_text("aB!\r")
    m.run_for(0.5)
    for keys in (["caps lock"], ["a"], ["caps lock"], ["up"], ["f1"], ["left ctrl", "c"],
                 ["left alt", "x"], ["left shift", "f2"], ["backspace"], ["escape"]):
        for k in keys:
            kbc.key_event(k, True)
            m.step_frame(1)
        for k in reversed(keys):
            kbc.key_event(k, False)
            m.step_frame(1)
    head, tail = (m.memory[0x41A] | m.memory[0x41B] << 8), (m.memory[0x41C] | m.memory[0x41D] << 8)
    words = []
    while head != tail:
        words.append(m.memory[0x400 + head] | m.memory[0x401 + head] << 8)
        head = head + 2 if head + 2 < 0x3E else 0x1E
    assert [f"{w:04X}" for w in words] == [
        "1E61", "3042", "0221", "1C0D",              # a B ! Return
        "1E41",                                      # caps lock + a
        "48E0",                                      # grey Up (INT 16h AH=00h reports 4800h)
        "3B00", "2E03", "2D00", "5500",              # F1, Ctrl-C, Alt-X, Shift-F2
        "0E08", "011B"]                              # Backspace, Esc
    assert m.memory[0x417] == 0                      # shift states and caps lock off again


# ---- no bootable device -------------------------------------------------------------
def test_no_bootable_device(tmp_path):
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(FLOPPY))
    m = boot([blank], marker="NO BOOTABLE DEVICE")
    assert "boot drive 00: no 55AA boot signature" in debug(m)
    assert "boot drive 80: cannot read boot sector, status 80" in debug(m)
    assert any("No bootable device." in line for line in m.devices["vga"].text_lines())
    m.run_for(0.5)                                  # halted with interrupts on: the clock runs
    assert m.memory[0x46C] | m.memory[0x46D] << 8


def test_boots_the_hard_disk_when_the_floppy_is_not_bootable(tmp_path):
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(FLOPPY))
    hd = tmp_path / "hello.hdd"                     # hello's sectors on a 2 MiB hard disk
    hd.write_bytes((X86 / "hello.img").read_bytes()[:1024].ljust(2 << 20, b"\0"))
    m = boot({"a": blank, "hdd": hd}, marker="HELLO OK")
    assert "boot drive 00: no 55AA boot signature" in debug(m)
    assert "boot drive 80: booting" in debug(m)
    lines = m.devices["vga"].text_lines()
    assert lines[8].startswith("Sector 2 says: loaded by INT 13h")
    assert lines[10].rstrip() == "Memory: 640 KiB  boot drive: 80"


def test_no_bootable_device_seen_by_the_cli(tmp_path):
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(FLOPPY))
    r = subprocess.run([sys.executable, "-m", "emu", "run", "pc", str(blank), "--headless",
                        "--seconds", "1"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "BIOS: NO BOOTABLE DEVICE" in r.stderr


def test_nonstandard_floppy_size_is_refused(tmp_path):
    odd = tmp_path / "odd.img"
    odd.write_bytes(bytes(1000000))
    with pytest.raises(MediaError) as e:
        Machine.load("pc", [odd])
    msg = str(e.value)
    assert "1000000 bytes is not a supported floppy size" in msg
    for label in ("360K", "720K", "1.2M", "1.44M 3.5in (80 x 2 x 18) (1474560 bytes)", "2.88M"):
        assert label in msg
    r = subprocess.run([sys.executable, "-m", "emu", "run", "pc", str(odd), "--headless",
                        "--frames", "1"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "supported geometries" in r.stderr


@pytest.mark.parametrize("size,geometry", [(368640, "27 09 01 01 01"),
                                           (737280, "4F 09 01 01 03"),
                                           (1228800, "4F 0F 01 01 02"),
                                           (2949120, "4F 24 01 01 06")])
def test_floppy_geometry_from_image_size(tmp_path, size, geometry):
    img = tmp_path / "w.img"
    img.write_bytes((X86 / "writetest.img").read_bytes()[:36 * 512].ljust(size, b"\0"))
    m = boot({"a": img}, marker="WRITETEST DONE")
    assert f"FD08 {geometry}\n" in debug(m)


# ---- INT 13h writes reach the image file, and only guest writes do ------------------
def test_reads_leave_the_image_alone(tmp_path):
    img = tmp_path / "hello.img"
    shutil.copy(X86 / "hello.img", img)
    before = img.read_bytes()
    mtime = img.stat().st_mtime_ns
    m = boot({"a": img}, marker="HELLO OK")
    m.shutdown()
    assert img.read_bytes() == before and img.stat().st_mtime_ns == mtime


def test_int13_writes_floppy_and_hard_disk(tmp_path):
    fd = tmp_path / "wt.img"
    shutil.copy(X86 / "writetest.img", fd)
    hd = tmp_path / "disk.hdd"
    hd.write_bytes(bytes(1 << 20))                   # 2048 sectors: 2 x 16 x 63 CHS
    original = fd.read_bytes()
    m = boot({"a": fd, "hdd": hd}, marker="WRITETEST DONE")
    out = debug(m)
    assert "hard disks: 1" in out
    assert "FD08 4F 12 01 01 04\n" in out           # 80 cylinders, 18 sectors, 2 heads, 1.44M
    assert "FD15 01\n" in out
    assert "FD WRITE OK\n" in out
    assert "FD RANGE 04\n" in out                    # cylinder 80: sector not found
    assert "FD01 80\n" in out                        # empty drive: not ready
    assert "HD08 01 3F 0F 01\n" in out               # cylinders 0-1, 63 sectors, 16 heads
    assert "HD15 03 0000 0800\n" in out
    assert "HD48 0002 0010 003F 0800\n" in out
    assert "HD WRITE OK\n" in out and "HD CHS OK\n" in out
    # written back when the machine stops, not before
    assert fd.read_bytes() == original
    m.shutdown()
    pattern_a = bytes((i * 7 + 3) & 0xFF for i in range(512))
    pattern_b = bytes(255 - (i & 0xFF) for i in range(512))
    new = fd.read_bytes()
    assert new[17 * 512:18 * 512] == pattern_a
    assert new[:17 * 512] == original[:17 * 512] and new[18 * 512:] == original[18 * 512:]
    disk = hd.read_bytes()
    assert disk[5 * 512:6 * 512] == pattern_b
    assert not any(disk[:5 * 512]) and not any(disk[6 * 512:])


def test_bundled_default_disk_is_a_snapshot():
    before = (X86 / "hello.img").read_bytes()
    m = Machine.load("pc")                           # default medium: hello.img
    assert m.run_until(lambda mm: "HELLO OK" in debug(mm), 10)
    m.shutdown()
    assert (X86 / "hello.img").read_bytes() == before


# ---- the shipped binaries are what build.sh makes ------------------------------------
@pytest.mark.skipif(shutil.which("nasm") is None, reason="needs nasm")
def test_rebuild_matches_shipped_binaries(tmp_path):
    work = tmp_path / "roms_test"
    shutil.copytree(PC, work / "pc")
    shutil.copytree(X86, work / "x86")
    for f in list((work / "pc").glob("*.rom")) + list((work / "x86").glob("*.img")):
        f.unlink()
    r = subprocess.run(["sh", str(work / "pc" / "build.sh")], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for f in [PC / "bios.rom"] + sorted(X86.glob("*.img")):
        rebuilt = work / f.parent.name / f.name
        assert rebuilt.read_bytes() == f.read_bytes(), f.name


def test_hard_disk_img_goes_to_the_hard_disk_slot(tmp_path):
    """`emu run pc disk.img`: a .img of no floppy size but whole sectors is taken
    by the hard-disk slot (the floppy slot's size list does not admit it)."""
    blank = tmp_path / "blank.img"
    blank.write_bytes(bytes(FLOPPY))
    hd = tmp_path / "disk.img"
    hd.write_bytes((X86 / "hello.img").read_bytes()[:1024].ljust(4 << 20, b"\0"))
    m = boot([blank, hd], marker="HELLO OK")
    assert m.media_paths == {"a": blank, "hdd": hd}
    assert "boot drive 80: booting" in debug(m)


SPEAKER_BOOT = bytes([
    0xB0, 0xB6,          # mov al, 0B6h      ; PIT channel 2, lo/hi byte, mode 3 (square wave)
    0xE6, 0x43,          # out 43h, al
    0xB8, 0xA9, 0x04,    # mov ax, 1193      ; 1193182 Hz / 1193 = 1000.15 Hz
    0xE6, 0x42,          # out 42h, al
    0x88, 0xE0,          # mov al, ah
    0xE6, 0x42,          # out 42h, al
    0xE4, 0x61,          # in al, 61h
    0x0C, 0x03,          # or al, 3          ; gate 2 on, speaker data on
    0xE6, 0x61,          # out 61h, al
    0xFB,                # sti
    0xF4,                # hlt
    0xEB, 0xFD,          # jmp short hlt
])


def test_pc_speaker_plays_the_pit_channel_2_tone(tmp_path):
    """A boot sector programs PIT channel 2 and enables the speaker through port
    61h; the machine's audio is a square wave at 1193182 / divisor Hz."""
    img = tmp_path / "beep.img"
    img.write_bytes(SPEAKER_BOOT.ljust(510, b"\0") + b"\x55\xAA" + bytes(FLOPPY - 512))
    m = boot([img], marker="booting")
    m.run_for(1.0)
    wave = m.audio.recent()[-m.audio.sample_rate // 2:]           # the last half second
    edges = np.count_nonzero((wave[1:] > 0) & (wave[:-1] <= 0))
    freq = edges / (len(wave) / m.audio.sample_rate)
    assert abs(freq - 1193182 / 1193) < 10, freq


def test_named_hard_disk_alone_boots_without_the_default_floppy(tmp_path):
    """`emu run pc disk.img`: naming any medium leaves the other slots empty (the
    bundled hello.img is only for `emu run pc`), so the BIOS boots drive 80h."""
    hd = tmp_path / "disk.img"
    hd.write_bytes((X86 / "hello.img").read_bytes()[:1024].ljust(4 << 20, b"\0"))
    m = boot([hd], marker="HELLO OK")
    assert m.media_paths == {"hdd": hd}
    assert "boot drive 80: booting" in debug(m)


INT14_BOOT = bytes([
    0xB8, 0xE3, 0x00,    # mov ax, 00E3h     ; INT 14h init: 9600 baud, no parity, 1 stop, 8 bits
    0x31, 0xD2,          # xor dx, dx        ; COM1
    0xCD, 0x14,          # int 14h
    0xA3, 0x00, 0x05,    # mov [0500h], ax   ; line and modem status
    0xB8, 0x5A, 0x01,    # mov ax, 015Ah     ; send 'Z'
    0xCD, 0x14,          # int 14h
    0xA3, 0x02, 0x05,    # mov [0502h], ax
    0xBA, 0x03, 0x00,    # mov dx, 3         ; COM4: absent
    0xB4, 0x03,          # mov ah, 03h
    0xCD, 0x14,          # int 14h
    0xA3, 0x04, 0x05,    # mov [0504h], ax
    0xF4,                # hlt
    0xEB, 0xFD,          # jmp short hlt
])


def test_int14_initialises_and_sends_on_com1(tmp_path):
    """INT 14h (PC/AT BIOS RS232_IO): AH=00h programs divisor and LCR from AL and
    returns LSR/MSR, AH=01h sends through THR, a port missing from the BDA gives 80h."""
    img = tmp_path / "int14.img"
    img.write_bytes(INT14_BOOT.ljust(510, b"\0") + b"\x55\xAA" + bytes(FLOPPY - 512))
    m = boot([img], marker="booting")
    m.run_for(0.1)
    com = m.devices["com1"]
    assert (com.divisor, com.lcr) == (12, 0x03)
    word = lambda a: m.memory[a] | m.memory[a + 1] << 8
    assert word(0x500) == 0x60B0                     # LSR THRE+TEMT, MSR DCD DSR CTS
    assert word(0x502) >> 8 == 0x60 and word(0x502) & 0xFF == ord("Z")
    assert word(0x504) >> 8 == 0x80
    assert com.backend.output == b"Z"
