"""The SMS frame loop in compiled code: 262 NTSC lines of 228 Z80 cycles.

For each line: the VDP starts the line (renders it when active, runs the line
counter, sets the frame IRQ flag) and gives the INT level; the Z80's compiled
``run`` (cores.z80) executes until the line's last cycle, and its exits are
handled here without returning to Python: port reads/writes (VDP, PSG,
joypads, memory/I-O control), writes to page 0xFF (RAM + mapper), HALT (skip
to the end of the line), interrupt acknowledge, posted writes.  Only other
exits (fault, breakpoint, stop, MMIO read) return to Python, which handles them
and calls again: the loop resumes at the line it left.

PAUSE is an NMI edge taken at the start of a frame; at the end of the frame
the PSG renders the frame's audio from its time-stamped write log.
"""
from __future__ import annotations

from numba import njit

from cores.z80 import Z80 as _Z80

from .. import abi
from . import sms_mapper
from .sms_mapper import (SYS_AUDIO_COUNT, SYS_CLOCK, SYS_FRAME_CYCLE0, SYS_FRAMES, SYS_LINE,
                         SYS_LINE_STARTED, SYS_PAUSE_PREV, SYS_PSG_COUNT, SYS_RATE,
                         SYS_SAMPLE_ACC, sms_io_read, sms_io_write, sms_mem_write)
from .sms_vdp import CYCLES_PER_LINE, LINES, vdp_irq, vdp_line
from .sn76489 import VOLUME, psg_render

_z80_run = _Z80.run
FRAME_CYCLES = LINES * CYCLES_PER_LINE
_VOL = VOLUME


@njit(cache=True, _nrt=False)
def _set_int(state, level):
    state[abi.S_IRQ] = (state[abi.S_IRQ] & ~1) | level


@njit(cache=True, _nrt=False)
def sms_run_frame(state, mem, sys, vs, vram, cram, dec, decr, pal, fb, lb, lb8, used,
                  ps, psglog, inputs, inmap, audio):
    """Run (the rest of) one frame.  Returns 0 at the end of the frame, or the exit
    reason the compiled loop does not handle (the frame resumes on the next call)."""
    line = sys[SYS_LINE]
    if line == 0 and sys[SYS_LINE_STARTED] == 0:
        f0 = sys[SYS_FRAME_CYCLE0]
        cyc = state[abi.S_CYCLES]
        if f0 < 0 or cyc - f0 > 2 * CYCLES_PER_LINE or f0 - cyc > 2 * CYCLES_PER_LINE:
            sys[SYS_FRAME_CYCLE0] = cyc
        sys[SYS_PSG_COUNT] = 0
        pause = 0
        if inmap[12] >= 0 and inputs[inmap[12]] != 0:
            pause = 1
        if pause and not sys[SYS_PAUSE_PREV]:
            state[abi.S_NMI] = 1
        sys[SYS_PAUSE_PREV] = pause
    f0 = sys[SYS_FRAME_CYCLE0]
    data = mem[0]
    rpage = mem[1]
    wpage = mem[2]
    iolog = mem[4]
    while line < LINES:
        line_start = f0 + line * CYCLES_PER_LINE
        if sys[SYS_LINE_STARTED] == 0:
            _set_int(state, vdp_line(vs, vram, dec, decr, pal, fb, line, lb, lb8, used))
            sys[SYS_LINE_STARTED] = 1
        line_end = line_start + CYCLES_PER_LINE
        while True:
            budget = line_end - state[abi.S_CYCLES]
            if budget <= 0:
                break
            reason = _z80_run(state, mem, budget)
            n = state[abi.S_IOLOG_COUNT]
            if n:
                for i in range(n):
                    c = iolog[3 * i + 2]
                    if sms_io_write(iolog[3 * i] & 0xFF, iolog[3 * i + 1], sys, vs, vram, cram,
                                    dec, decr, pal, psglog, c - f0):
                        _set_int(state, vdp_irq(vs))
                state[abi.S_IOLOG_COUNT] = 0
            if reason == abi.EXIT_BUDGET or reason == abi.EXIT_IRQ_ACK \
                    or reason == abi.EXIT_IOLOG_FULL:
                continue
            if reason == abi.EXIT_IO_IN:
                port = state[abi.S_EXIT_ADDR] & 0xFF
                state[abi.S_EXIT_DATA] = sms_io_read(port, sys, vs, vram, inputs, inmap,
                                                     state[abi.S_CYCLES] - line_start)
                state[abi.S_PENDING] = 1
                if port & 0x80:
                    _set_int(state, vdp_irq(vs))
            elif reason == abi.EXIT_IO_OUT:
                if sms_io_write(state[abi.S_EXIT_ADDR] & 0xFF, state[abi.S_EXIT_DATA], sys, vs,
                                vram, cram, dec, decr, pal, psglog, state[abi.S_CYCLES] - f0):
                    _set_int(state, vdp_irq(vs))
            elif reason == abi.EXIT_MMIO_WRITE:
                sms_mem_write(sys, data, rpage, wpage, state[abi.S_EXIT_ADDR],
                              state[abi.S_EXIT_DATA])
            elif reason == abi.EXIT_HLT:
                state[abi.S_CYCLES] = line_end
            else:
                sys[SYS_LINE] = line
                return reason
        line += 1
        sys[SYS_LINE] = line
        sys[SYS_LINE_STARTED] = 0
    # ---- end of frame: audio
    acc = sys[SYS_SAMPLE_ACC] + FRAME_CYCLES * sys[SYS_RATE]
    ns = acc // sys[SYS_CLOCK]
    sys[SYS_SAMPLE_ACC] = acc - ns * sys[SYS_CLOCK]
    if ns > len(audio):
        ns = len(audio)
    psg_render(ps, psglog, sys[SYS_PSG_COUNT], FRAME_CYCLES, audio, ns, _VOL)
    sys[SYS_AUDIO_COUNT] = ns
    sys[SYS_PSG_COUNT] = 0
    sys[SYS_LINE] = 0
    sys[SYS_FRAME_CYCLE0] = f0 + FRAME_CYCLES
    sys[SYS_FRAMES] += 1
    return 0


