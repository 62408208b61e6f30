"""Local APIC (xAPIC, memory-mapped at FEE00000h), one per CPU.

Registers (Intel SDM vol. 3A, ch. 10, table 10-1), 32 bits on 16-byte
boundaries: ID 020h, version 030h (00050014h: an integrated xAPIC, six LVT
entries), TPR 080h, APR 090h, PPR 0A0h, EOI 0B0h, LDR 0D0h, DFR 0E0h, SVR 0F0h,
ISR 100h-170h, TMR 180h-1F0h, IRR 200h-270h, ESR 280h, ICR 300h/310h, LVT timer
320h, thermal 330h, performance counter 340h, LINT0 350h, LINT1 360h, error
370h, timer initial count 380h, current count 390h, divide configuration 3E0h.
Other offsets are reserved: an access sets ESR bit 7 (illegal register address).

Interrupts (10.8): a fixed interrupt sets its IRR bit (and its TMR bit when
level-triggered); the highest IRR vector whose priority class (vector >> 4) is
above the PPR's is presented on the CPU's INT pin (``irq:``) with its vector; the
CPU's acknowledge moves it to the ISR; a write to EOI clears the highest ISR bit
and, for a level-triggered vector, tells the I/O APICs (their Remote IRR).
PPR = max(TPR, the highest ISR class) (10.8.3.1).  Vectors 0-15 are illegal
(ESR bits 5/6).  Acknowledge is atomic here, so no spurious interrupts arise;
SVR keeps its vector.

LINT0/LINT1 are inputs 0 and 1 (``irq: lapic.0`` on the 8259 pair).  ExtINT
(delivery mode 111b) passes the 8259's request through and its acknowledge to the
8259, which supplies the vector (10.5.1).  From reset until software first sets
SVR bit 8, the APIC is in the state a PC BIOS leaves it in for legacy software
(MP spec 3.6.2.2, virtual wire): LINT0 passes the 8259 through and LINT1 is NMI,
while the LVT registers read their reset values (masked, 10.4.7.1).  After that,
software disabling (SVR bit 8 = 0) masks every LVT entry and keeps the masks set
(10.4.7.2).

Timer (10.5.4): counts down from the initial count at ``clock`` (the bus clock;
default the CPU's clock) divided by the divide configuration (2, 4 ... 128, 1);
one-shot stops at 0, periodic reloads; each expiry raises the LVT timer vector
unless masked.  Writing the initial count starts it, 0 stops it.

ICR: fixed and NMI interrupts to self (shorthand self or all-including-self,
or a destination that matches this APIC), delivered at once (delivery status
stays idle); INIT/SIPI/SMI are not modelled.
"""
from __future__ import annotations

from ..device import Device

VERSION = 0x00050014            # version 14h (xAPIC), max LVT entry 5
LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR = range(6)
LVT_WRITABLE = (0x000300FF, 0x000107FF, 0x000107FF, 0x0001A7FF, 0x0001A7FF, 0x000100FF)
MASKED = 0x10000
EXTINT = 256                    # "vector" of an ExtINT request (the 8259 supplies it)
MODE_FIXED, MODE_NMI, MODE_EXTINT = 0, 4, 7
ESR_SEND_ILLEGAL, ESR_RECV_ILLEGAL, ESR_ILLEGAL_REG = 0x20, 0x40, 0x80
DIVIDE = (2, 4, 8, 16, 32, 64, 128, 1)      # divide configuration bits 3,1,0


