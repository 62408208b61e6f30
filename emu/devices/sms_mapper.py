"""Sega Master System memory mapper and I/O port decoding (compiled).

Memory layout.  The mapper does not own memory: it rewrites the ``rpage`` /
``wpage`` tables of the Z80's ``mem`` tuple (256 pages of 256 bytes) with
offsets into the machine's backing store ``data`` (emu.bus.Memory), where the
machine YAML declares three regions: system RAM (8 KiB), cartridge RAM
(32 KiB, optional) and the cartridge ROM region (any multiple of 16 KiB; the
framework mirrors a smaller image through it).  Their offsets live in ``sys``.

    0x0000-0x03FF  ROM bank 0, first 1 KiB (never paged)
    0x0400-0x3FFF  ROM bank [0xFFFD]
    0x4000-0x7FFF  ROM bank [0xFFFE]
    0x8000-0xBFFF  ROM bank [0xFFFF], or cartridge RAM bank [0xFFFC] bit 2
                   when [0xFFFC] bit 3 is set (readable and writable)
    0xC000-0xDFFF  8 KiB system RAM, mirrored at 0xE000-0xFFFF
    0xFFFC-0xFFFF  mapper registers (write-only; the writes also land in RAM)

Page 0xFF is PAGE_MMIO for writes only, so the core leaves with
EXIT_MMIO_WRITE on a write to 0xFF00-0xFFFF and ``sms_mem_write`` stores the
byte in RAM and, for 0xFFFC-0xFFFF, updates the mapper (reads of page 0xFF are
plain RAM).  ROM bank numbers wrap modulo the number of 16 KiB banks.

I/O ports (the SMS decodes A7, A6 and A0 only):
    A7 A6 A0 = 0 0 0 memory control (write), 0 0 1 I/O control (write; TH pins)
               0 1 0 V counter (read) / PSG (write), 0 1 1 H counter / PSG
               1 0 0 VDP data, 1 0 1 VDP control/status
               1 1 0 joypad port 0xDC, 1 1 1 joypad port 0xDD (reads)
"""
from __future__ import annotations

from numba import njit

from .. import abi
from .sms_vdp import (V_LINE, vdp_ctrl_write, vdp_data_read, vdp_data_write, vdp_hcounter,
                      vdp_status_read, vdp_vcounter)

# ---- sys state slots -------------------------------------------------------------
SYS_RAM_OFF = 0
SYS_ROM_OFF = 1
SYS_ROM_BANKS = 2
SYS_CRAM_OFF = 3
SYS_CRAM_BANKS = 4        # 0: no cartridge RAM
SYS_MAP = 5               # 5..8 = registers 0xFFFC..0xFFFF
SYS_MEMCTL = 9            # last write to port 0x3E
SYS_IOCTL = 10            # last write to port 0x3F
SYS_PAUSE_PREV = 11
SYS_PSG_COUNT = 12        # PSG writes logged this frame
SYS_AUDIO_COUNT = 13      # samples produced by the last frame
SYS_FRAME_CYCLE0 = 14     # CPU cycle count at the start of this frame
SYS_CLOCK = 15
SYS_RATE = 16
SYS_FRAMES = 17
SYS_SAMPLE_ACC = 18
SYS_LINE = 19             # line the frame loop is in (to resume after a Python exit)
SYS_LINE_STARTED = 20
SYS_SIZE = 32


