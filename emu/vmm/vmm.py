"""The VMM: one host, many VMs, one loop.

    vmm = VMM(host_ram=256 << 20)
    a = vmm.add(load_vm("machines/vm/pmos.yaml"))
    b = vmm.add(load_vm("machines/vm/cpm.yaml"))
    vmm.run_until(lambda v: b"$ " in a.console.output, host_seconds=60)
    vmm.stats()

The host is host physical memory (emu.vmm.hostmem), from which every VM's
guest-physical frames come, plus the host CPU the VMM time-slices among the VMs
(emu.vmm.sched) and the host devices the VMs' consoles reach (terminals, TCP
ports).  Each turn is a world switch: the VMM picks a VM, its mode loads the
VM's state into the host CPU (``enter``), runs it for a slice of its guest
time, and saves it back (``leave``); switches between VMs are counted and their
host cost timed.  Controls (pause, resume, reset, save, restore) act between
slices, on one VM, while the others keep running.
"""
from __future__ import annotations

import math
import time

from ..errors import EmuError
from .hostmem import HostMemory
from .modes import mode_class
from .sched import FairShare
from .vm import VM

DEFAULT_HOST_RAM = 256 << 20


class VMM:
    def __init__(self, host_ram: int = DEFAULT_HOST_RAM, *, paced: bool = False,
                 slice_host: float = 0.005, host_order: str = "first-fit", mode: str | None = None,
                 host_cpu: str = "default", paging: str = "nested", grid: float = 0.0):
        self.memory = HostMemory(host_ram, order=host_order)
        if host_cpu not in ("default", "strict"):
            raise EmuError(f"unknown host CPU {host_cpu!r} (default, strict)")
        self.host_cpu_strict = host_cpu == "strict"
        if paging not in ("nested", "shadow"):
            raise EmuError(f"unknown paging {paging!r} (nested, shadow)")
        self.paging = paging          # mode hw: nested paging (EPT) or shadow page tables
        self._host_cpu = None         # the host x86 the trap-and-emulate VMs run on
        self.sched = FairShare(slice_host=slice_host, paced=paced)
        self.vms: list[VM] = []
        self.mode_override = mode
        self.current = None           # the VM whose state is on the host CPU
        self.switches = 0             # world switches (a different VM gets the CPU)
        self.switch_time = 0.0        # host seconds of those switches (pick, leave, enter)
        self.steps = 0                # slices run
        self.step_time = 0.0          # host seconds of the VMM between slices (pick, accounting)
        self.idle_time = 0.0          # host seconds with no VM runnable (paced, capped)
        self.started = time.monotonic()
        self.on_slice = []            # callables(vmm, vm) after each slice (consoles, control)
        self.wait = math.inf          # when step() ran nothing: seconds until a VM may run
        self.migrations = {}          # VM name -> emu.vmm.migrate.Outgoing (live migrations from here)
        # deterministic slicing (emu vmm run --deterministic): every slice ends on a multiple of
        # ``grid`` emulated seconds, so where the host cut a guest's run never shows: the same
        # inputs give the same run whatever the host's load, on this VMM or after a migration
        self.grid = grid

    def host_cpu(self):
        """The host's x86 (one for every VM that runs on it directly: mode trap)."""
        if self._host_cpu is None:
            from .trap import HostCPU
            self._host_cpu = HostCPU(self.memory, self.host_cpu_strict, 25e6)
        return self._host_cpu

    # ---- VMs -------------------------------------------------------------------
    def add(self, spec) -> VM:
        if self.mode_override:
            spec.mode = self.mode_override
        if any(v.name == spec.name for v in self.vms):
            raise EmuError(f"a VM named {spec.name!r} is already running")
        cls = mode_class(spec.mode)
        cls.check(spec)
        vm = VM(spec, self.memory, cls, vmm=self)
        self.vms.append(vm)
        return vm

    def get(self, name: str) -> VM:
        for v in self.vms:
            if v.name == name:
                return v
        raise EmuError(f"no VM named {name!r} (VMs: {', '.join(v.name for v in self.vms) or 'none'})")

    def remove(self, name: str) -> None:
        vm = self.get(name)
        if self.current is vm:
            vm.mode.leave()
            self.current = None
        self.vms.remove(vm)
        self.sched.forget(vm)
        vm.destroy()

    def shutdown(self) -> None:
        for vm in list(self.vms):
            self.remove(vm.name)

    # ---- the loop ----------------------------------------------------------------
    def step(self) -> bool:
        """One turn: the next VM runs one slice.  False when none could run (the
        caller may sleep: ``self.wait`` says how long until one can)."""
        t0 = time.perf_counter()
        vm, wait = self.sched.pick(self.vms)
        if vm is None:
            self.wait = wait
            return False
        switch = vm is not self.current
        if switch:
            if self.current is not None:
                self.current.mode.leave()
            vm.mode.enter()
            self.current = vm
            self.switches += 1
            vm.switches += 1
        dt = self.sched.slice_for(vm)
        g0, hlt0 = vm.guest_time, vm.exits["hlt"]
        t1 = time.perf_counter()
        if switch:
            self.switch_time += t1 - t0
        try:
            if self.grid:
                self._run_on_grid(vm, dt)
            else:
                vm.mode.run(dt)
        except EmuError as e:             # the guest stopped in a way its machine cannot go on
            vm.machine.log.append(f"{vm.name}: {e}")
            vm.pause()
            vm.status = "stopped"
        if vm.machine.stop_requested:
            vm.machine.log.append(f"{vm.name}: stopped ({vm.machine.stop_requested})")
            vm.machine.stop_requested = None
            vm.pause()
            vm.status = "stopped"
        host = time.perf_counter() - t1
        vm.host_time += host
        vm.slices += 1
        self.sched.account(vm, vm.guest_time - g0, host, vm.exits["hlt"] - hlt0)
        self.steps += 1
        self.step_time += (t1 - t0) + (time.perf_counter() - t1 - host)
        for f in self.on_slice:
            f(self, vm)
        return True

    def _run_on_grid(self, vm, dt: float) -> None:
        """At least ``dt`` of the VM's time, in runs from one multiple of the grid to the next."""
        g, m = self.grid, vm.machine
        end = m.time + dt
        while m.time < end - 1e-12 and not m.stop_requested and vm.status == vm.RUNNING:
            nxt = (math.floor(m.time / g + 1e-6) + 1) * g
            vm.mode.run(nxt - m.time)

    def run(self, host_seconds: float) -> None:
        self.run_until(lambda v: False, host_seconds)

    def run_until(self, predicate, host_seconds: float = 60.0) -> bool:
        """Run the VMs until ``predicate(self)`` holds (checked after every slice);
        False if ``host_seconds`` of wall time pass first."""
        end = time.monotonic() + host_seconds
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= end:
                return bool(predicate(self))
            if not self.step():
                pause = min(self.wait, 0.01, max(0.0, end - time.monotonic()))
                if math.isinf(pause) or not any(v.status == v.RUNNING for v in self.vms):
                    pause = 0.01
                time.sleep(pause)
                self.idle_time += pause
                for f in self.on_slice:
                    f(self, None)

    # ---- accounting ------------------------------------------------------------------
    def stats(self) -> dict:
        wall = time.monotonic() - self.started
        return {"host_ram": self.memory.size, "free_frames": self.memory.free_frames,
                "wall": wall, "switches": self.switches, "switch_time": self.switch_time,
                "slices": self.steps, "overhead": self.step_time,
                "idle_time": self.idle_time,
                "vms": [dict(v.stats(), frames=self.memory.used_by(v.name)) for v in self.vms]}

    def shares(self) -> dict:
        """Each VM's share of the guest progress so far (fractions summing to 1)."""
        total = sum(v.insns for v in self.vms) or 1
        return {v.name: v.insns / total for v in self.vms}
