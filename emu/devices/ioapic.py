"""Intel 82093AA I/O APIC (memory-mapped at FEC00000h), 24 interrupt pins.

Reference: Intel 82093AA I/O Advanced Programmable Interrupt Controller data
sheet (290566), 3.0 (registers) and 3.2.4 (redirection table).  IOREGSEL at
base+00h selects a register (bits 7:0), IOWIN at base+10h reads/writes it:
00h IOAPICID (bits 27:24), 01h IOAPICVER (00170011h: version 11h, maximum
redirection entry 17h = 23), 02h IOAPICARB (the ID), 10h-3Fh the redirection
table, entry n at 10h+2n (low dword) and 11h+2n (high dword).

Redirection entry: vector 7:0, delivery mode 10:8 (000 fixed, 001 lowest
priority, 100 NMI; SMI/INIT/ExtINT are not modelled), destination mode 11
(0 physical APIC ID, 1 logical), delivery status 12 (RO), polarity 13 (1 = active
low), Remote IRR 14 (RO), trigger 15 (1 = level), mask 16, destination 63:56.
Reset: every entry masked (only the mask bit set), ID 0.

Pins are inputs 0-23 (``set_input``; the 8259 model's ``ioapic:`` feeds the ISA
IRQs).  Edge: an inactive-to-active transition of an unmasked pin sends one
message; edges on a masked pin are lost.  Level: while the pin is active and
unmasked and Remote IRR is 0, a message is sent and Remote IRR set; the local
APIC's EOI for that vector clears it, and a pin still active sends again.
Messages go to the local APICs named by ``lapic:`` (the APIC bus) whose
destination matches.
"""
from __future__ import annotations

from ..device import Device
from ..errors import EmuError

PINS = 24
VERSION = 0x00170011
MASK, REMOTE_IRR, LEVEL, ACTIVE_LOW, PENDING = 0x10000, 0x4000, 0x8000, 0x2000, 0x1000
LOW_WRITABLE = 0x1AFFF           # vector, delivery mode, dest mode, polarity, trigger, mask


class IoApic(Device):
    PARAMS = {"base": 0xFEC00000, "lapic": None}
    MMIO_WIDE = True
    SAVE_FIELDS = ("index", "apic_id", "redir", "pins")

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.lapics = []
        self.reset()

    def start(self):
        names = self.lapic if isinstance(self.lapic, list) else [self.lapic] if self.lapic else []
        for n in names:
            dev = self.machine.devices.get(n)
            if dev is None or not hasattr(dev, "deliver"):
                raise EmuError(f"device {self.name!r}: lapic: {n!r} is not a local APIC")
            dev.ioapics.append(self.name)
        self.lapics = names

    def reset(self):
        self.index = 0
        self.apic_id = 0
        self.redir = [MASK] * PINS       # 64-bit entries
        self.pins = 0                    # input levels, bit n = pin n

    # ---- registers ----------------------------------------------------------------
    def read_register(self, i):
        if i == 0x00:
            return self.apic_id << 24
        if i == 0x01:
            return VERSION
        if i == 0x02:
            return self.apic_id << 24
        if 0x10 <= i < 0x10 + 2 * PINS:
            e = self.redir[(i - 0x10) >> 1]
            return e >> 32 if i & 1 else e & 0xFFFFFFFF
        return 0

    def write_register(self, i, v):
        if i == 0x00:
            self.apic_id = (v >> 24) & 0xF
        elif 0x10 <= i < 0x10 + 2 * PINS:
            n = (i - 0x10) >> 1
            e = self.redir[n]
            if i & 1:
                e = (e & 0xFFFFFFFF) | ((v & 0xFF000000) << 32)
            else:
                e = (e & ~LOW_WRITABLE) | (v & LOW_WRITABLE)
            self.redir[n] = e
            self._service(n)

    def mem_read(self, addr, size):
        off = (addr - self.base) & 0xFF
        if off == 0x00:
            return self.index
        if 0x10 <= off < 0x14:
            return self.read_register(self.index) >> (8 * (off & 3))
        return 0

    def mem_write(self, addr, value, size):
        off = (addr - self.base) & 0xFF
        if off == 0x00:
            self.index = value & 0xFF
        elif off == 0x10:
            self.write_register(self.index, value & 0xFFFFFFFF)

    # ---- pins and messages ----------------------------------------------------------
    def _active(self, n):
        return bool(self.pins >> n & 1) != bool(self.redir[n] & ACTIVE_LOW)

    def set_input(self, line, level):
        if not 0 <= line < PINS:
            return
        was = self._active(line)
        self.pins = self.pins | (1 << line) if level else self.pins & ~(1 << line)
        e = self.redir[line]
        if e & LEVEL:
            self._service(line)
        elif self._active(line) and not was and not e & MASK:
            self._send(line)

    def _service(self, n):
        """A level-triggered pin that is active, unmasked and not in service: send."""
        e = self.redir[n]
        if e & LEVEL and not e & (MASK | REMOTE_IRR) and self._active(n) and self._send(n):
            self.redir[n] |= REMOTE_IRR

    def _send(self, n):
        e = self.redir[n]
        vector, mode = e & 0xFF, (e >> 8) & 7
        dest, logical = (e >> 56) & 0xFF, bool(e & 0x800)
        accepted = False
        for name in self.lapics:
            la = self.machine.devices[name]
            if la.matches(dest, logical) and la.deliver(vector, mode, bool(e & LEVEL)):
                accepted = True
                if mode == 1:                # lowest priority: one APIC takes it
                    break
        return accepted

    def eoi(self, vector):
        """A local APIC's EOI for a level-triggered ``vector`` (the EOI message)."""
        for n in range(PINS):
            e = self.redir[n]
            if e & REMOTE_IRR and e & 0xFF == vector:
                self.redir[n] = e & ~REMOTE_IRR
                self._service(n)

    def load_state(self, st):
        super().load_state(st)
        self.redir = [int(x) for x in self.redir]


DEVICE = IoApic
