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
