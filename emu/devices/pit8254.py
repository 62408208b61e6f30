"""Intel 8253/8254 programmable interval timer (PC: ports 40h-43h, 1.193182 MHz).

Channel 0 drives an interrupt line (PC: IRQ0, 18.2 Hz with divisor 0), channel
2 with port 61h (bit 0 gate, bit 1 speaker data enable) drives the PC speaker,
rendered as a square wave into the machine's audio stream.  Counters are
computed from emulated time, so reads are exact without per-tick events.
Access modes lobyte/hibyte/both, counter latch (command 00xx0000), modes
0-5 for the counting value; channel 0 interrupts in modes 2 and 3 (periodic)
and 0 (one shot).  Reference: Intel 8254 data sheet.
"""
from __future__ import annotations

import numpy as np

from ..device import Device

CLOCK = 1_193_182


class Pit8254(Device):
    PARAMS = {"irq": None, "clock": CLOCK, "speaker": True}

    def start(self):
        self.out = self.machine.irq_line(self.irq, self) if self.irq else None
        self.timer = self.machine.scheduler.timer(self._fire, f"{self.name}.ch0")

    def reset(self):
        self.reload = [0x10000] * 3      # divisor (0 means 65536)
        self.mode = [3, 3, 3]
        self.access = [3, 3, 3]
        self.start_t = [0.0] * 3          # emulated time the count was loaded
        self.latch = [None] * 3
        self.write_lsb = [True] * 3       # next byte of a 16-bit write is the LSB
        self.read_lsb = [True] * 3
        self.partial = [0] * 3
        self.port61 = 0
        self.refresh = 0
        self._wave_phase = 0.0
        self.timer.stop()

    # ---- counting -------------------------------------------------------
    def _count(self, ch) -> int:
        n = self.reload[ch]
        ticks = int((self.machine.scheduler.now() - self.start_t[ch]) * self.clock)
        if self.mode[ch] == 3:
            return (n - (2 * ticks) % n) & 0xFFFF
        return (n - ticks % n) & 0xFFFF

    def _program(self, ch):
        self.start_t[ch] = self.machine.scheduler.now()
        if ch == 0:
            period = self.reload[0] / self.clock
            if self.mode[0] in (2, 3):
                self.timer.adjust(period, period)
            else:
                self.timer.adjust(period)

    def _fire(self):
        if self.out is not None:
            self.out.set(True)
            self.out.set(False)

    # ---- ports ---------------------------------------------------------------
    def io_write(self, port, value, size):
        if port == 0x61:
            self.port61 = value & 0x0F
            return
        ch = port & 3
        if ch == 3:
            sel = value >> 6
            if sel == 3:                       # read-back (8254): latch selected counters
                for c in range(3):
                    if value & (2 << c) and not value & 0x20:
                        self.latch[c] = self._count(c)
                return
            if (value >> 4) & 3 == 0:          # counter latch command
                self.latch[sel] = self._count(sel)
                return
            self.access[sel] = (value >> 4) & 3
            self.mode[sel] = (value >> 1) & 7 if (value >> 1) & 7 < 6 else (value >> 1) & 3
            self.write_lsb[sel] = self.read_lsb[sel] = True
            return
        acc = self.access[ch]
        if acc == 1:
            n = value
        elif acc == 2:
            n = value << 8
        else:
            if self.write_lsb[ch]:
                self.partial[ch] = value
                self.write_lsb[ch] = False
                return
            n = self.partial[ch] | (value << 8)
            self.write_lsb[ch] = True
        self.reload[ch] = n or 0x10000
        self._program(ch)

    def io_read(self, port, size):
        if port == 0x61:
            # bit 5: channel 2 output, bit 4: refresh toggle (alternates on each read)
            self.refresh ^= 1
            out2 = 0x20 if self._count(2) > self.reload[2] // 2 else 0
            return self.port61 | out2 | (0x10 if self.refresh else 0)
        ch = port & 3
        if ch == 3:
            return 0xFF
        v = self.latch[ch] if self.latch[ch] is not None else self._count(ch)
        acc = self.access[ch]
        if acc == 1:
            self.latch[ch] = None
            return v & 0xFF
        if acc == 2:
            self.latch[ch] = None
            return v >> 8
        if self.read_lsb[ch]:
            self.read_lsb[ch] = False
            return v & 0xFF
        self.read_lsb[ch] = True
        self.latch[ch] = None
        return v >> 8

    # ---- PC speaker -----------------------------------------------------------
    def frame_end(self):
        if not self.speaker:
            return
        audio = self.machine.audio
        n = int(audio.sample_rate * self.machine.frame_period)
        if (self.port61 & 3) == 3 and self.mode[2] == 3:
            freq = self.clock / self.reload[2]
            t = (np.arange(n) / audio.sample_rate * freq + self._wave_phase)
            self._wave_phase = float(t[-1] % 1.0) + freq / audio.sample_rate
            audio.push(np.where((t % 1.0) < 0.5, 6000, -6000).astype(np.int16))
        else:
            audio.push(np.zeros(n, dtype=np.int16))

    # every field, including the port 61h refresh toggle (bit 4 alternates per read)
    # and the speaker wave's phase, so a reloaded PC reads and sounds the same
    def save_state(self):
        return {"regs": [self.reload, self.mode, self.access, self.start_t,
                         [(-1 if x is None else x) for x in self.latch], self.write_lsb,
                         self.read_lsb, self.partial, self.port61, self.refresh,
                         self._wave_phase]}

    def load_state(self, st):
        (self.reload, self.mode, self.access, self.start_t, latch, self.write_lsb,
         self.read_lsb, self.partial, self.port61, self.refresh, self._wave_phase) = st["regs"]
        self.latch = [None if x == -1 else x for x in latch]


DEVICE = Pit8254
