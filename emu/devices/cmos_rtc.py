"""MC146818-style CMOS RAM and real-time clock (PC ports 70h/71h).

Time and date (BCD, 24-hour: status B = 02h) run from ``time`` plus emulated
time, so a run is reproducible: ``time: host`` takes the host clock when the
machine powers on, or give an ISO date such as ``2000-01-01T00:00:00``.
CMOS bytes: 10h floppy types, 12h hard disk, 14h equipment, 15h/16h base
memory (KiB), 17h/18h and 30h/31h extended memory, 32h century.  Extended
memory is ``ext_kb`` or, with ``ext_ram: REGION``, that RAM region's size (the
RAM from 1 MiB up), as a chipset reports its DRAM: 17h/18h = 30h/31h = KiB above
1 MiB saturating at 65535, 34h/35h = 64 KiB blocks above 16 MiB (the Bochs/QEMU
convention SeaBIOS reads; saturating at FFFFh).
Reference: Motorola MC146818A data sheet; IBM PC/AT Technical Reference.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from ..device import Device
from ..errors import EmuError


def bcd(n):
    return ((n // 10) << 4) | (n % 10)


class CmosRtc(Device):
    PARAMS = {"time": "host", "base_kb": 640, "ext_kb": 0, "ext_ram": None, "floppy": 4}

    def start(self):
        if self.ext_ram is not None:
            regions = self.machine.mem.regions
            if self.ext_ram not in regions:
                raise EmuError(f"device {self.name!r}: ext_ram: no RAM region {self.ext_ram!r}")
            self.ext_kb = regions[self.ext_ram][1] // 1024

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
        ext = min(self.ext_kb, 0xFFFF)
        r[0x17] = r[0x30] = ext & 0xFF
        r[0x18] = r[0x31] = ext >> 8
        above16 = min(max(self.ext_kb - 15 * 1024, 0) // 64, 0xFFFF)
        r[0x34], r[0x35] = above16 & 0xFF, above16 >> 8

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
