"""The VGA against the IBM VGA Technical Reference (and FreeVGA's "VGA/SVGA Video
Memory Operations"): write modes 0-3, set/reset, rotate and logic functions,
the bit mask and map mask, the latches, read modes 0-1, the memory map windows,
odd/even and chain-4 addressing, glyphs from plane 2, and the scan-out of text
mode 03h and mode 13h computed here from the memory contents.

Most tests drive the device on a Z80 board (ports through the bus, video memory
through the device's mem_read/mem_write with absolute addresses); the direct
window (plain-RAM pages in odd/even text and chain-4) is checked on the pc
machine's bus against the same model."""
import numpy as np
import pytest

from emu.machine import Machine
from tests.conftest import bios_font, ega_rgb

BOARD = """
name: vgaboard
cpus: {maincpu: {core: z80, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
ports:
  maincpu:
    - {start: 0x3B0, end: 0x3DF, device: vga}
    - {start: 0x610, device: vga}
devices: {vga: {type: vga}}
screen: {width: 640, height: 400, refresh: 60, device: vga}
"""

# MODE_REGS in the device is what is tested, so the tests name the registers themselves


@pytest.fixture
def board(tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(BOARD)
    m = Machine.load(str(f))
    m.memory[0] = 0x76                               # Z80 HALT
    return m


def out(m, port, v):
    m.spaces["maincpu"].io_write(port, v, 1)


def inp(m, port):
    return m.spaces["maincpu"].io_read(port, 1)


def seq(m, i, v):
    out(m, 0x3C4, i)
    out(m, 0x3C5, v)


def gc(m, i, v):
    out(m, 0x3CE, i)
    out(m, 0x3CF, v)


def planar(m):
    """16-colour planar addressing at A0000h/64K (as mode 12h): no chain-4, no odd/even."""
    seq(m, 0x04, 0x06)
    seq(m, 0x02, 0x0F)
    gc(m, 0x05, 0x00)
    gc(m, 0x06, 0x05)


def put(vga, addr, values):
    for p, v in enumerate(values):
        vga.planes[p][addr] = v


def at(vga, addr):
    return [int(vga.planes[p][addr]) for p in range(4)]


# ---- write modes ---------------------------------------------------------------------
def test_write_mode_0_set_reset_and_bit_mask(board):
    vga = board.devices["vga"]
    planar(board)
    put(vga, 0x10, [0x0F, 0xF0, 0xAA, 0x55])
    vga.mem_read(0xA0010, 1)                         # latches <- the four planes
    gc(board, 0x00, 0b0101)                          # set/reset value
    gc(board, 0x01, 0b0011)                          # enabled for planes 0 and 1
    gc(board, 0x08, 0xF0)                            # bit mask: high nibble from the source
    vga.mem_write(0xA0010, 0x3C, 1)
    # plane 0: set/reset 1 -> FF; plane 1: set/reset 0 -> 00; planes 2, 3: CPU data 3C;
    # bits outside the mask come from the latches
    assert at(vga, 0x10) == [0xF0 | 0x0F, 0x00 | 0x00, 0x30 | 0x0A, 0x30 | 0x05]


def test_write_mode_0_rotate_and_logic_functions(board):
    vga = board.devices["vga"]
    planar(board)
    latch = [0x0F, 0xF0, 0xAA, 0x55]
    data, rotated = 0x81, 0x60                       # 1000 0001 rotated right by 2
    for func, op in ((0, lambda s, l: s), (1, lambda s, l: s & l), (2, lambda s, l: s | l),
                     (3, lambda s, l: s ^ l)):
        put(vga, 0x20, latch)
        vga.mem_read(0xA0020, 1)
        gc(board, 0x03, func << 3 | 2)
        vga.mem_write(0xA0020, data, 1)
        assert at(vga, 0x20) == [op(rotated, x) for x in latch], func


def test_write_mode_1_copies_the_latches_under_the_map_mask(board):
    vga = board.devices["vga"]
    planar(board)
    put(vga, 0x100, [1, 2, 3, 4])
    put(vga, 0x200, [9, 9, 9, 9])
    gc(board, 0x05, 0x01)
    gc(board, 0x08, 0x00)                            # bit mask and data do not matter
    vga.mem_read(0xA0100, 1)
    seq(board, 0x02, 0b0101)
    vga.mem_write(0xA0200, 0x77, 1)
    assert at(vga, 0x200) == [1, 9, 3, 9]


def test_write_mode_2_colour_to_planes(board):
    vga = board.devices["vga"]
    planar(board)
    put(vga, 0x30, [0x11, 0x22, 0x33, 0x44])
    vga.mem_read(0xA0030, 1)
    gc(board, 0x05, 0x02)
    gc(board, 0x08, 0x0F)
    vga.mem_write(0xA0030, 0x0A, 1)                  # colour 1010b: planes 1 and 3 set
    assert at(vga, 0x30) == [0x10, 0x2F, 0x30, 0x4F]


def test_write_mode_3_rotated_data_masks_set_reset(board):
    vga = board.devices["vga"]
    planar(board)
    put(vga, 0x40, [0xFF, 0x00, 0xFF, 0x00])
    vga.mem_read(0xA0040, 1)
    gc(board, 0x05, 0x03)
    gc(board, 0x00, 0b1100)                          # set/reset: planes 2 and 3
    gc(board, 0x08, 0x3C)
    gc(board, 0x03, 0x04)                            # rotate right by 4
    vga.mem_write(0xA0040, 0x0F, 1)                  # rotated F0h AND bit mask = 30h
    assert at(vga, 0x40) == [0xCF, 0x00, 0xFF, 0x30]


# ---- reads -----------------------------------------------------------------------------
def test_read_mode_0_read_map_and_read_mode_1_colour_compare(board):
    vga = board.devices["vga"]
    planar(board)
    put(vga, 0x50, [0xF0, 0xCC, 0xAA, 0xFF])
    for plane in range(4):
        gc(board, 0x04, plane)
        assert vga.mem_read(0xA0050, 1) == at(vga, 0x50)[plane]
    gc(board, 0x05, 0x08)                            # read mode 1
    gc(board, 0x02, 0b1011)                          # colour compare
    gc(board, 0x07, 0b1111)                          # every plane counts
    assert vga.mem_read(0xA0050, 1) == 0xF0 & 0xCC & (~0xAA & 0xFF) & 0xFF
    gc(board, 0x07, 0b0011)                          # planes 2 and 3 "don't care"
    assert vga.mem_read(0xA0050, 1) == 0xF0 & 0xCC
    gc(board, 0x07, 0b0000)
    assert vga.mem_read(0xA0050, 1) == 0xFF


def test_every_read_loads_the_latches(board):
    vga = board.devices["vga"]
    planar(board)
    put(vga, 0x60, [5, 6, 7, 8])
    gc(board, 0x04, 3)
    vga.mem_read(0xA0060, 1)
    gc(board, 0x05, 0x01)                            # write mode 1: store the latches
    vga.mem_write(0xA0061, 0, 1)
    assert at(vga, 0x61) == [5, 6, 7, 8]


# ---- the CPU window -------------------------------------------------------------------
@pytest.mark.parametrize("select, base, size", [(0, 0xA0000, 0x20000), (1, 0xA0000, 0x10000),
                                                (2, 0xB0000, 0x8000), (3, 0xB8000, 0x8000)])
def test_memory_map_select(board, select, base, size):
    vga = board.devices["vga"]
    planar(board)
    gc(board, 0x06, select << 2 | 1)
    seq(board, 0x02, 0x01)
    for addr in range(0xA0000, 0xC0000, 0x4000):
        vga.mem_write(addr + 3, 0x5A, 1)
    written = {(a - base) & 0xFFFF for a in range(0xA0003, 0xC0000, 0x4000) if base <= a < base + size}
    assert {a for a in range(0x10000) if vga.planes[0][a] == 0x5A} == written
    outside = [a for a in range(0xA0003, 0xC0000, 0x4000) if not base <= a < base + size]
    assert all(vga.mem_read(a, 1) == 0xFF for a in outside)      # not decoded


def test_odd_even_text_addressing(board):
    """Mode 03h (power-on registers): even addresses reach plane 0, odd plane 1, at
    the address with bit 0 cleared; the map mask's planes 2/3 pair with them."""
    vga = board.devices["vga"]
    vga.mem_write(0xB8000 + 10, ord("X"), 1)
    vga.mem_write(0xB8000 + 11, 0x1F, 1)
    assert at(vga, 10) == [ord("X"), 0x1F, 0, 0]
    assert vga.mem_read(0xB8000 + 10, 1) == ord("X") and vga.mem_read(0xB8000 + 11, 1) == 0x1F
    seq(board, 0x02, 0x0F)                           # even -> planes 0 and 2
    vga.mem_write(0xB8000 + 20, 0x41, 1)
    assert at(vga, 20) == [0x41, 0, 0x41, 0]
    gc(board, 0x04, 2)                               # read map 2/3 pair
    assert vga.mem_read(0xB8000 + 20, 1) == 0x41 and vga.mem_read(0xB8000 + 21, 1) == 0


def test_chain4_addressing(board):
    """Mode 13h: the two low address bits pick the plane (for the low 16 KiB the plane
    address is the CPU address with them cleared)."""
    vga = board.devices["vga"]
    out(board, 0x610, 0x13)
    for w in range(64):
        vga.mem_write(0xA0000 + w, w + 1, 1)
    for w in range(64):
        assert vga.planes[w & 3][w & ~3] == w + 1
        assert vga.mem_read(0xA0000 + w, 1) == w + 1


# ---- scan-out -------------------------------------------------------------------------
def text_cell(font, ch, attr, fg_on=True, lge=True):
    """9x16 pixels of a mode 03h cell: glyph bits in the attribute's colours through the
    mode's attribute palette (0-5 -> 0-5, 6 -> 14h, 7 -> 07h, 8-15 -> 38h-3Fh) and the EGA
    DAC colours; bit 7 is blink, so the background has 3 bits; the 9th dot repeats the
    8th for C0h-DFh (line graphics), else it is background."""
    atc = [0, 1, 2, 3, 4, 5, 0x14, 7] + list(range(0x38, 0x40))
    fg, bg = ega_rgb(atc[attr & 15]), ega_rgb(atc[attr >> 4 & 7])
    if attr & 0x80 and not fg_on:
        fg = bg
    bits = (font[ch][:, None] >> (7 - np.arange(8))) & 1
    ninth = bits[:, 7:8] if lge and 0xC0 <= ch <= 0xDF else np.zeros((16, 1), dtype=bits.dtype)
    return np.where(np.concatenate([bits, ninth], axis=1), fg, bg)


def cursor_off(m):
    out(m, 0x3D4, 0x0A)
    out(m, 0x3D5, 0x20)                              # CRTC 0Ah bit 5


def load_font_plane2(m, font):
    """Through the registers, as a program does: map mask 4, sequential, read map 2."""
    vga = m.devices["vga"]
    seq(m, 0x02, 0x04)
    seq(m, 0x04, 0x07)
    gc(m, 0x04, 0x02)
    gc(m, 0x05, 0x00)
    gc(m, 0x06, 0x04)
    for ch in range(256):
        for row in range(16):
            vga.mem_write(0xA0000 + ch * 32 + row, int(font[ch][row]), 1)
    seq(m, 0x02, 0x03)
    seq(m, 0x04, 0x03)
    gc(m, 0x04, 0x00)
    gc(m, 0x05, 0x10)
    gc(m, 0x06, 0x0E)


def test_mode3_render_from_memory(board):
    vga = board.devices["vga"]
    font = bios_font()
    load_font_plane2(board, font)
    rng = np.random.default_rng(3)
    chars = rng.integers(0, 256, 2000)
    attrs = rng.integers(0, 256, 2000)
    chars[:4] = [0xC4, 0xB0, 0xDB, ord("A")]         # a line-graphics char and neighbours
    for i in range(2000):
        vga.mem_write(0xB8000 + 2 * i, int(chars[i]), 1)
        vga.mem_write(0xB8001 + 2 * i, int(attrs[i]), 1)
    cursor_off(board)
    board.frame = 0                                  # blink phase: characters shown
    board.step_frame(1)
    fb = board.screen.framebuffer
    assert fb.shape == (400, 720)
    for i in list(range(8)) + list(rng.integers(0, 2000, 200)):
        r, c = divmod(int(i), 80)
        want = text_cell(font, int(chars[i]), int(attrs[i]))
        assert np.array_equal(fb[r * 16:r * 16 + 16, c * 9:c * 9 + 9], want), (r, c)
    # blink off-phase (frame 16..31): blinking characters show only their background
    board.frame = 16
    board.step_frame(1)
    fb = board.screen.framebuffer
    i = int(np.flatnonzero(attrs & 0x80)[0])
    r, c = divmod(i, 80)
    assert np.array_equal(fb[r * 16:r * 16 + 16, c * 9:c * 9 + 9],
                          text_cell(font, int(chars[i]), int(attrs[i]), fg_on=False))


def test_glyph_changed_in_plane2_is_what_is_shown(board):
    vga = board.devices["vga"]
    font = bios_font()
    load_font_plane2(board, font)
    vga.mem_write(0xB8000, ord("A"), 1)
    vga.mem_write(0xB8001, 0x07, 1)
    cursor_off(board)
    board.frame = 0
    board.step_frame(1)
    assert np.array_equal(board.screen.framebuffer[:16, :9], text_cell(font, ord("A"), 0x07))
    mine = font.copy()
    mine[ord("A")] = [0x81, 0x42, 0x24, 0x18] * 4    # a new 'A'
    load_font_plane2(board, mine)
    board.step_frame(1)
    assert np.array_equal(board.screen.framebuffer[:16, :9], text_cell(mine, ord("A"), 0x07))


def test_cursor_and_start_address(board):
    vga = board.devices["vga"]
    font = bios_font()
    load_font_plane2(board, font)
    for i in range(4000):
        vga.mem_write(0xB8000 + 2 * i, 0x30 + i % 10, 1)
        vga.mem_write(0xB8001 + 2 * i, 0x07, 1)
    pos = 3 * 80 + 5
    for reg, v in ((0x0A, 0x0C), (0x0B, 0x0F), (0x0E, pos >> 8), (0x0F, pos & 0xFF),
                   (0x0C, 0x00), (0x0D, 80)):        # start one row down
        out(board, 0x3D4, reg)
        out(board, 0x3D5, v)
    board.frame = 0                                  # cursor shown in frames 0-7
    board.step_frame(1)
    fb = board.screen.framebuffer
    # start address 80: screen row r shows text row r + 1; the cursor is at memory
    # position 3 * 80 + 5, i.e. screen row 2, column 5, scan lines 12-15 in the foreground
    for r, c in ((0, 0), (2, 5), (5, 79)):
        ch = 0x30 + ((r + 1) * 80 + c) % 10
        want = text_cell(font, ch, 0x07)
        if (r, c) == (2, 5):
            want[12:16] = ega_rgb(0x07)
        assert np.array_equal(fb[r * 16:r * 16 + 16, c * 9:c * 9 + 9], want), (r, c)
    board.frame = 8                                  # blink phase: no cursor
    board.step_frame(1)
    assert np.array_equal(board.screen.framebuffer[32:48, 45:54],
                          text_cell(font, 0x30 + (3 * 80 + 5) % 10, 0x07))


def test_mode13_render_from_memory(board):
    vga = board.devices["vga"]
    out(board, 0x610, 0x13)
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (200, 320)).astype(np.uint8)
    for y in range(200):
        for x in range(320):
            vga.mem_write(0xA0000 + y * 320 + x, int(pixels[y, x]), 1)
    out(board, 0x3C8, 0)
    dac = rng.integers(0, 64, (256, 3))
    for v in dac.reshape(-1):
        out(board, 0x3C9, int(v))
    board.step_frame(1)
    eight = np.floor(dac * 255 / 63 + 0.5).astype(np.uint32)
    rgb = eight[:, 0] << 16 | eight[:, 1] << 8 | eight[:, 2]
    fb = board.screen.framebuffer
    assert fb.shape == (400, 640)                    # 320x200 pixels, each 2x2 dots
    for dy in (0, 1):
        for dx in (0, 1):
            assert np.array_equal(fb[dy::2, dx::2], rgb[pixels])
    # start address (CRTC 0Ch/0Dh) in double-word units: 80 = 320 bytes = one pixel row
    out(board, 0x3D4, 0x0D)
    out(board, 0x3D5, 80)
    board.step_frame(1)
    assert np.array_equal(board.screen.framebuffer[0:398:2, ::2], rgb[pixels[1:]])


