"""PC16550D UART (emu/devices/uart16550.py) against the National Semiconductor
PC16550D data sheet: register contents after each access (8.1-8.9, Table II),
interrupt priorities and resets (Table IV), FIFO trigger levels and character
timeout (8.4, 8.6), loopback (8.5), character timing (8.10), and the PC's OUT2
gate on the interrupt line.  Driven through the bus on a Z80 board."""
import pytest

from emu.machine import Machine

BOARD = """
name: uartboard
cpus:
  maincpu: {core: z80, clock: 1MHz}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
ports:
  maincpu:
    - {start: 0x20, end: 0x21, device: pic}
    - {start: 0xA0, end: 0xA1, device: pic}
    - {start: 0x3F8, end: 0x3FF, device: com1}
    - {start: 0x2F8, end: 0x2FF, device: com2}
devices:
  pic:  {type: pic8259, irq: maincpu}
  com1: {type: uart16550, base: 0x3F8, irq: pic.4}
  com2: {type: uart16550, base: 0x2F8, irq: pic.3}
"""
RBR = THR = DLL = 0x3F8
IER = DLM = 0x3F9
IIR = FCR = 0x3FA
LCR, MCR, LSR, MSR, SCR = 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF


@pytest.fixture
def m(tmp_path):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    m = Machine.load(str(f))
    m.memory[0:2] = b"\x76\x18"               # HALT (interrupts off from reset)
    m.irqs = []                              # (PIC input, level, time) as the UART drives them
    pic = m.devices["pic"]
    real = pic.set_input
    pic.set_input = lambda line, level: (m.irqs.append((line, level, m.scheduler.now())),
                                         real(line, level))
    return m


def out(m, port, v):
    m.spaces["maincpu"].io_write(port, v, 1)


def inp(m, port):
    return m.spaces["maincpu"].io_read(port, 1)


def run(m, seconds):
    m.scheduler.run_until(m.scheduler.time + seconds)


def set_baud(m, divisor, lcr=0x03):
    out(m, LCR, 0x80 | lcr)
    out(m, DLL, divisor & 0xFF)
    out(m, DLM, divisor >> 8)
    out(m, LCR, lcr)


def line(m):
    return m.devices["com1"].irq_level


# ---- registers after reset and each access ---------------------------------------
def test_master_reset_values(m):
    # Table II: IER 0, IIR 01h, LCR 0, MCR 0, LSR 60h (THRE, TEMT), MSR deltas 0
    assert [inp(m, p) for p in (IER, IIR, LCR, MCR, LSR)] == [0x00, 0x01, 0x00, 0x00, 0x60]
    assert inp(m, MSR) & 0x0F == 0


def test_dlab_selects_divisor_latch_and_scratch_register(m):
    out(m, LCR, 0x83)                        # DLAB, 8 bits
    out(m, DLL, 0x01)
    out(m, DLM, 0x02)
    assert (inp(m, DLL), inp(m, DLM), inp(m, LCR)) == (0x01, 0x02, 0x83)
    out(m, LCR, 0x03)
    assert inp(m, IER) == 0x00               # DLAB 0: IER again, not DLM
    out(m, IER, 0xFF)
    assert inp(m, IER) == 0x0F               # bits 4-7 are always 0
    com = m.devices["com1"]
    assert com.divisor == 0x0201 and com.baud == pytest.approx(1_843_200 / 16 / 0x201)
    out(m, SCR, 0x5A)
    assert inp(m, SCR) == 0x5A
    out(m, MCR, 0xFF)
    assert inp(m, MCR) == 0x1F               # MCR bits 5-7 are 0


# ---- transmitter timing and THRE -----------------------------------------------
def test_transmit_timing_and_thre_interrupt(m):
    com = m.devices["com1"]
    set_baud(m, 12)                          # 9600 baud, 8N1: 10 bits = 1/960 s a character
    char = 10 / 9600
    out(m, MCR, 0x08)                        # OUT2: the interrupt reaches the PIC
    out(m, IER, 0x02)
    assert inp(m, IIR) == 0x02               # THR empty and now enabled: THRE interrupt
    assert inp(m, IIR) == 0x01               # reading IIR (its source) reset it
    t0 = m.scheduler.now()
    out(m, THR, ord("A"))                    # THR -> shift register at once: THR empty again
    assert inp(m, LSR) == 0x20               # THRE, not TEMT: a character is being shifted
    assert inp(m, IIR) == 0x02
    out(m, THR, ord("B"))                    # waits in THR: writing THR reset the interrupt
    assert inp(m, LSR) == 0x00 and inp(m, IIR) == 0x01 and not line(m)
    m.irqs.clear()
    run(m, char * 0.99)
    assert com.backend.output == b"" and not m.irqs
    run(m, char * 0.02)
    assert com.backend.output == b"A"
    assert m.irqs[0][:2] == (4, True)        # IRQ 4 when B moved from THR to the shifter
    assert m.irqs[0][2] - t0 == pytest.approx(char, rel=1e-3)
    run(m, char * 1.5)
    assert com.backend.output == b"AB" and inp(m, LSR) == 0x60


