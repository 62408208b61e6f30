"""Emulated time: MAME-style timeslicing of CPUs and device timers.

Time is in seconds of emulated time (a float derived from integer cycle
counters, so it is deterministic and save-state exact).  ``run_until(t)``
advances every CPU to ``t`` in slices that end at the next timer deadline; each
CPU runs with ``run(state, mem, budget)`` and its exits are dispatched here,
the way a KVM userspace loop dispatches ``KVM_RUN`` exits.

A machine with a frame driver (a device with ``FRAME_DRIVER``, see emu.device)
runs its one CPU in its own loop instead; it keeps time here all the same: it
stops its CPU at ``deadline_cycle(cpu)`` and calls ``catch_up(cpu)``, which
moves ``time`` to the CPU's clock and fires the timers that are due.
"""
from __future__ import annotations

import math

from . import abi
from .abi import S_CYCLES, S_EXIT_ADDR, S_EXIT_DATA, S_EXIT_SIZE, S_IOLOG_COUNT, S_PENDING
from .core import compiled_entry
from .errors import GuestFault

NO_DEADLINE = 1 << 62     # deadline_cycle when no timer is armed


class Timer:
    def __init__(self, sched, callback, name):
        self.sched, self.callback, self.name = sched, callback, name
        self.deadline = math.inf
        self.period = None

    def adjust(self, delay: float, period: float | None = None) -> None:
        """Fire ``delay`` seconds from now, then every ``period`` seconds (None: once)."""
        self.deadline = self.sched.now() + delay
        self.period = period
        self.sched.deadline_changed(self.deadline)

    def stop(self) -> None:
        self.deadline = math.inf
        self.period = None

    @property
    def enabled(self) -> bool:
        return self.deadline != math.inf


