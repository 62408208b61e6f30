"""ACPI fixed-hardware power-management registers (the PM1a event and control
blocks and the PM timer of a PIIX4-style chipset), at ``base`` in the I/O space.

Reference: ACPI 1.0b / 2.0, 4.7 (fixed hardware registers: 4.7.3.1 PM1 status and
enable, 4.7.3.2 PM1 control, 4.7.3.3 the power-management timer).

| port     | register                                                          |
|----------|-------------------------------------------------------------------|
| base+0   | PM1_STS (16 bits): bit 0 TMR_STS, 5 GBL_STS, 8 PWRBTN_STS, 10 RTC_STS, 15 WAK_STS; writing 1 clears |
| base+2   | PM1_EN (16 bits): bit 0 TMR_EN, 5 GBL_EN, 8 PWRBTN_EN, 10 RTC_EN   |
| base+4   | PM1_CNT (16 bits): bit 0 SCI_EN (reads 1: the FADT's SMI_CMD is 0, so the machine is in ACPI mode from power-on), 1 BM_RLD, 2 GBL_RLS, 10-12 SLP_TYP, 13 SLP_EN (write only) |
| base+8   | PM_TMR (32 bits, read only): a 24-bit count at 3.579545 MHz        |

TMR_STS is set whenever bit 23 of the timer changes; the SCI (``irq:``, a level
line: ISA IRQ 9 on the pc, level/active high in the MADT) is high while any
PM1_STS bit is set with its PM1_EN bit.  Writing SLP_EN with SLP_TYP = ``s5_type``
(the DSDT's \\_S5 package says 5) powers the machine off: it stops with "power off
(ACPI S5)".  Other sleep states are not modelled (SLP_EN does nothing else).
"""
from __future__ import annotations

from ..device import Device

PM_HZ = 3_579_545
TMR_STS, GBL_STS, PWRBTN_STS, RTC_STS, WAK_STS = 1, 1 << 5, 1 << 8, 1 << 10, 1 << 15
STS_BITS = TMR_STS | GBL_STS | PWRBTN_STS | RTC_STS | WAK_STS
EN_BITS = TMR_STS | GBL_STS | PWRBTN_STS | RTC_STS
CNT_WRITABLE = 0x1C06            # BM_RLD, GBL_RLS, SLP_TYP


class AcpiPm(Device):
    PARAMS = {"base": 0xB000, "irq": None, "s5_type": 5}
    SAVE_FIELDS = ("sts", "en", "cnt", "tmr_half")

    def start(self):
        self.out = self.machine.irq_line(self.irq, self) if self.irq else None
        self.timer = self.machine.scheduler.timer(self._half_wrap, f"{self.name}.pmtmr")

    def reset(self):
        self.sts = 0
        self.en = 0
        self.cnt = 0
        self.tmr_half = self._ticks() >> 23      # bit 23 as TMR_STS last saw it
        self._arm()
        self._update()

    # ---- the PM timer -------------------------------------------------------------
    def _ticks(self):
        return int(self.machine.scheduler.now() * PM_HZ + 1e-6)

    def _sample(self):
        """Latch TMR_STS if bit 23 changed since it was last looked at."""
        half = self._ticks() >> 23
        if half != self.tmr_half:
            self.tmr_half = half
            self.sts |= TMR_STS

    def _arm(self):
        """Next change of bit 23, where TMR_STS sets (only needed for the SCI)."""
        nxt = ((self._ticks() >> 23) + 1) << 23
        self.timer.adjust(max(nxt / PM_HZ - self.machine.scheduler.now(), 0.0))

    def _half_wrap(self):
        self._sample()
        self._arm()
        self._update()

    def _update(self):
        if self.out is not None:
            self.out.set(bool(self.sts & self.en))

    # ---- ports ------------------------------------------------------------------------
    def _read16(self, off):
        if off == 0:
            self._sample()
            return self.sts
        if off == 2:
            return self.en
        if off == 4:
            return self.cnt | 1                  # SCI_EN: ACPI mode
        return 0

    def io_read(self, port, size):
        off = port - self.base
        if 8 <= off < 12:
            return (self._ticks() & 0xFFFFFF) >> (8 * (off - 8)) & 0xFF
        return self._read16(off & ~1) >> (8 * (off & 1)) & 0xFF

    def io_write(self, port, value, size):
        off = port - self.base
        value &= 0xFF
        if off in (0, 1):                        # write 1 to clear
            self._sample()
            self.sts &= ~(value << (8 * off)) & STS_BITS
        elif off in (2, 3):
            sh = 8 * (off - 2)
            self.en = (self.en & ~(0xFF << sh) | value << sh) & EN_BITS
        elif off in (4, 5):
            sh = 8 * (off - 4)
            v = value << sh
            self.cnt = (self.cnt & ~(0xFF << sh) | v) & CNT_WRITABLE
            if v & 0x2000 and (self.cnt >> 10) & 7 == self.s5_type:
                self.machine.stop_requested = "power off (ACPI S5)"
        self._update()


DEVICE = AcpiPm
