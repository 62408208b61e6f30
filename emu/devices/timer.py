"""A periodic interrupt source (like a 50/60 Hz tick or a simple timer chip).

Raises its ``irq`` line ``hz`` times per second; reading its port returns the
tick count (low byte) and acknowledges (lowers the line); writing sets the rate
divider: rate = hz / (value + 1), 0 = default."""
from __future__ import annotations

from ..device import Device


class Timer(Device):
    PARAMS = {"hz": 60.0, "irq": None, "vector": 0xFF}
    SAVE_FIELDS = ("ticks", "divider")

    def start(self):
        self.line = self.machine.irq_line(self.irq, self) if self.irq else None
        self.timer = self.machine.scheduler.timer(self._tick, f"{self.name}.tick")

    def reset(self):
        self.ticks = 0
        self.divider = 0
        self.timer.adjust(1 / self.hz, 1 / self.hz)
        if self.line:
            self.line.set(False)

    def _tick(self):
        self.ticks += 1
        if self.line:
            self.line.set(True, self.vector)

    def irq_ack(self):
        pass

    def io_read(self, port, size):
        if self.line:
            self.line.set(False)
        return self.ticks & 0xFF

    def io_write(self, port, value, size):
        self.divider = value & 0xFF
        period = (self.divider + 1) / self.hz
        self.timer.adjust(period, period)

    def load_state(self, st):
        super().load_state(st)


DEVICE = Timer