def test_char_time_follows_lcr(m):
    com = m.devices["com1"]
    set_baud(m, 1, lcr=0x1F)                 # 115200, 8 data, even parity, 2 stop: 12 bits
    assert com.char_time() == pytest.approx(12 / 115200)
    out(m, LCR, 0x04)                        # 5 data bits and "2" stop = 1.5 stop bits
    assert com.char_time() == pytest.approx(7.5 / 115200)


def test_out2_gates_the_interrupt_line(m):
    out(m, IER, 0x02)                        # THRE pending, OUT2 off: no IRQ on a PC
    assert not line(m) and not m.irqs
    out(m, MCR, 0x08)
    assert line(m) and m.irqs[-1][:2] == (4, True)
    out(m, MCR, 0x00)
    assert not line(m)


def test_com2_uses_irq3(m):
    out(m, 0x2FC, 0x08)
    out(m, 0x2F9, 0x02)
    assert m.irqs[-1][:2] == (3, True)


# ---- loopback (8.5) -------------------------------------------------------------------
def test_loopback_data_and_modem_lines(m):
    set_baud(m, 1)
    out(m, MCR, 0x10)
    assert inp(m, MSR) & 0xF0 == 0x00        # CTS DSR RI DCD follow RTS DTR OUT1 OUT2 (all 0)
    out(m, MCR, 0x10 | 0x0F)
    assert inp(m, MSR) == 0xF0 | 0x0B        # all four set; DCTS, DDSR, DDCD
    assert inp(m, MSR) == 0xF0               # reading MSR reset the deltas
    out(m, MCR, 0x10 | 0x0B)                 # OUT1 off: RI trailing edge
    assert inp(m, MSR) == 0xB4               # TERI
    out(m, THR, 0xA5)
    run(m, 12 / 115200)
    assert inp(m, LSR) == 0x61 and inp(m, RBR) == 0xA5
    assert m.devices["com1"].backend.output == b""     # nothing left on the serial line
    out(m, LCR, 0x00)                        # 5-bit characters: the high bits read 0
    out(m, THR, 0xFF)
    run(m, 1e-3)
    assert inp(m, RBR) == 0x1F


def test_loopback_interrupts_show_in_iir_not_on_the_pc_bus(m):
    set_baud(m, 1)
    out(m, MCR, 0x18)                        # loopback + OUT2: OUT2 pin is forced inactive
    out(m, IER, 0x01)
    out(m, THR, 0x42)
    run(m, 1e-3)
    assert inp(m, IIR) == 0x04 and not line(m)
    out(m, MCR, 0x08)                        # leave loopback: the buffer opens
    assert line(m)
    assert inp(m, RBR) == 0x42 and not line(m) and inp(m, IIR) == 0x01


def test_modem_status_interrupt(m):
    out(m, MCR, 0x10)
    inp(m, MSR)
    out(m, IER, 0x08)
    out(m, MCR, 0x11)                        # DTR -> DSR in loopback: DDSR
    assert inp(m, IIR) == 0x00
    assert inp(m, MSR) == 0x22
    assert inp(m, IIR) == 0x01


# ---- receiver, FIFOs (8.4, 8.6) --------------------------------------------------------
def test_non_fifo_overrun_and_line_status_priority(m):
    set_baud(m, 1)
    out(m, MCR, 0x10)
    out(m, IER, 0x07)                        # RDA, THRE, line status
    for b in (0x11, 0x22):
        out(m, THR, b)
        run(m, 1e-3)
    # the second byte overran the first (16450 mode: RBR holds the newer one)
    assert inp(m, IIR) == 0x06               # line status outranks data and THRE
    assert inp(m, LSR) == 0x63               # DR OE THRE TEMT
    assert inp(m, LSR) == 0x61               # OE reset by reading LSR
    assert inp(m, IIR) == 0x04               # then received data
    assert inp(m, RBR) == 0x22
    assert inp(m, IIR) == 0x02               # then THR empty
    assert inp(m, IIR) == 0x01


@pytest.mark.parametrize("fcr,level", [(0x01, 1), (0x41, 4), (0x81, 8), (0xC1, 14)])
def test_fifo_trigger_levels(m, fcr, level):
    set_baud(m, 1)
    out(m, FCR, fcr | 0x06)
    out(m, MCR, 0x10)
    out(m, IER, 0x01)
    assert inp(m, IIR) == 0xC1               # FIFOs enabled: IIR bits 7-6
    for i in range(level):
        assert inp(m, IIR) == 0xC1, f"interrupt before {level} bytes"
        out(m, THR, i)
        run(m, 12 / 115200)
    assert inp(m, IIR) == 0xC4
    inp(m, RBR)                              # below the trigger level again
    assert inp(m, IIR) == 0xC1