def test_attribute_controller_and_pixel_mask(board):
    """ATC index/data flip-flop (reset by reading 3DAh), palette registers, and the
    palette address source bit: display off while it is clear."""
    vga = board.devices["vga"]
    inp(board, 0x3DA)
    out(board, 0x3C0, 0x01)
    out(board, 0x3C0, 0x3F)                          # palette 1 -> 3Fh (white)
    assert inp(board, 0x3C1) == 0x3F and inp(board, 0x3C0) == 0x01
    board.step_frame(1)
    assert np.all(board.screen.framebuffer == ega_rgb(0))          # index bit 5 clear: blank
    out(board, 0x3C0, 0x20)
    cursor_off(board)
    vga.mem_write(0xB8001, 0x10, 1)                  # background colour 1 at cell 0
    board.step_frame(1)
    assert np.all(board.screen.framebuffer[:16, :9] == 0xFFFFFF)
    out(board, 0x3C6, 0x0F)                          # pixel mask: 3Fh -> 0Fh
    board.step_frame(1)
    assert np.all(board.screen.framebuffer[:16, :9] == ega_rgb(0x0F))


def test_crtc_protect_and_mono_addressing(board):
    out(board, 0x3D4, 0x11)
    out(board, 0x3D5, 0x8E)                          # protect 00h-07h
    out(board, 0x3D4, 0x01)
    out(board, 0x3D5, 0x27)
    assert inp(board, 0x3D5) == 0x4F                 # unchanged
    out(board, 0x3C2, 0x66)                          # misc bit 0 clear: CRTC at 3B4h/3B5h
    assert inp(board, 0x3D5) == 0xFF
    out(board, 0x3B4, 0x0E)
    assert inp(board, 0x3B4) == 0x0E
    assert inp(board, 0x3CC) == 0x66


