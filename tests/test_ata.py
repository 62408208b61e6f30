"""The ATA channel (emu/devices/ata.py) against ATA/ATAPI-6: register contents
after each command, the signature after reset, INTRQ timing and nIEN, an absent
device 1 and an empty channel, driven through the port dispatch the way a
driver does (the CPU never runs).  The INT 13h <-> ATA round trips boot the pc."""
import subprocess
import sys

import pytest

from emu.errors import MediaError
from emu.machine import Machine
from tests.conftest import ROOT

BOARD = """
name: ataboard
cpus: {maincpu: {core: x86, clock: 25MHz}}
memory:
  maincpu:
    - {start: 0x00000, end: 0xFFFFF, ram: main}
ports:
  maincpu:
    - {start: 0x20, end: 0x21, device: pic}
    - {start: 0xA0, end: 0xA1, device: pic}
    - {start: 0x1F0, end: 0x1F7, device: ide0}
    - {start: 0x3F6, device: ide0}
    - {start: 0x170, end: 0x177, device: ide1}
    - {start: 0x376, device: ide1}
devices:
  pic:  {type: pic8259, irq: maincpu}
  ide0: {type: ata, base: 0x1F0, ctrl: 0x3F6, irq: pic.14}
  ide1: {type: ata, base: 0x170, ctrl: 0x376, irq: pic.15}
media:
  hdd:  {kind: harddisk, device: ide0, drive: 0}
  hdd2: {kind: harddisk, device: ide0, drive: 1}
"""

SECTORS = 4096                       # 2 MiB: 4 cylinders of 16 heads x 63 sectors
# status bits (ATA-6 7.15.6) that the spec fixes; DSC (bit 4) and the obsolete
# bits 1-2 are left out of comparisons
BSY, DRDY, DF, DRQ, ERR = 0x80, 0x40, 0x20, 0x08, 0x01
FIXED = BSY | DRDY | DF | DRQ | ERR
ABRT, IDNF = 0x04, 0x10
DATA, ERROR, FEATURE, COUNT, LBAL, LBAM, LBAH, DEVICE, STATUS, COMMAND = \
    0x1F0, 0x1F1, 0x1F1, 0x1F2, 0x1F3, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x1F7
ALTSTATUS = DEVCTL = 0x3F6


def sector_bytes(lba):
    return bytes(((lba * 7) + i) & 0xFF for i in range(512))


def image(path, sectors=SECTORS):
    path.write_bytes(b"".join(sector_bytes(i) for i in range(sectors)))
    return path


@pytest.fixture
def board(tmp_path):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    m = Machine.load(str(f), {"hdd": image(tmp_path / "disk.hdd")})
    yield m
    m.shutdown()


def out(m, port, v, size=1):
    m.spaces["maincpu"].io_write(port, v, size)


def inp(m, port, size=1):
    return m.spaces["maincpu"].io_read(port, size)


def intrq(m, dev="ide0"):
    return m.devices[dev].line.level


def status(m):
    return inp(m, STATUS) & FIXED


def taskfile(m):
    return [inp(m, p) for p in (COUNT, LBAL, LBAM, LBAH)]


def read_words(m, n):
    return b"".join(inp(m, DATA, 2).to_bytes(2, "little") for _ in range(n))


def issue(m, cmd, count=0, lba=None, chs=None, feature=0, dev=0):
    out(m, FEATURE, feature)
    out(m, COUNT, count)
    if lba is not None:
        out(m, LBAL, lba & 0xFF)
        out(m, LBAM, (lba >> 8) & 0xFF)
        out(m, LBAH, (lba >> 16) & 0xFF)
        out(m, DEVICE, 0xE0 | dev << 4 | (lba >> 24) & 0x0F)
    elif chs is not None:
        c, h, s = chs
        out(m, LBAL, s)
        out(m, LBAM, c & 0xFF)
        out(m, LBAH, c >> 8)
        out(m, DEVICE, 0xA0 | dev << 4 | h)
    else:
        out(m, DEVICE, 0xA0 | dev << 4)
    out(m, COMMAND, cmd)


# ---- reset and signature ---------------------------------------------------------
def test_power_on_signature(board):
    """9.12: an ATA device's signature: count 01h, LBA low 01h, mid/high 00h, device 00h;
    diagnostic code 01h in the error register; DRDY."""
    assert status(board) == DRDY
    assert inp(board, ERROR) == 0x01
    assert taskfile(board) == [0x01, 0x01, 0x00, 0x00]
    assert inp(board, DEVICE) == 0x00
    assert not intrq(board)


