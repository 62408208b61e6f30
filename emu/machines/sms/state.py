"""The SMS board's arrays, bundled for the compiled frame loop like the bus's ``mem``.

``Board`` is a namedtuple of numpy arrays (Numba-friendly, cache-safe):

* ``sys``    int64[SYS_SIZE]: mapper registers, I/O control, frame and audio
  bookkeeping (slots SYS_* below)
* ``psg``    int64[PSG_SIZE]: the SN76489's state (emu.devices.sn76489)
* ``psglog`` int64[2 * N]: this frame's PSG writes, (cycle in frame, byte)
* ``inputs`` uint8[]: the machine's input levels (Machine.inputs)
* ``inmap``  int64[len(INPUT_NAMES)]: index in ``inputs`` of each INPUT_NAMES
  entry, -1 when the machine file does not declare it
* ``audio``  int16[4096]: the last frame's samples (``sys[SYS_AUDIO_COUNT]`` of them)
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ...devices.sn76489 import PSG_SIZE, psg_reset

Board = namedtuple("Board", "sys psg psglog inputs inmap audio")

# the pads and buttons the ports read, in the order of ports.joypad_dc/dd
INPUT_NAMES = ("p1_up", "p1_down", "p1_left", "p1_right", "p1_button1", "p1_button2",
               "p2_up", "p2_down", "p2_left", "p2_right", "p2_button1", "p2_button2",
               "pause", "reset")
IN_PAUSE = 12

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


def board_arrays(inputs, inmap) -> Board:
    """The board's arrays around the machine's ``inputs`` and the ``inmap`` into them."""
    return Board(sys=np.zeros(SYS_SIZE, dtype=np.int64), psg=np.zeros(PSG_SIZE, dtype=np.int64),
                 psglog=np.zeros(2 * 16384, dtype=np.int64), inputs=inputs, inmap=inmap,
                 audio=np.zeros(4096, dtype=np.int16))


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


def board_reset(b: Board) -> None:
    """Power-on of the board's own state and the PSG (clock and rate from ``sys``)."""
    psg_reset(b.psg, b.sys[SYS_CLOCK], b.sys[SYS_RATE])
    sys_reset(b.sys)
