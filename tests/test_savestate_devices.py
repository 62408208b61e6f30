"""Every device type's save state is complete: drive a device into the middle
of an operation, save, drive a second machine somewhere else ("disturb"), load,
then require every attribute of the device to equal the saved one and the
behaviour that follows (port reads, interrupts, sound, disks, screen) to equal
what the original machine does when it simply continues.

Attributes are compared generically (``vars(device)``), so a field a device
forgets to save fails here even if no probe happens to read it."""
from collections import deque

import numpy as np
import pytest

from emu import abi
from emu.device import available_devices
from emu.machine import IrqLine, Machine
from emu.scheduler import Timer

BOARD = """
name: stateboard
cpus: {maincpu: {core: z80, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
ports:
  maincpu:
    - {start: 0x20, end: 0x21, device: pic}
    - {start: 0xA0, end: 0xA1, device: pic}
    - {start: 0x40, end: 0x43, device: pit}
    - {start: 0x61, device: pit}
    - {start: 0x60, device: kbc}
    - {start: 0x64, device: kbc}
    - {start: 0x70, end: 0x71, device: rtc}
    - {start: 0x10, end: 0x19, device: disk}
    - {start: 0x00, end: 0x01, device: console}
    - {start: 0x08, device: tick}
    - {start: 0xE9, device: debug}
    - {start: 0x3C0, end: 0x3DA, device: vga}
    - {start: 0x610, device: vga}
    - {start: 0x30, device: diag}
    - {start: 0xB000, end: 0xB00B, device: pm}
    - {start: 0x3F8, end: 0x3FF, device: com1}
    - {start: 0x92, device: sysctl}
    - {start: 0x1F0, end: 0x1F7, device: ide0}
    - {start: 0x3F6, device: ide0}
    - {start: 0xCF8, end: 0xCFF, device: pci}
devices:
  pic: {type: pic8259, irq: maincpu}
  pit: {type: pit8254, irq: pic.0}
  kbc: {type: kbc8042, irq: pic.1}
  rtc: {type: cmos_rtc, time: "2024-02-29T23:59:58", irq: pic.8}
  disk: {type: block, base: 0x10, drives: 2, sector_size: 128}
  console: {type: serial_console, base: 0x00}
  tick: {type: timer, hz: 50}
  debug: {type: debug_port}
  vga: {type: vga}
  diag: {type: cpm_diag}
  lapic: {type: lapic, clock: 1000000, base: 0xE000}
  ioapic: {type: ioapic, lapic: lapic, base: 0xD000}
  pm: {type: acpi_pm, base: 0xB000}
  com1: {type: uart16550, base: 0x3F8, irq: pic.4}
  sysctl: {type: port92}
  ide0: {type: ata, base: 0x1F0, ctrl: 0x3F6, irq: pic.14}
  pci: {type: pci, functions: {"00.0": {vendor: 0x8086, device: 0x1237, class: 0x060000},
                               "01.1": {vendor: 0x8086, device: 0x7010, class: 0x010180}}}
screen: {width: 640, height: 400, refresh: 60, device: vga}
media:
  a: {kind: floppy, device: disk, drive: 0}
  b: {kind: floppy, device: disk, drive: 1}
  hdd: {kind: harddisk, device: ide0, drive: 0}
"""


def board(tmp_path, tag="a"):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    disks = {}
    for slot, fill, size in (("a", 0x11, 128 * 300), ("b", 0x22, 128 * 300),
                             ("hdd", 0x33, 512 * 1008)):
        img = tmp_path / f"{tag}-{slot}.img"
        if not img.exists():
            img.write_bytes(bytes([fill]) * size)
        disks[slot] = img
    m = Machine.load(str(f), disks)
    m.memory[0:2] = b"\x76\x18"                # HALT (interrupts stay disabled from reset)
    return m


def out(m, port, v):
    m.spaces["maincpu"].io_write(port, v, 1)


def inp(m, port):
    return m.spaces["maincpu"].io_read(port, 1)


