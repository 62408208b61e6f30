"""VGA: 256 KiB of planar video memory behind the A0000h-BFFFFh window, the
sequencer, graphics controller, CRTC, attribute controller and DAC, scanned out
once per frame in compiled code from the registers (text, 16-colour planar and
256-colour modes).

Memory (IBM VGA Technical Reference, "Graphics Controller Registers";
FreeVGA "VGA/SVGA Video Memory Operations"): four 64 KiB planes; GC 06h bits 2-3
select the CPU window (A0000h/128K, A0000h/64K, B0000h/32K, B8000h/32K), SR 02h
is the map mask, SR 04h chain-4 / odd-even, GC 04h read map select, GC 05h read
mode 0-1, write mode 0-3 and odd/even reads, GC 00h/01h set/reset and its
enable, GC 03h data rotate and function, GC 08h bit mask, GC 02h/07h colour
compare and don't care.  Every CPU read loads the four latches.  Chain-4: the
two low address bits pick the plane and are replaced by address bits 14-15 in
the plane address (so the CRTC's double-word addressing, which rotates its
counter the same way, reads the pixels back in order); odd/even: address bit 0
picks plane 0/2 or 1/3 and the plane address is the CPU address with bit 0
cleared.  Misc output bit 5 (odd/even page) is not modelled.

Text takes its glyphs from plane 2 (32 bytes per character, the block SR 03h
selects; attribute bit 3 picks font A or B), 8 or 9 dots wide (SR 01h bit 0),
with the 9th column of C0h-DFh repeating the 8th when ATC 10h bit 2 is set.
Colours go through the 16 attribute palette registers, the colour select
register and the DAC (pixel mask 3C6h).  CRTC 01h/12h/07h give the visible
area, 09h the character height and double scan, 0Ch/0Dh the start address, 13h
the row offset, 14h/17h double-word/byte/word addressing, 0Ah/0Bh/0Eh/0Fh the
cursor (blinking every 16 frames, blinking characters every 32).  Not modelled:
pixel panning, line compare (split screen), preset row scan, the CGA shift
modes (GC 05h bit 5, CRTC 17h bits 0-1), underline, and timing registers other
than the display sizes.

The fast path: when the registers make the window behave like plain memory
(odd/even text with map mask 3, or chain-4 with map mask 0Fh; write mode 0 with
no rotation, logic function, set/reset or bit mask; read mode 0; a 64 or 32 KiB
window) the window's pages map straight onto the RAM region ``flat_region`` (no
exits, as fast as RAM; AddressSpace.set_direct) and the planes are brought up to
date from it before each frame, on every register change that ends that state,
and for save states.  Only difference from the chip: reads through a direct
window do not load the latches.  Otherwise every access is an MMIO exit, and
the decode registers (3C2h, 3C4h/3C5h, 3CEh/3CFh) are posted meanwhile.

Port 610h (``mode_port``) is this project's shortcut for boards without a VGA
BIOS: writing 03h or 13h programs that mode's standard register set (memory and
DAC untouched); reading gives the mode the registers describe (``mode``).
"""
from __future__ import annotations

import functools

import numpy as np
from numba import njit

from ..device import Device
from ..errors import EmuError

# the 16 text colours (CGA/EGA RGBI with the brown fix), 0xRRGGBB
TEXT_COLOURS = np.array([0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500,
                         0xAAAAAA, 0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF,
                         0xFFFF55, 0xFFFFFF], dtype=np.uint32)

# Standard register sets (IBM VGA Technical Reference, BIOS video parameter tables):
# misc output, SR 01h-04h, CRTC 00h-18h, ATC 00h-13h, GC 00h-08h.
MODE_REGS = {
    0x03: {"misc": 0x67, "seq": [0x00, 0x03, 0x00, 0x02],
           "crtc": [0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E,
                    0x00, 0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF],
           "attr": [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B,
                    0x3C, 0x3D, 0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08],
           "gc": [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF]},
    0x13: {"misc": 0x63, "seq": [0x01, 0x0F, 0x00, 0x0E],
           "crtc": [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00,
                    0x00, 0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF],
           "attr": list(range(16)) + [0x41, 0x00, 0x0F, 0x00],
           "gc": [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF]},
}

