"""Motorola MC146818A real-time clock with CMOS RAM (PC ports 70h/71h, IRQ 8).

The clock runs from ``time`` plus emulated time, so a run is reproducible:
``time: host`` takes the host clock when the machine powers on, or give an ISO
date such as ``2000-01-01T00:00:00``.  The guest may set it (registers 0-9 and
32h, century) and reads it in BCD or binary, 12- or 24-hour form per register B.
CMOS bytes: 10h floppy types, 12h hard disk, 14h equipment, 15h/16h base memory
(KiB), 17h/18h and 30h/31h extended memory, 32h century.  Extended memory is
``ext_kb`` or, with ``ext_ram: REGION``, that RAM region's size (the RAM from
1 MiB up), as a chipset reports its DRAM: 17h/18h = 30h/31h = KiB above 1 MiB
saturating at 65535, 34h/35h = 64 KiB blocks above 16 MiB (the Bochs/QEMU
convention SeaBIOS reads; saturating at FFFFh).

Reference: Motorola MC146818A data sheet, "Registers" and "Interrupts":
  A  bit 7 UIP (read only): 1 from 244 us (tBUC) before an update cycle to its
     end, 1984 us (tUC) later; DV2-0 010 = 32.768 kHz time base runs the clock
     (11x holds the divider in reset; the first update comes 0.5 s after release;
     other values stop it here); RS3-0 periodic rate (Table 5: 1 = 256 Hz,
     2 = 128 Hz, 3-15 = 65536 >> RS Hz, 0 = none)
  B  SET (no updates; UIP clear), PIE, AIE, UIE, SQWE, DM (1 = binary),
     24/12 (1 = 24-hour), DSE (daylight saving: not modelled)
  C  IRQF, PF, AF, UF (read only): PF at every periodic tick, UF at the end of
     each update cycle, AF when it matches the alarm bytes 1, 3, 5 (C0h-FFh =
     any); IRQF = PF.PIE + AF.AIE + UF.UIE drives the IRQ output; reading C
     clears every bit and releases the line
  D  bit 7 VRT (valid RAM and time): always 1
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ..device import Device
from ..errors import EmuError

T_BUC = 244e-6                  # UIP is set this long before an update cycle (Table 6)
T_UC = 1984e-6                  # update cycle at 32.768 kHz (Table 6)
EPS = 1e-9
TIME_REGS = (0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32)


def bcd(n):
    return ((n // 10) << 4) | (n % 10)


def unbcd(v):
    return (v >> 4) * 10 + (v & 0x0F)


class CmosRtc(Device):
    PARAMS = {"time": "host", "base_kb": 640, "ext_kb": 0, "ext_ram": None, "floppy": 4, "irq": None}
    SAVE_FIELDS = ("index", "ram", "epoch", "held", "halted", "flags", "last", "p_base",
                   "dow_offset", "irq_level")

    def start(self):
        if self.ext_ram is not None:
            regions = self.machine.mem.regions
            if self.ext_ram not in regions:
                raise EmuError(f"device {self.name!r}: ext_ram: no RAM region {self.ext_ram!r}")
            self.ext_kb = regions[self.ext_ram][1] // 1024
        self.line = self.machine.irq_line(self.irq, self) if self.irq else None
        self.timer = self.machine.scheduler.timer(self._event, f"{self.name}.irq")

    def reset(self):
        self.index = 0
        self.ram = np.zeros(128, dtype=np.uint8)
        if self.time == "host":
            start = dt.datetime.now().replace(microsecond=0).timestamp()
        else:
            start = dt.datetime.fromisoformat(str(self.time)).replace(
                tzinfo=dt.timezone.utc).timestamp()
        now = self.machine.scheduler.now()
        self.epoch = start - now         # clock value (Unix seconds) = epoch + emulated time
        self.held = 0.0                  # the clock value while it stands still
        self.halted = 0                  # 1: SET or the divider stopped
        self.flags = 0                   # register C bits PF AF UF
        self.last = now                  # flags are accounted up to this emulated time
        self.p_base = now                # the divider chain's periodic taps count from here
        self.dow_offset = 0              # guest-written day of week minus the calendar's
        self.irq_level = False
        if self.line is not None:
            self.line.set(False)
        self.timer.stop()
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

    # ---- the clock -----------------------------------------------------------------
    def _divider_runs(self) -> bool:
        return (int(self.ram[0x0A]) >> 4) & 7 == 2

    def _running(self) -> bool:
        return not self.halted and self._divider_runs() and not self.ram[0x0B] & 0x80

    def clock(self, now=None) -> float:
        """The clock's value in Unix seconds (with its fraction of a second)."""
        now = self.machine.scheduler.now() if now is None else now
        return self.held if self.halted else self.epoch + now

    def _stop_clock(self, now):
        if not self.halted:
            self.held, self.halted = self.epoch + now, 1

    def _start_clock(self, now, phase=None):
        if self.halted and self._divider_runs() and not self.ram[0x0B] & 0x80:
            t = self.held if phase is None else math.floor(self.held) + phase
            self.epoch, self.halted = t - now, 0

    def _to_datetime(self, t) -> dt.datetime:
        if self.time == "host":
            return dt.datetime.fromtimestamp(math.floor(t))
        return dt.datetime.fromtimestamp(math.floor(t), dt.timezone.utc)

    def now(self) -> dt.datetime:
        return self._to_datetime(self.clock())

    def _fields(self, t) -> dict:
        d = self._to_datetime(t)
        return {0x00: d.second, 0x02: d.minute, 0x04: d.hour,
                0x06: (d.isoweekday() % 7 + self.dow_offset) % 7 + 1, 0x07: d.day,
                0x08: d.month, 0x09: d.year % 100, 0x32: d.year // 100}

    def _encode(self, reg, v) -> int:
        b = int(self.ram[0x0B])
        pm = 0
        if reg == 0x04 and not b & 0x02:               # 12-hour: 1-12, bit 7 = PM
            pm, v = (0x80 if v >= 12 else 0), (v % 12 or 12)
        return (v if b & 0x04 else bcd(v)) | pm

    def _decode(self, reg, v) -> int:
        b = int(self.ram[0x0B])
        pm = False
        if reg == 0x04 and not b & 0x02:
            pm, v = bool(v & 0x80), v & 0x7F
        n = v if b & 0x04 else unbcd(v)
        if reg == 0x04 and not b & 0x02:
            n = n % 12 + (12 if pm else 0)
        return n

    def _set_field(self, reg, value):
        now = self.machine.scheduler.now()
        t = self.clock(now)
        n = self._decode(reg, value)
        d = self._to_datetime(t)
        try:
            if reg == 0x06:
                self.dow_offset = (n - 1 - d.isoweekday() % 7) % 7
                return
            kw = {0x00: "second", 0x02: "minute", 0x04: "hour", 0x07: "day",
                  0x08: "month"}.get(reg)
            if kw:
                d = d.replace(**{kw: n})
            elif reg == 0x09:
                d = d.replace(year=d.year // 100 * 100 + n)
            else:
                d = d.replace(year=n * 100 + d.year % 100)
        except ValueError:
            return                                     # no such date: the write is dropped
        new = d.timestamp() + (t - math.floor(t))
        if self.halted:
            self.held = new
        else:
            self.epoch = new - now

    # ---- flags and the interrupt ---------------------------------------------------
    def _period(self):
        rs = int(self.ram[0x0A]) & 0x0F
        if not rs or not self._divider_runs():
            return None
        return 1.0 / (65536 >> (rs + 7 if rs < 3 else rs))

    def _alarm(self, t) -> bool:
        f = self._fields(t)
        return all(self.ram[a] >= 0xC0 or self.ram[a] == self._encode(r, f[r])
                   for a, r in ((1, 0x00), (3, 0x02), (5, 0x04)))

    def _advance(self, now):
        """Set the register C flags for the ticks and updates up to ``now``."""
        last, self.last = self.last, now
        p = self._period()
        if p and math.floor((now - self.p_base) / p + EPS) > math.floor((last - self.p_base) / p + EPS):
            self.flags |= 0x40
        if self._running():
            t0, t1 = self.epoch + last, self.epoch + now
            n0, n1 = math.floor(t0 + EPS), math.floor(t1 + EPS)
            if n1 > n0:
                self.flags |= 0x10
                first = n1 + 1 if self.flags & 0x20 else max(n0 + 1, n1 - 86399)
                for s in range(first, n1 + 1):                  # a day holds every alarm
                    if self._alarm(s):
                        self.flags |= 0x20
                        break

    def _irqf(self) -> int:
        b = int(self.ram[0x0B])
        return 0x80 if self.flags & b & 0x70 else 0

    def _update(self, now):
        """Drive the IRQ line from IRQF; arm the timer for the next enabled event."""
        level = bool(self._irqf())
        if level != self.irq_level:
            self.irq_level = level
            if self.line is not None:
                self.line.set(level)
        b = int(self.ram[0x0B])
        nxt = math.inf
        if not level:
            p = self._period()
            if b & 0x40 and p:
                k = math.floor((now - self.p_base) / p + EPS) + 1
                nxt = self.p_base + k * p
            if b & 0x30 and self._running():
                nxt = min(nxt, math.floor(self.epoch + now + EPS) + 1 - self.epoch)
        if nxt == math.inf:
            self.timer.stop()
        else:
            self.timer.adjust(max(0.0, nxt - now))

    def _event(self):
        now = self.machine.scheduler.now()
        self._advance(now)
        self._update(now)

    # ---- ports --------------------------------------------------------------------
    def io_write(self, port, value, size):
        if port == 0x70:
            self.index = value & 0x7F
            return
        i = self.index
        now = self.machine.scheduler.now()
        self._advance(now)
        if i in TIME_REGS:
            self._set_field(i, value)
        elif i == 0x0A:
            old_dv = (int(self.ram[0x0A]) >> 4) & 7
            self.ram[0x0A] = value & 0x7F
            dv = (value >> 4) & 7
            if dv != 2:
                self._stop_clock(now)
                if dv >= 6:
                    self.p_base = now
            elif old_dv != 2:
                # leaving divider reset: the first update cycle comes half a second later
                self._start_clock(now, phase=0.5 if old_dv >= 6 else None)
                self.p_base = now
        elif i == 0x0B:
            self.ram[0x0B] = value
            if value & 0x80:
                self._stop_clock(now)
            else:
                self._start_clock(now)
        elif i >= 0x0E or i in (0x01, 0x03, 0x05):
            self.ram[i] = value
        self._update(now)

    def io_read(self, port, size):
        if port == 0x70:
            return 0xFF
        i = self.index
        if i in TIME_REGS:
            return self._encode(i, self._fields(self.clock())[i])
        if i == 0x0A:
            v = int(self.ram[0x0A])
            if self._running() and (self.clock() % 1.0) >= 1.0 - T_UC - T_BUC:
                v |= 0x80
            return v
        if i == 0x0C:
            now = self.machine.scheduler.now()
            self._advance(now)
            v = self.flags | self._irqf()
            self.flags = 0
            self._update(now)
            return v
        if i == 0x0D:
            return 0x80
        return int(self.ram[i])

    def load_state(self, st):
        super().load_state(st)
        self.irq_level = bool(self.irq_level)


DEVICE = CmosRtc
