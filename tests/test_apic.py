"""Local APIC and I/O APIC against Intel SDM vol. 3A ch. 10 and the 82093AA data
sheet: reset values, priorities (IRR/ISR/TPR/PPR, EOI), self-IPIs, errors, the
timer's one-shot and periodic modes at the divided bus clock, LINT0 ExtINT and
LINT1 NMI, the redirection table (edge, level with Remote IRR, polarity, mask,
destinations), and their wiring on the pc machine.

The devices sit on a small Z80 board (a CPU that only halts with interrupts
off, so nothing acknowledges but the test: ``ack()`` plays the CPU's INTA)."""
import pytest

from emu import abi
from emu.machine import Machine

BOARD = """
name: apicboard
cpus: {maincpu: {core: z80, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xBFFF, ram: main}
    - {start: 0xD000, end: 0xD0FF, device: ioapic}
    - {start: 0xE000, end: 0xEFFF, device: lapic}
ports:
  maincpu:
    - {start: 0x20, end: 0x21, device: pic}
    - {start: 0xA0, end: 0xA1, device: pic}
devices:
  pic:    {type: pic8259, irq: lapic.0}
  lapic:  {type: lapic, irq: maincpu, clock: 1000000, base: 0xE000}
  ioapic: {type: ioapic, lapic: lapic, base: 0xD000}
"""
LA, IO = 0xE000, 0xD000
US = 1e-6


@pytest.fixture
def m(tmp_path):
    f = tmp_path / "apicboard.yaml"
    f.write_text(BOARD)
    mm = Machine.load(str(f))
    mm.memory[0:2] = b"\xF3\x76"             # DI; HALT
    return mm


def w(m, off, v):
    m.spaces["maincpu"].mmio_write(LA + off, v, 4)


def r(m, off):
    return m.spaces["maincpu"].mmio_read(LA + off, 4)


def bit(m, base, v):
    """IRR (200h), ISR (100h) or TMR (180h) bit for vector v."""
    return r(m, base + 0x10 * (v >> 5)) >> (v & 31) & 1


def intr(m):
    s = m.cpu.state
    return (int(s[abi.S_IRQ_VECTOR]) if s[abi.S_IRQ] & 1 else None)


def ack(m):
    """The CPU's interrupt acknowledge: the vector it takes."""
    v = intr(m)
    assert v is not None
    m.irq_acknowledged(m.cpu)
    return v


def enable(m, svr=0x1FF):
    w(m, 0xF0, svr)


def ipi(m, vector, mode=0):
    w(m, 0x300, 0x40000 | mode << 8 | vector)          # destination shorthand: self


def run_to(m, t):
    m.scheduler.run_until(t)


# ---- local APIC: reset state (SDM 10.4.7.1, 10.4.8) ----------------------------------
def test_reset_values(m):
    assert r(m, 0x20) == 0                           # APIC ID 0
    assert r(m, 0x30) == 0x00050014                  # version 14h, max LVT entry 5
    assert r(m, 0x30) & 0xFF >= 0x10                 # integrated APIC
    assert r(m, 0x80) == r(m, 0xA0) == 0             # TPR, PPR
    assert r(m, 0xD0) == 0 and r(m, 0xE0) == 0xFFFFFFFF
    assert r(m, 0xF0) == 0xFF                        # SVR: vector FFh, software disabled
    for base in (0x100, 0x180, 0x200):
        assert all(r(m, base + 0x10 * i) == 0 for i in range(8))
    assert r(m, 0x280) == 0 and r(m, 0x300) == 0 and r(m, 0x310) == 0
    for off in range(0x320, 0x380, 0x10):
        assert r(m, off) == 0x00010000, hex(off)    # every LVT entry masked
    assert r(m, 0x380) == r(m, 0x390) == r(m, 0x3E0) == 0


def test_register_widths_and_read_only_registers(m):
    w(m, 0x20, 0x0F000000)
    assert r(m, 0x20) == 0x0F000000
    w(m, 0x30, 0)
    assert r(m, 0x30) == 0x00050014
    w(m, 0xD0, 0x12345678)
    assert r(m, 0xD0) == 0x12000000                  # LDR: bits 31:24
    w(m, 0xE0, 0x0)
    assert r(m, 0xE0) == 0x0FFFFFFF                  # DFR: model bits 31:28, rest ones
    w(m, 0x320, 0xFFFFFFFF)
    assert r(m, 0x320) == 0x000300FF                 # timer: vector, mask, periodic
    w(m, 0x350, 0xFFFFFFFF)
    assert r(m, 0x350) == 0x0001A7FF                 # LINT0: no delivery status/remote IRR
    w(m, 0x370, 0xFFFFFFFF)
    assert r(m, 0x370) == 0x000100FF
    w(m, 0x3E0, 0xFF)
    assert r(m, 0x3E0) == 0x0B                       # divide: bits 0, 1, 3