def norm(v, depth=0):
    """A comparable picture of a device attribute."""
    if isinstance(v, (Machine, IrqLine)) or depth > 4:
        return type(v).__name__                # wiring, not state (the CPU pin is in its state)
    if isinstance(v, Timer):
        return ("timer", v.deadline, v.period)
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, (list, tuple, deque)):
        return [norm(x, depth + 1) for x in v]
    if isinstance(v, dict):
        return {k: norm(x, depth + 1) for k, x in v.items()}
    if hasattr(v, "__dict__") and type(v).__module__.startswith("emu.devices"):
        d = {k: norm(x, depth + 1) for k, x in vars(v).items()}
        d.pop("path", None)                    # a drive's file name: each machine has its own
        return d
    if type(v).__module__.startswith(("emu.bus", "emu.chardev")):   # wiring; host ends
        return type(v).__name__
    return v


def fields(dev):
    return {k: norm(v) for k, v in vars(dev).items() if k != "machine"}


def cpu_irq(m):
    s = m.cpu.state
    return bool(s[abi.S_IRQ] & 1), int(s[abi.S_IRQ_VECTOR])


def init_pics(m, base=0x08):
    for port, b, icw3 in ((0x20, base, 0x04), (0xA0, 0x70, 0x02)):
        out(m, port, 0x11)
        out(m, port + 1, b)
        out(m, port + 1, icw3)
        out(m, port + 1, 0x01)


# ---- per device: work (variant 0 is saved, 1 disturbs) and probe -------------------
def pic_work(m, v):
    init_pics(m, 0x08 if v == 0 else 0x50)
    pic = m.devices["pic"]
    out(m, 0x21, 0x00 if v == 0 else 0x0F)
    pic.set_input(3, True)
    pic.set_input(1, True)
    pic.irq_ack()                              # IRQ1 in service, IRQ3 waiting
    out(m, 0x20, 0x0B)                         # OCW3: reads return the ISR
    out(m, 0xA0, 0x11)                         # slave half way through its ICWs
    out(m, 0xA1, 0x68)


def pic_probe(m):
    pic = m.devices["pic"]
    seen = [inp(m, 0x20), inp(m, 0x21), inp(m, 0xA1), cpu_irq(m)]
    out(m, 0xA1, 0x02)                         # ICW3, ICW4 of the slave
    out(m, 0xA1, 0x01)
    pic.set_input(9, True)
    out(m, 0x20, 0x20)                         # EOI: IRQ1 done
    seen += [cpu_irq(m), inp(m, 0x20)]
    pic.irq_ack()
    seen += [inp(m, 0x20), cpu_irq(m)]
    return seen


def pit_work(m, v):
    out(m, 0x43, 0x34)                         # ch0 mode 2
    out(m, 0x40, 0x00)
    out(m, 0x40, 0x40 if v == 0 else 0x20)
    out(m, 0x43, 0xB6)                         # ch2 mode 3, lobyte/hibyte: a 1 kHz tone
    out(m, 0x42, 0xA9)
    out(m, 0x42, 0x04)
    out(m, 0x61, 0x03)                         # gate 2 and the speaker on
    m.step_frame(3 + v)
    out(m, 0x43, 0x50)                         # ch1 lobyte only, mode 0
    out(m, 0x41, 0x80)
    out(m, 0x43, 0x40)                         # latch ch1
    for _ in range(1 + v):
        inp(m, 0x61)                           # the refresh toggle moves on each read
    out(m, 0x43, 0xB6)
    out(m, 0x42, 0x50)                         # ch2: LSB written, MSB pending


def pit_probe(m):
    seen = [inp(m, 0x61) & 0x1F for _ in range(3)]
    seen.append(inp(m, 0x41))                  # the latched ch1 count
    out(m, 0x42, 0x05)                         # ch2 MSB: divisor 0x0550
    out(m, 0x43, 0x00)
    seen += [inp(m, 0x40), inp(m, 0x40)]
    irqs = []
    m.devices["pic"].set_input = lambda line, level: irqs.append((line, level, m.scheduler.now()))
    m.step_frame(2)
    n = int(m.audio.sample_rate * m.frame_period)
    seen.append(m.audio.recent()[-2 * n:].tobytes())
    return seen + [irqs]


def kbc_work(m, v):
    kbc = m.devices["kbc"]
    init_pics(m)
    out(m, 0x21, 0x00)
    kbc.key_event("a", True)
    kbc.key_event("up", True)                  # E0 48: two bytes queued behind 1E
    out(m, 0x64, 0xAD)                         # keyboard disabled: its codes are held
    kbc.key_event("b" if v == 0 else "c", True)
    out(m, 0x60, 0xED)                         # LED command waits for its data byte
    out(m, 0x64, 0xD1 if v == 0 else 0x60)     # controller command waits for data
    kbc.type_text("Hi" if v == 0 else "x")
    m.step_frame(2)                            # typing under way


