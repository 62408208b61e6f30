"""ACPI fixed-hardware PM registers (emu/devices/acpi_pm.py) against ACPI 1.0b 4.7:
the PM timer counts at 3.579545 MHz in 24 bits, TMR_STS sets when bit 23 changes
and clears by writing 1, the SCI is high while a status bit is enabled, SCI_EN
reads 1 (no SMI_CMD), and SLP_EN with the S5 type powers the machine off."""
import pytest

from emu.machine import Machine

BOARD = """
name: pmboard
cpus: {maincpu: {core: z80, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
ports:
  maincpu:
    - {start: 0xB000, end: 0xB00B, device: pm}
    - {start: 0x20, end: 0x21, device: pic}
    - {start: 0xA0, end: 0xA1, device: pic}
devices:
  pic: {type: pic8259, irq: maincpu}
  pm:  {type: acpi_pm, base: 0xB000, irq: pic.9}
"""
PM_HZ = 3_579_545


@pytest.fixture
def m(tmp_path):
    f = tmp_path / "pmboard.yaml"
    f.write_text(BOARD)
    mm = Machine.load(str(f))
    mm.memory[0:2] = b"\xF3\x76"             # DI; HALT
    return mm


def rd(m, off, size):
    return m.spaces["maincpu"].io_read(0xB000 + off, size)


def wr(m, off, v, size):
    m.spaces["maincpu"].io_write(0xB000 + off, v, size)


def sci(m):
    return bool(m.devices["pic"].slave.lines & 0x02)      # IRQ 9 = slave input 1


def test_pm_timer_rate_and_width(m):
    m.scheduler.run_until(0.010)
    a = rd(m, 8, 4)
    m.scheduler.run_until(0.110)
    b = rd(m, 8, 4)
    assert a < 1 << 24 and b < 1 << 24
    assert abs(((b - a) & 0xFFFFFF) - PM_HZ // 10) <= 2
    m.scheduler.run_until((1 << 24) / PM_HZ + 0.001)     # past the 24-bit wrap
    assert rd(m, 8, 4) < PM_HZ // 100


def test_tmr_sts_sets_on_bit_23_and_clears_by_writing_one(m):
    half = (1 << 23) / PM_HZ                             # 2.34 s
    assert rd(m, 0, 2) & 1 == 0
    m.scheduler.run_until(half - 0.01)
    assert rd(m, 0, 2) & 1 == 0
    m.scheduler.run_until(half + 0.01)
    assert rd(m, 0, 2) & 1 == 1
    wr(m, 0, 0x0000, 2)                                  # writing 0 leaves it
    assert rd(m, 0, 2) & 1 == 1
    wr(m, 0, 0x0001, 2)
    assert rd(m, 0, 2) & 1 == 0


def test_sci_follows_enabled_status(m):
    half = (1 << 23) / PM_HZ
    m.scheduler.run_until(half + 0.01)                   # TMR_STS set, not enabled
    assert not sci(m)
    wr(m, 2, 0x0001, 2)                                  # TMR_EN
    assert sci(m) and rd(m, 2, 2) == 1
    wr(m, 0, 0x0001, 2)
    assert not sci(m)
    m.scheduler.run_until(2 * half + 0.01)               # the timer raises it by itself
    assert sci(m)
    wr(m, 2, 0xFFFF, 2)
    assert rd(m, 2, 2) == 0x0521                         # TMR, GBL, PWRBTN, RTC enables only


def test_pm1_control_and_soft_off(m):
    assert rd(m, 4, 2) & 1 == 1                          # SCI_EN: in ACPI mode
    wr(m, 4, 0x0000, 2)
    assert rd(m, 4, 2) & 1 == 1
    wr(m, 4, 3 << 10, 2)                                 # SLP_TYP 3 without SLP_EN
    assert rd(m, 4, 2) == (3 << 10) | 1
    wr(m, 4, (3 << 10) | 0x2000, 2)                      # another sleep type: nothing
    assert not m.stop_requested
    assert rd(m, 4, 2) & 0x2000 == 0                     # SLP_EN reads 0
    wr(m, 4, (5 << 10) | 0x2000, 2)                      # S5 (the DSDT's \\_S5)
    assert m.stop_requested == "power off (ACPI S5)"
