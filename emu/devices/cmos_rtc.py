"""MC146818-style CMOS RAM and real-time clock (PC ports 70h/71h).

Time and date (BCD, 24-hour: status B = 02h) run from ``time`` plus emulated
time, so a run is reproducible: ``time: host`` takes the host clock when the
machine powers on, or give an ISO date such as ``2000-01-01T00:00:00``.
CMOS bytes: 10h floppy types, 12h hard disk, 14h equipment, 15h/16h base
memory (KiB), 17h/18h and 30h/31h extended memory, 32h century.
Reference: Motorola MC146818A data sheet; IBM PC/AT Technical Reference.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from ..device import Device


def bcd(n):
    return ((n // 10) << 4) | (n % 10)


class CmosRtc(Device):
    PARAMS = {"time": "host", "base_kb": 640, "ext_kb": 0, "floppy": 4}

    def reset(self):
        self.index = 0
        self.ram = np.zeros(128, dtype=np.uint8)
        if self.time == "host":
            self.epoch = dt.datetime.now().replace(microsecond=0).timestamp()
        else:
            self.epoch = dt.datetime.fromisoformat(str(self.time)).replace(
                tzinfo=dt.timezone.utc).timestamp()
        r = self.ram
        r[0x0A], r[0x0B], r[0x0D] = 0x26, 0x02, 0x80
        r[0x10] = (self.floppy & 0x0F) << 4
        r[0x14] = 0x41 if self.floppy else 0x00        # one floppy, VGA, no FPU
        r[0x15], r[0x16] = self.base_kb & 0xFF, self.base_kb >> 8
        r[0x17] = r[0x30] = self.ext_kb & 0xFF
        r[0x18] = r[0x31] = (self.ext_kb >> 8) & 0xFF

    def now(self) -> dt.datetime:
        t = self.epoch + self.machine.scheduler.now()
        if self.time == "host":
            return dt.datetime.fromtimestamp(int(t))
        return dt.datetime.fromtimestamp(int(t), dt.timezone.utc)

    def io_write(self, port, value, size):
        if port == 0x70:
            self.index = value & 0x7F
        elif self.index >= 0x0E or self.index in (0x0A, 0x0B):
            self.ram[self.index] = value

    def io_read(self, port, size):
        if port == 0x70:
            return 0xFF
        i = self.index
        if i <= 0x09 or i == 0x32:
            t = self.now()
            v = {0: t.second, 2: t.minute, 4: t.hour, 6: t.isoweekday() % 7 + 1, 7: t.day,
                 8: t.month, 9: t.year % 100, 0x32: t.year // 100}.get(i, 0)
            return bcd(v)
        if i == 0x0C:
            return 0
        return int(self.ram[i])

    SAVE_FIELDS = ("index", "ram", "epoch")


DEVICE = CmosRtc