def kbc_probe(m):
    seen = [inp(m, 0x64)]
    out(m, 0x60, 0x03)                         # data of the pending D1h (output port)
    out(m, 0x64, 0xD0)
    out(m, 0x64, 0xAE)                         # enabled: the held codes follow
    out(m, 0x64, 0x20)
    while inp(m, 0x64) & 1:
        seen.append(inp(m, 0x60))
    m.step_frame(20)
    while inp(m, 0x64) & 1:
        seen.append(inp(m, 0x60))
    return seen + [cpu_irq(m)]


def rtc_work(m, v):
    out(m, 0x70, 0x0E)
    out(m, 0x71, 0x5A if v == 0 else 0x33)
    out(m, 0x70, 0x20)
    out(m, 0x71, 0x77)
    out(m, 0x70, 0x0A)                         # periodic 4 Hz or 1024 Hz
    out(m, 0x71, 0x2E if v == 0 else 0x26)
    out(m, 0x70, 0x0B)                         # PIE and UIE, or binary 12-hour
    out(m, 0x71, 0x52 if v == 0 else 0x04)
    out(m, 0x70, 0x01)                         # seconds alarm
    out(m, 0x71, 0x02 if v == 0 else 0xC0)
    m.step_frame(60 if v == 0 else 150)
    out(m, 0x70, 0x00 if v == 0 else 0x04)


def rtc_probe(m):
    irqs = []
    real = m.devices["pic"].set_input
    m.devices["pic"].set_input = lambda line, level: (irqs.append((line, level, m.scheduler.now())),
                                                      real(line, level))
    seen = [inp(m, 0x71)]
    for reg in (0x0E, 0x20, 0x00, 0x02, 0x04, 0x07, 0x08, 0x0A, 0x0C, 0x0C):
        out(m, 0x70, reg)
        seen.append(inp(m, 0x71))
    m.step_frame(120)
    for reg in (0x00, 0x0C):
        out(m, 0x70, reg)
        seen.append(inp(m, 0x71))
    return seen + [irqs]


def vga_work(m, v):
    vga = m.devices["vga"]
    out(m, 0x610, 0x13 if v == 0 else 0x03)
    vga.planes[v][:64000] = np.arange(64000) * (3 + v) // 7
    vga.mem_read(0xA0004 + v, 1)               # the latches
    out(m, 0x3CE, 0x08)
    out(m, 0x3CF, 0x0F + v)                    # GC bit mask
    out(m, 0x3C4, 0x02)
    out(m, 0x3C5, 0x05 + v)                    # sequencer map mask
    out(m, 0x3C8, 7)
    for c in (10, 20, 30, 40):                 # entry 7 and a third of entry 8
        out(m, 0x3C9, c + v)
    out(m, 0x3C7, 7)
    inp(m, 0x3C9)                              # read index half way through entry 7
    out(m, 0x3D4, 0x0E)
    out(m, 0x3D5, 0x01 + v)
    out(m, 0x3C0, 0x20)                        # attribute flip-flop on the data side, display on
    m.step_frame(1)
    assert vga.mode == (0x13 if v == 0 else 0x03)


def vga_probe(m):
    seen = [inp(m, 0x3C9), inp(m, 0x3C9), inp(m, 0x3D5), inp(m, 0x610)]
    out(m, 0x3C9, 50)
    out(m, 0x3C9, 60)                          # completes entry 8
    m.step_frame(1)
    return seen + [m.screen.framebuffer.tobytes()]


def disk_work(m, v):
    m.memory[0x2000:0x2100] = bytes([0xA0 + v]) * 256
    for r, val in ((1, 0), (2, 5 + v), (3, 0), (4, 0), (5, 0), (6, 0x00), (7, 0x20), (8, 0), (9, 2)):
        out(m, 0x10 + r, val)
    out(m, 0x10, 2)                            # write sectors 5-6 of the snapshot disk A:
    out(m, 0x11, 1)
    out(m, 0x10, 2)                            # and of the disk B:, written back at stop
    out(m, 0x12, 9)                            # registers part way through the next set-up
    out(m, 0x17, 0x30)


