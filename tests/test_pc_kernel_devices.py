"""What kernels expect of the PC's clock, keyboard controller and port 92h,
against the Motorola MC146818A data sheet (registers A-D, interrupts, update
cycle), the IBM PC/AT Technical Reference (8042 commands and output port) and
the PS/2 "System Control Port A".  RTC and 8042 commands on a Z80 board; A20
and resets on an x86 one."""
import pytest

from emu.machine import Machine

BOARD = """
name: kboard
cpus: {maincpu: {core: z80, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
ports:
  maincpu:
    - {start: 0x20, end: 0x21, device: pic}
    - {start: 0xA0, end: 0xA1, device: pic}
    - {start: 0x60, device: kbc}
    - {start: 0x64, device: kbc}
    - {start: 0x70, end: 0x71, device: rtc}
devices:
  pic: {type: pic8259, irq: maincpu}
  kbc: {type: kbc8042, irq: pic.1}
  rtc: {type: cmos_rtc, time: "2024-02-29T23:59:58", irq: pic.8}
"""


@pytest.fixture
def m(tmp_path):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    m = Machine.load(str(f))
    m.memory[0:2] = b"\x76\x18"                # HALT, interrupts off
    m.edges = []                               # times IRQ 8 rose
    pic = m.devices["pic"]
    real = pic.set_input
    pic.set_input = lambda line, level: (m.edges.append(m.scheduler.now())
                                         if line == 8 and level else None, real(line, level))
    return m


def out(m, port, v):
    m.spaces["maincpu"].io_write(port, v, 1)


def inp(m, port):
    return m.spaces["maincpu"].io_read(port, 1)


def wr(m, reg, v):
    out(m, 0x70, reg)
    out(m, 0x71, v)


def rd(m, reg):
    out(m, 0x70, reg)
    return inp(m, 0x71)


def run_to(m, t):
    m.scheduler.run_until(t)


# ---- MC146818A ------------------------------------------------------------------
def test_rtc_registers_after_power_on(m):
    # the PC BIOS's values: A = 26h (32.768 kHz, 1024 Hz), B = 02h (BCD, 24-hour)
    assert (rd(m, 0x0A), rd(m, 0x0B), rd(m, 0x0C), rd(m, 0x0D)) == (0x26, 0x02, 0x00, 0x80)


@pytest.mark.parametrize("rs,hz", [(0x6, 1024), (0x3, 8192), (0x1, 256), (0x2, 128),
                                   (0xF, 2), (0xA, 64)])
def test_rtc_periodic_interrupt_rate(m, rs, hz):
    """Table 5 (32.768 kHz time base); the handler reads C, which releases IRQ 8."""
    wr(m, 0x0A, 0x20 | rs)
    wr(m, 0x0B, 0x42)                          # PIE, 24-hour
    period = 1 / hz
    step = period / 4
    t = m.scheduler.time
    while len(m.edges) < 5:
        t += step
        run_to(m, t)
        if m.devices["rtc"].irq_level:
            assert rd(m, 0x0C) & 0xC0 == 0xC0  # IRQF + PF (UF too at a second's end)
            assert not m.devices["rtc"].irq_level
    gaps = [b - a for a, b in zip(m.edges, m.edges[1:])]
    assert gaps == pytest.approx([period] * 4, rel=1e-6)


def test_rtc_pf_without_pie_and_c_cleared_on_read(m):
    run_to(m, 0.01)                            # 1024 Hz ticks, PIE off: flag only
    assert rd(m, 0x0C) == 0x40 and not m.edges
    assert rd(m, 0x0C) == 0x00
    wr(m, 0x0B, 0x42)                          # PIE with PF pending after a tick: IRQF
    run_to(m, 0.0111)
    assert m.edges and rd(m, 0x0C) == 0xC0


def test_rtc_no_ticks_when_rate_is_zero(m):
    wr(m, 0x0A, 0x20)
    wr(m, 0x0B, 0x42)
    run_to(m, 0.1)
    assert rd(m, 0x0C) == 0x00 and not m.edges


def test_rtc_uip_window_and_update_ended_interrupt(m):
    """The clock started at 23:59:58.000, so updates complete at whole seconds; UIP is
    1 from tBUC (244 us) before the update cycle (tUC 1984 us) to its end."""
    wr(m, 0x0B, 0x12)                          # UIE
    run_to(m, 0.5)
    assert rd(m, 0x0A) == 0x26 and rd(m, 0x00) == 0x58
    run_to(m, 1 - 0.00230)
    assert rd(m, 0x0A) & 0x80 == 0             # more than 244 + 1984 us before the update
    run_to(m, 1 - 0.00220)
    assert rd(m, 0x0A) & 0x80                  # update cycle soon / in progress
    assert rd(m, 0x00) == 0x58 and not m.edges
    run_to(m, 1.0001)
    assert rd(m, 0x0A) & 0x80 == 0 and rd(m, 0x00) == 0x59
    assert m.edges == [pytest.approx(1.0, abs=1e-9)]
    assert rd(m, 0x0C) == 0xD0                 # IRQF + UF, and PF: it is set without PIE
    wr(m, 0x0B, 0x82)                          # SET: no updates, UIP cleared
    run_to(m, 2 - 0.001)
    assert rd(m, 0x0A) & 0x80 == 0


