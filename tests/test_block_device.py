"""The paravirtual disk controller (docs/HARDWARE.md): DMA reads and writes,
status codes, size checks, and images written atomically and only where the
guest wrote."""
import pytest

from emu.errors import MediaError
from emu.machine import Machine

BOARD = """
name: diskboard
cpus: {maincpu: {core: toy8, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0x7FFF, ram: main}
    - {start: 0x8000, end: 0x80FF, rom: r}
roms: {r: {size: 256}}
ports:
  maincpu:
    - {start: 0x10, end: 0x19, device: disk}
devices:
  disk: {type: block, base: 0x10, drives: 2, sector_size: 128}
media:
  a: {kind: floppy, device: disk, drive: 0, sizes: {"tiny (4 sectors)": 512, "8-inch SSSD": 256256}}
  b: {kind: floppy, device: disk, drive: 1}
"""


@pytest.fixture
def board(tmp_path):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    return f


def regs(m, drive, lba, addr, count, cmd):
    io = m.spaces["maincpu"]
    for r, v in ((1, drive), (2, lba & 0xFF), (3, lba >> 8), (4, 0), (5, 0),
                 (6, addr & 0xFF), (7, addr >> 8), (8, 0), (9, count)):
        io.io_write(0x10 + r, v, 1)
    io.io_write(0x10, cmd, 1)
    return io.io_read(0x10, 1)


def test_read_write_and_status(board, tmp_path):
    img = tmp_path / "a.img"
    img.write_bytes(bytes(range(256)) * 2)
    m = Machine.load(str(board), {"a": img})
    assert regs(m, 0, 1, 0x1000, 2, 1) == 0            # read sectors 1-2
    assert m.memory[0x1000:0x1100] == (bytes(range(128, 256)) + bytes(range(128)))
    m.memory[0x2000:0x2080] = b"\xAA" * 128
    assert regs(m, 0, 3, 0x2000, 1, 2) == 0            # write sector 3
    assert img.read_bytes()[384:] == bytes(range(128, 256))   # not yet flushed
    m.shutdown()
    data = img.read_bytes()
    assert data[384:] == b"\xAA" * 128 and data[:384] == (bytes(range(256)) * 2)[:384]
    assert not (tmp_path / "a.img.tmp").exists()
    assert regs(m, 0, 4, 0x1000, 1, 1) == 2            # beyond the end
    assert regs(m, 1, 0, 0x1000, 1, 1) == 1            # no medium in B:
    assert regs(m, 0, 0, 0x1000, 1, 7) == 4            # bad command
    assert regs(m, 0, 0, 0, 0, 3) == 0                 # query: size in the LBA registers
    io = m.spaces["maincpu"]
    assert [io.io_read(0x12 + i, 1) for i in range(4)] == [4, 0, 0, 0]


def test_unchanged_writes_do_not_touch_the_file(board, tmp_path):
    img = tmp_path / "a.img"
    img.write_bytes(bytes(512))
    before = img.stat().st_mtime_ns
    m = Machine.load(str(board), {"a": img})
    assert regs(m, 0, 0, 0x3000, 1, 2) == 0            # writes zeros over zeros
    m.shutdown()
    assert img.stat().st_mtime_ns == before


def test_dma_into_rom_is_ignored(board, tmp_path):
    img = tmp_path / "a.img"
    img.write_bytes(b"\x55" * 512)
    m = Machine.load(str(board), {"a": img})
    assert regs(m, 0, 0, 0x8000, 1, 1) == 0
    assert m.memory[0x8000] == 0xFF


def test_bad_sizes_are_explained(board, tmp_path):
    img = tmp_path / "odd.img"
    img.write_bytes(bytes(1000))
    with pytest.raises(MediaError, match=r"1000 bytes is not a supported floppy size; supported "
                                         r"geometries: tiny \(4 sectors\) \(512 bytes\), 8-inch SSSD"):
        Machine.load(str(board), {"a": img})
    with pytest.raises(MediaError, match="not a whole number of 128-byte sectors"):
        Machine.load(str(board), {"b": img})
    with pytest.raises(MediaError, match="file not found"):
        Machine.load(str(board), {"a": tmp_path / "missing.img"})
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        Machine.load(str(board), {"b": empty})


def test_snapshot_media_never_write_back(board, tmp_path):
    img = tmp_path / "a.img"
    img.write_bytes(bytes(512))
    m = Machine.load(str(board))
    m.insert("a", img, persist=False)
    m.memory[0x2000:0x2080] = b"\x11" * 128
    assert regs(m, 0, 0, 0x2000, 1, 2) == 0
    assert regs(m, 0, 0, 0x4000, 1, 1) == 0
    assert m.memory[0x4000] == 0x11                    # the guest sees its write
    m.shutdown()
    assert img.read_bytes() == bytes(512)              # the file does not change