def disk_probe(m):
    seen = [inp(m, 0x10)] + [inp(m, 0x10 + r) for r in range(1, 10)]
    for drive in (0, 1):
        for r, val in ((1, drive), (2, 4), (7, 0x40), (9, 4)):
            out(m, 0x10 + r, val)
        out(m, 0x10, 1)                        # read sectors 4-7 back
        seen += [inp(m, 0x10), m.memory[0x4000:0x4200]]
    disk = m.devices["disk"]
    seen += [bytes(u.data) for u in disk.units]
    m.shutdown()                               # B: goes to its file: the state's contents
    return seen + [disk.units[1].path.read_bytes()]


def console_work(m, v):
    con = m.devices["console"]
    con.feed("abc" if v == 0 else "xy")
    inp(m, 0x01)                               # the guest took one character
    for ch in b"ok":
        out(m, 0x01, ch + v)


def console_probe(m):
    seen = [inp(m, 0x00), inp(m, 0x01), inp(m, 0x01), inp(m, 0x00)]
    out(m, 0x01, ord("!"))
    return seen + [m.devices["console"].text]


def timer_work(m, v):
    m.step_frame(7)
    out(m, 0x08, 1 + v)                        # rate 50 / (divider + 1)
    m.step_frame(3)


def timer_probe(m):
    tick = m.devices["tick"]
    seen = [inp(m, 0x08)]
    for _ in range(5):
        m.step_frame(1)
        seen.append((tick.ticks, tick.timer.deadline))
    return seen


def debug_work(m, v):
    for ch in b"DBG" if v == 0 else b"other":
        out(m, 0xE9, ch)


def debug_probe(m):
    out(m, 0xE9, ord("!"))
    return [m.devices["debug"].text, inp(m, 0xE9)]


def diag_work(m, v):
    out(m, 0x30, 99 if v == 0 else 41)


def diag_probe(m):
    out(m, 0x30, 7)
    return [m.devices["diag"].unknown_calls]


def la_w(m, off, v):
    m.devices["lapic"].mem_write(0xE000 + off, v, 4)


def la_r(m, off):
    return m.devices["lapic"].mem_read(0xE000 + off, 4)


def lapic_work(m, v):
    la_w(m, 0xF0, 0x1FF)                       # software enabled
    la_w(m, 0x80, 0x20 + v)                    # TPR
    la_w(m, 0x300, 0x40000 | (0x61 if v == 0 else 0x45))   # self-IPIs
    la_w(m, 0x300, 0x40050)
    m.devices["lapic"].irq_ack()               # one in service, one waiting
    la_w(m, 0x3E0, 0x01 if v == 0 else 0x0B)
    la_w(m, 0x320, 0x20033)                    # periodic timer
    la_w(m, 0x380, 3000 + v)
    la_w(m, 0x370, 0xFE)
    la_r(m, 0x3A0)                             # an illegal register: an error logged
    m.step_frame(1 + v)


def lapic_probe(m):
    seen = [la_r(m, off) for off in (0x80, 0xA0, 0x100 + 0x10 * 3, 0x200 + 0x10 * 2, 0x390)]
    la_w(m, 0x280, 0)
    seen.append(la_r(m, 0x280))
    la_w(m, 0xB0, 0)
    m.step_frame(3)
    return seen + [la_r(m, 0x390), [la_r(m, 0x200 + 0x10 * i) for i in range(8)]]


def io_w(m, reg, v):
    io = m.devices["ioapic"]
    io.mem_write(0xD000, reg, 4)
    io.mem_write(0xD010, v, 4)


def ioapic_work(m, v):
    la_w(m, 0xF0, 0x1FF)
    io_w(m, 0x00, 0x05000000 if v == 0 else 0x0A000000)
    io_w(m, 0x10 + 2 * 9, 0x8041 if v == 0 else 0x8042)    # level pin 9
    io_w(m, 0x10 + 2 * 3, 0x0043)
    m.devices["ioapic"].set_input(9, True)     # Remote IRR set
    m.devices["ioapic"].mem_write(0xD000, 0x12 + v, 4)     # IOREGSEL left pointing somewhere