# ---- the pc machine: the direct window agrees with the planar model ---------------------
def test_direct_window_matches_mmio():
    pytest.importorskip("cores.x86")
    m = Machine.load("pc")                           # power-on: mode 03h registers, window direct
    vga = m.devices["vga"]
    sp = m.spaces["maincpu"]
    assert vga.flat == ("oddeven", 3)
    assert sp.rpage[0xB8] >= 0 and sp.rpage[0xA0] < 0            # B8000h RAM, A0000h not decoded
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, 0x8000).astype(np.uint8)
    m.memory[0xB8000:0xC0000] = data.tobytes()
    vga.sync()
    assert np.array_equal(vga.planes[0][0:0x8000:2], data[0::2])
    assert np.array_equal(vga.planes[1][0:0x8000:2], data[1::2])
    assert m.memory[0xA0000] == 0xFF
    # write mode 1 is not plain memory: the window becomes MMIO and still shows the planes
    out(m, 0x3CE, 0x05)
    out(m, 0x3CF, 0x11)
    assert vga.flat is None and sp.rpage[0xB8] < 0
    assert m.memory[0xB8000:0xB8010] == data[:16].tobytes()
    out(m, 0x3CF, 0x10)
    assert vga.flat == ("oddeven", 3)
    assert m.memory[0xB8000:0xB8010] == data[:16].tobytes()
    # mode 13h: chain-4 at A0000h, 64 KiB, direct; pixels land in the planes
    out(m, 0x610, 0x13)
    assert vga.flat == ("chain4", 1) and sp.rpage[0xA0] >= 0 and sp.rpage[0xB8] < 0
    m.memory[0xA0000:0xA0010] = bytes(range(16))
    vga.sync()
    assert [int(vga.planes[w & 3][w & ~3]) for w in range(16)] == list(range(16))