def test_fifo_overrun_keeps_the_fifo(m):
    set_baud(m, 1)
    out(m, FCR, 0x07)
    out(m, MCR, 0x10)
    for i in range(17):                      # 17 bytes into a 16-byte FIFO, never read
        out(m, THR, i)
        run(m, 12 / 115200)
    run(m, 1e-3)
    assert inp(m, LSR) == 0x63
    assert [inp(m, RBR) for _ in range(16)] == list(range(16))     # the 17th was lost
    assert inp(m, LSR) == 0x60


def test_character_timeout(m):
    set_baud(m, 1)
    char = 10 / 115200
    out(m, FCR, 0x47)                        # trigger level 4
    out(m, MCR, 0x10)
    out(m, IER, 0x01)
    out(m, THR, 0x31)
    out(m, THR, 0x32)
    run(m, 2 * char + 1e-7)                  # both received; below the trigger level
    assert inp(m, IIR) == 0xC1
    run(m, 3.9 * char)
    assert inp(m, IIR) == 0xC1               # not yet four character times
    run(m, 0.2 * char)
    assert inp(m, IIR) == 0xCC               # character timeout
    assert inp(m, RBR) == 0x31
    assert inp(m, IIR) == 0xC1               # reset by the read; the timer restarts
    run(m, 4.1 * char)
    assert inp(m, IIR) == 0xCC
    assert inp(m, RBR) == 0x32 and inp(m, IIR) == 0xC1
    run(m, 10 * char)
    assert inp(m, IIR) == 0xC1               # the FIFO is empty: no timeout


def test_fcr_resets_and_mode_change(m):
    set_baud(m, 1)
    out(m, FCR, 0x01)
    out(m, MCR, 0x10)
    for b in (1, 2, 3):
        out(m, THR, b)
    run(m, 1e-3)
    assert inp(m, LSR) & 1
    out(m, FCR, 0x03)                        # reset the RX FIFO
    assert inp(m, LSR) == 0x60
    out(m, IER, 0x02)
    assert inp(m, IIR) == 0xC2 and inp(m, IIR) == 0xC1
    out(m, FCR, 0x00)                        # FIFOs off: IIR bits 7-6 clear, THRE at once
    assert inp(m, IIR) == 0x02


def test_fifo_thre_delayed_for_a_single_byte(m):
    set_baud(m, 1)
    char = 10 / 115200
    out(m, FCR, 0x07)
    out(m, THR, 0x41)                        # one byte: THRE only after a character time
    assert inp(m, LSR) == 0x00
    run(m, char * 1.01)
    assert inp(m, LSR) == 0x60
    for b in b"xyz":                         # three at once: THRE when the FIFO empties
        out(m, THR, b)
    run(m, char * 0.5)
    assert inp(m, LSR) == 0x00
    run(m, char * 1.0)
    assert inp(m, LSR) == 0x00               # y shifting, z waiting
    run(m, char * 1.0)
    assert inp(m, LSR) == 0x20               # z in the shifter: FIFO empty, not TEMT
    run(m, char * 1.0)
    assert inp(m, LSR) == 0x60
    assert m.devices["com1"].backend.output == b"Axyz"


def test_tx_fifo_holds_16(m):
    set_baud(m, 12)
    out(m, FCR, 0x07)
    for i in range(20):                      # 1 in the shifter + 16 in the FIFO; 3 lost
        out(m, THR, 0x40 + i)
    run(m, 20 * 10 / 9600)
    assert m.devices["com1"].backend.output == bytes(range(0x40, 0x40 + 17))


def test_host_input_is_paced_not_overrun(m):
    com = m.devices["com1"]
    set_baud(m, 12)
    char = 10 / 9600
    com.backend.feed(b"hi!")
    com.frame_end()                          # the machine polls its backends once a frame
    run(m, char * 1.01)
    assert inp(m, LSR) == 0x61
    run(m, char * 5)                         # 16450 mode: the next byte waits for the read
    assert inp(m, LSR) == 0x61 and inp(m, RBR) == ord("h")
    run(m, char * 1.01)
    assert inp(m, RBR) == ord("i")
    run(m, char * 1.01)
    assert inp(m, RBR) == ord("!") and inp(m, LSR) == 0x60


def test_rx_data_interrupt_from_host(m):
    com = m.devices["com1"]
    set_baud(m, 1)
    out(m, MCR, 0x08)
    out(m, IER, 0x01)
    com.backend.feed(b"x")
    com.frame_end()
    run(m, 1e-3)
    assert line(m) and inp(m, IIR) == 0x04
    assert inp(m, RBR) == ord("x") and not line(m)
