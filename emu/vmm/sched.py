"""The VMM's CPU scheduler: one host CPU time-sliced among VMs by fair share.

Shares are measured in guest progress (instructions retired), not in budget
handed out: each VM's virtual progress is ``insns / weight`` and the runnable VM
furthest behind runs next, for a slice sized to take about ``slice_host``
seconds of host time (from the host cost of its recent guest time).  So a VM
of weight 2 retires twice the instructions of a VM of weight 1 whatever its ISA
or how expensive its instructions are to emulate.

A VM is not runnable while it is paused, while its host time exceeds its cap
(percent of the host CPU since it started: Xen's credit-scheduler cap, not
work-conserving), or, when the VMM paces guests to real time, while its
emulated clock is ahead of the wall clock.  A VM that idled through its last
slice (its CPU halted) does not bank credit: like a task waking under Linux's
CFS its progress is raised to the least among the busy VMs, so it runs soon
but cannot starve them.  Unpaced, an idle VM's clock also waits for the busy
ones (it may not run while its guest time is ahead of every busy VM's):
otherwise an OS idling in HLT would race through emulated hours of timer
ticks and take host time from the VMs with work to do.  When every VM idles, the
one whose clock is furthest behind runs next.
"""
from __future__ import annotations

import math

from .. import abi


class FairShare:
    MIN_SLICE = 0.001          # emulated seconds
    MAX_SLICE = 0.05

    def __init__(self, slice_host: float = 0.005, paced: bool = False):
        self.slice_host = slice_host
        self.paced = paced
        self.cost = {}         # vm -> host seconds per emulated second (EWMA)
        self.floor = {}        # vm -> progress added by the wake-up rule (not retired)
        self.idle = {}         # vm -> it halted in its last slice
        self.last = {}         # vm -> turn number of its last slice (ties: longest waiting first)
        self.turn = 0

    def progress(self, vm) -> float:
        return (vm.insns + self.floor.get(vm, 0.0)) / vm.weight

    def runnable(self, vm) -> tuple[bool, float]:
        """(runnable now, seconds until it may be) for a running VM."""
        if vm.status != vm.RUNNING:
            return False, math.inf
        wall = vm.wall_time()
        if vm.cap and vm.host_time > vm.cap / 100.0 * wall:
            return False, vm.host_time / (vm.cap / 100.0) - wall
        if self.paced and vm.guest_time > wall:
            return False, vm.guest_time - wall
        return True, 0.0

    def pick(self, vms):
        """(vm, None) to run next, or (None, seconds to wait)."""
        ready, wait = [], math.inf
        for vm in vms:
            ok, w = self.runnable(vm)
            if ok:
                ready.append(vm)
            else:
                wait = min(wait, w)
        if not ready:
            return None, wait
        busy = [v for v in ready if not self.idle.get(v)]
        if busy and not self.paced:
            horizon = max(v.guest_time for v in busy) + self.MIN_SLICE
            ready = [v for v in ready if not self.idle.get(v) or v.guest_time <= horizon]
        if busy:
            least = min(self.progress(v) for v in busy)
            for v in ready:
                if self.idle.get(v) and self.progress(v) < least:
                    self.floor[v] = self.floor.get(v, 0.0) + (least - self.progress(v)) * v.weight
        if busy:
            vm = min(ready, key=lambda v: (self.progress(v), self.last.get(v, -1)))
        else:
            # every VM idles: the one whose clock is furthest behind goes next (its next
            # event is in its own time; by progress a VM halted for good would be picked
            # every time and starve one that waits for its timer)
            vm = min(ready, key=lambda v: (v.guest_time, self.last.get(v, -1)))
        self.turn += 1
        self.last[vm] = self.turn
        return vm, None

    def slice_for(self, vm) -> float:
        c = self.cost.get(vm)
        dt = self.MAX_SLICE if not c else self.slice_host / c
        if self.paced:
            dt = min(dt, max(self.MIN_SLICE, vm.wall_time() - vm.guest_time + self.MIN_SLICE))
        return max(self.MIN_SLICE, min(self.MAX_SLICE, dt))

    def account(self, vm, guest_dt: float, host_dt: float, hlt_exits: int) -> None:
        if guest_dt > 0:
            c = host_dt / guest_dt
            old = self.cost.get(vm)
            self.cost[vm] = c if old is None else 0.7 * old + 0.3 * c
        self.idle[vm] = hlt_exits > 0 or any(int(cpu.state[abi.S_EXIT_REASON]) == abi.EXIT_HLT
                                             for cpu in vm.machine.cpu_list)

    def forget(self, vm) -> None:
        for d in (self.cost, self.floor, self.idle, self.last):
            d.pop(vm, None)
