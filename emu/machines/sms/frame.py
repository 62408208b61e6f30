"""The SMS frame loop in compiled code: 262 NTSC lines of 228 Z80 cycles.

For each line: the VDP starts the line (renders it when active, runs the line
counter, sets the frame IRQ flag) and gives the INT level; the Z80's compiled
``run`` (cores.z80) executes until the line's last cycle, and its exits are
handled here without returning to Python: port reads/writes (VDP, PSG,
joypads, memory/I-O control), writes to page 0xFF (RAM + mapper), HALT (skip
to the end of the line, or to ``stop``), interrupt acknowledge, posted writes.  Only other
exits (fault, breakpoint, stop, MMIO read) return to Python, which handles them
and calls again: the loop resumes at the line it left.  So does reaching the
``stop`` cycle (the scheduler's next timer deadline, see emu.scheduler).

While the debugger or a script hook runs the CPU (Scheduler.cpu_hooks), the board
runs the frame in Python instead (board.py, ``run_frame``): the same steps
(``begin_frame``, ``begin_line``, ``end_line``, ``end_frame``) around the
debugger's CPU loop, one line at a time, the ports and the mapper answering its
exits through the address space; either way resumes a frame the other left.

PAUSE is an NMI edge taken at the start of a frame; at the end of the frame
the PSG renders the frame's audio from its time-stamped write log.
"""
from __future__ import annotations

from numba import njit

from cores.z80 import Z80 as _Z80

from ... import abi
from ...devices.sega_vdp import CYCLES_PER_LINE, LINES, vdp_irq, vdp_line
from ...devices.sn76489 import VOLUME, psg_render
from .mapper import sms_mem_write
from .ports import io_read, io_write
from .state import (IN_PAUSE, SYS_AUDIO_COUNT, SYS_CLOCK, SYS_FRAME_CYCLE0, SYS_FRAMES, SYS_LINE,
                    SYS_LINE_STARTED, SYS_PAUSE_PREV, SYS_PSG_COUNT, SYS_RATE, SYS_SAMPLE_ACC)

_z80_run = _Z80.run
FRAME_CYCLES = LINES * CYCLES_PER_LINE
FRAME_END = -1            # run_frame's result at the end of the frame
_VOL = VOLUME


@njit(cache=True, _nrt=False)
def _set_int(state, level):
    state[abi.S_IRQ] = (state[abi.S_IRQ] & ~1) | level


@njit(cache=True, _nrt=False)
def begin_frame(state, b):
    """At the start of a frame (line 0 not started yet): its first cycle, PAUSE's NMI."""
    sys = b.sys
    inputs, inmap = b.inputs, b.inmap
    if sys[SYS_LINE] == 0 and sys[SYS_LINE_STARTED] == 0:
        f0 = sys[SYS_FRAME_CYCLE0]
        cyc = state[abi.S_CYCLES]
        if f0 < 0 or cyc - f0 > 2 * CYCLES_PER_LINE or f0 - cyc > 2 * CYCLES_PER_LINE:
            sys[SYS_FRAME_CYCLE0] = cyc
        sys[SYS_PSG_COUNT] = 0
        pause = 0
        if inmap[IN_PAUSE] >= 0 and inputs[inmap[IN_PAUSE]] != 0:
            pause = 1
        if pause and not sys[SYS_PAUSE_PREV]:
            state[abi.S_NMI] = 1
        sys[SYS_PAUSE_PREV] = pause


@njit(cache=True, _nrt=False)
def begin_line(state, v, b, line):
    """The VDP starts ``line`` (renders it, runs the line counter) and gives the INT level."""
    _set_int(state, vdp_line(v, line))
    b.sys[SYS_LINE_STARTED] = 1


@njit(cache=True, _nrt=False)
def end_line(b, line):
    b.sys[SYS_LINE] = line + 1
    b.sys[SYS_LINE_STARTED] = 0


