"""Intel 8259A programmable interrupt controller, as the PC/AT's cascaded pair.

Master at ports 20h/21h (inputs 0-7), slave at A0h/A1h (inputs 8-15) cascaded
on master input 2.  Edge-triggered requests, fully nested priority, ICW1-ICW4,
OCW1 (mask), OCW2 (non-specific / specific EOI), OCW3 (read IRR/ISR),
auto-EOI.  Reference: Intel 8259A data sheet, "Programming the 8259A".

``ioapic: NAME``: the board also wires each IRQ input to that I/O APIC's pin
(IRQ n to pin n, IRQ0 to pin 2, as the BIOS's MP and ACPI tables say), the
lines seen as they are (the 8259 latches edges, the I/O APIC decides itself).
"""
from __future__ import annotations

from ..device import Device


class _Chip:
    def __init__(self):
        self.reset()

    def reset(self):
        self.irr = self.isr = 0
        self.imr = 0xFF
        self.base = 0x08
        self.icw_step = 0
        self.icw4 = False
        self.aeoi = False
        self.read_isr = False
        self.lines = 0            # current input levels (for edge detection)

    def fields(self):
        return [self.irr, self.isr, self.imr, self.base, self.icw_step, int(self.icw4),
                int(self.aeoi), int(self.read_isr), self.lines]

    def set_fields(self, f):
        (self.irr, self.isr, self.imr, self.base, self.icw_step, icw4, aeoi, rd, self.lines) = f
        self.icw4, self.aeoi, self.read_isr = bool(icw4), bool(aeoi), bool(rd)

    def pending(self) -> int:
        """Highest-priority unmasked request not blocked by one in service, or -1."""
        req = self.irr & ~self.imr & 0xFF
        for i in range(8):
            if self.isr & (1 << i):
                return -1
            if req & (1 << i):
                return i
        return -1

    def write(self, a0, v):
        if a0 == 0:
            if v & 0x10:                       # ICW1
                self.icw_step = 2
                self.icw4 = bool(v & 1)
                self.imr = 0
                self.isr = self.irr = 0
                self.read_isr = False
            elif v & 0x08:                     # OCW3
                if v & 0x02:
                    self.read_isr = bool(v & 1)
            else:                              # OCW2
                cmd = v >> 5
                if cmd == 1:                   # non-specific EOI
                    for i in range(8):
                        if self.isr & (1 << i):
                            self.isr &= ~(1 << i)
                            break
                elif cmd == 3:                 # specific EOI
                    self.isr &= ~(1 << (v & 7))
        else:
            if self.icw_step == 2:             # ICW2: vector base
                self.base = v & 0xF8
                self.icw_step = 3
            elif self.icw_step == 3:           # ICW3: cascade wiring (fixed on the AT)
                self.icw_step = 4 if self.icw4 else 0
            elif self.icw_step == 4:           # ICW4
                self.aeoi = bool(v & 2)
                self.icw_step = 0
            else:                              # OCW1
                self.imr = v

    def read(self, a0):
        if a0:
            return self.imr
        return self.isr if self.read_isr else self.irr


class Pic8259(Device):
    PARAMS = {"irq": None, "ioapic": None}

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.master, self.slave = _Chip(), _Chip()
        self.slave.base = 0x70

    def start(self):
        self.out = self.machine.irq_line(self.irq, self) if self.irq else None
        if self.ioapic is not None and self.ioapic not in self.machine.devices:
            from ..errors import EmuError
            raise EmuError(f"device {self.name!r}: ioapic: no device {self.ioapic!r}")

    def reset(self):
        self.master.reset()
        self.slave.reset()
        self.slave.base = 0x70
        self._update()

    def set_input(self, line: int, level: bool) -> None:
        if self.ioapic is not None and line != 2:
            self.machine.devices[self.ioapic].set_input(2 if line == 0 else line, level)
        chip, bit = (self.master, line) if line < 8 else (self.slave, line - 8)
        m = 1 << bit
        if level and not chip.lines & m:
            chip.irr |= m                      # rising edge latches the request
        chip.lines = chip.lines | m if level else chip.lines & ~m
        self._update()

    def _slave_pending(self):
        return self.slave.pending() >= 0

    def _update(self):
        # the slave's output drives master input 2
        if self._slave_pending():
            self.master.irr |= 4
        elif not self.master.isr & 4:
            self.master.irr &= ~4
        i = self.master.pending()
        if self.out is None:
            return
        if i < 0:
            self.out.set(False)
        elif i == 2 and self._slave_pending():
            self.out.set(True, self.slave.base + self.slave.pending())
        else:
            self.out.set(True, self.master.base + i)

    def irq_ack(self):
        """INTA: the CPU took the vector announced by _update."""
        i = self.master.pending()
        if i < 0:
            return
        self.master.irr &= ~(1 << i)
        if not self.master.aeoi:
            self.master.isr |= 1 << i
        if i == 2:
            j = self.slave.pending()
            if j >= 0:
                self.slave.irr &= ~(1 << j)
                if not self.slave.aeoi:
                    self.slave.isr |= 1 << j
        # edge-triggered: a still-high line does not re-request until it falls and rises
        self._update()

    def io_read(self, port, size):
        chip = self.master if port < 0x80 else self.slave
        return chip.read(port & 1)

    def io_write(self, port, value, size):
        chip = self.master if port < 0x80 else self.slave
        chip.write(port & 1, value)
        self._update()

    def save_state(self):
        return {"master": self.master.fields(), "slave": self.slave.fields()}

    def load_state(self, st):
        self.master.set_fields([int(x) for x in st["master"]])
        self.slave.set_fields([int(x) for x in st["slave"]])
        self._update()


DEVICE = Pic8259