def test_rtc_binary_and_12_hour_formats(m):
    assert [rd(m, r) for r in (0x00, 0x04, 0x07, 0x08, 0x09, 0x32)] == \
        [0x58, 0x23, 0x29, 0x02, 0x24, 0x20]
    wr(m, 0x0B, 0x06)                          # binary, 24-hour
    assert [rd(m, r) for r in (0x00, 0x02, 0x04, 0x07, 0x09)] == [58, 59, 23, 29, 24]
    wr(m, 0x0B, 0x00)                          # BCD, 12-hour: 11 PM = 91h
    assert rd(m, 0x04) == 0x91
    wr(m, 0x0B, 0x04)                          # binary, 12-hour: 80h | 11
    assert rd(m, 0x04) == 0x8B
    run_to(m, 2.5)                             # 00:00:00 on 1 March = 12 AM
    assert rd(m, 0x04) == 12 and rd(m, 0x07) == 1 and rd(m, 0x08) == 3
    wr(m, 0x0B, 0x00)
    assert rd(m, 0x04) == 0x12


def test_rtc_set_bit_and_writing_the_time(m):
    wr(m, 0x0B, 0x82)                          # SET: the clock stands still
    for reg, v in ((0x00, 0x30), (0x02, 0x15), (0x04, 0x10), (0x07, 0x14), (0x08, 0x07),
                   (0x09, 0x99), (0x32, 0x19)):
        wr(m, reg, v)
    run_to(m, 3.0)
    assert [rd(m, r) for r in (0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32)] == \
        [0x30, 0x15, 0x10, 0x14, 0x07, 0x99, 0x19]
    wr(m, 0x0B, 0x02)                          # released: counting on
    run_to(m, 5.0 + 0.0001)
    assert rd(m, 0x00) == 0x32
    wr(m, 0x06, 0x03)                          # day of week is the guest's to set
    assert rd(m, 0x06) == 0x03
    wr(m, 0x0B, 0x06)                          # 12-hour write in binary: 8Ah = 10 PM
    wr(m, 0x0B, 0x84)
    wr(m, 0x04, 0x8A)
    wr(m, 0x0B, 0x06)
    assert rd(m, 0x04) == 22


def test_rtc_alarm_interrupt(m):
    wr(m, 0x01, 0x01)                          # alarm 00:00:01 (BCD)
    wr(m, 0x03, 0x00)
    wr(m, 0x05, 0x00)
    wr(m, 0x0B, 0x22)                          # AIE
    run_to(m, 2.9)
    assert not m.edges
    run_to(m, 3.1)                             # 23:59:58 + 3 s = 00:00:01
    assert m.edges == [pytest.approx(3.0, abs=1e-9)]
    assert rd(m, 0x0C) == 0xF0                 # IRQF, AF and UF (and PF, 1024 Hz)
    wr(m, 0x01, 0xC0)                          # don't-care bytes: every second
    wr(m, 0x03, 0xC0)
    wr(m, 0x05, 0xC0)
    run_to(m, 4.1)
    assert len(m.edges) == 2 and rd(m, 0x0C) & 0xA0 == 0xA0


def test_rtc_divider_reset_restarts_half_a_second_later(m):
    run_to(m, 0.25)
    wr(m, 0x0A, 0x76)                          # divider held in reset: the clock stops
    run_to(m, 5.0)
    assert rd(m, 0x00) == 0x58
    wr(m, 0x0A, 0x26)                          # released at t = 5
    run_to(m, 5.49)
    assert rd(m, 0x00) == 0x58
    run_to(m, 5.51)
    assert rd(m, 0x00) == 0x59


# ---- 8042 -----------------------------------------------------------------------------
def read_out(m):
    assert inp(m, 0x64) & 1, "output buffer empty"
    return inp(m, 0x60)


def test_kbc_self_and_interface_tests(m):
    out(m, 0x64, 0xAA)
    assert read_out(m) == 0x55
    out(m, 0x64, 0xAB)
    assert read_out(m) == 0x00
    assert inp(m, 0x64) & 1 == 0               # output buffer empty again


def test_kbc_status_register_bits(m):
    """PC/AT status: bit 0 output buffer full, 1 input buffer full (never: commands
    complete at once), 2 system flag (command byte bit 2), 3 last write was a
    command, 4 keyboard not inhibited, 5 auxiliary output buffer full (no aux)."""
    assert inp(m, 0x64) == 0x14
    out(m, 0x64, 0xAA)
    assert inp(m, 0x64) == 0x1D
    inp(m, 0x60)
    out(m, 0x64, 0x60)
    out(m, 0x60, 0x41)                         # system flag clear
    assert inp(m, 0x64) == 0x10