def test_soft_reset_through_device_control(board):
    issue(board, 0xFF)                                   # leave an error behind
    out(board, COUNT, 0x33)
    out(board, LBAH, 0x44)
    out(board, DEVCTL, 0x04)                             # SRST
    assert inp(board, ALTSTATUS) & BSY                   # held in reset
    out(board, DEVCTL, 0x00)
    assert status(board) == DRDY
    assert inp(board, ERROR) == 0x01
    assert taskfile(board) == [0x01, 0x01, 0x00, 0x00]
    assert inp(board, DEVICE) & 0x10 == 0                # device 0 selected
    assert not intrq(board)                              # SRST raises no interrupt


def test_execute_device_diagnostic(board):
    out(board, COUNT, 9)
    issue(board, 0x90)
    assert intrq(board)
    assert status(board) == DRDY and inp(board, ERROR) == 0x01
    assert taskfile(board) == [0x01, 0x01, 0x00, 0x00]


# ---- IDENTIFY DEVICE ---------------------------------------------------------------
def ata_text(data, word, nwords):
    raw = data[2 * word:2 * (word + nwords)]
    return bytes(raw[i ^ 1] for i in range(len(raw))).decode("ascii")


def test_identify_device(board):
    issue(board, 0xEC)
    assert intrq(board)                                  # DRQ block ready
    assert inp(board, ALTSTATUS) & FIXED == DRDY | DRQ
    assert intrq(board)                                  # alternate status keeps it
    assert status(board) == DRDY | DRQ
    assert not intrq(board)                              # status read clears it
    data = read_words(board, 256)
    assert status(board) == DRDY                         # DRQ gone, no new interrupt
    assert not intrq(board)
    w = [int.from_bytes(data[2 * i:2 * i + 2], "little") for i in range(256)]
    assert w[0] & 0x8000 == 0                            # ATA device
    assert (w[1], w[3], w[6]) == (SECTORS // 1008, 16, 63)
    assert w[49] & 0x0200                                # LBA
    assert w[60] | w[61] << 16 == SECTORS                # LBA28 capacity
    assert (w[54], w[55], w[56]) == (4, 16, 63)
    assert w[57] | w[58] << 16 == 4 * 16 * 63
    assert w[47] & 0xFF == 16 and w[47] >> 8 == 0x80     # READ/WRITE MULTIPLE up to 16
    assert w[59] & 0x0100 == 0                           # multiple mode not set
    assert w[83] & 0xC000 == 0x4000 and w[83] & 0x1000   # FLUSH CACHE supported
    assert ata_text(data, 27, 20).rstrip() == "EMU HARDDISK"
    assert ata_text(data, 10, 10).strip()                # a serial number
    assert ata_text(data, 23, 4).rstrip() == "1.0"


def test_identify_through_32_bit_data_port(board):
    issue(board, 0xEC)
    dwords = [inp(board, DATA, 4) for _ in range(128)]
    issue(board, 0xEC)
    words = [inp(board, DATA, 2) for _ in range(256)]
    assert dwords == [words[2 * i] | words[2 * i + 1] << 16 for i in range(128)]
    assert status(board) == DRDY


# ---- READ SECTORS ----------------------------------------------------------------------
def test_read_sectors_lba_interrupt_per_sector(board):
    issue(board, 0x20, count=3, lba=5)
    got = b""
    for i in range(3):
        assert intrq(board), i                          # each sector's DRQ interrupts
        assert status(board) == DRDY | DRQ
        assert not intrq(board)
        got += read_words(board, 256)
    assert not intrq(board)                             # none after the last sector
    assert status(board) == DRDY
    assert got == sector_bytes(5) + sector_bytes(6) + sector_bytes(7)
    # ATA-3/4 outputs: count 0, the address of the last sector transferred
    assert taskfile(board) == [0, 7, 0, 0]
    assert inp(board, DEVICE) == 0xE0


def test_read_sectors_chs(board):
    c, h, s = 1, 2, 3
    lba = (c * 16 + h) * 63 + s - 1
    issue(board, 0x20, count=62, chs=(c, h, s))          # to the end of the next track
    got = b"".join(read_words(board, 256) for _ in range(62))
    assert got == b"".join(sector_bytes(lba + i) for i in range(62))
    assert taskfile(board) == [0, 1, 1, 0]               # last sector: C1 H3 S1
    assert inp(board, DEVICE) & 0x0F == 3


def test_read_count_zero_means_256(board):
    issue(board, 0x20, count=0, lba=100)
    n = 0
    while inp(board, STATUS) & DRQ:
        read_words(board, 256)
        n += 1
    assert n == 256 and taskfile(board) == [0, (355) & 0xFF, 355 >> 8, 0]


def test_read_beyond_the_end_is_idnf(board):
    issue(board, 0x20, count=1, lba=SECTORS)
    assert intrq(board)
    assert status(board) == DRDY | ERR and inp(board, ERROR) == IDNF
    # CHS outside the geometry
    issue(board, 0x20, count=1, chs=(0, 0, 64))
    assert status(board) == DRDY | ERR and inp(board, ERROR) == IDNF
    # a read that runs off the end transfers what exists, then fails on the first missing sector
    issue(board, 0x20, count=3, lba=SECTORS - 2)
    assert read_words(board, 512) == sector_bytes(SECTORS - 2) + sector_bytes(SECTORS - 1)
    assert status(board) == DRDY | ERR and inp(board, ERROR) == IDNF
    assert inp(board, COUNT) == 1                        # one sector not transferred


# ---- WRITE SECTORS ---------------------------------------------------------------------
def test_write_sectors_interrupts_and_image(board, tmp_path):
    new = [bytes([0xA0 + i]) * 512 for i in range(2)]
    issue(board, 0x30, count=2, lba=9)
    assert status(board) == DRDY | DRQ
    assert not intrq(board)                              # no interrupt before the first block
    for i in range(256):
        out(board, DATA, int.from_bytes(new[0][2 * i:2 * i + 2], "little"), 2)
    assert intrq(board)                                  # second block wanted
    assert inp(board, ALTSTATUS) & FIXED == DRDY | DRQ
    assert status(board) == DRDY | DRQ and not intrq(board)
    for i in range(128):                                 # 32-bit writes split in two words
        out(board, DATA, int.from_bytes(new[1][4 * i:4 * i + 4], "little"), 4)
    assert intrq(board)                                  # end of the command
    assert status(board) == DRDY and not intrq(board)
    assert taskfile(board) == [0, 10, 0, 0]
    issue(board, 0x20, count=2, lba=9)
    assert read_words(board, 512) == new[0] + new[1]
    # the file changes only when the machine stops, atomically, and only there
    path = tmp_path / "disk.hdd"
    assert path.read_bytes()[9 * 512:10 * 512] == sector_bytes(9)
    board.shutdown()
    data = path.read_bytes()
    assert data[9 * 512:11 * 512] == new[0] + new[1]
    assert data[:9 * 512] == b"".join(sector_bytes(i) for i in range(9))
    assert not list(tmp_path.glob("*.tmp"))


def test_write_to_a_read_only_image_aborts(tmp_path):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD.replace("device: ide0, drive: 0}", "device: ide0, drive: 0, writable: false}"))
    m = Machine.load(str(f), {"hdd": image(tmp_path / "ro.hdd")})
    issue(m, 0x30, count=1, lba=1)
    assert status(m) == DRDY | ERR and inp(m, ERROR) & ABRT