FONT_GUEST = """
        org     0x7C00
%include "boot.inc"
        BOOT_SETUP
        mov     ax, 0x1100              ; user font: one glyph for 'A'
        mov     bx, 0x1000              ; BH = 16 bytes per character, block 0
        mov     cx, 1
        mov     dx, 'A'
        mov     bp, glyph
        int     0x10
        mov     ah, 0x02                ; cursor to (0, 0)
        xor     bh, bh
        xor     dx, dx
        int     0x10
        mov     ax, 0x0941              ; 'A' at the cursor, attribute 07h
        mov     bx, 0x0007
        mov     cx, 1
        int     0x10
        mov     ax, 0x1130              ; ES:BP = the ROM 8x16 font
        mov     bh, 0x06
        int     0x10
        add     bp, 'A' * 16            ; its 'A' becomes the 'Z' glyph
        mov     ax, 0x1110
        mov     bx, 0x1000
        mov     cx, 1
        mov     dx, 'Z'
        int     0x10
        mov     al, 'K'
        out     0xE9, al
.h:     hlt
        jmp     .h
glyph:  times 4 db 0x81, 0x42, 0x24, 0x18
        times 510 - ($ - $$) db 0
        dw      0xAA55
"""


def test_int10_ah11_loads_fonts_into_plane2(tmp_path):
    """INT 10h AX=1100h (user glyph), AX=1130h BH=06h (ROM font pointer) and AX=1110h:
    the text shows the glyphs loaded, taken from plane 2."""
    import shutil
    import subprocess
    pytest.importorskip("cores.x86")
    if not shutil.which("nasm"):
        pytest.skip("nasm (Debian package nasm) is not installed")
    from tests.conftest import ROOT
    src = tmp_path / "font.asm"
    src.write_text(FONT_GUEST)
    img = tmp_path / "font.img"
    subprocess.run(["nasm", "-I", f"{ROOT / 'roms_test' / 'x86'}/", "-f", "bin", "-o", str(img),
                    str(src)], check=True)
    img.write_bytes(img.read_bytes().ljust(1474560, b"\0"))
    m = Machine.load("pc", [img])
    assert m.run_until(lambda mm: "booting\r\nK" in mm.devices["debug"].text, 10)
    m.memory[0xB8002:0xB8004] = bytes([ord("Z"), 0x07])
    font = bios_font()
    mine = font.copy()
    mine[ord("A")] = [0x81, 0x42, 0x24, 0x18] * 4
    m.frame = 8                                      # cursor blink phase: off
    m.step_frame(1)
    fb = m.screen.framebuffer
    assert np.array_equal(fb[:16, :9], text_cell(mine, ord("A"), 0x07))
    assert np.array_equal(fb[:16, 9:18], text_cell(font, ord("A"), 0x07))   # 'Z' = ROM 'A'