def test_illegal_register_and_esr_latching(m):
    enable(m)
    w(m, 0x370, 0xFE)                                # error LVT: vector FEh, unmasked
    assert r(m, 0x3A0) == 0                          # reserved
    assert r(m, 0x280) == 0                          # ESR shows errors only after a write
    w(m, 0x280, 0)
    assert r(m, 0x280) == 0x80                       # illegal register address
    assert bit(m, 0x200, 0xFE) and ack(m) == 0xFE
    w(m, 0x280, 0)
    assert r(m, 0x280) == 0                          # the write cleared the log


def test_self_ipi_acknowledge_and_eoi(m):
    enable(m)
    ipi(m, 0x40)
    assert bit(m, 0x200, 0x40) and intr(m) == 0x40
    assert r(m, 0x300) & 0x1000 == 0                 # delivery status: idle
    assert ack(m) == 0x40
    assert not bit(m, 0x200, 0x40) and bit(m, 0x100, 0x40)
    assert r(m, 0xA0) == 0x40                        # PPR = the in-service class
    assert intr(m) is None
    w(m, 0xB0, 0)                                    # EOI
    assert not bit(m, 0x100, 0x40) and r(m, 0xA0) == 0


def test_priority_classes_tpr_and_nested_eoi(m):
    enable(m)
    ipi(m, 0x50)
    ipi(m, 0x61)
    assert ack(m) == 0x61                            # highest vector first
    ipi(m, 0x65)                                     # same class as the one in service
    assert intr(m) is None
    ipi(m, 0x71)
    assert ack(m) == 0x71                            # a higher class nests
    w(m, 0xB0, 0)                                    # EOI clears the highest ISR bit: 71h
    assert bit(m, 0x100, 0x61) and not bit(m, 0x100, 0x71)
    assert intr(m) is None                           # 65h, 50h wait for 61h
    w(m, 0xB0, 0)
    assert ack(m) == 0x65
    w(m, 0xB0, 0)
    # TPR masking: a vector is presented only if its class is above PPR's
    w(m, 0x80, 0x50)
    assert r(m, 0xA0) == 0x50 and intr(m) is None
    w(m, 0x80, 0x4F)
    assert intr(m) == 0x50
    # PPR (10.8.3.1): TPR when its class >= the ISR class, else the ISR class
    assert ack(m) == 0x50
    w(m, 0x80, 0x35)
    assert r(m, 0xA0) == 0x50
    w(m, 0x80, 0x57)
    assert r(m, 0xA0) == 0x57


def test_illegal_vectors(m):
    enable(m)
    w(m, 0x280, 0)
    ipi(m, 0x05)
    assert intr(m) is None
    w(m, 0x280, 0)
    assert r(m, 0x280) == 0x60                       # send and receive illegal vector


def test_software_disable_masks_the_lvt(m):
    enable(m)
    w(m, 0x350, 0x700)                               # LINT0 ExtINT, unmasked
    assert r(m, 0x350) == 0x700
    enable(m, 0x0FF)                                 # software disabled
    assert all(r(m, off) & 0x10000 for off in range(0x320, 0x380, 0x10))
    w(m, 0x350, 0x700)
    assert r(m, 0x350) == 0x10700                    # the mask cannot be cleared
    ipi(m, 0x40)
    assert intr(m) is None                           # no fixed interrupts accepted
    enable(m)
    w(m, 0x350, 0x700)
    assert r(m, 0x350) == 0x700


def test_cpu_reset_resets_its_apic(m):
    """A CPU reset alone (a PC's shutdown, the 8042's reset line) resets the APIC
    in it, keeping the APIC ID (SDM 10.4.7.3), so a rebooted BIOS gets the 8259
    through LINT0 again."""
    init_pic(m)
    enable(m)
    w(m, 0x20, 0x03000000)
    ipi(m, 0x40)
    m.devices["pic"].set_input(1, True)              # LINT0 masked: the 8259 waits
    assert ack(m) == 0x40
    m.cpu_shutdown(m.cpu)
    assert r(m, 0xF0) == 0xFF and not bit(m, 0x100, 0x40) and r(m, 0x20) == 0x03000000
    assert ack(m) == 0x09                            # the waiting 8259 request gets through


