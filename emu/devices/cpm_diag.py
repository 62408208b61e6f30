"""Host-side diagnostics port of the cpm machine (docs/HARDWARE.md).

The project's BDOS writes the number of an unknown BDOS function here before
returning A=FFh/HL=FFFFh to the program (so programs that probe for CP/M 3
calls still run); the user sees one clear line on the host's stderr, and
scripts and tests find the calls in ``unknown_calls``."""
from __future__ import annotations

import sys

from ..device import Device


class CpmDiag(Device):
    PARAMS = {}
    SAVE_FIELDS = ("unknown_calls",)

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.unknown_calls = []

    def io_write(self, port, value, size):
        self.unknown_calls.append(value)
        cpu = self.machine.cpu
        caller = cpu.get_registers()["sp"] if hasattr(cpu, "get_registers") else 0
        print(f"emu: cpm: the program called unknown BDOS function {value} "
              f"(C={value:02X}h; returned A=FFh) [SP={caller:04X}]", file=sys.stderr)


DEVICE = CpmDiag