def handle_exit(dev, reason: int) -> None:
    """Exits the compiled loop leaves to Python (the generic KVM-style dispatcher)."""
    m = dev.machine
    m.scheduler.dispatch(dev.cpu, dev.space, reason)


__all__ = ["sms_run_frame", "handle_exit", "sms_mapper"]


class SmsConsole:
    """A headless SMS without the machine YAML (tests, benchmarks): one Z80, the
    backing store laid out as [8 KiB RAM][32 KiB cartridge RAM][ROM][open bus]."""

    def __init__(self, rom: bytes, rate: int = 44100):
        import numpy as np

        from emu.core import flat_memory
        from .sms_vdp import INPUT_NAMES, VdpState
        from .sn76489 import PSG_SIZE, psg_reset
        from .sms_mapper import SYS_SIZE, sms_map, sys_init
        rom_size = max(0x4000, -(-len(rom) // 0x4000) * 0x4000)
        self.ram_off, self.cram_off, self.rom_off = 0, 0x2000, 0xA000
        data = np.full(self.rom_off + rom_size + 256, 0xFF, dtype=np.uint8)
        data[:self.rom_off] = 0
        img = (bytes(rom) * (rom_size // len(rom) + 1))[:rom_size]
        data[self.rom_off:self.rom_off + rom_size] = np.frombuffer(img, dtype=np.uint8)
        _, rpage, wpage, ioflags, iolog = flat_memory(16, 8)
        self.mem = (data, rpage, wpage, ioflags, iolog)
        self.cpu = _Z80(clock_hz=3579545)
        self.cpu.state[abi.S_IRQ_VECTOR] = 0xFF
        self.v = VdpState()
        self.psg = np.zeros(PSG_SIZE, dtype=np.int64)
        psg_reset(self.psg, 3579545, rate)
        self.psglog = np.zeros(2 * 16384, dtype=np.int64)
        self.sys = np.zeros(SYS_SIZE, dtype=np.int64)
        sys_init(self.sys, self.ram_off, 0x2000, self.rom_off, rom_size, self.cram_off, 0x8000,
                 3579545, rate)
        sms_map(self.sys, rpage, wpage)
        self.input_names = INPUT_NAMES
        self.inputs = np.zeros(len(INPUT_NAMES), dtype=np.uint8)
        self.inmap = np.arange(len(INPUT_NAMES), dtype=np.int64)
        self.audio = np.zeros(4096, dtype=np.int16)
        self.frames = 0

    def press(self, name, down=True):
        self.inputs[self.input_names.index(name)] = 1 if down else 0

    def run_frame(self) -> "np.ndarray":
        """One frame; returns its audio samples.  Unhandled exits raise RuntimeError."""
        v = self.v
        reason = sms_run_frame(self.cpu.state, self.mem, self.sys, v.vs, v.vram, v.cram, v.dec,
                               v.decr, v.pal, v.fb, v.lb, v.lb8, v.used, self.psg, self.psglog,
                               self.inputs, self.inmap, self.audio)
        if reason != 0:
            raise RuntimeError(f"SMS: unhandled exit {abi.EXIT_NAMES.get(int(reason), reason)} "
                               f"at {self.cpu.format_registers()}")
        self.frames += 1
        return self.audio[:int(self.sys[sms_mapper.SYS_AUDIO_COUNT])].copy()

    @property
    def framebuffer(self):
        return self.v.fb