# ---- READ/WRITE MULTIPLE -----------------------------------------------------------------
def test_read_multiple_needs_set_multiple_mode(board):
    issue(board, 0xC4, count=4, lba=0)
    assert intrq(board) and status(board) == DRDY | ERR and inp(board, ERROR) == ABRT
    for bad in (3, 32):                                 # not a power of two; above word 47
        issue(board, 0xC6, count=bad)
        assert status(board) == DRDY | ERR and inp(board, ERROR) == ABRT
    issue(board, 0xC6, count=4)
    assert intrq(board) and status(board) == DRDY and inp(board, ERROR) == 0
    issue(board, 0xEC)
    w59 = int.from_bytes(read_words(board, 256)[118:120], "little")
    assert w59 == 0x0104


def test_read_and_write_multiple_interrupt_per_block(board):
    issue(board, 0xC6, count=4)
    status(board)
    issue(board, 0xC4, count=10, lba=20)
    blocks = []
    while True:
        if not intrq(board):
            break
        assert status(board) == DRDY | DRQ
        n = 0
        while inp(board, ALTSTATUS) & DRQ and n < 16:
            read_words(board, 256)
            n += 1
            if intrq(board):
                break
        blocks.append(n)
    assert blocks == [4, 4, 2]                           # one interrupt per DRQ block
    assert status(board) == DRDY and taskfile(board) == [0, 29, 0, 0]
    # WRITE MULTIPLE: no interrupt for the first block, then one per block and at the end
    issue(board, 0xC5, count=6, lba=40)
    irqs = []
    for blk in (4, 2):
        irqs.append(intrq(board))
        status(board)
        for _ in range(blk * 256):
            out(board, DATA, 0x5AA5, 2)
    irqs.append(intrq(board))
    assert irqs == [False, True, True]
    assert status(board) == DRDY and taskfile(board) == [0, 45, 0, 0]
    issue(board, 0x20, count=1, lba=45)
    assert read_words(board, 256) == b"\xA5\x5A" * 256


