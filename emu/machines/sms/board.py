"""The Master System board as one machine device: it owns the VDP (emu.devices.sega_vdp)
and the PSG (emu.devices.sn76489), the Sega mapper and the ports, and runs each frame
in compiled code (emu.machines.sms.frame) as the machine's frame driver."""
from __future__ import annotations

import numpy as np

from ... import abi
from ...device import Device
from ...devices.sega_vdp import ACTIVE, WIDTH, vdp_arrays, vdp_decode_all, vdp_reset
from . import frame
from .mapper import sms_map, sms_mem_write
from .state import INPUT_NAMES, SYS_AUDIO_COUNT, SYS_RAM_OFF, board_arrays, board_reset, sys_init


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

    # slow path: debugger / framework writes into page 0xFF reach the mapper here
    def mem_write(self, addr, value, size):
        sms_mem_write(self.sys, self.space.mem[abi.M_DATA], self.space.rpage, self.space.wpage,
                      addr, value)

    def mem_read(self, addr, size):
        return int(self.space.mem[abi.M_DATA][self.sys[SYS_RAM_OFF] + (addr & 0x1FFF)])

    def run_frame(self):
        """One frame; stops at each timer deadline so the scheduler fires it in time."""
        m = self.machine
        if m.screen is not None and self.vdp.fb is not m.screen.framebuffer:
            self.vdp = self.vdp._replace(fb=m.screen.framebuffer)
        cpu, sched = self.cpu, m.scheduler
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


DEVICE = SmsBoard
