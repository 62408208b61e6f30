"""Mode ``bt`` for Z80 guests: cross-ISA binary translation (as Virtual PC ran x86
code on the PowerPC).  The CP/M machine's Z80 code is translated block by block
into x86 code (emu.vmm.bt_z80_gen) in a translation cache that the VMM's host x86
CPU runs (emu.vmm.bt_z80_engine); the VM's devices are the machine's own, reached
through the callouts exactly as the Z80 core's exits reach them.

The machine's scheduler still slices emulated time; this mode takes the VM's
CPU turn (``cpu_hooks``) and runs it through the engine instead of the Z80 core,
handing the engine's exits (IN, OUT, HLT, interrupt acknowledge) to the
machine's dispatcher.  Several VMs share the one host CPU: ``enter``/``leave``
load and save this VM's host context (its page tables, GDT and registers).
"""
from __future__ import annotations

import time

from .. import abi
from .bt_z80_engine import DEFAULT_TC, Z80Engine
from .mode import Emulate, ModeError

TC_SIZE = DEFAULT_TC                # bytes of translation cache per VM (tests shrink it)


class BtZ80(Emulate):
    name = "bt"
    isas = frozenset({"z80"})
    summary = "Z80 code translated into x86 code in a translation cache, run by the host CPU"

    @classmethod
    def check(cls, spec) -> None:
        pass

    def __init__(self, vm):
        super().__init__(vm)
        m = vm.machine
        self.m = m
        self.cpu = m.cpu
        self.space = m.spaces[self.cpu.name]
        hostmem = m.mem.host
        vmm = vm.vmm
        if hostmem is None or vmm is None or not hasattr(vmm, "host_cpu"):
            raise ModeError(f"{vm.name}: mode 'bt' runs VMs of a VMM")
        self.host = vmm.host_cpu()
        self.engine = Z80Engine(hostmem, self.host, self.cpu.state, self.space.mem, vm.name,
                                tc_size=TC_SIZE, port_mask=self.space.port_mask)
        self.t0 = time.perf_counter()
        m.scheduler.cpu_hooks[self.cpu.name] = self._run_cpu
        self._hook_writers()

    def _hook_writers(self) -> None:
        """Writes that do not come from the Z80 (the disk controller's DMA, the debugger,
        cheats) go through the address space's write8/write_block: the translations of
        the bytes they change go (the translated code's own stores check the code map)."""
        sp, eng = self.space, self.engine
        write8, write_block = sp.write8, sp.write_block

        def hooked_write8(addr, value):
            write8(addr, value)
            eng.written(addr & 0xFFFF, 1)

        def hooked_write_block(addr, data):
            write_block(addr, data)
            eng.written(addr & 0xFFFF, len(data))
        sp.write8, sp.write_block = hooked_write8, hooked_write_block

    def enter(self) -> None:
        self.engine.enter()

    def leave(self) -> None:
        self.engine.leave()

    def invalidate(self) -> None:
        self.engine.map_sig = None          # (rebuilt and flushed on the next run)

    def destroy(self) -> None:
        for name in ("write8", "write_block"):
            self.space.__dict__.pop(name, None)
        self.engine.destroy()

    def _run_cpu(self, cpu) -> None:
        """The scheduler's run_cpu with the engine in place of the Z80 core."""
        m, sched, space, state = self.m, self.m.scheduler, self.space, cpu.state
        clock = cpu.clock_hz
        sched.running_cpu = cpu
        sched.halted[cpu.name] = False
        eng = self.engine
        fast_in = space.port_mask <= 0xFF and not space.io_hold      # (held ports: the debugger's)
        if fast_in != eng.fast_in:
            eng.fast_in = fast_in
            eng.flush()
        try:
            while True:
                budget = int(sched.slice_end * clock) - int(state[abi.S_CYCLES])
                if budget <= 0:
                    return
                reason = self.engine.run(budget)
                sched.halted[cpu.name] = reason == abi.EXIT_HLT
                if state[abi.S_IOLOG_COUNT]:
                    space.drain_iolog(state)
                if reason:
                    sched.dispatch(cpu, space, reason)
                    if m.stop_requested:
                        return
        finally:
            sched.running_cpu = None

    def stats(self) -> dict:
        st = self.engine.stats_dict()
        secs = self.vm.host_time or max(time.perf_counter() - self.t0, 1e-9)
        st["callouts_per_s"] = st["callouts"] / secs
        return {"bt_z80": st}