def test_save_state_restores_planes_registers_and_window(tmp_path):
    pytest.importorskip("cores.x86")
    a = Machine.load("pc")
    out(a, 0x610, 0x13)                              # chain-4, direct at A0000h
    a.memory[0xA0000:0xA0100] = bytes(range(256))
    a.save_state(tmp_path / "s.state")
    b = Machine.load("pc")                           # odd/even text, direct at B8000h
    b.memory[0xB8000:0xB8010] = b"x" * 16
    b.load_state(tmp_path / "s.state")
    vga, sp = b.devices["vga"], b.spaces["maincpu"]
    assert vga.flat == ("chain4", 1) and sp.rpage[0xA0] >= 0 and sp.rpage[0xB8] < 0
    assert b.memory[0xA0000:0xA0100] == bytes(range(256))
    out(b, 0x3CE, 0x05)
    out(b, 0x3CF, 0x41)                              # write mode 1: the window is MMIO again
    assert vga.flat is None and sp.rpage[0xA0] < 0 and sp.rpage[0xB8] < 0
    assert b.memory[0xA0000:0xA0100] == bytes(range(256))
    assert [int(vga.planes[w & 3][w & ~3]) for w in range(256)] == list(range(256))


@pytest.mark.parametrize("extra, message", [
    ("flat_region: nope", "flat_region 'nope' is not a RAM region"),
    ("flat_region: small", "flat_region 'small' must hold 128 KiB"),
    ("flat_region: 5", "flat_region: must name a RAM region"),
])
def test_bad_flat_region_is_one_line(tmp_path, extra, message):
    from emu.errors import EmuError
    f = tmp_path / "v.yaml"
    f.write_text(BOARD.replace("devices: {vga: {type: vga}}",
                               "ram: {small: 64KiB}\ndevices: {vga: {type: vga, " + extra + "}}"))
    with pytest.raises(EmuError) as e:
        Machine.load(str(f))
    assert message in str(e.value) and "\n" not in str(e.value)
