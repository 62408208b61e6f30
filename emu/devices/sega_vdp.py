"""The Sega 315-5124 VDP (Master System video chip) in mode 4: a leaf chip model.

It knows no machine: the SMS board (emu.machines.sms) decodes the ports and
calls these functions from its compiled frame loop, as MAME's sms driver uses
src/devices/video/315_5124.cpp.  Everything that runs per port access or per
scanline is an ``@njit(cache=True, _nrt=False)`` function over one bundle of
numpy arrays, ``VdpArrays`` (a namedtuple: Numba-friendly and cache-safe, as
the bus bundles ``mem``):

* ``vs``   int64[64]   VDP state (slots V_* below; registers 0-15 in slots 0-15)
* ``vram`` uint8[16384]
* ``cram`` uint8[32]   6-bit colours 00BBGGRR
* ``pal``  uint32[32]  the CRAM converted to 0xRRGGBB (kept in step on CRAM writes)
* ``dec``/``decr`` uint64[4096] VRAM decoded to pixels: byte x of dec[addr >> 2]
  is the colour index (0-15) of pixel x of the 4-bitplane tile row held at
  VRAM addr & ~3, decr holds it mirrored (kept in step on VRAM writes;
  ``vdp_decode_all`` rebuilds both)
* ``fb``   uint32[192, 256] framebuffer
* ``lb``   uint64[40] line buffer, ``lb8`` its uint8 view; ``used`` uint8[256]
  sprite pixels taken on this line (scratch for ``vdp_render_line``)

Mode 4 as documented in Charles MacDonald's "Sega Master System VDP
documentation" (msvdp.txt) and the SMS Power! VDP pages:

* registers: R0 b7 vscroll lock (screen columns 24-31), b6 hscroll lock (rows
  0-1, i.e. lines 0-15), b5 blank left column with the backdrop, b4 line IRQ
  enable, b3 shift sprites 8 px left; R1 b6 display enable, b5 frame IRQ
  enable, b1 8x16 sprites, b0 zoomed sprites; R2 name table (b3-1 -> A13-A11);
  R5 sprite attribute table (b6-1 -> A13-A8); R6 b2 sprite patterns at 0x2000;
  R7 b3-0 backdrop = CRAM 16+n; R8 hscroll; R9 vscroll (latched at line 0);
  R10 line counter reload.
* name table word: b8-0 pattern, b9 h-flip, b10 v-flip, b11 sprite palette,
  b12 priority over sprites (for non-zero pixels).
* sprites: Y table at SAT+0..63 (0xD0 ends the list; a sprite starts on line
  Y+1), X/pattern pairs at SAT+0x80; at most 8 per line (the 9th sets status
  b6, overflow), overlapping opaque sprite pixels set status b5 (collision); a
  lower-numbered sprite is drawn over a higher one.
* status (port 0xBF read): b7 frame IRQ pending, b6 overflow, b5 collision;
  reading clears them, the line IRQ pending flag and the control latch.
* control port: two writes (low byte, then code << 6 | A13-A8); code 0 reads
  VRAM into the buffer (address +1), code 2 writes a register, code 3 selects CRAM.
* data port: writes go to VRAM (or CRAM when code is 3) and into the read
  buffer; reads return the buffer and refill it from VRAM; the address
  auto-increments (14 bits; CRAM uses its low 5 bits).  Either access resets
  the control latch.
* line counter: decremented on lines 0-192, on underflow reloaded from R10 and
  the line IRQ becomes pending; reloaded on every line 193-261.  The frame IRQ
  flag is set at the start of line 0xC1.  INT = (frame pending and R1 b5) or
  (line pending and R0 b4).
* V counter (NTSC, 192 lines): 0x00-0xDA then 0xD5-0xFF (262 lines).
  H counter: pixel / 2, 0x00-0x93 then 0xE9-0xFF (342 pixels = 228 CPU cycles).

TMS9918 modes (SG-1000) and the 224/240-line modes are not implemented.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

VdpArrays = namedtuple("VdpArrays", "vs vram cram pal dec decr fb lb lb8 used")

# ---- VDP state slots -----------------------------------------------------------
V_ADDR = 16            # 14-bit address register
V_CODE = 17            # code register (0 VRAM read, 1 VRAM write, 2 register, 3 CRAM)
V_LATCH = 18           # 1 = first control byte received
V_LATCH_LO = 19        # that first byte
V_BUFFER = 20          # read buffer
V_STATUS = 21          # b7 frame IRQ, b6 sprite overflow, b5 collision
V_LINE_PENDING = 22    # line IRQ pending
V_LINE_COUNTER = 23
V_LINE = 24            # current scanline 0..261
V_VSCROLL = 25         # vertical scroll latched for this frame
V_HCOUNT = 26          # latched H counter
V_SIZE = 64

LINES = 262            # NTSC
ACTIVE = 192
WIDTH = 256
CYCLES_PER_LINE = 228  # 342 pixel clocks / 1.5
FRAME_IRQ_LINE = 0xC1


@njit(cache=True, _nrt=False)
def cram_rgb(c):
    """6-bit CRAM colour 00BBGGRR -> 0xRRGGBB (each 2-bit level times 0x55)."""
    c = np.int64(c)
    r = (c & 3) * 0x55
    g = ((c >> 2) & 3) * 0x55
    b = ((c >> 4) & 3) * 0x55
    return np.uint32((r << 16) | (g << 8) | b)


@njit(cache=True, _nrt=False)
def decode_row(v, row):
    """Refresh the decoded pixels of tile row ``row`` (VRAM bytes 4*row..4*row+3):
    byte x of dec[row] is the colour index of pixel x, decr[row] is mirrored."""
    vram = v.vram
    a = row * 4
    p0 = np.uint64(vram[a])
    p1 = np.uint64(vram[a + 1])
    p2 = np.uint64(vram[a + 2])
    p3 = np.uint64(vram[a + 3])
    d = np.uint64(0)
    r = np.uint64(0)
    for x in range(8):
        s = np.uint64(7 - x)
        one = np.uint64(1)
        p = ((p0 >> s) & one) | (((p1 >> s) & one) << one) | (((p2 >> s) & one) << np.uint64(2)) \
            | (((p3 >> s) & one) << np.uint64(3))
        d |= p << np.uint64(8 * x)
        r |= p << np.uint64(8 * (7 - x))
    v.dec[row] = d
    v.decr[row] = r


@njit(cache=True, _nrt=False)
def vdp_decode_all(v):
    """Rebuild the caches after VRAM/CRAM were changed directly (tests, save states)."""
    for row in range(4096):
        decode_row(v, row)
    for i in range(32):
        v.pal[i] = cram_rgb(v.cram[i] & 0x3F)


@njit(cache=True, _nrt=False)
def vdp_reset(v):
    """Power-on: registers, VRAM and CRAM cleared (and the caches in step)."""
    vs = v.vs
    vs[:] = 0
    # power-on register values are undefined; these match what the BIOS leaves
    vs[2] = 0xFF
    vs[5] = 0xFF
    vs[6] = 0xFB
    vs[10] = 0xFF
    vs[V_LINE_COUNTER] = 0xFF
    v.vram[:] = 0
    v.cram[:] = 0
    vdp_decode_all(v)


# ---- ports -----------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def vdp_ctrl_write(v, value):
    vs = v.vs
    value = np.int64(value) & 0xFF
    if vs[V_LATCH] == 0:
        vs[V_LATCH] = 1
        vs[V_LATCH_LO] = value
        vs[V_ADDR] = (vs[V_ADDR] & 0x3F00) | value
        return
    vs[V_LATCH] = 0
    code = value >> 6
    vs[V_CODE] = code
    vs[V_ADDR] = ((value & 0x3F) << 8) | vs[V_LATCH_LO]
    if code == 0:
        vs[V_BUFFER] = v.vram[vs[V_ADDR]]
        vs[V_ADDR] = (vs[V_ADDR] + 1) & 0x3FFF
    elif code == 2:
        vs[value & 0x0F] = vs[V_LATCH_LO]


@njit(cache=True, _nrt=False)
def vdp_data_write(v, value):
    vs = v.vs
    value = np.int64(value) & 0xFF
    vs[V_LATCH] = 0
    a = vs[V_ADDR]
    if vs[V_CODE] == 3:
        i = a & 0x1F
        v.cram[i] = value & 0x3F
        v.pal[i] = cram_rgb(value & 0x3F)
    else:
        if v.vram[a] != value:
            v.vram[a] = value
            decode_row(v, a >> 2)
    vs[V_BUFFER] = value
    vs[V_ADDR] = (a + 1) & 0x3FFF


@njit(cache=True, _nrt=False)
def vdp_data_read(v):
    vs = v.vs
    vs[V_LATCH] = 0
    value = vs[V_BUFFER]
    vs[V_BUFFER] = v.vram[vs[V_ADDR]]
    vs[V_ADDR] = (vs[V_ADDR] + 1) & 0x3FFF
    return value


@njit(cache=True, _nrt=False)
def vdp_status_read(v):
    vs = v.vs
    value = vs[V_STATUS] | 0x1F
    vs[V_STATUS] = 0
    vs[V_LINE_PENDING] = 0
    vs[V_LATCH] = 0
    return value


@njit(cache=True, _nrt=False)
def vdp_vcounter(line):
    return line if line <= 0xDA else line - 6


@njit(cache=True, _nrt=False)
def vdp_hcounter(cycle_in_line):
    h = (cycle_in_line * 3 // 2) % 342 >> 1
    return h if h <= 0x93 else h + 0x55


@njit(cache=True, _nrt=False)
def vdp_irq(v):
    vs = v.vs
    if (vs[V_STATUS] & 0x80) and (vs[1] & 0x20):
        return 1
    if vs[V_LINE_PENDING] and (vs[0] & 0x10):
        return 1
    return 0


# ---- per scanline -------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def vdp_render_line(v, line):
    """Draw active line ``line`` into fb[line].  Scratch: lb uint64[40] and lb8, its
    uint8 view (screen pixel x lives at lb8[x + 8 - fine scroll]); used uint8[256]."""
    vs, vram, dec, decr, pal = v.vs, v.vram, v.dec, v.decr, v.pal
    lb, lb8, used = v.lb, v.lb8, v.used
    r0 = vs[0]
    r1 = vs[1]
    backdrop = 16 + (vs[7] & 15)
    out = v.fb[line]
    if not (r1 & 0x40):
        c = pal[backdrop]
        for x in range(WIDTH):
            out[x] = c
        return
    # ---- background: one uint64 (8 pixels) per tile; a pixel byte is the palette
    # index (0-31) | 0x20 when the tile has priority (which beats sprites only where
    # the tile's colour index, the low nibble, is not 0)
    hs = 0 if ((r0 & 0x40) and line < 16) else vs[8]
    fine = hs & 7
    off = 8 - fine
    nt = (vs[2] & 0x0E) << 10
    vsc = vs[V_VSCROLL]
    col0 = (32 - (hs >> 3)) & 31
    lock = (r0 & 0x80) != 0
    rep = np.uint64(0x0101010101010101)
    for j in range(33):
        # tile j covers screen x = fine + 8 * (j - 1) ..
        by = line if (lock and j >= 25) else line + vsc
        if by >= 224:
            by -= 224
        a = nt + ((by >> 3) * 32 + ((col0 + j - 1) & 31)) * 2
        w = np.int64(vram[a]) | (np.int64(vram[a + 1]) << 8)
        r = by & 7
        if w & 0x400:
            r = 7 - r
        row = (w & 0x1FF) * 8 + r
        attr = np.uint64(((w >> 7) & 0x10) | ((w >> 7) & 0x20)) * rep
        if w & 0x200:
            lb[j] = decr[row] | attr
        else:
            lb[j] = dec[row] | attr
    # ---- sprites
    sat = (vs[5] & 0x7E) << 7
    tall = r1 & 2
    zoom = r1 & 1
    h = (16 if tall else 8) << zoom
    sbase = 256 if (vs[6] & 4) else 0
    shift = 8 if (r0 & 8) else 0
    count = 0
    for i in range(64):
        y = np.int64(vram[sat + i])
        if y == 0xD0:
            break
        dy = (line - y - 1) & 0xFF
        if dy >= h:
            continue
        if count == 8:
            vs[V_STATUS] |= 0x40
            break
        if count == 0:
            for x in range(WIDTH):
                used[x] = 0
        count += 1
        x0 = np.int64(vram[sat + 0x80 + 2 * i]) - shift
        n = np.int64(vram[sat + 0x81 + 2 * i])
        if tall:
            n &= 0xFE
        n += sbase
        pix = dec[n * 8 + (dy >> zoom)]
        for px in range(8 << zoom):
            sx = x0 + px
            if sx < 0 or sx >= WIDTH:
                continue
            c = np.int64((pix >> np.uint64(8 * (px >> zoom))) & np.uint64(0xFF))
            if c == 0:
                continue
            if used[sx]:
                vs[V_STATUS] |= 0x20
                continue
            used[sx] = 1
            b = lb8[sx + off]
            if not ((b & 0x20) and (b & 0x0F)):
                lb8[sx + off] = 16 + c
    if r0 & 0x20:
        for x in range(8):
            lb8[x + off] = backdrop
    for x in range(WIDTH):
        out[x] = pal[lb8[x + off] & 31]


@njit(cache=True, _nrt=False)
def vdp_line(v, line):
    """Start scanline ``line``: latch, render it if active, run the line counter and
    the frame IRQ flag.  Returns the INT level to present to the CPU for this line."""
    vs = v.vs
    vs[V_LINE] = line
    if line == 0:
        vs[V_VSCROLL] = vs[9]
    if line < ACTIVE:
        vdp_render_line(v, line)
    if line <= ACTIVE:
        vs[V_LINE_COUNTER] -= 1
        if vs[V_LINE_COUNTER] < 0:
            vs[V_LINE_COUNTER] = vs[10]
            vs[V_LINE_PENDING] = 1
    else:
        vs[V_LINE_COUNTER] = vs[10]
    if line == FRAME_IRQ_LINE:
        vs[V_STATUS] |= 0x80
    return vdp_irq(v)


@njit(cache=True, _nrt=False)
def vdp_render_frame(v):
    """All 262 lines without a CPU (tests, tools).  Returns how many lines had INT high."""
    n = 0
    for line in range(LINES):
        n += vdp_line(v, line)
    return n


def vdp_arrays(fb=None) -> VdpArrays:
    """A powered-on VDP's arrays (``fb``: draw into this uint32[192, 256] instead)."""
    lb = np.zeros(40, dtype=np.uint64)
    v = VdpArrays(vs=np.zeros(V_SIZE, dtype=np.int64), vram=np.zeros(0x4000, dtype=np.uint8),
                  cram=np.zeros(32, dtype=np.uint8), pal=np.zeros(32, dtype=np.uint32),
                  dec=np.zeros(4096, dtype=np.uint64), decr=np.zeros(4096, dtype=np.uint64),
                  fb=np.zeros((ACTIVE, WIDTH), dtype=np.uint32) if fb is None else fb,
                  lb=lb, lb8=lb.view(np.uint8), used=np.zeros(WIDTH, dtype=np.uint8))
    vdp_reset(v)
    return v


class Vdp:
    """Port-level access from Python (tests, tools); ``arrays`` is the VdpArrays bundle."""

    def __init__(self):
        self.arrays = vdp_arrays()

    def __getattr__(self, name):                 # v.vs, v.vram, ... of the bundle
        return getattr(self.__dict__["arrays"], name)

    def reset(self):
        vdp_reset(self.arrays)

    def sync(self):
        vdp_decode_all(self.arrays)

    def ctrl(self, value):
        vdp_ctrl_write(self.arrays, value)

    def data(self, value):
        vdp_data_write(self.arrays, value)

    def read_data(self):
        return int(vdp_data_read(self.arrays))

    def read_status(self):
        return int(vdp_status_read(self.arrays))

    def set_reg(self, r, v):
        self.ctrl(v)
        self.ctrl(0x80 | r)

    def render_frame(self):
        return int(vdp_render_frame(self.arrays))

    def line(self, n):
        return int(vdp_line(self.arrays, n))
