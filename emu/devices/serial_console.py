"""A serial terminal (docs/HARDWARE.md): status at base+0, data at base+1.

Output is kept in ``text`` (and echoed to the host terminal when the machine
runs interactively); input comes from ``feed()`` — the frontend feeds host
keystrokes, scripts and tests feed strings."""
from __future__ import annotations

import sys
from collections import deque

from ..device import Device
from ..jitcache import guest_output


class SerialConsole(Device):
    PARAMS = {"base": 0, "irq": None}
    SAVE_FIELDS = ("text",)
    IS_CONSOLE = True

    def save_state(self):
        return {"text": self.text, "pending_input": bytes(self.input)}

    def load_state(self, st):
        self.text = st["text"]
        self.input = deque(st["pending_input"])
        self._status()

    def start(self):
        self._status()

    def status(self) -> int:
        return (1 if self.input else 0) | 2        # bit 0 a key waits, bit 1 can send

    def _status(self):
        # the status register is published: a guest polling it runs without exits
        self.publish_read(self.base, self.status())

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.text = ""
        self.input = deque()
        self.out = None        # file-like sink for interactive runs

    def reset(self):
        self.input.clear()
        self._status()

    def feed(self, s: str | bytes) -> None:
        data = s.encode("latin-1") if isinstance(s, str) else bytes(s)
        self.input.extend(data)
        self._status()

    def io_read(self, port, size):
        reg = (port - self.base) & 0xFF
        if reg == 0:
            return self.status()
        if reg == 1:
            if not self.input:
                return 0
            v = self.input.popleft()
            if not self.input:
                self._status()
            return v
        return 0xFF

    def io_write(self, port, value, size):
        if (port - self.base) & 0xFF == 1:
            ch = chr(value & 0xFF)
            self.text += ch
            sink = self.out or (sys.stdout if self.machine.echo_console else None)
            if sink is not None:
                guest_output(ch)
                sink.write(ch)
                sink.flush()

    def take(self) -> str:
        """Return and clear what was printed so far."""
        t, self.text = self.text, ""
        return t

    def wait_for(self, needle: str, seconds: float = 30.0) -> bool:
        """Run the machine until ``needle`` appears in the output (emulated seconds)."""
        return self.machine.run_until(lambda m: needle in self.text, seconds)


DEVICE = SerialConsole