@njit(cache=True, _nrt=False)
def end_frame(b):
    """The end of the frame: the PSG renders its audio, the next frame's first cycle."""
    sys = b.sys
    audio = b.audio
    f0 = sys[SYS_FRAME_CYCLE0]
    acc = sys[SYS_SAMPLE_ACC] + FRAME_CYCLES * sys[SYS_RATE]
    ns = acc // sys[SYS_CLOCK]
    sys[SYS_SAMPLE_ACC] = acc - ns * sys[SYS_CLOCK]
    if ns > len(audio):
        ns = len(audio)
    psg_render(b.psg, b.psglog, sys[SYS_PSG_COUNT], FRAME_CYCLES, audio, ns, _VOL)
    sys[SYS_AUDIO_COUNT] = ns
    sys[SYS_PSG_COUNT] = 0
    sys[SYS_LINE] = 0
    sys[SYS_FRAME_CYCLE0] = f0 + FRAME_CYCLES
    sys[SYS_FRAMES] += 1


@njit(cache=True, _nrt=False)
def run_frame(state, mem, v, b, stop):
    """Run (the rest of) one frame: ``v`` the VdpArrays, ``b`` the Board arrays.
    Returns FRAME_END at the end of the frame, EXIT_BUDGET when the CPU reached
    cycle ``stop``, or the exit reason the loop does not handle (the frame resumes
    on the next call)."""
    sys = b.sys
    begin_frame(state, b)
    line = sys[SYS_LINE]
    f0 = sys[SYS_FRAME_CYCLE0]
    data = mem[abi.M_DATA]
    rpage = mem[abi.M_RPAGE]
    wpage = mem[abi.M_WPAGE]
    iolog = mem[abi.M_IOLOG]
    while line < LINES:
        line_start = f0 + line * CYCLES_PER_LINE
        if sys[SYS_LINE_STARTED] == 0:
            begin_line(state, v, b, line)
        line_end = line_start + CYCLES_PER_LINE
        end = line_end if line_end < stop else stop
        while True:
            budget = end - state[abi.S_CYCLES]
            if budget <= 0:
                if state[abi.S_CYCLES] < line_end:
                    sys[SYS_LINE] = line
                    return abi.EXIT_BUDGET
                break
            reason = _z80_run(state, mem, budget)
            n = state[abi.S_IOLOG_COUNT]
            if n:
                for i in range(n):
                    c = iolog[3 * i + 2]
                    if io_write(iolog[3 * i] & 0xFF, iolog[3 * i + 1], b, v, c - f0):
                        _set_int(state, vdp_irq(v))
                state[abi.S_IOLOG_COUNT] = 0
            if reason == abi.EXIT_BUDGET or reason == abi.EXIT_IRQ_ACK \
                    or reason == abi.EXIT_IOLOG_FULL:
                continue
            if reason == abi.EXIT_IO_IN:
                port = state[abi.S_EXIT_ADDR] & 0xFF
                state[abi.S_EXIT_DATA] = io_read(port, b, v, state[abi.S_CYCLES] - line_start)
                state[abi.S_PENDING] = 1
                if port & 0x80:
                    _set_int(state, vdp_irq(v))
            elif reason == abi.EXIT_IO_OUT:
                if io_write(state[abi.S_EXIT_ADDR] & 0xFF, state[abi.S_EXIT_DATA], b, v,
                            state[abi.S_CYCLES] - f0):
                    _set_int(state, vdp_irq(v))
            elif reason == abi.EXIT_MMIO_WRITE:
                sms_mem_write(sys, data, rpage, wpage, state[abi.S_EXIT_ADDR],
                              state[abi.S_EXIT_DATA])
            elif reason == abi.EXIT_HLT:
                state[abi.S_CYCLES] = end
            else:
                sys[SYS_LINE] = line
                return reason
        end_line(b, line)
        line += 1
    end_frame(b)
    return FRAME_END