# plane p's byte of a packed 4-plane word: bit p of n -> byte p = FFh
EXPAND = [sum(0xFF << (8 * p) for p in range(4) if n >> p & 1) for n in range(16)]


def chain4_slices(size):
    """(window slice, plane address slice) per plane and 16 KiB block: in chain-4 the
    window offset w is plane w & 3 at (w & FFFCh) | (w >> 14 & 3)."""
    out = []
    for k in range(size >> 14 or 1):
        lo, hi = k << 14, min((k + 1) << 14, size)
        for p in range(4):
            out.append((p, slice(lo + p, hi, 4), slice(lo + k, hi, 4)))
    return out


@functools.lru_cache(maxsize=8)
def _dac_rgb(raw: bytes) -> np.ndarray:
    # the DAC's output level is linear in its 6-bit value (63 = full scale, IBM VGA
    # Technical Reference, "Video DAC"): 8-bit = round(v * 255 / 63)
    d = (np.frombuffer(raw, dtype=np.uint8).reshape(256, 3).astype(np.uint32) * 255 + 31) // 63
    return (d[:, 0] << 16) | (d[:, 1] << 8) | d[:, 2]


DECODE_PORTS = (0x3C2, 0x3C4, 0x3C5, 0x3CE, 0x3CF)
WINDOWS = {0: (0x00000, 0x20000), 1: (0x00000, 0x10000), 2: (0x10000, 0x8000), 3: (0x18000, 0x8000)}


def ega_palette() -> np.ndarray:
    """The 64 EGA colours the VGA BIOS loads into DAC 0-63 for 16-colour modes
    (6-bit values): bits 2/1/0 give 2/3 of red/green/blue, bits 5/4/3 one third."""
    i = np.arange(64)
    pal = np.zeros((64, 3), dtype=np.uint8)
    for gun, (hi, lo) in enumerate(((2, 5), (1, 4), (0, 3))):
        pal[:, gun] = 42 * (i >> hi & 1) + 21 * (i >> lo & 1)
    return pal


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
def _addr(ma, size, wrap_bit):
    """CRTC memory address counter -> plane address (CRTC 14h/17h address rotation)."""
    if size == 4:
        return ((ma << 2) | ((ma >> 12) & 3)) & 0xFFFF
    if size == 2:
        return ((ma << 1) | ((ma >> wrap_bit) & 1)) & 0xFFFF
    return ma & 0xFFFF


@njit(cache=True)
def render_text(fb, vram, geo, colours, font_a, font_b):
    """geo: cols, lines, dots (8/9), character height, double scan, start MA, MA per
    row, address size, wrap bit, cursor MA, cursor top, cursor bottom, cursor on,
    blink phase on, blink enabled, line graphics."""
    cols, lines, dots, ch_h, dbl, start, stride = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6]
    size, wrap, cur, ctop, cbot, cur_on, blink_on, blink_en, lge = (
        geo[7], geo[8], geo[9], geo[10], geo[11], geo[12], geo[13], geo[14], geo[15])
    rep = 2 if dbl else 1
    rows = (lines + ch_h * rep - 1) // (ch_h * rep)
    for row in range(rows):
        for col in range(cols):
            ma = start + row * stride + col
            a = _addr(ma, size, wrap)
            ch = np.int64(vram[a, 0])
            attr = np.int64(vram[a, 1])
            fg = colours[attr & 0x0F]
            if blink_en:
                bg = colours[(attr >> 4) & 0x07]
                if attr & 0x80 and not blink_on:
                    fg = bg
            else:
                bg = colours[(attr >> 4) & 0x0F]
            glyph = ((font_a if attr & 0x08 else font_b) + ch * 32) & 0xFFFF
            is_cur = cur_on and ma == cur
            box = lge and 0xC0 <= ch <= 0xDF
            x0 = col * dots
            for sl in range(ch_h):
                bits = np.int64(vram[(glyph + sl) & 0xFFFF, 2])
                if is_cur and ctop <= sl <= cbot:
                    bits = 0x1FF
                else:
                    bits = (bits << 1) | (bits & 1 if box else 0)
                for r in range(rep):
                    y = (row * ch_h + sl) * rep + r
                    if y >= lines:
                        break
                    line = fb[y]
                    for x in range(8):
                        line[x0 + x] = fg if bits & (0x100 >> x) else bg
                    if dots == 9:
                        line[x0 + 8] = fg if bits & 1 else bg