# ---- timer (SDM 10.5.4) -----------------------------------------------------------------
def test_timer_one_shot_counts_at_the_divided_bus_clock(m):
    enable(m)
    w(m, 0x3E0, 0x0B)                                # divide by 1: 1 MHz
    w(m, 0x320, 0x30)                                # vector 30h, one-shot
    w(m, 0x380, 1000)
    t0 = m.scheduler.now()
    assert r(m, 0x380) == 1000
    run_to(m, t0 + 250 * US)
    assert abs(r(m, 0x390) - 750) <= 1
    run_to(m, t0 + 999 * US)
    assert not bit(m, 0x200, 0x30)
    run_to(m, t0 + 1001 * US)
    assert r(m, 0x390) == 0 and intr(m) == 0x30
    ack(m)
    w(m, 0xB0, 0)
    run_to(m, t0 + 10000 * US)                       # stops at 0: raised once
    assert r(m, 0x390) == 0 and intr(m) is None and not bit(m, 0x200, 0x30)


def test_timer_periodic_reloads(m):
    enable(m)
    w(m, 0x3E0, 0x01)                                # divide by 4
    w(m, 0x320, 0x20031)                             # periodic, vector 31h
    w(m, 0x380, 500)                                 # 500 x 4 us = 2 ms
    t0 = m.scheduler.now()
    run_to(m, t0 + 3000 * US)
    assert abs(r(m, 0x390) - 250) <= 1               # half way through the second period
    assert ack(m) == 0x31                            # the first expiry, at 2 ms
    w(m, 0xB0, 0)
    fired = []
    t = t0 + 3000 * US
    while t < t0 + 10500 * US:
        t += 100 * US
        run_to(m, t)
        if intr(m) == 0x31:
            fired.append((t - t0) / US)
            ack(m)
            w(m, 0xB0, 0)
    assert len(fired) == 4                           # every 2 ms, seen within 100 us
    assert all(-0.5 <= f - want < 100.5 for f, want in zip(fired, (4000, 6000, 8000, 10000)))
    w(m, 0x380, 0)                                   # initial count 0 stops it
    run_to(m, t0 + 20000 * US)
    assert r(m, 0x390) == 0 and intr(m) is None


@pytest.mark.parametrize("conf,divisor", [(0x0, 2), (0x1, 4), (0x2, 8), (0x3, 16), (0x8, 32),
                                          (0x9, 64), (0xA, 128), (0xB, 1)])
