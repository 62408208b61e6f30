"""How the VMM runs a VM's CPU: one class per mode of the virtualization spectrum.

A mode gets the VM's turn on the host CPU from the VMM scheduler::

    mode.enter()          # world switch in: load the VM's state into the host CPU
    mode.run(seconds)     # run the guest for this much of its own (emulated) time
    mode.leave()          # world switch out: save it back

and says which guests it can run (``isas``, ``check``).  ``emulate`` is the
first: every guest instruction goes through a software model of the guest's
CPU owned by the VMM (the machine's own core: x86, or a Z80 for the cross-ISA
CP/M guest); the guest's privileged state (its CR0, CR3, IDT ...) lives only in
that model's state array and never loads into the host CPU, so enter/leave
move nothing and a world switch is the VMM choosing another model to run.
``trap`` (emu.vmm.trap) runs the guest kernel deprivileged on the host CPU
itself; the other modes of the spectrum (binary translation, hardware assist,
paravirtualization) register here as they land.
"""
from __future__ import annotations

from ..errors import EmuError


class ModeError(EmuError):
    pass


class Mode:
    name = "?"
    isas: frozenset | None = None     # guest ISAs the mode runs (None: any)
    summary = ""

    def __init__(self, vm):
        self.vm = vm

    @classmethod
    def check(cls, spec) -> None:
        """Refuse, in one line, a guest that needs what this mode lacks."""
        if cls.isas is not None and spec.isa not in cls.isas:
            raise ModeError(f"{spec.name}: mode {cls.name!r} runs {'/'.join(sorted(cls.isas))} "
                            f"guests; this VM's CPU is {spec.isa} (use --mode emulate)")

    def enter(self) -> None:
        pass

    def leave(self) -> None:
        pass

    def run(self, seconds: float) -> None:
        raise NotImplementedError

    def invalidate(self) -> None:
        """The VM's state was replaced (reset, restore): drop what the mode derived."""

    def destroy(self) -> None:
        """The VM goes away: give back what the mode holds."""

    def stats(self) -> dict:
        return {}


class Emulate(Mode):
    name = "emulate"
    summary = "every guest instruction through the VMM's software model of the guest CPU"

    def run(self, seconds: float) -> None:
        """Advance the guest by ``seconds`` of its emulated time: its scheduler slices
        its CPU and device timers as on a stand-alone machine; frames end on the
        machine's frame boundaries (so screen and frame-driven devices behave the same)."""
        m = self.vm.machine
        end = m.time + seconds
        while m.time < end - 1e-12 and not m.stop_requested:
            boundary = (m.frame + 1) * m.frame_period
            if boundary <= end + 1e-12 or m.frame_driver is not None:
                m.step_frame()
            else:
                m.scheduler.run_until(end)


from .trap import Trap  # (it builds on Emulate)
from .kvm import Kvm  # (so does this)

MODES = {m.name: m for m in (Emulate, Trap, Kvm)}


def mode_class(name: str):
    cls = MODES.get(name)
    if cls is None:
        raise ModeError(f"unknown mode {name!r} (modes: {', '.join(MODES)})")
    return cls
