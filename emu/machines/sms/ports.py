"""SMS I/O port decoding and the joypad ports (compiled).

I/O ports (the SMS decodes A7, A6 and A0 only):
    A7 A6 A0 = 0 0 0 memory control (write), 0 0 1 I/O control (write; TH pins)
               0 1 0 V counter (read) / PSG (write), 0 1 1 H counter / PSG
               1 0 0 VDP data, 1 0 1 VDP control/status
               1 1 0 joypad port 0xDC, 1 1 1 joypad port 0xDD (reads)

Port 0x3E (memory control) is stored but not acted on: no BIOS is emulated.
"""
from __future__ import annotations

from numba import njit

from ...devices.sega_vdp import (V_LINE, vdp_ctrl_write, vdp_data_read, vdp_data_write,
                                 vdp_hcounter, vdp_status_read, vdp_vcounter)
from .state import SYS_IOCTL, SYS_MEMCTL, SYS_PSG_COUNT


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
def io_read(port, b, v, cycle_in_line):
    """A port read: ``b`` the Board arrays, ``v`` the VdpArrays."""
    sel = port & 0xC1
    if sel == 0x40:
        return vdp_vcounter(v.vs[V_LINE])
    if sel == 0x41:
        return vdp_hcounter(cycle_in_line)
    if sel == 0x80:
        return vdp_data_read(v)
    if sel == 0x81:
        return vdp_status_read(v)
    if sel == 0xC0:
        return joypad_dc(b.inputs, b.inmap)
    if sel == 0xC1:
        return joypad_dd(b.inputs, b.inmap, b.sys[SYS_IOCTL])
    return 0xFF


@njit(cache=True, _nrt=False)
def io_write(port, value, b, v, cycle_in_frame):
    """A port write; PSG bytes go to this frame's log with their time.  Returns 1
    when the write touched the VDP (the INT line must be re-evaluated)."""
    sel = port & 0xC1
    value = value & 0xFF
    sys = b.sys
    if sel == 0x80:
        vdp_data_write(v, value)
        return 1
    if sel == 0x81:
        vdp_ctrl_write(v, value)
        return 1
    if sel == 0x40 or sel == 0x41:
        psglog = b.psglog
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
