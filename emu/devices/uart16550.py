"""National Semiconductor PC16550D UART (PC: COM1 3F8h IRQ 4, COM2 2F8h IRQ 3).

Registers (base+0..7; DLAB = LCR bit 7): RBR/THR (DLL when DLAB), IER (DLM),
IIR/FCR, LCR, MCR, LSR, MSR, SCR.  Reference: National Semiconductor PC16550D
data sheet (June 1995), "Registers" 8.1-8.9 and Table IV (interrupt control).

Timing: a character takes start + 5..8 data + parity + 1/1.5/2 stop bits at
``clock / (16 * divisor)`` baud (8.10; 1.8432 MHz crystal on the PC).  The
transmitter moves THR (or the head of the 16-byte TX FIFO) into the shift
register, which goes to the host ``backend`` one character time later; the
receiver takes one host byte per character time while it has room, so host
input is paced rather than overrun (like QEMU).  Loopback (MCR bit 4) feeds the
shift register back to the receiver, where a full FIFO does overrun.

Interrupts (IIR, Table IV), highest first: 06h line status (OE/PE/FE/BI, reset
by reading LSR), 04h received data (RBR full; FIFO mode: the trigger level of
FCR bits 7-6, 1/4/8/14 bytes), 0Ch character timeout (FIFO mode: data waiting and
no FIFO input or read for 4 character times; reset by reading RBR), 02h THR
empty (reset by reading IIR when it is the source, or by writing THR), 00h modem
status (reset by reading MSR).  IIR bits 7-6 are 11 while FCR bit 0 enables the
FIFOs.  Turning IER bit 1 on while THR is empty raises the THRE interrupt (not
in the data sheet; 8250-family chips do it and drivers rely on it, as in QEMU
and Bochs).

On the PC the INTRPT output reaches the interrupt controller only through a
buffer enabled by the OUT2 modem-control line (IBM PC/AT Technical Reference,
"Serial/Parallel Adapter"), so the IRQ line is INTRPT AND MCR bit 3; loopback
forces the OUT outputs inactive (8.5), so no interrupt leaves the card then,
while IIR still reports it.  The host side knows no line errors: PE/FE/BI and
LSR bit 7 stay 0.  MSR inputs from the host: CTS, DSR and DCD on, RI off.
Each register access costs the running CPU ``access_time`` (1 us, an ISA I/O
cycle), so polling loops spin as many times as on a real PC.
"""
from __future__ import annotations

from collections import deque

from ..abi import S_CYCLES
from ..chardev import Backend
from ..device import Device

XTAL = 1_843_200
TRIGGER = (1, 4, 8, 14)                 # FCR bits 7-6 (8.4)
HOST_MSR = 0xB0                         # DCD, DSR, CTS asserted by a connected host

# LSR (8.7)
DR, OE, PE, FE, BI, THRE, TEMT = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40