def test_kbc_write_keyboard_output_buffer_and_no_aux_port(m):
    out(m, 0x64, 0xD2)
    out(m, 0x60, 0x9C)
    assert read_out(m) == 0x9C
    for cmd, data in ((0xD3, 0x5A), (0xD4, 0xF2)):
        out(m, 0x64, cmd)                      # aux port: the data byte goes nowhere
        out(m, 0x60, data)
        assert inp(m, 0x64) & 1 == 0
    out(m, 0x64, 0xA9)
    assert inp(m, 0x64) & 1 == 0
    out(m, 0x64, 0x20)                         # the command byte is unchanged
    assert read_out(m) == 0x45


def test_kbc_pulse_commands_without_bit0_do_not_reset(m):
    cpu = m.cpu
    cpu.set_registers(pc=0x1234)
    out(m, 0x64, 0xFF)                         # pulse nothing
    out(m, 0x64, 0xFD)                         # pulse bit 1 only
    assert cpu.pc == 0x1234
    out(m, 0x64, 0xFE)                         # pulse bit 0: reset, now
    assert cpu.pc == 0x0000


# ---- A20 and resets on an x86 -------------------------------------------------------------
X86_BOARD = """
name: a20board
cpus: {maincpu: {core: x86, clock: 10MHz, params: {model: 386}}}
memory:
  maincpu:
    - {start: 0x000000, end: 0x10FFFF, ram: main}
ports:
  maincpu:
    - {start: 0x60, device: kbc}
    - {start: 0x64, device: kbc}
    - {start: 0x92, device: sysctl}
devices:
  kbc: {type: kbc8042}
  sysctl: {type: port92}
"""
# mov ax,0FFFFh ; mov ds,ax ; mov al,[0010h] ; hlt ; jmp $-1   (FFFF:0010 = linear 100000h)
A20_PROBE = bytes([0xB8, 0xFF, 0xFF, 0x8E, 0xD8, 0xA0, 0x10, 0x00, 0xF4, 0xEB, 0xFD])


@pytest.fixture
def x86(tmp_path):
    pytest.importorskip("cores.x86")
    f = tmp_path / "a20.yaml"
    f.write_text(X86_BOARD)
    m = Machine.load(str(f))
    m.memory[0x1000:0x1000 + len(A20_PROBE)] = A20_PROBE
    m.memory[0x000000] = 0x11
    m.memory[0x100000] = 0x22
    return m


def probe(m):
    m.cpu.set_registers(cs=0, ip=0x1000, halted=0)
    m.step_frame(1)
    return {0x11: "wraps", 0x22: "A20"}[m.cpu.get_registers()["ax"] & 0xFF]


def test_port92_a20_ored_with_the_8042(x86):
    m = x86
    assert inp(m, 0x92) == 0x00 and probe(m) == "A20"   # the 8042's gate is on from reset
    out(m, 0x64, 0xDD)
    assert probe(m) == "wraps"
    out(m, 0x92, 0x02)                                  # fast A20
    assert inp(m, 0x92) == 0x02 and probe(m) == "A20"
    out(m, 0x92, 0x00)
    assert probe(m) == "wraps"
    out(m, 0x64, 0xD1)                                  # output port: A20 on, reset high
    out(m, 0x60, 0x03)
    out(m, 0x64, 0xD0)
    assert inp(m, 0x60) == 0x03 and probe(m) == "A20"


def test_port92_fast_reset_on_the_rising_edge(x86):
    m = x86
    m.cpu.set_registers(eax=0x1234, cs=0, ip=0x1008)
    out(m, 0x92, 0x01)
    r = m.cpu.get_registers()
    assert (r["cs"], r["ip"], r["eax"]) == (0xF000, 0xFFF0, 0)
    assert inp(m, 0x92) == 0x01                         # the bit reads back
    m.cpu.set_registers(eax=0x1234)
    out(m, 0x92, 0x03)                                  # still 1: no new reset
    assert m.cpu.get_registers()["eax"] == 0x1234
    assert m.memory[0x100000] == 0x22                   # memory kept


def test_cpu_reset_keeps_the_a20_gate(x86):
    """A CPU reset (8042 FEh, port 92h, a triple fault) leaves the A20 gate to the
    chipset, which still drives it: with A20 off before, FFFF:0010 wraps after."""
    m = x86
    out(m, 0x64, 0xDD)
    out(m, 0x64, 0xFE)
    assert m.cpu.get_registers()["cs"] == 0xF000
    assert probe(m) == "wraps"
    out(m, 0x64, 0xD1)
    out(m, 0x60, 0x02)                                  # output port bit 0 low: reset
    assert m.cpu.get_registers()["cs"] == 0xF000 and probe(m) == "A20"