# ---- errors and register widths (docs/HARDWARE.md "block") ------------------------
def test_write_protected_image_gives_status_3_and_stays_unchanged(board, tmp_path):
    f = tmp_path / "ro.yaml"
    f.write_text(BOARD.replace("b: {kind: floppy, device: disk, drive: 1}",
                               "b: {kind: floppy, device: disk, drive: 1, writable: false}"))
    img = tmp_path / "b.img"
    img.write_bytes(b"\x5A" * 1024)
    m = Machine.load(str(f), {"b": img})
    m.memory[0x2000:0x2080] = b"\x11" * 128
    assert regs(m, 1, 2, 0x2000, 1, 2) == 3            # write: write protected
    assert regs(m, 1, 2, 0x3000, 1, 1) == 0            # reads still work
    assert m.memory[0x3000:0x3080] == b"\x5A" * 128    # and see the old data
    m.shutdown()
    assert img.read_bytes() == b"\x5A" * 1024


def test_count_0_transfers_256_sectors(board, tmp_path):
    img = tmp_path / "b.img"
    img.write_bytes(b"".join(bytes([i & 0xFF]) * 128 for i in range(300)))
    m = Machine.load(str(board), {"b": img})
    assert regs(m, 1, 0, 0x0000, 0, 1) == 0            # 256 x 128 bytes = all of 0000-7FFF
    assert m.memory[0x0000:0x8000] == img.read_bytes()[:0x8000]
    assert regs(m, 1, 100, 0x0000, 0, 1) == 2          # 100 + 256 > 300 sectors: out of range
    assert regs(m, 1, 44, 0x0000, 0, 1) == 0           # 44 + 256 = 300: the last sector fits


def test_high_lba_bytes_address_beyond_65536_sectors(board, tmp_path):
    img = tmp_path / "big.img"
    sectors = 0x10000 + 8
    with open(img, "wb") as f:
        f.truncate(sectors * 128)
        f.seek(0x10003 * 128)
        f.write(b"\xC3" * 128)
    m = Machine.load(str(board), {"b": img})
    io = m.spaces["maincpu"]

    def read(lba):
        for r, v in ((1, 1), (6, 0x00), (7, 0x30), (8, 0), (9, 1)):
            io.io_write(0x10 + r, v, 1)
        for i in range(4):
            io.io_write(0x12 + i, (lba >> 8 * i) & 0xFF, 1)
        io.io_write(0x10, 1, 1)
        return io.io_read(0x10, 1), m.memory[0x3000:0x3080]
    assert read(0x010003) == (0, b"\xC3" * 128)          # LBA byte 2 counts
    assert read(0x000003) == (0, bytes(128))
    assert read(0x01000003)[0] == 2                      # byte 3 too: far beyond the end
    assert regs(m, 1, 0, 0, 0, 3) == 0                   # query: 65544 sectors
    assert [io.io_read(0x12 + i, 1) for i in range(4)] == [8, 0, 1, 0]


X86_BOARD = """
name: dmaboard
cpus: {maincpu: {core: x86, clock: 1MHz, params: {model: 386}}}
memory:
  maincpu:
    - {start: 0x000000, end: 0x11FFFF, ram: main}
ports:
  maincpu:
    - {start: 0x600, end: 0x609, device: disk}
devices:
  disk: {type: block, base: 0x600, drives: 1, sector_size: 512}
media:
  a: {kind: floppy, device: disk, drive: 0}
"""


def test_high_dma_byte_reaches_memory_above_64k_and_1m(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(X86_BOARD)
    img = tmp_path / "a.img"
    img.write_bytes(bytes(range(256)) * 2 + b"\x77" * 512)
    m = Machine.load(str(f), {"a": img})               # the CPU never runs: no compile
    io = m.spaces["maincpu"]
    for addr in (0x012340, 0x100200):
        for r, v in ((1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (9, 2)):
            io.io_write(0x600 + r, v, 1)
        for i in range(3):
            io.io_write(0x606 + i, (addr >> 8 * i) & 0xFF, 1)
        io.io_write(0x600, 1, 1)
        assert io.io_read(0x600, 1) == 0
        assert m.memory[addr:addr + 1024] == img.read_bytes()
        assert not any(m.memory[addr & 0xFFFF:(addr & 0xFFFF) + 1024])   # not wrapped to 64K