class Uart16550(Device):
    PARAMS = {"base": 0x3F8, "irq": None, "clock": XTAL, "access_time": 1e-6}
    SERIAL_PORT = True
    SAVE_FIELDS = ("ier", "lcr", "mcr", "lsr_err", "msr", "scr", "dll", "dlm", "fifo_on",
                   "trigger", "fcr_dma", "rbr", "rbr_last", "thr", "tsr", "tsr_busy",
                   "thre_int", "timeout_int", "thre_delay", "fifo_pair")

    @staticmethod
    def validate_params(params):
        clock = params.get("clock", XTAL)
        if not isinstance(clock, (int, float)) or clock <= 0:
            return ("clock", "must be a positive frequency in Hz")
        t = params.get("access_time", 1e-6)
        if not isinstance(t, (int, float)) or not 0 <= t < 1e-3:
            return ("access_time", "must be seconds per register access, 0 to 1e-3")
        return None

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.backend = Backend()

    def connect(self, backend) -> None:
        """Attach a host backend (emu.chardev); the previous one is closed."""
        self.backend.close()
        self.backend = backend

    def start(self):
        self.line = self.machine.irq_line(self.irq, self) if self.irq else None
        sch = self.machine.scheduler
        self.tx_timer = sch.timer(self._tx_done, f"{self.name}.tx")
        self.rx_timer = sch.timer(self._rx_host, f"{self.name}.rx")
        self.to_timer = sch.timer(self._timeout, f"{self.name}.timeout")

    def reset(self):
        # master reset (Table II): IER, IIR, FCR, LCR, MCR, LSR, MSR bits 0-3 cleared
        self.ier = self.lcr = self.mcr = self.scr = 0
        self.dll, self.dlm = 0x0C, 0x00             # 9600 baud until the guest programs it
        self.lsr_err = 0                            # OE | PE | FE | BI, reset by reading LSR
        self.msr = HOST_MSR
        self.fifo_on = self.fcr_dma = 0
        self.trigger = 1
        self.rbr = deque()                          # RBR, or the RX FIFO
        self.rbr_last = 0
        self.thr = deque()                          # THR, or the TX FIFO
        self.tsr, self.tsr_busy = 0, 0
        self.thre_int = 0                           # THRE interrupt pending (Table IV)
        self.timeout_int = 0
        self.thre_delay = 0                         # FIFO mode: THRE held off (8.4 note)
        self.fifo_pair = 0                          # two bytes were in the TX FIFO at once
        if self.line is not None:
            self.line.set(False)
        self.irq_level = False
        for t in (self.tx_timer, self.rx_timer, self.to_timer):
            t.stop()
        self._update_irq()

    def stop(self):
        self.backend.close()

    # ---- line timing -----------------------------------------------------------
    @property
    def divisor(self) -> int:
        return (self.dlm << 8 | self.dll) or 0x10000

    @property
    def baud(self) -> float:
        return self.clock / (16 * self.divisor)

    def char_time(self) -> float:
        """Seconds per character: start, data, parity, stop bits (LCR, 8.3)."""
        bits = 5 + (self.lcr & 3)
        stop = (1.5 if bits == 5 else 2) if self.lcr & 4 else 1
        return (1 + bits + (1 if self.lcr & 8 else 0) + stop) / self.baud

    @property
    def loop(self) -> bool:
        return bool(self.mcr & 0x10)

    def _cap(self) -> int:
        return 16 if self.fifo_on else 1

    # ---- interrupts ---------------------------------------------------------------
    def _iir(self) -> int:
        ier = self.ier
        if ier & 4 and self.lsr_err:
            iid = 0x06
        elif ier & 1 and len(self.rbr) >= (self.trigger if self.fifo_on else 1):
            iid = 0x04
        elif ier & 1 and self.timeout_int:
            iid = 0x0C
        elif ier & 2 and self.thre_int:
            iid = 0x02
        elif ier & 8 and self.msr & 0x0F:
            iid = 0x00
        else:
            iid = 0x01
        return iid | (0xC0 if self.fifo_on else 0)

    def _update_irq(self):
        level = not self._iir() & 1 and bool(self.mcr & 0x08) and not self.loop
        if level != self.irq_level:
            self.irq_level = level
            if self.line is not None:
                self.line.set(level)

    def _thr_empty(self) -> bool:
        return not self.thr and not self.thre_delay

    # ---- transmitter ----------------------------------------------------------------
    def _tx_load(self):
        """Shift register idle and THR/FIFO not: start the next character."""
        if self.tsr_busy or not self.thr:
            return
        self.tsr, self.tsr_busy = self.thr.popleft(), 1
        self.tx_timer.adjust(self.char_time())
        if not self.thr:
            if self.fifo_on and not self.fifo_pair:
                # 8.4: THRE indication delayed one character time when the FIFO never
                # held two bytes since THRE was last set
                self.thre_delay = 1
            else:
                self.thre_int, self.fifo_pair = 1, 0

    def _tx_done(self):
        byte, self.tsr_busy = self.tsr, 0
        if self.loop:
            self._receive(byte)
        else:
            self.backend.write(bytes([byte]))
        if self.thre_delay:
            self.thre_delay = 0
            if not self.thr:
                self.thre_int, self.fifo_pair = 1, 0
        self._tx_load()
        self._update_irq()

    # ---- receiver ---------------------------------------------------------------------
    def _receive(self, byte):
        byte &= (1 << (5 + (self.lcr & 3))) - 1        # unused high bits read as 0
        if len(self.rbr) >= self._cap():
            self.lsr_err |= OE
            if not self.fifo_on:                        # 16450 mode: the new byte wins
                self.rbr[-1] = byte
        else:
            self.rbr.append(byte)
        if self.fifo_on:
            self.to_timer.adjust(4 * self.char_time())
        self._update_irq()

    def _rx_host(self):
        if self.loop or len(self.rbr) >= self._cap():
            return
        b = self.backend.read_byte()
        if b is not None:
            self._receive(b)
        self._rx_schedule()

    def _rx_schedule(self):
        if not self.rx_timer.enabled and not self.loop and len(self.rbr) < self._cap() \
                and self.backend.has_input():
            self.rx_timer.adjust(self.char_time())

    def _timeout(self):
        if self.fifo_on and self.rbr:
            self.timeout_int = 1
            self._update_irq()

    def frame_end(self):
        self.backend.flush()
        self.backend.poll()
        self._rx_schedule()

    # ---- registers --------------------------------------------------------------------
    def _bus_cycle(self):
        """An ISA I/O cycle to the card takes about a microsecond of the CPU's time
        (``access_time``), so a guest polling LSR spins at a real machine's pace."""
        cpu = self.machine.scheduler.running_cpu
        if cpu is not None and self.access_time:
            cpu.state[S_CYCLES] += int(self.access_time * cpu.clock_hz)

    def io_read(self, port, size):
        self._bus_cycle()
        reg = (port - self.base) & 7
        dlab = self.lcr & 0x80
        if reg == 0:
            if dlab:
                return self.dll
            if self.rbr:
                self.rbr_last = self.rbr.popleft()
            self.timeout_int = 0
            if self.fifo_on and self.rbr:
                self.to_timer.adjust(4 * self.char_time())
            else:
                self.to_timer.stop()
            self._rx_schedule()
            self._update_irq()
            return self.rbr_last
        if reg == 1:
            return self.dlm if dlab else self.ier
        if reg == 2:
            v = self._iir()
            if v & 0x0F == 0x02:
                self.thre_int = 0
                self._update_irq()
            return v
        if reg == 3:
            return self.lcr
        if reg == 4:
            return self.mcr
        if reg == 5:
            v = (DR if self.rbr else 0) | self.lsr_err | \
                (THRE if self._thr_empty() else 0) | \
                (TEMT if self._thr_empty() and not self.tsr_busy else 0)
            if self.lsr_err:
                self.lsr_err = 0
                self._update_irq()
            return v
        if reg == 6:
            v = self.msr
            if v & 0x0F:
                self.msr &= 0xF0
                self._update_irq()
            return v
        return self.scr

    def io_write(self, port, value, size):
        self._bus_cycle()
        reg = (port - self.base) & 7
        value &= 0xFF
        dlab = self.lcr & 0x80
        if reg == 0:
            if dlab:
                self.dll = value
                return
            if len(self.thr) >= self._cap():
                if self.fifo_on:
                    return                      # TX FIFO full: the byte is lost
                self.thr.pop()                  # THR overwritten
            self.thr.append(value)
            if len(self.thr) >= 2:
                self.fifo_pair = 1
            self.thre_int = 0
            self._tx_load()
        elif reg == 1:
            if dlab:
                self.dlm = value
                return
            old, self.ier = self.ier, value & 0x0F
            if self.ier & ~old & 2 and self._thr_empty():
                self.thre_int = 1
        elif reg == 2:
            self._write_fcr(value)
        elif reg == 3:
            self.lcr = value
        elif reg == 4:
            self._write_mcr(value & 0x1F)
        elif reg == 7:
            self.scr = value
        # LSR and MSR writes (factory test, 8.7/8.8) are ignored
        self._update_irq()

    def _write_fcr(self, v):
        on = v & 1
        if on != self.fifo_on:
            # changing FCR0 clears both FIFOs; the next THRE interrupt is immediate
            self.fifo_on = on
            self.rbr.clear()
            self.thr.clear()
            self.thre_delay = self.fifo_pair = self.timeout_int = 0
            self.to_timer.stop()
            self.thre_int = 1
        if not on:
            return                              # other bits are written only with FCR0 = 1
        if v & 2:                               # reset RX FIFO (the shift register is kept)
            self.rbr.clear()
            self.timeout_int = 0
            self.to_timer.stop()
        if v & 4:                               # reset TX FIFO
            self.thr.clear()
            self.thre_delay = self.fifo_pair = 0
            self.thre_int = 1
        self.fcr_dma = (v >> 3) & 1
        self.trigger = TRIGGER[v >> 6]
        self._rx_schedule()

    def _write_mcr(self, v):
        was_loop = self.loop
        self.mcr = v
        if self.loop:
            # 8.5: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2
            inputs = ((v & 2) << 3) | ((v & 1) << 5) | ((v & 4) << 4) | ((v & 8) << 4)
        else:
            inputs = HOST_MSR
        old = self.msr & 0xF0
        delta = (old ^ inputs) & 0xB0                  # DCTS, DDSR, DDCD: any change
        d = (delta >> 4) & 0x03 | (delta >> 4) & 0x08
        if old & 0x40 and not inputs & 0x40:
            d |= 0x04                                  # TERI: RI went inactive
        self.msr = inputs | (self.msr & 0x0F) | d
        if was_loop and not self.loop:
            self._rx_schedule()

    # ---- save states ------------------------------------------------------------------
    def save_state(self):
        st = super().save_state()
        st["rbr"], st["thr"] = list(self.rbr), list(self.thr)
        st["irq_level"] = int(self.irq_level)
        return st

    def load_state(self, st):
        super().load_state(st)
        self.rbr, self.thr = deque(st["rbr"]), deque(st["thr"])
        self.irq_level = bool(st["irq_level"])


DEVICE = Uart16550
