"""The base of the VMM's modes: how a VM's CPU gets its turn on the host CPU, and
mode ``emulate`` (the registry of every mode: emu.vmm.modes)."""
from __future__ import annotations

from ..errors import EmuError


class ModeError(EmuError):
    pass


class Mode:
    name = "?"
    isas: frozenset | None = None     # guest ISAs the mode runs (None: any)
    summary = ""
    paravirtual = False               # runs a kernel built for the VMM (mode pv)

    def __init__(self, vm):
        self.vm = vm

    @classmethod
    def check(cls, spec) -> None:
        """Refuse, in one line, a guest that needs what this mode lacks."""
        if cls.isas is not None and spec.isa not in cls.isas:
            raise ModeError(f"{spec.name}: mode {cls.name!r} runs {'/'.join(sorted(cls.isas))} "
                            f"guests; this VM's CPU is {spec.isa} (use --mode emulate)")
        from .pv_abi import spec_is_pv
        if not cls.paravirtual and spec_is_pv(spec):
            raise ModeError(f"{spec.name}: this VM's disk holds a paravirtual kernel (a PV note): "
                            f"it runs only under mode 'pv' (use --mode pv)")

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