def test_timer_divide_configuration(m, conf, divisor):
    w(m, 0x3E0, conf)
    w(m, 0x380, 0xFFFFFFFF)
    t0 = m.scheduler.now()
    run_to(m, t0 + 1280 * US)
    assert abs((0xFFFFFFFF - r(m, 0x390)) - 1280 // divisor) <= 1


def test_masked_timer_counts_without_interrupting(m):
    enable(m)
    w(m, 0x3E0, 0x0B)
    w(m, 0x320, 0x10032)                             # masked
    w(m, 0x380, 100)
    t0 = m.scheduler.now()
    run_to(m, t0 + 50 * US)
    assert abs(r(m, 0x390) - 50) <= 1
    run_to(m, t0 + 200 * US)
    assert r(m, 0x390) == 0 and intr(m) is None and not bit(m, 0x200, 0x32)


# ---- LINT0 / LINT1 ---------------------------------------------------------------------------
def init_pic(m):
    io = m.spaces["maincpu"]
    for port, base, icw3 in ((0x20, 0x08, 0x04), (0xA0, 0x70, 0x02)):
        for i, v in enumerate((0x11, base, icw3, 0x01)):
            io.io_write(port + (i > 0), v, 1)
    io.io_write(0x21, 0x00, 1)


def test_8259_reaches_the_cpu_through_lint0(m):
    init_pic(m)
    pic = m.devices["pic"]
    pic.set_input(1, True)                           # after reset: virtual wire
    assert ack(m) == 0x09
    assert pic.master.isr == 0x02                    # the INTA went to the 8259
    m.spaces["maincpu"].io_write(0x20, 0x20, 1)
    enable(m)                                        # software enabled, LINT0 masked
    pic.set_input(3, True)
    assert intr(m) is None
    w(m, 0x350, 0x700)                               # LINT0: ExtINT
    assert ack(m) == 0x0B
    ipi(m, 0x80)
    assert ack(m) == 0x80                            # an APIC vector beside the 8259's


def test_lint1_nmi(m):
    m.devices["pic"]                                 # LINT1 is input 1 of the APIC
    la = m.devices["lapic"]
    la.set_input(1, True)
    assert m.cpu.state[abi.S_NMI] == 1               # virtual wire: LINT1 is NMI
    m.cpu.state[abi.S_NMI] = 0
    la.set_input(1, False)
    enable(m)
    la.set_input(1, True)
    assert m.cpu.state[abi.S_NMI] == 0               # masked after the enable
    la.set_input(1, False)
    w(m, 0x360, 0x400)
    la.set_input(1, True)
    assert m.cpu.state[abi.S_NMI] == 1


# ---- I/O APIC (82093AA) ------------------------------------------------------------------------
def iow(m, reg, v):
    sp = m.spaces["maincpu"]
    sp.mmio_write(IO, reg, 4)
    sp.mmio_write(IO + 0x10, v, 4)


def ior(m, reg):
    sp = m.spaces["maincpu"]
    sp.mmio_write(IO, reg, 4)
    return sp.mmio_read(IO + 0x10, 4)


def test_ioapic_reset_and_registers(m):
    assert ior(m, 0x01) == 0x00170011                # version 11h, 24 entries
    assert ior(m, 0x00) == 0 and ior(m, 0x02) == 0
    for n in range(24):
        assert ior(m, 0x10 + 2 * n) == 0x00010000 and ior(m, 0x11 + 2 * n) == 0
    iow(m, 0x00, 0x0F000000)
    assert ior(m, 0x00) == 0x0F000000 and ior(m, 0x02) == 0x0F000000
    iow(m, 0x01, 0)
    assert ior(m, 0x01) == 0x00170011
    iow(m, 0x12, 0xFFFFFFFF)
    assert ior(m, 0x12) == 0x0001AFFF                # delivery status, Remote IRR read-only
    iow(m, 0x13, 0xFFFFFFFF)
    assert ior(m, 0x13) == 0xFF000000
    assert m.spaces["maincpu"].mmio_read(IO, 4) == 0x13   # IOREGSEL reads back


def test_ioapic_edge_pins(m):
    enable(m)
    io = m.devices["ioapic"]
    iow(m, 0x14, 0x10031)                            # pin 2: vector 31h, masked
    io.set_input(2, True)
    io.set_input(2, False)
    iow(m, 0x14, 0x00031)                            # unmasked: the masked edge was lost
    assert intr(m) is None
    io.set_input(2, True)
    assert ack(m) == 0x31 and not bit(m, 0x180, 0x31)   # TMR 0: edge
    io.set_input(2, True)                            # no new edge while high
    w(m, 0xB0, 0)
    assert intr(m) is None
    io.set_input(2, False)
    io.set_input(2, True)
    assert ack(m) == 0x31


def test_ioapic_level_pin_remote_irr(m):
    enable(m)
    io = m.devices["ioapic"]
    iow(m, 0x10 + 2 * 9, 0x8041)                     # pin 9: level, active high, vector 41h
    io.set_input(9, True)
    assert ior(m, 0x10 + 2 * 9) & 0x4000             # Remote IRR
    assert ack(m) == 0x41 and bit(m, 0x180, 0x41)    # TMR 1: level
    w(m, 0xB0, 0)                                    # EOI, pin still active: again
    assert ack(m) == 0x41
    io.set_input(9, False)
    w(m, 0xB0, 0)
    assert not ior(m, 0x10 + 2 * 9) & 0x4000 and intr(m) is None
    # active low: an idle (low) line is active
    iow(m, 0x10 + 2 * 10, 0xA042)
    assert ack(m) == 0x42
    io.set_input(10, True)
    w(m, 0xB0, 0)
    assert intr(m) is None and not ior(m, 0x10 + 2 * 10) & 0x4000


def test_ioapic_destinations(m):
    enable(m)
    io = m.devices["ioapic"]
    iow(m, 0x11 + 2 * 5, 0x01000000)                 # physical APIC ID 1: not us
    iow(m, 0x10 + 2 * 5, 0x0051)
    io.set_input(5, True)
    assert intr(m) is None
    io.set_input(5, False)
    w(m, 0xD0, 0x02000000)                           # logical ID bit 1, flat model
    iow(m, 0x11 + 2 * 5, 0x02000000)
    iow(m, 0x10 + 2 * 5, 0x0851)                     # logical destination 02h
    io.set_input(5, True)
    assert ack(m) == 0x51
    w(m, 0xB0, 0)
    iow(m, 0x10 + 2 * 6, 0x0452)                     # NMI delivery
    io.set_input(6, True)
    assert m.cpu.state[abi.S_NMI] == 1


# ---- the pc machine ------------------------------------------------------------------------------
def test_pc_wiring():
    pytest.importorskip("cores.x86")
    pc = Machine.load("pc")
    sp = pc.spaces["maincpu"]
    assert sp.mmio_read(0xFEE00030, 4) == 0x00050014
    assert sp.mmio_read(0xFEE000F0, 4) == 0xFF
    assert pc.memory[0xFEE00032] == 0x05             # byte reads see the same register
    sp.mmio_write(0xFEC00000, 0x01, 4)
    assert sp.mmio_read(0xFEC00010, 4) == 0x00170011
    io = pc.devices["ioapic"]
    pc.devices["pic"].set_input(0, True)             # ISA IRQ0 -> pin 2
    pc.devices["pic"].set_input(1, True)             # IRQ1 -> pin 1
    assert io.pins == 0b110
    # the PIT's IRQ0 reaches the CPU through the 8259 and LINT0 (virtual wire)
    assert pc.run_until(lambda mm: (mm.memory[0x46C] | mm.memory[0x46D] << 8) > 3, 5)


def test_guest_drives_the_apics_through_the_cpu():
    """roms_test/x86/apictest.img on the x86 core: the guest reads the version,
    takes a self-IPI through the IVT and EOIs it, is held back by the TPR, counts
    ten periodic timer interrupts (25 MHz bus / 16 / 15625 = 100 Hz), one one-shot
    expiry, and three PIT interrupts routed by the I/O APIC (ISA IRQ0 on pin 2)."""
    pytest.importorskip("cores.x86")
    from tests.conftest import ROOT
    pc = Machine.load("pc", [ROOT / "roms_test" / "x86" / "apictest.img"])
    dbg = pc.devices["debug"]
    # timed by the guest's own writes of the timer's initial count: 15625 arms it,
    # 0 after the tenth interrupt stops it (the debug-port text is posted, so it
    # arrives up to a frame late)
    lap = pc.devices["lapic"]
    writes = []
    real = lap.mem_write

    def spy(addr, v, size):
        if addr & 0xFFF == 0x380:
            writes.append((v, pc.scheduler.now()))
        return real(addr, v, size)
    lap.mem_write = spy
    assert pc.run_until(lambda mm: "TIMER 0A" in dbg.text, 10), dbg.text
    (v0, t0), (v1, t1) = writes[:2]
    assert (v0, v1) == (15625, 0)
    assert abs(t1 - t0 - 0.100) < 0.002              # ten periods of 10 ms
    assert pc.run_until(lambda mm: "APICTEST DONE" in dbg.text, 10), dbg.text
    out = dbg.text[dbg.text.index("VER"):].splitlines()
    assert out == ["VER 00050014", "IPI 01", "TPR 01 02", "TIMER START", "TIMER 0A",
                   "ONESHOT 01", "IOAPIC 03", "APICTEST DONE"]


def test_cpuid_reports_the_pc_local_apic():
    """CPUID.1 EDX bit 9 (APIC on chip, SDM vol. 2 table 3-11) is what a kernel checks
    before it looks for the local APIC: set on the pc (params apic: true), clear on a
    P6 without one (the cputest machine)."""
    pytest.importorskip("cores.x86")
    from emu import abi
    code = bytes.fromhex("66 B8 01 00 00 00 0F A2 F4")   # mov eax,1; cpuid; hlt
    seen = {}
    for name in ("pc", "cputest"):
        m = Machine.load(name)
        m.memory[0x7C00:0x7C00 + len(code)] = code
        m.cpu.set_registers(cs=0, ip=0x7C00)
        assert m.cpu.execute(m.spaces[m.cpu.name].mem, 100) == abi.EXIT_HLT
        r = m.cpu.get_registers()
        assert (r["eax"] >> 8) & 0xF == 6                  # family 6
        seen[name] = bool(r["edx"] & 0x200)
    assert seen == {"pc": True, "cputest": False}
