"""System control port A (port 92h, PS/2 and every later PC chipset: "fast A20"
and "fast reset").  Reference: IBM PS/2 Hardware Interface Technical Reference,
"System Control Port A"; Intel 82371 PIIX datasheet, port 92h.

  bit 0  fast reset: writing 1 when it was 0 resets the CPU (INIT; memory and
         devices keep their state); the bit reads back as written
  bit 1  A20 gate: ORed with the 8042's output-port A20 line (machine.set_a20)
  bit 3  CMOS security lock, bits 6-7 disk activity light: stored and read back
"""
from __future__ import annotations

from ..device import Device


class Port92(Device):
    SAVE_FIELDS = ("value",)

    def reset(self):
        self.value = 0x00
        self.machine.set_a20(self.name, False)

    def io_read(self, port, size):
        return self.value

    def io_write(self, port, value, size):
        old, self.value = self.value, value & 0xFF
        self.machine.set_a20(self.name, bool(value & 2))
        if value & 1 and not old & 1:
            self.machine.reset_cpu()

    def load_state(self, st):
        super().load_state(st)
        self.machine.a20_gates[self.name] = bool(self.value & 2)


DEVICE = Port92
