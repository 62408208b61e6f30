"""VGA-compatible display for the PC: 80x25 colour text (mode 03h) and
320x200x256 (mode 13h), rendered once per frame in compiled code into a
640x400 framebuffer (text: 8x16 CP437 glyphs; mode 13h: pixels doubled).

Registers: CRTC index/data 3D4h/3D5h (0Ah/0Bh cursor shape, 0Ch/0Dh start
address, 0Eh/0Fh cursor location), DAC 3C7h/3C8h/3C9h (6-bit RGB, three
writes per entry), input status 3DAh (bit 3 vertical retrace, bit 0 display
enable inactive), attribute controller 3C0h (flip-flop reset by reading 3DAh;
palette registers 0-15 are kept but text colours use the standard 16-colour
mapping).  The video mode itself is told by the BIOS through this project's
mode register (port 610h, docs/HARDWARE.md) — real VGA mode-setting through the
sequencer/graphics controller is not modelled.
References: IBM VGA Technical Reference; FreeVGA "CRTC registers", "DAC operation".
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..device import Device
from ..errors import EmuError
from ..font import cp437_font

# the 16 text colours (CGA/EGA RGBI with the brown fix), 0xRRGGBB
TEXT_COLOURS = np.array([0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500,
                         0xAAAAAA, 0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF,
                         0xFFFF55, 0xFFFFFF], dtype=np.uint32)


def default_palette() -> np.ndarray:
    """The VGA BIOS's default 256-colour DAC (6-bit values, 256 x 3): 16 text colours,
    16 greys, then 9 blocks of 24 hue-wheel colours (3 saturations x 3 intensities)."""
    pal = np.zeros((256, 3), dtype=np.uint8)
    for i, c in enumerate(TEXT_COLOURS):
        pal[i] = [(c >> 16) >> 2, ((c >> 8) & 0xFF) >> 2, (c & 0xFF) >> 2]
    greys = [0, 5, 8, 11, 14, 17, 20, 24, 28, 32, 36, 40, 45, 50, 56, 63]
    pal[16:32] = np.array(greys)[:, None]
    i = 32
    for hi, lo in ((63, 0), (63, 31), (63, 45), (28, 0), (28, 14), (28, 20), (16, 0), (16, 8), (16, 11)):
        mid = [lo + (hi - lo) * k // 4 for k in range(5)]
        seq = []
        # hue wheel: blue→magenta→red→yellow→green→cyan→blue, 24 steps
        for k in range(24):
            seg, pos = divmod(k, 4)
            up, down = mid[pos], mid[4 - pos]
            r, g, b = [(up, lo, hi), (hi, lo, down), (hi, up, lo), (down, hi, lo),
                       (lo, hi, up), (lo, down, hi)][seg]
            seq.append((r, g, b))
        pal[i:i + 24] = seq
        i += 24
    return pal


@njit(cache=True)
def render_text(fb, vram, start, font, colours, cursor, cursor_top, cursor_bottom, blink_on):
    for row in range(25):
        for col in range(80):
            off = (start + (row * 80 + col) * 2) & 0x7FFF
            ch = np.int64(vram[off])
            attr = np.int64(vram[off + 1])
            fg = colours[attr & 0x0F]
            bg = colours[(attr >> 4) & 0x07]
            if attr & 0x80 and not blink_on:
                fg = bg
            is_cursor = (row * 80 + col) == cursor and blink_on
            for y in range(16):
                bits = np.int64(font[ch, y])
                if is_cursor and cursor_top <= y <= cursor_bottom:
                    bits = 0xFF
                line = fb[row * 16 + y]
                for x in range(8):
                    line[col * 8 + x] = fg if bits & (0x80 >> x) else bg


@njit(cache=True)
def render_13h(fb, vram, dac):
    for y in range(200):
        for x in range(320):
            c = dac[np.int64(vram[y * 320 + x])]
            fb[2 * y, 2 * x] = c
            fb[2 * y, 2 * x + 1] = c
            fb[2 * y + 1, 2 * x] = c
            fb[2 * y + 1, 2 * x + 1] = c


class Vga(Device):
    PARAMS = {"text_region": "vram_text", "gfx_region": "vram_gfx", "mode_port": 0x610}

    def start(self):
        self.font = cp437_font(16)
        self.text_vram = self.machine.mem.region(self.text_region)
        self.gfx_vram = self.machine.mem.region(self.gfx_region)
        # the compiled renderers read whole buffers: refuse regions that are too small
        for region, need in ((self.text_region, 0x8000), (self.gfx_region, 64000)):
            if len(self.machine.mem.region(region)) < need:
                raise EmuError(f"device {self.name}: RAM region {region!r} must hold at "
                               f"least {need} bytes for the VGA")

    def reset(self):
        self.mode = 0x03
        self.crtc_index = 0
        self.crtc = np.zeros(32, dtype=np.uint8)
        self.crtc[0x0A], self.crtc[0x0B] = 14, 15
        self.dac = default_palette()
        self.dac_write = self.dac_read = 0
        self.dac_comp = 0
        self.attr_flip = 0

    @property
    def cursor(self) -> int:
        return (int(self.crtc[0x0E]) << 8) | int(self.crtc[0x0F])

    def dac_rgb(self) -> np.ndarray:
        # the DAC's output level is linear in its 6-bit value (63 = full scale,
        # IBM VGA Technical Reference, "Video DAC"): 8-bit = round(v * 255 / 63)
        d = (self.dac.astype(np.uint32) * 255 + 31) // 63
        return (d[:, 0] << 16) | (d[:, 1] << 8) | d[:, 2]

    def io_read(self, port, size):
        if port == 0x3DA:
            self.attr_flip = 0
            frac = (self.machine.scheduler.now() / self.machine.frame_period) % 1.0
            return 0x09 if frac > 0.95 else 0x00
        if port == 0x3D5:
            return int(self.crtc[self.crtc_index & 31])
        if port == 0x3D4:
            return self.crtc_index
        if port == 0x3C9:
            v = int(self.dac[self.dac_read & 0xFF, self.dac_comp])
            self.dac_comp += 1
            if self.dac_comp == 3:
                self.dac_comp = 0
                self.dac_read = (self.dac_read + 1) & 0xFF
            return v
        if port == self.mode_port:
            return self.mode
        if port == 0x3CC:
            return 0x67
        return 0xFF

    def io_write(self, port, value, size):
        if port == 0x3D4:
            self.crtc_index = value & 0x1F
        elif port == 0x3D5:
            self.crtc[self.crtc_index & 31] = value
        elif port == 0x3C8:
            self.dac_write, self.dac_comp = value, 0
        elif port == 0x3C7:
            self.dac_read, self.dac_comp = value, 0
        elif port == 0x3C9:
            self.dac[self.dac_write & 0xFF, self.dac_comp] = value & 0x3F
            self.dac_comp += 1
            if self.dac_comp == 3:
                self.dac_comp = 0
                self.dac_write = (self.dac_write + 1) & 0xFF
        elif port == 0x3C0:
            self.attr_flip ^= 1
        elif port == self.mode_port:
            self.mode = value & 0x7F

    def frame_end(self):
        fb = self.machine.screen.framebuffer
        if self.mode == 0x13:
            render_13h(fb, self.gfx_vram, self.dac_rgb())
        else:
            start = ((int(self.crtc[0x0C]) << 8) | int(self.crtc[0x0D])) * 2
            top, bottom = int(self.crtc[0x0A]) & 0x1F, int(self.crtc[0x0B]) & 0x1F
            if self.crtc[0x0A] & 0x20:
                top, bottom = 16, 0                  # cursor disabled
            blink = (self.machine.frame // 16) % 2 == 0
            render_text(fb, self.text_vram, start, self.font, TEXT_COLOURS, self.cursor,
                        top, bottom, blink)

    # ---- helpers for scripts and tests ------------------------------------------
    def text_lines(self) -> list[str]:
        """The 80x25 text screen as strings (CP437 decoded)."""
        start = ((int(self.crtc[0x0C]) << 8) | int(self.crtc[0x0D])) * 2
        raw = bytes(self.text_vram[start:start + 4000:2])
        return [raw[r * 80:(r + 1) * 80].decode("cp437") for r in range(25)]

    SAVE_FIELDS = ("mode", "crtc_index", "crtc", "dac", "dac_write", "dac_read", "dac_comp", "attr_flip")


DEVICE = Vga
