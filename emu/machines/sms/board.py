"""The Master System board as one machine device: it owns the VDP (emu.devices.sega_vdp)
and the PSG (emu.devices.sn76489), the Sega mapper and the ports, and runs each frame
in compiled code (emu.machines.sms.frame) as the machine's frame driver."""
from __future__ import annotations

import numpy as np

from cores.z80.cpu import HALTED as Z80_HALTED

from ... import abi
from ...device import Device
from ...devices.sega_vdp import (ACTIVE, CYCLES_PER_LINE, LINES, WIDTH, vdp_arrays, vdp_decode_all,
                                 vdp_irq, vdp_reset)
from . import frame
from .mapper import sms_map, sms_mem_write
from .ports import io_read, io_write
from .state import (INPUT_NAMES, SYS_AUDIO_COUNT, SYS_FRAME_CYCLE0, SYS_LINE, SYS_LINE_STARTED,
                    SYS_RAM_OFF, board_arrays, board_reset, sys_init)


class SmsBoard(Device):
    """VDP + PSG + Sega mapper + joypad ports, run a frame at a time (``FRAME_DRIVER``)."""

    FRAME_DRIVER = True
    COMPILED = (frame.run_frame,)        # what a first start compiles (emu.tier)
    PARAMS = {"cpu": "maincpu", "ram": "ram", "cart": "cart", "cart_ram": "cart_ram",
              "sample_rate": 44100, "psg_clock": 3579545}
    SAVE_FIELDS = ("vs", "vram", "cram", "psg", "sys")

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.vdp = vdp_arrays()
        self.board = board_arrays(machine.inputs, np.full(len(INPUT_NAMES), -1, dtype=np.int64))
        self.last_exit = None

    # the saved arrays, by the names of SAVE_FIELDS
    vs = property(lambda self: self.vdp.vs)
    vram = property(lambda self: self.vdp.vram)
    cram = property(lambda self: self.vdp.cram)
    psg = property(lambda self: self.board.psg)
    sys = property(lambda self: self.board.sys)

    def start(self):
        m = self.machine
        self.cpu = m.cpus[self.cpu]
        self.space = m.spaces[self.cpu.name]
        regions = m.mem.regions
        ram_off, ram_size, _ = regions[self.ram]
        rom_off, rom_size, _ = regions[self.cart]
        cram_off, cram_size = (regions[self.cart_ram][:2] if self.cart_ram in regions else (-1, 0))
        sys_init(self.sys, ram_off, ram_size, rom_off, rom_size, cram_off, cram_size,
                 int(self.psg_clock), int(self.sample_rate))
        for i, n in enumerate(INPUT_NAMES):
            self.board.inmap[i] = m.input_index.get(n, -1)
        if m.screen is not None:
            m.screen.resize(WIDTH, ACTIVE)
        # every port is the board's (it decodes A7, A6, A0): the CPU's exits reach it here
        # while the debugger runs the CPU (run_frame)
        for p in range(self.space.port_mask + 1):
            self.space.ports[p] = self

    def reset(self):
        vdp_reset(self.vdp)
        board_reset(self.board)
        self.remap()
        self.cpu.state[abi.S_IRQ_VECTOR] = 0xFF

    def remap(self):
        sms_map(self.sys, self.space.rpage, self.space.wpage)

    def load_state(self, st):
        super().load_state(st)
        vdp_decode_all(self.vdp)
        self.remap()

    # slow path: debugger / framework writes into page 0xFF reach the mapper here (and the
    # CPU's while the debugger runs it); the debugger's page traps stay on across a remap
    def mem_write(self, addr, value, size):
        sp = self.space
        sp.traps_off()
        sms_mem_write(self.sys, sp.mem[abi.M_DATA], sp.rpage, sp.wpage, addr, value)
        sp.traps_on()

    # the ports, for the CPU's exits while the debugger runs it (run_frame)
    def io_read(self, port, size):
        sys, v = self.sys, self.vdp
        line_start = int(sys[SYS_FRAME_CYCLE0]) + int(sys[SYS_LINE]) * CYCLES_PER_LINE
        value = int(io_read(port & 0xFF, self.board, v, self.cpu.cycles - line_start))
        if port & 0x80:
            frame._set_int(self.cpu.state, vdp_irq(v))
        return value

    def io_write(self, port, value, size):
        if io_write(port & 0xFF, value, self.board, self.vdp,
                    self.cpu.cycles - int(self.sys[SYS_FRAME_CYCLE0])):
            frame._set_int(self.cpu.state, vdp_irq(self.vdp))

    def mem_read(self, addr, size):
        return int(self.space.mem[abi.M_DATA][self.sys[SYS_RAM_OFF] + (addr & 0x1FFF)])

    def run_frame(self):
        """One frame; stops at each timer deadline so the scheduler fires it in time."""
        m = self.machine
        if m.screen is not None and self.vdp.fb is not m.screen.framebuffer:
            self.vdp = self.vdp._replace(fb=m.screen.framebuffer)
        cpu, sched = self.cpu, m.scheduler
        hook = sched.cpu_hooks.get(cpu.name)
        if hook is not None:
            return self._run_frame_hooked(hook)
        state, mem, v, b = cpu.state, self.space.mem, self.vdp, self.board
        while True:
            reason = int(frame.run_frame(state, mem, v, b, sched.deadline_cycle(cpu)))
            if reason == frame.FRAME_END:
                n = int(self.sys[SYS_AUDIO_COUNT])
                m.audio.push(b.audio[:n].copy())
                return
            if reason == abi.EXIT_BUDGET:
                sched.catch_up(cpu)
                continue
            self.last_exit = (reason, int(state[abi.S_EXIT_ADDR]), int(state[abi.S_EXIT_DATA]))
            sched.running_cpu = cpu
            try:
                sched.dispatch(cpu, self.space, reason)
            finally:
                sched.running_cpu = None
            if m.stop_requested:
                return

    def _run_frame_hooked(self, hook):
        """(The rest of) one frame with the debugger's CPU loop ``hook`` (Scheduler.cpu_hooks):
        the steps of frame.run_frame in Python, line by line, the CPU's exits answered by
        the scheduler's dispatch (this board's ports, the mapper through page FFh); a
        debugger stop leaves the frame mid-line, as run_frame resumes it."""
        m = self.machine
        cpu, sched = self.cpu, m.scheduler
        state, v, b, sys = cpu.state, self.vdp, self.board, self.sys
        frame.begin_frame(state, b)
        f0 = int(sys[SYS_FRAME_CYCLE0])
        while sys[SYS_LINE] < LINES:
            line = int(sys[SYS_LINE])
            if not sys[SYS_LINE_STARTED]:
                frame.begin_line(state, v, b, line)
            line_end = f0 + (line + 1) * CYCLES_PER_LINE
            while True:
                end = min(line_end, sched.deadline_cycle(cpu))
                if cpu.cycles >= end:
                    if cpu.cycles < line_end:          # a timer is due: fire it
                        sched.catch_up(cpu)
                        continue
                    break
                # the slice ends at cycle ``end`` (the half cycle keeps int(slice_end *
                # clock), the hook's budget, from rounding down to end - 1)
                sched.slice_end = (end + 0.5) / cpu.clock_hz
                hook(cpu)
                if state[Z80_HALTED] and cpu.cycles > end:
                    state[abi.S_CYCLES] = end          # HALT idles to the end exactly, as in run_frame
                if m.stop_requested:
                    sched.hold_time = False
                    return
            frame.end_line(b, line)
        frame.end_frame(b)
        m.audio.push(b.audio[:int(sys[SYS_AUDIO_COUNT])].copy())


DEVICE = SmsBoard
