"""Sega mapper page tables and the SMS I/O port decoding."""
import numpy as np

from emu import abi
from emu.devices.sega_vdp import vdp_arrays
from emu.machines.sms import mapper as M
from emu.machines.sms import ports as P
from emu.machines.sms import state as S
from emu.machines.sms.state import INPUT_NAMES

RAM, CRAM, ROM = 0, 0x2000, 0x2000 + 0x8000
ROM_SIZE = 16 * 0x4000


def make():
    data = np.zeros(ROM + ROM_SIZE, dtype=np.uint8)
    for bank in range(16):                       # each ROM byte tells its bank
        data[ROM + bank * 0x4000:ROM + (bank + 1) * 0x4000] = bank
    rpage = np.zeros(256, dtype=np.int64)
    wpage = np.zeros(256, dtype=np.int64)
    sys = np.zeros(S.SYS_SIZE, dtype=np.int64)
    S.sys_init(sys, RAM, 0x2000, ROM, ROM_SIZE, CRAM, 0x8000, 3579545, 44100)
    M.sms_map(sys, rpage, wpage)
    return data, rpage, wpage, sys


def read(data, rpage, addr):
    return int(data[rpage[addr >> 8] + (addr & 0xFF)])


def write(data, rpage, wpage, sys, addr, value):
    o = wpage[addr >> 8]
    if o >= 0:
        data[o + (addr & 0xFF)] = value
    elif o == abi.PAGE_MMIO:
        M.sms_mem_write(sys, data, rpage, wpage, addr, value)


def test_power_on_banks():
    data, rp, wp, sys = make()
    assert [read(data, rp, a) for a in (0x0000, 0x3FFF, 0x4000, 0x7FFF, 0x8000, 0xBFFF)] == \
        [0, 0, 1, 1, 2, 2]
    assert (wp[:0xC0] == abi.PAGE_ROM).all()
    assert wp[0xFF] == abi.PAGE_MMIO and rp[0xFF] >= 0


def test_bank_switching_and_fixed_first_kib():
    data, rp, wp, sys = make()
    write(data, rp, wp, sys, 0xFFFD, 5)
    write(data, rp, wp, sys, 0xFFFE, 6)
    write(data, rp, wp, sys, 0xFFFF, 7 + 16)     # wraps modulo the bank count
    assert read(data, rp, 0x0000) == 0 and read(data, rp, 0x03FF) == 0
    assert read(data, rp, 0x0400) == 5 and read(data, rp, 0x3FFF) == 5
    assert read(data, rp, 0x4000) == 6 and read(data, rp, 0x8000) == 7
    # the register writes also land in RAM (and its mirror)
    assert read(data, rp, 0xFFFF) == 23 and read(data, rp, 0xDFFF) == 23


def test_ram_mirror():
    data, rp, wp, sys = make()
    write(data, rp, wp, sys, 0xC123, 0x5A)
    assert read(data, rp, 0xE123) == 0x5A
    write(data, rp, wp, sys, 0xFF00, 0x11)
    assert read(data, rp, 0xDF00) == 0x11
    write(data, rp, wp, sys, 0x1000, 0x99)        # ROM ignores writes
    assert read(data, rp, 0x1000) == 0


def test_cartridge_ram():
    data, rp, wp, sys = make()
    write(data, rp, wp, sys, 0xFFFC, 0x08)        # RAM bank 0 at 0x8000
    write(data, rp, wp, sys, 0x8000, 0x42)
    assert read(data, rp, 0x8000) == 0x42 and data[CRAM] == 0x42
    write(data, rp, wp, sys, 0xFFFC, 0x0C)        # bank 1
    assert read(data, rp, 0x8000) == 0
    write(data, rp, wp, sys, 0xBFFF, 0x43)
    assert data[CRAM + 0x7FFF] == 0x43
    write(data, rp, wp, sys, 0xFFFC, 0x00)        # back to ROM bank [0xFFFF]
    assert read(data, rp, 0x8000) == 2


def board(inputs, inmap):
    b = S.board_arrays(inputs, inmap)
    S.sys_reset(b.sys)
    return b


def test_joypad_ports():
    inputs = np.zeros(len(INPUT_NAMES), dtype=np.uint8)
    inmap = np.arange(len(INPUT_NAMES), dtype=np.int64)
    b, v = board(inputs, inmap), vdp_arrays()
    rd = lambda port: int(P.io_read(port, b, v, 0))
    assert rd(0xDC) == 0xFF and rd(0xDD) == 0xFF
    inputs[INPUT_NAMES.index("p1_up")] = 1
    inputs[INPUT_NAMES.index("p1_button2")] = 1
    inputs[INPUT_NAMES.index("p2_down")] = 1
    assert rd(0xDC) == 0xFF & ~0x01 & ~0x20 & ~0x80
    assert rd(0xC0) == rd(0xDC)                   # decoded by A7, A6, A0 only
    inputs[:] = 0
    inputs[INPUT_NAMES.index("p2_right")] = 1
    inputs[INPUT_NAMES.index("p2_button1")] = 1
    inputs[INPUT_NAMES.index("reset")] = 1
    assert rd(0xDD) == 0xFF & ~0x02 & ~0x04 & ~0x10
    # unmapped inputs read as released
    inmap[:] = -1
    assert rd(0xDC) == 0xFF


def test_th_output_reads_back():
    b = board(np.zeros(1, dtype=np.uint8), np.full(len(INPUT_NAMES), -1, dtype=np.int64))
    v = vdp_arrays()
    P.io_write(0x3F, 0x55, b, v, 0)               # TH A/B outputs, driven low
    assert P.io_read(0xDD, b, v, 0) & 0xC0 == 0
    P.io_write(0x3F, 0xF5, b, v, 0)               # driven high
    assert P.io_read(0xDD, b, v, 0) & 0xC0 == 0xC0


def test_vdp_and_psg_port_decoding():
    b = board(np.zeros(1, np.uint8), np.full(14, -1, np.int64))
    v = vdp_arrays()
    P.io_write(0xBF, 0x00, b, v, 0)
    P.io_write(0xBD, 0x7F, b, v, 0)               # 0xBD mirrors the control port
    P.io_write(0xBE, 0xAB, b, v, 0)
    assert v.vram[0x3F00] == 0xAB
    P.io_write(0x7F, 0x9F, b, v, 123)
    P.io_write(0x40, 0x80, b, v, 456)
    assert b.sys[S.SYS_PSG_COUNT] == 2 and list(b.psglog[:4]) == [123, 0x9F, 456, 0x80]
    v.vs[24] = 0xE0                               # V counter after the jump
    assert P.io_read(0x7E, b, v, 0) == 0xDA