class Scheduler:
    MAX_SLICE = 1 / 1000        # longest slice between device checks (s)

    def __init__(self, machine):
        self.machine = machine
        self.time = 0.0           # start of the current slice
        self.slice_end = 0.0
        self.timers: list[Timer] = []
        self.running_cpu = None
        self.vmm_handler = None   # callable(cpu, reason) -> bool (handled), for VMM mode
        # the debugger's run loop for one CPU (emu.debugger): callable(cpu); None = run_cpu
        self.cpu_hooks = {}
        self.hold_time = False    # a debugger stop mid-slice: emulated time stays with the CPU
        self.halted = {}          # cpu name -> its last slice ended in HLT
        self._entries = {}        # cpu name -> (mem, the compiled run entry point)

    # ---- timers --------------------------------------------------------------
    def timer(self, callback, name: str = "") -> Timer:
        t = Timer(self, callback, name or getattr(callback, "__qualname__", "timer"))
        self.timers.append(t)
        return t

    def periodic(self, callback, period: float, name: str = "") -> Timer:
        t = self.timer(callback, name)
        t.adjust(period, period)
        return t

    def deadline_changed(self, deadline: float) -> None:
        if deadline < self.slice_end:
            self.slice_end = max(deadline, self.now())

    def deadline_cycle(self, cpu) -> int:
        """The first cycle count of ``cpu`` at or after the next timer deadline."""
        t = min((t.deadline for t in self.timers), default=math.inf)
        return NO_DEADLINE if t == math.inf else math.ceil(t * cpu.clock_hz)

    def catch_up(self, cpu) -> None:
        """Frame drivers: emulated time is now ``cpu``'s; fire the timers due by then."""
        self.time = max(self.time, cpu.cycles / cpu.clock_hz)
        self._fire_timers()

    def now(self) -> float:
        cpu = self.running_cpu
        if cpu is not None:
            return cpu.cycles / cpu.clock_hz
        return self.time

    def all_halted(self) -> bool:
        """Every CPU's last slice ended in HLT and no interrupt is pending."""
        return all(self.halted.get(c.name) and not c.state[abi.S_IRQ] & 1 and not c.state[abi.S_NMI]
                   for c in self.machine.cpu_list)

    # ---- main loop -------------------------------------------------------------
    def run_until(self, t_end: float) -> None:
        m = self.machine
        while self.time < t_end:
            # every CPU halted (its last exit was HLT): nothing to poll, so the slice runs
            # to the next timer deadline instead of MAX_SLICE (an idle guest wakes the host
            # once per timer tick, not once per millisecond)
            nxt = t_end if self.all_halted() else min(t_end, self.time + self.MAX_SLICE)
            for t in self.timers:
                if t.deadline < nxt:
                    nxt = max(t.deadline, self.time)
            self.slice_end = nxt
            for cpu in m.cpu_list:
                hook = self.cpu_hooks.get(cpu.name)
                if hook is not None:
                    hook(cpu)
                else:
                    self.run_cpu(cpu)
            if self.hold_time and m.stop_requested:
                # the debugger stopped the CPU inside the slice: devices do not run ahead
                # of it (the rest of the slice runs when the machine goes on)
                self.hold_time = False
                break
            self.time = self.slice_end
            self._fire_timers()
            if m.stop_requested:
                break

    def _fire_timers(self) -> None:
        for t in self.timers:
            while t.deadline <= self.time + 1e-12:
                if t.period:
                    t.deadline += t.period
                else:
                    t.deadline = math.inf
                t.callback()

    def run_cpu(self, cpu) -> None:
        m = self.machine
        space = m.spaces[cpu.name]
        mem, state, sv = space.mem, cpu.state, cpu.sv
        run = self._run_entry(cpu, mem)
        dispatch = self.dispatch
        clock = cpu.clock_hz
        self.running_cpu = cpu
        self.halted[cpu.name] = False
        try:
            while True:
                budget = int(self.slice_end * clock) - sv[S_CYCLES]
                if budget <= 0:
                    return
                reason = run(state, mem, budget)
                self.halted[cpu.name] = reason == abi.EXIT_HLT
                if sv[S_IOLOG_COUNT]:
                    space.drain_iolog(state)
                if reason:                                             # not EXIT_BUDGET
                    dispatch(cpu, space, reason)
                    if m.stop_requested:
                        return
        finally:
            self.running_cpu = None

    def _run_entry(self, cpu, mem):
        """``run`` of the cpu's core, called through its compiled entry point once
        there is one for this ``mem`` (emu.core.compiled_entry)."""
        e = self._entries.get(cpu.name)
        if e is not None and e[0] is mem:
            return e[1]
        fn = type(cpu).run
        entry = compiled_entry(fn, cpu.state, mem, 1)
        if entry is not fn:
            self._entries[cpu.name] = (mem, entry)
        return entry

    def dispatch(self, cpu, space, reason: int) -> None:
        """Handle one exit (KVM-style).  Read exits store the answer for the restart."""
        sv = cpu.sv                        # (Python ints: see Core.sv)
        if reason == abi.EXIT_IO_IN:
            sv[S_EXIT_DATA] = space.io_read(sv[S_EXIT_ADDR], sv[S_EXIT_SIZE])
            sv[S_PENDING] = 1
        elif reason == abi.EXIT_IO_OUT:
            space.io_write(sv[S_EXIT_ADDR], sv[S_EXIT_DATA], sv[S_EXIT_SIZE])
        elif reason == abi.EXIT_MMIO_READ:
            sv[S_EXIT_DATA] = space.mmio_read(sv[S_EXIT_ADDR], sv[S_EXIT_SIZE])
            sv[S_PENDING] = 1
        elif reason == abi.EXIT_MMIO_WRITE:
            space.mmio_write(sv[S_EXIT_ADDR], sv[S_EXIT_DATA], sv[S_EXIT_SIZE])
        elif reason == abi.EXIT_HLT:
            # idle until the end of the slice: a device event may raise an interrupt
            target = int(self.slice_end * cpu.clock_hz)
            if sv[S_CYCLES] < target:
                sv[S_CYCLES] = target
        elif reason == abi.EXIT_IRQ_ACK:
            self.machine.irq_acknowledged(cpu)
        elif reason == abi.EXIT_SHUTDOWN:
            self.machine.cpu_shutdown(cpu)
        elif reason == abi.EXIT_IOLOG_FULL:
            pass
        elif reason == abi.EXIT_BREAKPOINT:
            self.machine.stop_requested = f"breakpoint at {sv[abi.S_BREAK]:X}"
        elif reason == abi.EXIT_STOP:
            sv[abi.S_STOP] = 0
            self.machine.stop_requested = self.machine.stop_requested or "stop"
        elif reason in (abi.EXIT_PRIVILEGED, abi.EXIT_EXCEPTION) and self.vmm_handler \
                and self.vmm_handler(cpu, reason):
            pass
        else:
            raise GuestFault(self.machine.describe_fault(cpu, reason))
