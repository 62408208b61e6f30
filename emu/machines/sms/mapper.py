"""The Sega mapper of the Master System (compiled): page tables from its registers.

Memory layout.  The mapper does not own memory: it rewrites the ``rpage`` /
``wpage`` tables of the Z80's ``mem`` tuple (256 pages of 256 bytes) with
offsets into the machine's backing store ``data`` (emu.bus.Memory), where the
machine YAML declares three regions: system RAM (8 KiB), cartridge RAM
(32 KiB, optional) and the cartridge ROM region (any multiple of 16 KiB; the
framework mirrors a smaller image through it).  Their offsets live in ``sys`` (emu.machines.sms.state).

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
"""
from __future__ import annotations

from numba import njit

from ... import abi
from .state import SYS_CRAM_BANKS, SYS_CRAM_OFF, SYS_MAP, SYS_RAM_OFF, SYS_ROM_BANKS, SYS_ROM_OFF


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