def ioapic_probe(m):
    io = m.devices["ioapic"]
    seen = [io.mem_read(0xD010, 4)]
    m.devices["lapic"].irq_ack()
    la_w(m, 0xB0, 0)                           # EOI: the still-active level pin again
    seen.append([(io.mem_write(0xD000, r, 4), io.mem_read(0xD010, 4))[1] for r in (0, 0x22, 0x16)])
    io.set_input(3, True)
    return seen + [[la_r(m, 0x200 + 0x10 * i) for i in range(8)]]


def pm_work(m, v):
    m.step_frame(150 if v == 0 else 10)        # past bit 23 of the PM timer (2.34 s)
    out(m, 0xB002, 0x01 if v == 0 else 0x20)   # PM1_EN
    out(m, 0xB005, 0x0C if v == 0 else 0x04)   # PM1_CNT: SLP_TYP 3 / 1


def pm_probe(m):
    seen = [inp(m, 0xB000), inp(m, 0xB002), inp(m, 0xB004), inp(m, 0xB005), inp(m, 0xB008)]
    out(m, 0xB000, 0x01)
    m.step_frame(200)
    return seen + [inp(m, 0xB000), inp(m, 0xB00A)]
def uart_work(m, v):
    init_pics(m)
    out(m, 0x21, 0x00)
    out(m, 0x3FB, 0x80)                        # divisor 12 (9600) or 3 (38400)
    out(m, 0x3F8, 12 if v == 0 else 3)
    out(m, 0x3F9, 0)
    out(m, 0x3FB, 0x03 if v == 0 else 0x1B)
    out(m, 0x3FA, 0x47 if v == 0 else 0x00)    # FIFOs, trigger level 4
    out(m, 0x3FC, 0x1B if v == 0 else 0x08)    # loopback (DTR RTS OUT2) or OUT2 only
    out(m, 0x3F9, 0x0F if v == 0 else 0x02)
    out(m, 0x3FF, 0x5A + v)
    for ch in b"hello" if v == 0 else b"xy":   # one shifting, the rest in the TX FIFO
        out(m, 0x3F8, ch)
    m.scheduler.run_until(m.scheduler.time + (2.5 if v == 0 else 1.2) * 10 / 9600)
    inp(m, 0x3FE)


def uart_probe(m):
    com = m.devices["com1"]
    start = len(com.backend.output)
    irqs = []
    real = m.devices["pic"].set_input
    m.devices["pic"].set_input = lambda line, level: (irqs.append((line, level, m.scheduler.now())),
                                                      real(line, level))
    seen = [inp(m, 0x3F8 + r) for r in (2, 5, 6, 7, 4, 3)]
    seen += [inp(m, 0x3F8), inp(m, 0x3FA)]
    m.scheduler.run_until(m.scheduler.time + 8 * 10 / 9600)
    seen += [inp(m, 0x3F8 + r) for r in (2, 5, 0, 0, 0, 0, 2, 5)]
    out(m, 0x3FC, 0x08)                        # out of loopback: the line again
    out(m, 0x3F8, ord("!"))
    m.step_frame(1)
    return seen + [irqs, bytes(com.backend.output[start:])]


def port92_work(m, v):
    out(m, 0x92, 0xC2 if v == 0 else 0x08)     # A20 on and the disk lights, or the lock bit


def port92_probe(m):
    seen = [inp(m, 0x92), m.a20_gates.get("sysctl")]
    out(m, 0x92, 0x00)
    return seen + [inp(m, 0x92)]
def ata_work(m, v):
    out(m, 0x3F6, 0x02 * v)                    # nIEN in the disturbed machine
    out(m, 0x1F2, 2)
    out(m, 0x1F3, 3 + v)
    out(m, 0x1F4, 0)
    out(m, 0x1F5, 0)
    out(m, 0x1F6, 0xE0)
    out(m, 0x1F7, 0x30)                        # WRITE SECTORS 2 at LBA 3 (+v)
    io = m.spaces["maincpu"]
    for i in range(256 + 100 + 7 * v):         # one sector and part of the next
        io.io_write(0x1F0, (i * 3 + v) & 0xFFFF, 2)