@njit(cache=True, _nrt=False)
def sys_init(sys, ram_off, ram_size, rom_off, rom_size, cram_off, cram_size, clock, rate):
    sys[SYS_RAM_OFF] = ram_off
    sys[SYS_ROM_OFF] = rom_off
    sys[SYS_ROM_BANKS] = max(1, rom_size // 0x4000)
    sys[SYS_CRAM_OFF] = cram_off
    sys[SYS_CRAM_BANKS] = cram_size // 0x4000 if cram_off >= 0 else 0
    sys[SYS_CLOCK] = clock
    sys[SYS_RATE] = rate
    sys_reset(sys)


@njit(cache=True, _nrt=False)
def sys_reset(sys):
    sys[SYS_MAP] = 0
    sys[SYS_MAP + 1] = 0
    sys[SYS_MAP + 2] = 1
    sys[SYS_MAP + 3] = 2
    sys[SYS_MEMCTL] = 0
    sys[SYS_IOCTL] = 0xFF
    sys[SYS_PAUSE_PREV] = 0
    sys[SYS_PSG_COUNT] = 0
    sys[SYS_AUDIO_COUNT] = 0
    sys[SYS_FRAMES] = 0
    sys[SYS_SAMPLE_ACC] = 0
    sys[SYS_LINE] = 0
    sys[SYS_LINE_STARTED] = 0
    sys[SYS_FRAME_CYCLE0] = -1


@njit(cache=True, _nrt=False)
def sms_map(sys, rpage, wpage):
    """Rewrite the Z80 page tables from the mapper registers."""
    rom = sys[SYS_ROM_OFF]
    nb = sys[SYS_ROM_BANKS]
    ram = sys[SYS_RAM_OFF]
    for p in range(4):
        rpage[p] = rom + p * 256
        wpage[p] = abi.PAGE_ROM
    for slot in range(3):
        bank = sys[SYS_MAP + 1 + slot] % nb
        base = rom + bank * 0x4000
        p0 = 4 if slot == 0 else slot * 64
        for p in range(p0, slot * 64 + 64):
            rpage[p] = base + (p & 63) * 256
            wpage[p] = abi.PAGE_ROM
    ctl = sys[SYS_MAP]
    if (ctl & 8) and sys[SYS_CRAM_BANKS] > 0:
        base = sys[SYS_CRAM_OFF] + (((ctl >> 2) & 1) % sys[SYS_CRAM_BANKS]) * 0x4000
        for p in range(128, 192):
            rpage[p] = base + (p & 63) * 256
            wpage[p] = rpage[p]
    for p in range(192, 256):
        rpage[p] = ram + (p & 31) * 256
        wpage[p] = rpage[p]
    wpage[255] = abi.PAGE_MMIO


@njit(cache=True, _nrt=False)
def sms_mem_write(sys, data, rpage, wpage, addr, value):
    """A write to page 0xFF: RAM, plus the mapper registers at 0xFFFC-0xFFFF."""
    addr = addr & 0xFFFF
    value = value & 0xFF
    data[sys[SYS_RAM_OFF] + (addr & 0x1FFF)] = value
    if addr >= 0xFFFC:
        sys[SYS_MAP + addr - 0xFFFC] = value
        sms_map(sys, rpage, wpage)


@njit(cache=True, _nrt=False)
def _pressed(inputs, inmap, i):
    k = inmap[i]
    return 1 if (k >= 0 and inputs[k] != 0) else 0


@njit(cache=True, _nrt=False)
def joypad_dc(inputs, inmap):
    """Port 0xDC (active low): b0-5 pad 1 up/down/left/right/1/2, b6-7 pad 2 up/down."""
    v = 0
    for i in range(8):
        v |= _pressed(inputs, inmap, i) << i
    return (~v) & 0xFF


@njit(cache=True, _nrt=False)
def joypad_dd(inputs, inmap, ioctl):
    """Port 0xDD: b0-3 pad 2 left/right/1/2, b4 reset, b5 1, b6/b7 TH of pad 1/2
    (reads back the output level when the I/O control register drives TH)."""
    v = 0
    for i in range(4):
        v |= _pressed(inputs, inmap, 8 + i) << i
    v |= _pressed(inputs, inmap, 13) << 4
    v = (~v) & 0x3F
    th1 = ((ioctl >> 5) & 1) if not (ioctl & 2) else 1
    th2 = ((ioctl >> 7) & 1) if not (ioctl & 8) else 1
    return v | (th1 << 6) | (th2 << 7)


@njit(cache=True, _nrt=False)
def sms_io_read(port, sys, vs, vram, inputs, inmap, cycle_in_line):
    sel = port & 0xC1
    if sel == 0x40:
        return vdp_vcounter(vs[V_LINE])
    if sel == 0x41:
        return vdp_hcounter(cycle_in_line)
    if sel == 0x80:
        return vdp_data_read(vs, vram)
    if sel == 0x81:
        return vdp_status_read(vs)
    if sel == 0xC0:
        return joypad_dc(inputs, inmap)
    if sel == 0xC1:
        return joypad_dd(inputs, inmap, sys[SYS_IOCTL])
    return 0xFF


@njit(cache=True, _nrt=False)
def sms_io_write(port, value, sys, vs, vram, cram, dec, decr, pal, psglog, cycle_in_frame):
    """Returns 1 when the write touched the VDP (the INT line must be re-evaluated)."""
    sel = port & 0xC1
    value = value & 0xFF
    if sel == 0x80:
        vdp_data_write(vs, vram, cram, dec, decr, pal, value)
        return 1
    if sel == 0x81:
        vdp_ctrl_write(vs, vram, value)
        return 1
    if sel == 0x40 or sel == 0x41:
        n = sys[SYS_PSG_COUNT]
        if 2 * n + 1 < len(psglog):
            psglog[2 * n] = cycle_in_frame
            psglog[2 * n + 1] = value
            sys[SYS_PSG_COUNT] = n + 1
        return 0
    if sel == 0x00:
        sys[SYS_MEMCTL] = value
    elif sel == 0x01:
        sys[SYS_IOCTL] = value
    return 0
