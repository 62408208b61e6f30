"""A VM: guest-physical memory (host frames) + virtual CPU state + virtual devices.

The devices are the machine's own models (emu.devices), built from the machine
YAML unchanged; their register accesses reach them as exits of the VM's CPU,
dispatched by the machine's scheduler exactly as on a stand-alone machine.
What the VMM adds is around them: where the memory comes from, which mode runs
the CPU (emu.vmm.modes), the accounting, and the controls (pause, resume,
reset, save, restore).
"""
from __future__ import annotations

import time
from collections import Counter

from .. import abi
from ..errors import EmuError
from ..machine import Machine


class VMConsole:
    """The VM's console device as bytes out / bytes in, whatever its kind: a UART
    (its backend's buffer), the paravirtual serial terminal or a debug port (its text)."""

    def __init__(self, machine, name: str | None):
        devs = machine.devices
        if name is None:
            name = next((n for n, d in devs.items() if d.SERIAL_PORT or d.IS_CONSOLE), None)
        self.name = name
        self.dev = devs.get(name) if name else None
        self._seen = 0

    def _buffer(self):
        """The device's output so far: a UART backend's bytes or a terminal's text."""
        d = self.dev
        if d is None:
            return b""
        return d.backend.output if d.SERIAL_PORT else getattr(d, "text", "")

    @staticmethod
    def _bytes(buf) -> bytes:
        return buf.encode("latin-1") if isinstance(buf, str) else bytes(buf)

    @property
    def output(self) -> bytes:
        return self._bytes(self._buffer())

    def new_output(self) -> bytes:
        """What the console printed since the last call."""
        buf = self._buffer()
        seen = self._seen
        if len(buf) < seen:                   # the buffer was trimmed or the VM restored
            seen = 0
        self._seen = len(buf)
        return self._bytes(buf[seen:])

    def feed(self, data: bytes | str) -> None:
        if self.dev is None or not (self.dev.SERIAL_PORT or hasattr(self.dev, "feed")):
            raise EmuError(f"this VM's console {self.name!r} takes no input")
        if self.dev.SERIAL_PORT:
            self.dev.backend.feed(data)
        else:
            self.dev.feed(data)


class VM:
    PAUSED, RUNNING = "paused", "running"

    def __init__(self, spec, host_memory, mode_cls, vmm=None):
        self.spec = spec
        self.name = spec.name
        self.vmm = vmm
        self.weight = spec.weight
        self.cap = spec.cap
        self.machine = Machine(spec.machine, dict(spec.media) or None, host_memory=host_memory,
                               name=spec.name, persist=spec.persist)
        try:
            self.console = VMConsole(self.machine, spec.console)
            self.mode = mode_cls(self)
        except BaseException:
            self.destroy()
            raise
        self.status = self.RUNNING
        # accounting (emu vmm ps / --stats)
        self.host_time = 0.0          # host seconds spent running this VM
        self.slices = 0
        self.switches = 0             # world switches into this VM
        self.exits = Counter()        # exit reason name -> count
        self.started = time.monotonic()
        self.paused_for = 0.0         # wall seconds spent paused (pacing, caps)
        self._paused_at = None
        self.insns_base = self.insns_raw()
        self.resets = 0
        self._count_exits()

    # ---- accounting ------------------------------------------------------------
    def insns_raw(self) -> int:
        return sum(int(c.state[abi.S_INSNS]) for c in self.machine.cpu_list)

    @property
    def insns(self) -> int:
        """Guest instructions retired since the VM started (its progress)."""
        return self.insns_raw() - self.insns_base

    def _count_exits(self):
        sched = self.machine.scheduler
        inner = sched.dispatch
        names, exits = abi.EXIT_NAMES, self.exits

        def counting(cpu, space, reason):
            exits[names.get(reason, str(reason))] += 1
            inner(cpu, space, reason)
        sched.dispatch = counting

    @property
    def guest_time(self) -> float:
        return self.machine.time

    def wall_time(self) -> float:
        """Wall seconds the VM has been running (not paused)."""
        now = time.monotonic()
        paused = self.paused_for + (now - self._paused_at if self._paused_at else 0.0)
        return now - self.started - paused

    def stats(self) -> dict:
        ht = self.host_time
        return {"name": self.name, "machine": self.machine.name, "mode": self.mode.name,
                "status": self.status, "weight": self.weight, "cap": self.cap,
                "host_time": ht, "guest_time": self.guest_time, "insns": self.insns,
                "mips": self.insns / ht / 1e6 if ht else 0.0, "slices": self.slices,
                "switches": self.switches, "exits": dict(self.exits), "resets": self.resets,
                "mode_stats": self.mode.stats(),
                "log": list(self.machine.log[-3:])}

    # ---- controls ------------------------------------------------------------------
    def pause(self) -> None:
        if self.status == self.RUNNING:
            self.status = self.PAUSED
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self.status == self.PAUSED:
            self.paused_for += time.monotonic() - self._paused_at
            self._paused_at = None
            self.status = self.RUNNING

    def reset(self) -> None:
        """Power-cycle this VM only (memory cleared, CPUs and devices reset)."""
        self.machine.reset()
        self.mode.invalidate()
        self.resets += 1

    def save(self, path) -> None:
        """A save state of this VM (atomic; emu.savestate), in the machine's logical
        layout: it loads into this VM, another VM of the machine, or the machine alone."""
        self.machine.save_state(path)

    def restore(self, path) -> None:
        self.machine.load_state(path)
        self.mode.invalidate()

    def destroy(self) -> None:
        if getattr(self, "mode", None) is not None:
            self.mode.destroy()
        self.machine.shutdown()
        self.machine.mem.release()