# ---- non-data commands -------------------------------------------------------------------
@pytest.mark.parametrize("cmd,feature", [(0xE7, 0), (0xEF, 0x03), (0xEF, 0x02), (0x10, 0),
                                         (0x70, 0)])
def test_non_data_commands_complete_with_an_interrupt(board, cmd, feature):
    issue(board, cmd, count=0x0C, feature=feature, lba=0)
    assert intrq(board)
    assert status(board) == DRDY and inp(board, ERROR) == 0
    assert not intrq(board)


@pytest.mark.parametrize("cmd,feature", [(0xFF, 0), (0x00, 0), (0xC8, 0), (0x24, 0),
                                         (0xEF, 0x77)])
def test_unknown_commands_abort(board, cmd, feature):
    """DMA, LBA48 (24h), NOP and other unsupported commands: ERR with ABRT."""
    issue(board, cmd, feature=feature, lba=0)
    assert intrq(board)
    assert status(board) == DRDY | ERR and inp(board, ERROR) == ABRT


def test_initialize_device_parameters_changes_chs_translation(board):
    out(board, COUNT, 32)
    out(board, DEVICE, 0xA0 | 7)                         # 8 heads, 32 sectors per track
    out(board, COMMAND, 0x91)
    assert intrq(board) and status(board) == DRDY
    issue(board, 0xEC)
    w = read_words(board, 256)
    word = lambda i: int.from_bytes(w[2 * i:2 * i + 2], "little")
    assert (word(54), word(55), word(56)) == (SECTORS // 256, 8, 32)
    assert (word(1), word(3), word(6)) == (4, 16, 63)    # default geometry unchanged
    issue(board, 0x20, count=1, chs=(2, 5, 7))
    assert read_words(board, 256) == sector_bytes((2 * 8 + 5) * 32 + 6)


def test_read_native_max_address(board):
    issue(board, 0xF8, lba=0)
    assert status(board) == DRDY
    assert taskfile(board)[1:] == [(SECTORS - 1) & 0xFF, (SECTORS - 1) >> 8, 0]


# ---- interrupts ----------------------------------------------------------------------
def test_nien_masks_intrq(board):
    out(board, DEVCTL, 0x02)                             # nIEN
    issue(board, 0x20, count=1, lba=0)
    assert not intrq(board)
    assert inp(board, ALTSTATUS) & DRQ
    out(board, DEVCTL, 0x00)                             # the pending interrupt shows now
    assert intrq(board)
    assert status(board) == DRDY | DRQ and not intrq(board)


def test_intrq_reaches_the_cpu_as_irq14(board):
    for port, base, icw3 in ((0x20, 0x08, 0x04), (0xA0, 0x70, 0x02)):
        out(board, port, 0x11)
        out(board, port + 1, base)
        out(board, port + 1, icw3)
        out(board, port + 1, 0x01)
    out(board, 0x21, 0xFB)                               # cascade only
    out(board, 0xA1, 0xBF)                               # IRQ 14 only
    issue(board, 0xE7)
    from emu import abi
    s = board.cpu.state
    assert s[abi.S_IRQ] & 1 and s[abi.S_IRQ_VECTOR] == 0x76


# ---- absent devices --------------------------------------------------------------------
def test_absent_device_1_answers_through_device_0(board):
    """ATA-6 9.16.1: with device 1 absent, device 0 keeps the shared registers, Status
    and Alternate Status read 00h for device 1, and its commands are ignored."""
    out(board, DEVICE, 0xB0)
    assert inp(board, STATUS) == 0x00 and inp(board, ALTSTATUS) == 0x00
    out(board, COUNT, 0x5A)
    assert inp(board, COUNT) == 0x5A
    out(board, COMMAND, 0xEC)
    assert inp(board, STATUS) == 0x00 and not intrq(board)
    out(board, DEVICE, 0xA0)
    assert status(board) == DRDY and inp(board, COUNT) == 0x5A   # device 0 did nothing


def test_empty_channel_floats(board):
    for port in list(range(0x171, 0x178)) + [0x376]:
        assert inp(board, port) == 0x7F, hex(port)
    assert inp(board, 0x170, 2) == 0xFF7F
    out(board, 0x172, 0x5A)
    assert inp(board, 0x172) == 0x7F                     # nothing latches it


def test_second_device_on_the_channel(tmp_path):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    m = Machine.load(str(f), {"hdd": image(tmp_path / "a.hdd"),
                              "hdd2": image(tmp_path / "b.hdd", 2016)})
    issue(m, 0xEC, dev=1)
    w = read_words(m, 256)
    assert int.from_bytes(w[120:124], "little") == 2016
    assert inp(m, DEVICE) & 0x10


# ---- images -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [512 * 1007, 512 * 3000 + 1, 0])
def test_image_no_geometry_fits_is_refused(tmp_path, size):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    bad = tmp_path / "bad.hdd"
    bad.write_bytes(bytes(size))
    with pytest.raises(MediaError) as e:
        Machine.load(str(f), {"hdd": bad})
    assert "\n" not in str(e.value) and str(bad) in str(e.value)


def test_cli_refuses_a_too_small_hard_disk_in_one_line(tmp_path):
    bad = tmp_path / "tiny.hdd"
    bad.write_bytes(bytes(64 * 1024))
    r = subprocess.run([sys.executable, "-m", "emu", "run", "pc", str(bad), "--headless",
                        "--frames", "1"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "fits no ATA disk geometry" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ---- the pc: INT 13h and the ATA registers see the same sectors ------------------------------
X86 = ROOT / "roms_test" / "x86"


def test_int13_writes_read_back_through_ata(tmp_path):
    """writetest.img writes LBA 5 of drive 80h with INT 13h AH=43h; the ATA
    registers of the primary master then return those bytes."""
    fd = tmp_path / "wt.img"
    fd.write_bytes((X86 / "writetest.img").read_bytes())
    hd = tmp_path / "disk.hdd"
    hd.write_bytes(bytes(1 << 20))
    m = Machine.load("pc", {"a": fd, "hdd": hd})
    assert m.run_until(lambda mm: "WRITETEST DONE" in mm.devices["debug"].text, 20)
    assert "HD WRITE OK" in m.devices["debug"].text
    issue(m, 0x20, count=1, lba=5)
    assert read_words(m, 256) == bytes(255 - (i & 0xFF) for i in range(512))


def test_ata_writes_boot_through_int13(tmp_path):
    """Sectors written through the ATA registers (a host-side driver) are what the
    BIOS's INT 13h reads: hello's two sectors, written by WRITE SECTORS on a blank
    disk, boot."""
    hd = tmp_path / "disk.hdd"
    hd.write_bytes(bytes(2 << 20))
    m = Machine.load("pc", {"hdd": hd})
    hello = (X86 / "hello.img").read_bytes()[:1024]
    issue(m, 0x30, count=2, lba=0)
    for i in range(512):
        out(m, DATA, hello[2 * i] | hello[2 * i + 1] << 8, 2)
    assert status(m) == DRDY
    m.reset()
    assert m.run_until(lambda mm: "HELLO OK" in mm.devices["debug"].text, 20)
    assert "boot drive 80: booting" in m.devices["debug"].text


def test_two_hard_disks_are_80h_and_81h(tmp_path):
    """A second hard-disk image goes to slot hdd2, the secondary master: the BIOS
    finds it there at POST (two hard disks, 81h) beside the primary master."""
    a = tmp_path / "a.hdd"
    a.write_bytes((X86 / "hello.img").read_bytes()[:1024].ljust(2 << 20, b"\0"))
    b = image(tmp_path / "b.hdd", 3 * 1008)
    m = Machine.load("pc", [a, b])
    assert m.media_paths == {"hdd": a, "hdd2": b}
    assert m.run_until(lambda mm: "HELLO OK" in mm.devices["debug"].text, 20)
    assert "hard disks: 2" in m.devices["debug"].text and m.memory[0x475] == 2
    out(m, 0x176, 0xE0)
    out(m, 0x177, 0xF8)                                  # READ NATIVE MAX on the secondary
    assert [inp(m, 0x170 + r) for r in (3, 4, 5)] == [(3023) & 0xFF, 3023 >> 8, 0]
