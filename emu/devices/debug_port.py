"""Write-only debug console (Bochs/QEMU port 0xE9 convention)."""
from __future__ import annotations

import sys

from ..device import Device
from ..jitcache import guest_output


class DebugPort(Device):
    PARAMS = {"echo": False}
    SAVE_FIELDS = ("text",)

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.text = ""

    def io_write(self, port, value, size):
        self.text += chr(value & 0xFF)
        if self.echo or self.machine.echo_console:
            guest_output(chr(value & 0xFF))
            sys.stderr.write(chr(value & 0xFF))

    def io_read(self, port, size):
        return 0xE9


DEVICE = DebugPort