class LocalApic(Device):
    PARAMS = {"irq": None, "id": 0, "clock": None, "base": 0xFEE00000}
    MMIO_WIDE = True
    SAVE_FIELDS = ("apic_id", "tpr", "ldr", "dfr", "svr", "irr", "isr", "tmr", "esr",
                   "esr_pending", "icr_lo", "icr_hi", "lvt", "init_count", "divide_conf",
                   "t0", "through", "lint", "ext_vector", "ext_source", "presented")

    @staticmethod
    def validate_params(params):
        i = params.get("id", 0)
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i <= 255:
            return "id", f"must be an APIC ID 0-255, got {i!r}"
        c = params.get("clock")
        if c is not None and (not isinstance(c, (int, float)) or isinstance(c, bool) or c <= 0):
            return "clock", f"must be a frequency in Hz, got {c!r}"
        return None

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.ioapics = []                # names of the I/O APICs on this APIC bus (they register)
        self.lint = [0, 0]               # LINT0/LINT1 levels: the pins, not APIC state,
        self.ext_vector = 0              # so a reset keeps them (and the 8259's vector)
        self.ext_source = ""
        self._power_on()                 # inputs may change before reset() (devices reset in turn)

    def start(self):
        self.out = self.machine.irq_line(self.irq, self) if self.irq else None
        cpu = self.machine.cpus.get(str(self.irq or "").partition(".")[0]) or self.machine.cpu
        self.cpu_name = cpu.name
        self.hz = float(self.clock or cpu.clock_hz)
        self.timer = self.machine.scheduler.timer(self._timer_expired, f"{self.name}.timer")

    def reset(self):
        self._power_on()
        self.timer.stop()
        self._update()

    def cpu_reset(self, cpu):
        """RESET or INIT of its CPU (a PC turns a shutdown into INIT): the APIC's
        power-on state, keeping the APIC ID (SDM 10.4.7.3)."""
        if cpu.name == self.cpu_name:
            apic_id = self.apic_id
            self.reset()
            self.apic_id = apic_id

    def _power_on(self):
        """Power-on / RESET values (SDM 10.4.7.1)."""
        self.apic_id = self.id
        self.tpr = self.ldr = 0
        self.dfr = 0xFFFFFFFF
        self.svr = 0xFF
        self.irr = self.isr = self.tmr = 0
        self.esr = self.esr_pending = 0
        self.icr_lo = self.icr_hi = 0
        self.lvt = [MASKED] * 6
        self.init_count = 0
        self.divide_conf = 0
        self.t0 = 0.0
        self.through = 1                 # virtual wire until software enables the APIC
        self.presented = -1

    # ---- priorities (SDM 10.8.3.1) -------------------------------------------
    @staticmethod
    def _highest(bits):
        return bits.bit_length() - 1     # -1 for none

    def ppr(self):
        isrv = max(self._highest(self.isr), 0)
        if (self.tpr >> 4) >= (isrv >> 4):
            return self.tpr & 0xFF
        return isrv & 0xF0

    @property
    def enabled(self):
        return bool(self.svr & 0x100)

    def _pending(self):
        """What the INT pin presents: a vector, EXTINT, or -1."""
        v = self._highest(self.irr)
        if v >= 0 and (v >> 4) > (self.ppr() >> 4):
            return v
        if self.lint[0] and self.ext_source and (
                self.through or (self.lvt[LVT_LINT0] & 0x10700) == MODE_EXTINT << 8):
            return EXTINT
        return -1

    def _update(self):
        self.presented = p = self._pending()
        if self.out is None:
            return
        if p < 0:
            self.out.set(False)
        else:
            self.out.set(True, self.ext_vector if p == EXTINT else p)

    # ---- accepting interrupts ----------------------------------------------------
    def _error(self, bits):
        new = bits & ~self.esr_pending
        self.esr_pending |= bits
        lvt = self.lvt[LVT_ERROR]
        if new and not lvt & MASKED:
            self._fixed(lvt & 0xFF, False, local_error=True)

    def _fixed(self, vector, level, local_error=False):
        if vector < 16:
            if not local_error:
                self._error(ESR_RECV_ILLEGAL)
            return False
        bit = 1 << vector
        self.irr |= bit
        self.tmr = self.tmr | bit if level else self.tmr & ~bit
        self._update()
        return True

    def deliver(self, vector, mode=MODE_FIXED, level=False):
        """An interrupt message from the APIC bus (an I/O APIC): True if accepted."""
        if mode == MODE_NMI:
            self.machine.cpus[self.cpu_name].nmi()
            return True
        if mode not in (0, 1) or not self.enabled:     # fixed / lowest priority only
            return False
        return self._fixed(vector & 0xFF, level)

    def matches(self, dest, logical):
        """Does a message for ``dest`` (physical ID or logical mask) reach this APIC?"""
        if dest == 0xFF:
            return True
        if not logical:
            return dest == self.apic_id
        ldr = self.ldr >> 24
        if self.dfr >> 28 == 0xF:                      # flat model
            return bool(ldr & dest)
        return (dest >> 4) == (ldr >> 4) and bool(dest & ldr & 0xF)   # cluster model

    def _local(self, index, edge=True):
        """LVT entry ``index`` signals (a LINT pin edge, a timer expiry, an error)."""
        lvt = self.lvt[index]
        if lvt & MASKED:
            return
        mode = (lvt >> 8) & 7
        if mode == MODE_NMI:
            self.machine.cpus[self.cpu_name].nmi()
        elif mode == MODE_FIXED:
            level = index in (LVT_LINT0, LVT_LINT1) and bool(lvt & 0x8000)
            if self._fixed(lvt & 0xFF, level) and level:
                self.lvt[index] |= 0x4000                # remote IRR until the EOI

    # ---- LINT0 / LINT1 and the 8259's vector ---------------------------------------
    def input_vector(self, line, source, vector):
        if line == 0:
            self.ext_vector = vector & 0xFF
            self.ext_source = getattr(source, "name", "") or ""

    def set_input(self, line, level):
        if line not in (0, 1):
            return
        old = self.lint[line]
        rising = level and not old
        self.lint[line] = int(bool(level))
        if line == 1 and rising and (self.through or
                                     (self.lvt[LVT_LINT1] & 0x10700) == MODE_NMI << 8):
            self.machine.cpus[self.cpu_name].nmi()
        elif not self.through:
            index = LVT_LINT0 + line
            lvt = self.lvt[index]
            active = bool(level) != bool(lvt & 0x2000)  # polarity: bit 13 = active low
            mode = (lvt >> 8) & 7
            if mode in (MODE_FIXED, MODE_NMI):
                if lvt & 0x8000 and mode == MODE_FIXED:   # level: while active, until EOI
                    if active and not lvt & 0x4000:
                        self._local(index)
                elif active and (rising if not lvt & 0x2000 else old and not level):
                    self._local(index)
        self._update()

    def irq_ack(self):
        p = self.presented
        if p == EXTINT:
            src = self.machine.devices.get(self.ext_source)
            if src is not None:
                src.irq_ack()                            # the INTA cycle goes to the 8259
        elif p >= 0:
            self.irr &= ~(1 << p)
            self.isr |= 1 << p
        self._update()

    def eoi(self):
        v = self._highest(self.isr)
        if v < 0:
            return
        self.isr &= ~(1 << v)
        if self.tmr >> v & 1:
            for idx in (LVT_LINT0, LVT_LINT1):
                if self.lvt[idx] & 0x40FF == 0x4000 | v:
                    self.lvt[idx] &= ~0x4000
                    if self.lint[idx - LVT_LINT0]:
                        self.set_input(idx - LVT_LINT0, 1)
            for io in self.ioapics:
                self.machine.devices[io].eoi(v)
        self._update()

    # ---- timer (SDM 10.5.4) ---------------------------------------------------------
    def _tick_s(self):
        return DIVIDE[(self.divide_conf & 3) | (self.divide_conf >> 1 & 4)] / self.hz

    def current_count(self):
        if not self.init_count:
            return 0
        ticks = int((self.machine.scheduler.now() - self.t0) / self._tick_s() + 1e-6)
        if self.lvt[LVT_TIMER] & 0x20000:               # periodic
            return self.init_count - ticks % self.init_count
        return max(self.init_count - ticks, 0)

    def _arm(self):
        """Schedule the next expiry from t0 (the count's start)."""
        if not self.init_count:
            self.timer.stop()
            return
        period = self.init_count * self._tick_s()
        now = self.machine.scheduler.now()
        done = int((now - self.t0) / period + 1e-9)
        if self.lvt[LVT_TIMER] & 0x20000:
            self.timer.adjust(self.t0 + (done + 1) * period - now, period)
        elif done == 0:
            self.timer.adjust(self.t0 + period - now)
        else:
            self.timer.stop()

    def _timer_expired(self):
        if not self.lvt[LVT_TIMER] & 0x20000:
            self.timer.stop()
        self._local(LVT_TIMER)
        self._update()

    # ---- registers --------------------------------------------------------------------
    def _read_reg(self, off):
        if off == 0x20:
            return self.apic_id << 24
        if off == 0x30:
            return VERSION
        if off == 0x80:
            return self.tpr
        if off in (0x90, 0xA0):                         # APR reads as the PPR here
            return self.ppr()
        if off in (0xB0, 0xC0):
            return 0
        if off == 0xD0:
            return self.ldr
        if off == 0xE0:
            return self.dfr | 0x0FFFFFFF
        if off == 0xF0:
            return self.svr
        if 0x100 <= off < 0x280:
            bits = (self.isr, self.tmr, self.irr)[(off - 0x100) >> 7]
            return bits >> (32 * ((off >> 4) & 7)) & 0xFFFFFFFF
        if off == 0x280:
            return self.esr
        if off == 0x300:
            return self.icr_lo & ~0x1000                # delivery status: idle
        if off == 0x310:
            return self.icr_hi
        if 0x320 <= off <= 0x370:
            return self.lvt[(off - 0x320) >> 4]
        if off == 0x380:
            return self.init_count
        if off == 0x390:
            return self.current_count()
        if off == 0x3E0:
            return self.divide_conf
        self._error(ESR_ILLEGAL_REG)
        return 0

    def _write_reg(self, off, v):
        if off == 0x20:
            self.apic_id = v >> 24
        elif off == 0x80:
            self.tpr = v & 0xFF
        elif off == 0xB0:
            self.eoi()
        elif off == 0xD0:
            self.ldr = v & 0xFF000000
        elif off == 0xE0:
            self.dfr = (v & 0xF0000000) | 0x0FFFFFFF
        elif off == 0xF0:
            self.svr = v & 0x3FF
            if v & 0x100:
                self.through = 0
            else:
                self.lvt = [x | MASKED for x in self.lvt]
        elif off == 0x280:
            self.esr, self.esr_pending = self.esr_pending, 0
        elif off == 0x300:
            self.icr_lo = v & 0x000CCFFF
            self._send_ipi()
        elif off == 0x310:
            self.icr_hi = v & 0xFF000000
        elif 0x320 <= off <= 0x370:
            i = (off - 0x320) >> 4
            keep = self.lvt[i] & ~LVT_WRITABLE[i]       # read-only bits (remote IRR)
            new = keep | (v & LVT_WRITABLE[i])
            if not self.enabled and not self.through:
                new |= MASKED
            self.lvt[i] = new
            if i == LVT_TIMER and self.init_count:
                self._arm()
        elif off == 0x380:
            self.init_count = v & 0xFFFFFFFF
            self.t0 = self.machine.scheduler.now()
            self._arm()
        elif off == 0x3E0:
            cur = self.current_count()
            self.divide_conf = v & 0xB
            if self.init_count:                         # keep the count, new rate
                done = (self.init_count - cur) if cur else self.init_count
                self.t0 = self.machine.scheduler.now() - done * self._tick_s()
                self._arm()
        elif off in (0x30, 0x90, 0xA0, 0xC0, 0x390) or 0x100 <= off < 0x280:
            pass                                        # read-only
        else:
            self._error(ESR_ILLEGAL_REG)
        self._update()

    def _send_ipi(self):
        lo = self.icr_lo
        vector, mode, shorthand = lo & 0xFF, (lo >> 8) & 7, (lo >> 18) & 3
        if shorthand == 3:
            return                                      # all excluding self: nobody else
        if shorthand == 0 and not self.matches(self.icr_hi >> 24, bool(lo & 0x800)):
            return
        if mode == MODE_FIXED and vector < 16:
            self._error(ESR_SEND_ILLEGAL | ESR_RECV_ILLEGAL)
        elif mode in (MODE_FIXED, MODE_NMI):
            self.deliver(vector, mode, bool(lo & 0x8000) and bool(lo & 0x4000))

    def mem_read(self, addr, size):
        off = (addr - self.base) & 0xFFF
        reg = self._read_reg(off & 0xFF0) if off & 0xF < 4 else 0
        return reg >> (8 * (off & 3))

    def mem_write(self, addr, value, size):
        off = (addr - self.base) & 0xFFF
        if off & 0xF == 0:
            self._write_reg(off, value & 0xFFFFFFFF)

    def load_state(self, st):
        super().load_state(st)
        self.lvt = [int(x) for x in self.lvt]
        self.lint = [int(x) for x in self.lint]


DEVICE = LocalApic