def ata_probe(m):
    io = m.spaces["maincpu"]
    ide = m.devices["ide0"]
    seen = [ide.line.level, inp(m, 0x3F6), inp(m, 0x1F7), ide.line.level]
    while inp(m, 0x3F6) & 0x08:
        io.io_write(0x1F0, 0xBEEF, 2)
    seen += [inp(m, 0x1F7), ide.line.level] + [inp(m, 0x1F0 + r) for r in range(1, 7)]
    out(m, 0x1F2, 3)
    out(m, 0x1F3, 2)
    out(m, 0x1F6, 0xE0)
    out(m, 0x1F7, 0x20)
    seen.append(b"".join(io.io_read(0x1F0, 2).to_bytes(2, "little") for _ in range(768)))
    m.shutdown()                               # the image goes to its file
    return seen + [ide.disks[0].image.path.read_bytes()]


def pci_work(m, v):
    io = m.spaces["maincpu"]
    io.io_write(0xCF8, 0x80000800 | 0x3C, 4)   # 00:01.0 absent; then the IDE's line
    io.io_write(0xCF8, 0x80000900 | 0x3C, 4)
    io.io_write(0xCFC, 10 + v, 1)
    io.io_write(0xCF8, 0x80000000 | 0x0C, 4)
    io.io_write(0xCFD, 0x40 + v, 1)            # host bridge latency timer
    io.io_write(0xCF8, 0x80000900 | (0x08 if v == 0 else 0x00), 4)


def pci_probe(m):
    io = m.spaces["maincpu"]
    seen = [io.io_read(0xCF8, 4), io.io_read(0xCFC, 4)]
    for a in (0x80000900 | 0x3C, 0x8000000C):
        io.io_write(0xCF8, a, 4)
        seen.append(io.io_read(0xCFC, 4))
    return seen


SCENARIOS = {
    "acpi_pm": ("pm", pm_work, pm_probe),
    "lapic": ("lapic", lapic_work, lapic_probe),
    "ioapic": ("ioapic", ioapic_work, ioapic_probe),
    "pic8259": ("pic", pic_work, pic_probe),
    "pit8254": ("pit", pit_work, pit_probe),
    "kbc8042": ("kbc", kbc_work, kbc_probe),
    "cmos_rtc": ("rtc", rtc_work, rtc_probe),
    "vga": ("vga", vga_work, vga_probe),
    "block": ("disk", disk_work, disk_probe),
    "serial_console": ("console", console_work, console_probe),
    "timer": ("tick", timer_work, timer_probe),
    "debug_port": ("debug", debug_work, debug_probe),
    "cpm_diag": ("diag", diag_work, diag_probe),
    "uart16550": ("com1", uart_work, uart_probe),
    "port92": ("sysctl", port92_work, port92_probe),
    "ata": ("ide0", ata_work, ata_probe),
    "pci": ("pci", pci_work, pci_probe),
}


@pytest.mark.parametrize("dtype", sorted(SCENARIOS))
def test_device_state_round_trip(dtype, tmp_path, capsys):
    name, work, probe = SCENARIOS[dtype]
    a = board(tmp_path, "a")
    work(a, 0)
    path = tmp_path / "dev.state"
    a.save_state(path)
    saved = fields(a.devices[name])
    expected = probe(a)                         # the original machine just continues
    b = board(tmp_path, "b")
    work(b, 1)
    assert fields(b.devices[name]) != saved, "the disturbance did not change the device"
    b.load_state(path)
    got = fields(b.devices[name])
    diff = sorted(k for k in saved if got.get(k) != saved[k])
    assert not diff, f"{dtype}: fields not restored: {diff}"
    assert probe(b) == expected
    assert np.array_equal(a.cpu.state, b.cpu.state)
    assert np.array_equal(a.mem.data, b.mem.data)


def test_bank_switch_choice_is_restored(tmp_path):
    """bank_switch keeps no state of its own: the bank's choice is the machine's."""
    a = Machine.load("toy")
    out(a, 0x30, 3)
    a.save_state(tmp_path / "b.state")
    b = Machine.load("toy")
    out(b, 0x30, 1)
    b.load_state(tmp_path / "b.state")
    assert inp(b, 0x30) == 3 and b.memory[0x4000] == ord("D") == a.memory[0x4000]


def test_every_device_type_has_a_state_test():
    # the SMS's devices are covered by the sms machine's round trip (test_savestate_machines)
    types = {t for t in available_devices() if not t.startswith("sms_") and t not in ("sn76489", "sega_vdp")}
    assert types == set(SCENARIOS) | {"bank_switch"}