@njit(cache=True)
def render_256(fb, vram, geo, dac):
    """256-colour (ATC 10h bit 6): 4 pixels per character clock, one per plane, each 2 dots."""
    clocks, lines, rep, start, stride, size, wrap, mask = (
        geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], geo[7])
    for y in range(lines):
        ma0 = start + (y // rep) * stride
        line = fb[y]
        for k in range(clocks):
            a = _addr(ma0 + k, size, wrap)
            for p in range(4):
                c = dac[np.int64(vram[a, p]) & mask]
                x = (k * 4 + p) * 2
                line[x] = c
                line[x + 1] = c


@njit(cache=True)
def render_planar(fb, vram, geo, colours):
    """16-colour planar: 8 pixels per character clock, bit 7-x of planes 0-3."""
    clocks, lines, rep, start, stride, size, wrap, enable, half = (
        geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], geo[7], geo[8])
    w = 2 if half else 1
    for y in range(lines):
        ma0 = start + (y // rep) * stride
        line = fb[y]
        for k in range(clocks):
            a = _addr(ma0 + k, size, wrap)
            p0, p1, p2, p3 = (np.int64(vram[a, 0]), np.int64(vram[a, 1]),
                              np.int64(vram[a, 2]), np.int64(vram[a, 3]))
            for x in range(8):
                s = 7 - x
                c = ((p0 >> s) & 1) | (((p1 >> s) & 1) << 1) | (((p2 >> s) & 1) << 2) | (((p3 >> s) & 1) << 3)
                rgb = colours[c & enable]
                for d in range(w):
                    line[(k * 8 + x) * w + d] = rgb


class Vga(Device):
    PARAMS = {"mode_port": 0x610, "flat_region": None}

    @staticmethod
    def validate_params(params):
        if not isinstance(params.get("flat_region", ""), (str, type(None))):
            return "flat_region", "must name a RAM region"
        mp = params.get("mode_port", 0x610)
        if mp is not None and not (isinstance(mp, int) and 0 <= mp <= 0xFFFF):
            return "mode_port", "must be a port number 0..0xFFFF or null"
        return None

    def start(self):
        self.vram = np.zeros((0x10000, 4), dtype=np.uint8)       # [plane address, plane]
        self.vram32 = self.vram.view(np.uint32).reshape(0x10000)  # byte p = plane p
        self.shadow = None
        if self.flat_region is not None:
            regions = self.machine.mem.regions
            if self.flat_region not in regions or regions[self.flat_region][2] != "ram":
                raise EmuError(f"device {self.name}: flat_region {self.flat_region!r} is not a RAM region")
            if regions[self.flat_region][1] < 0x20000:
                raise EmuError(f"device {self.name}: flat_region {self.flat_region!r} must hold "
                               f"128 KiB (the A0000h-BFFFFh window)")
            self.shadow = self.machine.mem.region(self.flat_region, device=True)
        # the pages of the A0000h-BFFFFh window that map to this device, per address space
        self.windows = []
        for sp in self.machine.spaces.values():
            for e in sp.entries:
                if e.kind == "device" and e.target == self.name:
                    lo, hi = max(e.start, 0xA0000), min(e.end, 0xBFFFF)
                    if lo <= hi:
                        self.windows.append((sp, lo, hi))
        self.flat = None
        self.posting = False

    @property
    def planes(self) -> np.ndarray:
        """The four planes as a (4, 65536) view (writable).  While the window is direct
        (``flat``), the bytes the CPU sees there are current only after ``sync()``."""
        return self.vram.T

    def reset(self):
        self._set_flat(None, flush=False)
        self.vram[:] = 0
        self.latch = 0
        self.seq = np.zeros(8, dtype=np.uint8)
        self.gc = np.zeros(16, dtype=np.uint8)
        self.crtc = np.zeros(32, dtype=np.uint8)
        self.attr = np.zeros(32, dtype=np.uint8)
        self.seq_index = self.gc_index = self.crtc_index = 0
        self.attr_index, self.attr_flip = 0x20, 0
        self.feature = 0
        self.vga_enable = 1
        self.dac = np.zeros((256, 3), dtype=np.uint8)
        self.dac[:64] = ega_palette()
        self.dac_write = self.dac_read = self.dac_comp = 0
        self.dac_state = 0
        self.pel_mask = 0xFF
        # power-on state as the BIOS leaves mode 03h, so boards without one show text
        self.set_mode_regs(0x03)

    def set_mode_regs(self, mode: int) -> None:
        """Program the standard register set of mode 03h or 13h (MODE_REGS)."""
        t = MODE_REGS[mode]
        self.misc = t["misc"]
        self.seq[0] = 0x03
        self.seq[1:5] = t["seq"]
        self.crtc[:25] = t["crtc"]
        self.attr[:20] = t["attr"]
        self.attr[0x14] = 0
        self.gc[:9] = t["gc"]
        self._update()

    # ---- derived state ------------------------------------------------------------
    @property
    def mode(self) -> int:
        """The BIOS mode number the registers describe: 03h (text), 13h (320x200x256),
        12h/10h/0Eh/0Dh (16-colour planar by size), FFh for anything else."""
        if not self.gc[6] & 1:
            return 0x03
        w, h = self.display_size()
        if self.attr[0x10] & 0x40:
            return 0x13 if (w, h) == (640, 400) else 0xFF
        return {(640, 480): 0x12, (640, 350): 0x10, (640, 400): 0x0E, (640, 200): 0x0E}.get(
            (w, h), 0x0D if w == 320 or self.seq[1] & 8 else 0xFF)

    def display_size(self):
        clocks = int(self.crtc[1]) + 1
        c7 = int(self.crtc[7])
        lines = (int(self.crtc[0x12]) | (c7 >> 1 & 1) << 8 | (c7 >> 6 & 1) << 9) + 1
        dots = 8 if self.seq[1] & 1 or self.gc[6] & 1 else 9
        if self.gc[6] & 1 and self.seq[1] & 8 and not self.attr[0x10] & 0x40:
            dots = 16                                  # dot clock / 2
        return clocks * dots, lines

    def _update(self):
        """Recompute the memory-access configuration after a register change."""
        seq, gc = self.seq, self.gc
        mm = int(seq[4])
        self.chain4 = bool(mm & 8)
        self.oe_write = not mm & 4
        self.oe_read = bool(gc[5] & 0x10)
        self.map_mask = int(seq[2]) & 0xF
        self.read_map = int(gc[4]) & 3
        self.write_mode = int(gc[5]) & 3
        self.read_mode = int(gc[5]) >> 3 & 1
        self.rotate = int(gc[3]) & 7
        self.func = int(gc[3]) >> 3 & 3
        self.sr = EXPAND[int(gc[0]) & 0xF]
        self.esr = EXPAND[int(gc[1]) & 0xF]
        self.bit_mask = int(gc[8]) * 0x01010101
        self.cc = EXPAND[int(gc[2]) & 0xF]
        self.cdc = EXPAND[int(gc[7]) & 0xF]
        self.window = WINDOWS[int(gc[6]) >> 2 & 3] if self.misc & 2 else (0, 0)
        self._set_flat(self._flat_key())

    def _flat_key(self):
        sel = int(self.gc[6]) >> 2 & 3
        if (self.shadow is None or not self.windows or not self.misc & 2 or sel == 0
                or self.write_mode or self.read_mode or self.gc[3] or self.gc[8] != 0xFF):
            return None
        if self.chain4 and self.map_mask == 0xF and not self.gc[1] & 0xF:
            return ("chain4", sel)
        if (not self.chain4 and self.oe_write and self.oe_read and self.map_mask == 3
                and not self.gc[1] & 3 and not self.read_map & 2):
            return ("oddeven", sel)
        return None

    def _set_flat(self, key, flush=True):
        """Switch the window between MMIO and direct RAM, keeping planes and RAM in step.
        With the fast path on, writes to the registers that decide how memory decodes
        (3C2h, 3C4h/3C5h, 3CEh/3CFh) are posted while the window is MMIO: every access
        they affect then exits, and an exit delivers posted writes first."""
        old = self.flat
        post = self.shadow is not None and key is None
        if post != self.posting:
            for sp, _, _ in self.windows:
                sp.set_posted(DECODE_PORTS, post)
            self.posting = post
        if key == old:
            return
        if old is not None:
            if flush:
                self.sync()
            base, size = WINDOWS[old[1]]
            for sp, lo, hi in self.windows:
                sp.set_direct(lo, hi, None)
        self.flat = key
        if key is not None:
            base, size = WINDOWS[key[1]]
            sh, v = self.shadow[base:base + size], self.vram
            if key[0] == "chain4":
                for p, ws, ps in chain4_slices(size):
                    sh[ws] = v[ps, p]
            else:
                sh[0::2], sh[1::2] = v[0:size:2, 0], v[0:size:2, 1]
            for sp, lo, hi in self.windows:
                a, b = max(lo, 0xA0000 + base), min(hi, 0xA0000 + base + size - 1)
                if a <= b:
                    sp.set_direct(a, b, self.flat_region, a - 0xA0000)

    def sync(self) -> None:
        """Bring the planes up to date with what the CPU wrote through a direct window."""
        if self.flat is None:
            return
        kind, sel = self.flat
        base, size = WINDOWS[sel]
        sh, v = self.shadow[base:base + size], self.vram
        if kind == "chain4":
            for p, ws, ps in chain4_slices(size):
                v[ps, p] = sh[ws]
        else:                                         # planes 0 and 1 as one 16-bit copy
            v.view(np.uint16)[0:size:2, 0] = sh.view(np.uint16)

    # ---- video memory (MMIO) ---------------------------------------------------------
    def _plane_addr(self, addr):
        base, size = self.window
        w = (addr & 0x1FFFF) - base
        if not 0 <= w < size:
            return -1
        return w

    def mem_read(self, addr, size):
        w = self._plane_addr(addr)
        if w < 0:
            return 0xFF
        if self.flat is not None:       # the window turned direct (posted register write)
            return int(self.shadow[addr & 0x1FFFF])   # while this access was exiting
        if self.chain4:
            pa, plane = (w & 0xFFFC) | (w >> 14 & 3), w & 3
        elif self.oe_read:
            pa, plane = w & 0xFFFE, (self.read_map & 2) | (w & 1)
        else:
            pa, plane = w & 0xFFFF, self.read_map
        latch = self.latch = int(self.vram32[pa])
        if not self.read_mode:
            return latch >> (8 * plane) & 0xFF
        # read mode 1: 1 where every plane not "don't care" matches the colour compare
        x = (latch ^ self.cc) & self.cdc
        x |= x >> 16
        x |= x >> 8
        return ~x & 0xFF

    def mem_write(self, addr, value, size):
        w = self._plane_addr(addr)
        if w < 0:
            return
        if self.flat is not None:
            self.shadow[addr & 0x1FFFF] = value
            return
        if self.chain4:
            pa, pm = (w & 0xFFFC) | (w >> 14 & 3), self.map_mask & (1 << (w & 3))
        elif self.oe_write:
            pa, pm = w & 0xFFFE, self.map_mask & (5 << (w & 1))
        else:
            pa, pm = w & 0xFFFF, self.map_mask
        if not pm:
            return
        latch, wm = self.latch, self.write_mode
        if wm == 1:
            new = latch
        else:
            if wm == 2:
                src, mask = EXPAND[value & 0xF], self.bit_mask
            else:
                r = self.rotate
                v = ((value >> r) | (value << (8 - r))) & 0xFF
                if wm == 0:
                    src = (v * 0x01010101 & ~self.esr) | (self.sr & self.esr)
                    mask = self.bit_mask
                else:
                    src, mask = self.sr, (v & self.bit_mask & 0xFF) * 0x01010101
            f = self.func
            if f == 1:
                src &= latch
            elif f == 2:
                src |= latch
            elif f == 3:
                src ^= latch
            new = (src & mask) | (latch & ~mask)
        pmw = EXPAND[pm]
        self.vram32[pa] = (new & pmw) | (int(self.vram32[pa]) & ~pmw & 0xFFFFFFFF)

    # ---- registers --------------------------------------------------------------
    def _crtc_port(self, port):
        """3Bxh when misc output bit 0 is clear (mono addressing), else 3Dxh."""
        return (port & 0xFFF0) == (0x3D0 if self.misc & 1 else 0x3B0)

    def io_read(self, port, size):
        if port in (0x3DA, 0x3BA, 0x3D4, 0x3D5, 0x3B4, 0x3B5):
            if not self._crtc_port(port):
                return 0xFF
            if port & 0xF == 0xA:
                self.attr_flip = 0
                return self.input_status()
            if port & 1:
                return int(self.crtc[self.crtc_index & 31])
            return self.crtc_index
        if port == 0x3C0:
            return self.attr_index
        if port == 0x3C1:
            return int(self.attr[self.attr_index & 0x1F])
        if port == 0x3C2:
            return 0x10                                   # input status 0: switch sense
        if port == 0x3C3:
            return self.vga_enable
        if port == 0x3C4:
            return self.seq_index
        if port == 0x3C5:
            return int(self.seq[self.seq_index & 7])
        if port == 0x3C6:
            return self.pel_mask
        if port == 0x3C7:
            return self.dac_state
        if port == 0x3C8:
            return self.dac_write
        if port == 0x3C9:
            v = int(self.dac[self.dac_read & 0xFF, self.dac_comp])
            self.dac_comp += 1
            if self.dac_comp == 3:
                self.dac_comp = 0
                self.dac_read = (self.dac_read + 1) & 0xFF
            return v
        if port == 0x3CA:
            return self.feature
        if port == 0x3CC:
            return self.misc
        if port == 0x3CE:
            return self.gc_index
        if port == 0x3CF:
            return int(self.gc[self.gc_index & 15])
        if port == self.mode_port:
            return self.mode
        return 0xFF

    def input_status(self) -> int:
        """Input status 1: bit 3 vertical retrace, bit 0 display disabled (blanking),
        from the position in the frame (449 lines of which 400 shown, retrace at 412-413)."""
        pos = (self.machine.scheduler.now() / self.machine.frame_period) % 1.0 * 449
        line = int(pos)
        v = 0x08 if 412 <= line < 414 else 0
        if line >= 400 or pos - line > 0.8:
            v |= 0x01
        return v

    def io_write(self, port, value, size):
        if port in (0x3D4, 0x3D5, 0x3B4, 0x3B5, 0x3DA, 0x3BA):
            if not self._crtc_port(port):
                return
            if port & 0xF == 0xA:
                self.feature = value
            elif port & 1:
                i = self.crtc_index & 31
                if self.crtc[0x11] & 0x80 and i < 8:       # CRTC 11h bit 7 protects 00h-07h
                    if i == 7:
                        self.crtc[7] = (self.crtc[7] & ~0x10 & 0xFF) | (value & 0x10)
                    return
                self.crtc[i] = value
            else:
                self.crtc_index = value & 0x3F
        elif port == 0x3C0:
            if self.attr_flip == 0:
                self.attr_index = value & 0x3F
            elif (self.attr_index & 0x1F) < 0x15:
                self.attr[self.attr_index & 0x1F] = value
            self.attr_flip ^= 1
        elif port == 0x3C2:
            self.misc = value
            self._update()
        elif port == 0x3C3:
            self.vga_enable = value & 1
        elif port == 0x3C4:
            self.seq_index = value & 7
        elif port == 0x3C5:
            self.seq[self.seq_index & 7] = value
            if self.seq_index in (2, 4):
                self._update()
        elif port == 0x3C6:
            self.pel_mask = value
        elif port == 0x3C8:
            self.dac_write, self.dac_comp, self.dac_state = value, 0, 0
        elif port == 0x3C7:
            self.dac_read, self.dac_comp, self.dac_state = value, 0, 3
        elif port == 0x3C9:
            self.dac[self.dac_write & 0xFF, self.dac_comp] = value & 0x3F
            self.dac_comp += 1
            if self.dac_comp == 3:
                self.dac_comp = 0
                self.dac_write = (self.dac_write + 1) & 0xFF
        elif port == 0x3CE:
            self.gc_index = value & 15
        elif port == 0x3CF:
            self.gc[self.gc_index & 15] = value
            self._update()
        elif port == self.mode_port and value & 0x7F in MODE_REGS:
            self.set_mode_regs(value & 0x7F)

    # ---- scan-out ---------------------------------------------------------------------
    @property
    def cursor(self) -> int:
        return (int(self.crtc[0x0E]) << 8) | int(self.crtc[0x0F])

    @property
    def start_address(self) -> int:
        return (int(self.crtc[0x0C]) << 8) | int(self.crtc[0x0D])

    def dac_rgb(self) -> np.ndarray:
        """The 256 DAC colours as 0xRRGGBB (shared while the DAC is unchanged: do not modify)."""
        return _dac_rgb(self.dac.tobytes())

    def attr_colours(self, dac) -> np.ndarray:
        """The 16 colours a 4-bit pixel or text attribute shows (ATC palette, colour
        select 14h, mode control bit 7; pixel mask; DAC)."""
        pal = self.attr[:16].astype(np.int64)
        sel = int(self.attr[0x14])
        if self.attr[0x10] & 0x80:
            idx = (pal & 0x0F) | ((sel & 0x0F) << 4)
        else:
            idx = (pal & 0x3F) | ((sel & 0x0C) << 4)
        return dac[idx & self.pel_mask]

    def _geometry(self):
        c = self.crtc
        size = 4 if c[0x14] & 0x40 else (1 if c[0x17] & 0x40 else 2)
        wrap = 15 if c[0x17] & 0x20 else 13
        return size, wrap, 2 * int(c[0x13])

    def frame_end(self):
        self.sync()
        scr = self.machine.screen
        width, lines = self.display_size()
        width, lines = max(8, min(width, 2048)), max(1, min(lines, 1024))
        scr.resize(width, lines)
        fb = scr.framebuffer
        scr.tracked = True                            # (each drawing below bumps scr.version)
        if not self.attr_index & 0x20:                # palette address source: display off
            fb[:] = self.dac_rgb()[int(self.attr[0x11]) & self.pel_mask]
            scr.version += 1
            return
        size, wrap, stride = self._geometry()
        dbl = 1 if self.crtc[9] & 0x80 else 0
        maxscan = (int(self.crtc[9]) & 0x1F) + 1
        start = self.start_address
        dac = self.dac_rgb()
        if not self.gc[6] & 1:
            dots = 8 if self.seq[1] & 1 else 9
            top, bottom = int(self.crtc[0x0A]) & 0x1F, int(self.crtc[0x0B]) & 0x1F
            cur_on = not self.crtc[0x0A] & 0x20 and (self.machine.frame // 8) % 2 == 0
            blink_on = (self.machine.frame // 16) % 2 == 0
            cm = int(self.seq[3])
            fa = ((cm >> 2 & 3) << 14) | ((cm >> 5 & 1) << 13)
            fb_ = ((cm & 3) << 14) | ((cm >> 4 & 1) << 13)
            geo = np.array([width // dots, lines, dots, maxscan, dbl, start, stride, size, wrap,
                            self.cursor, top, bottom, cur_on, blink_on,
                            1 if self.attr[0x10] & 0x08 else 0,
                            1 if self.attr[0x10] & 0x04 else 0], dtype=np.int64)
            colours = self.attr_colours(dac)
            # an idle text screen is drawn once: same registers, colours and memory ->
            # the frame on screen is already right (an idle guest then costs ~nothing)
            # (the screen keeps what its frame was drawn from: not device state)
            key = (geo.tobytes(), colours.tobytes(), fa, fb_, fb.shape, id(fb))
            drawn = getattr(scr, "text_source", None)
            v64 = self.vram32.view(np.uint64)               # (compared 8 bytes at a time)
            if drawn is None or drawn[0] != key or not np.array_equal(v64, drawn[1]):
                render_text(fb, self.vram, geo, colours, fa, fb_)
                scr.text_source = (key, v64.copy())
                scr.version += 1
        elif self.attr[0x10] & 0x40:
            geo = np.array([width // 8, lines, maxscan * (dbl + 1), start, stride, size, wrap,
                            self.pel_mask], dtype=np.int64)
            render_256(fb, self.vram, geo, dac)
            scr.version += 1
        else:
            half = 1 if self.seq[1] & 8 else 0
            geo = np.array([width // (16 if half else 8), lines, maxscan * (dbl + 1), start,
                            stride, size, wrap, int(self.attr[0x12]) & 0xF, half], dtype=np.int64)
            render_planar(fb, self.vram, geo, self.attr_colours(dac))
            scr.version += 1

    # ---- helpers for scripts and tests ------------------------------------------
    def text_lines(self) -> list[str]:
        """The text screen as strings (CP437 decoded), from plane 0."""
        self.sync()
        size, wrap, stride = self._geometry()
        width, lines = self.display_size()
        dots = 8 if self.seq[1] & 1 else 9
        cols, rows = width // dots, lines // ((int(self.crtc[9]) & 0x1F) + 1)
        out = []
        for r in range(rows):
            raw = bytes(int(self.vram[_addr(self.start_address + r * stride + c, size, wrap), 0])
                        for c in range(cols))
            out.append(raw.decode("cp437"))
        return out

    SAVE_FIELDS = ("vram", "latch", "seq", "gc", "crtc", "attr", "seq_index", "gc_index",
                   "crtc_index", "attr_index", "attr_flip", "misc", "feature", "vga_enable",
                   "dac", "dac_write", "dac_read", "dac_comp", "dac_state", "pel_mask")

    def save_state(self) -> dict:
        self.sync()
        return super().save_state()

    def load_state(self, st: dict) -> None:
        self._set_flat(None, flush=False)
        # the state's page tables hold the saved machine's direct pages: back to the map's
        for sp in {id(sp): sp for sp, _, _ in self.windows}.values():
            sp.rebuild()
        super().load_state(st)
        if self.machine.screen is not None:
            self.machine.screen.text_source = None
        self._update()


DEVICE = Vga
