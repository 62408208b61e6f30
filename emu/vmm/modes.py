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
itself, ``hw`` (emu.vmm.hw) at its own ring 0 in the core's VT-x-style non-root
operation, ``kvm`` (emu.vmm.kvm) on the host processor's own VT-x through
/dev/kvm; ``bt`` (emu.vmm.bt) translates the guest's code into host code;
``pv`` (emu.vmm.pv) runs a paravirtual kernel at ring 1 (hypercalls, event
channels, ring devices).
"""
from __future__ import annotations

from .bt import Bt
from .hw import Hw
from .kvm import Kvm
from .mode import Emulate, Mode, ModeError  # noqa: F401  (the modes' base, re-exported)
from .pv import Pv
from .trap import Trap

MODES = {m.name: m for m in (Emulate, Bt, Trap, Hw, Kvm, Pv)}


def mode_class(name: str):
    cls = MODES.get(name)
    if cls is None:
        raise ModeError(f"unknown mode {name!r} (modes: {', '.join(MODES)})")
    return cls
