"""PC chipset devices checked against their data sheets, driven through the
bus's port dispatch on a toy8-based test board (no x86 core needed)."""
import numpy as np
import pytest

from emu.machine import Machine
from tests.conftest import bios_font, ega_rgb

BOARD = """
name: pcboard
cpus:
  maincpu: {core: toy8, clock: 1MHz}
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
devices:
  pic: {type: pic8259, irq: maincpu}
  pit: {type: pit8254, irq: pic.0}
  kbc: {type: kbc8042, irq: pic.1}
  rtc: {type: cmos_rtc, time: "2024-02-29T23:59:58"}
"""


@pytest.fixture
def board(tmp_path):
    f = tmp_path / "board.yaml"
    f.write_text(BOARD)
    m = Machine.load(str(f))
    # park the CPU in a HLT loop with interrupts disabled
    m.memory[0] = 0x09
    return m


def out(m, port, v):
    m.spaces["maincpu"].io_write(port, v, 1)


def inp(m, port):
    return m.spaces["maincpu"].io_read(port, 1)


def init_pics(m):
    # BIOS-style: ICW1 edge/cascade/ICW4, ICW2 base, ICW3 wiring, ICW4 8086 mode
    for port, base, icw3 in ((0x20, 0x08, 0x04), (0xA0, 0x70, 0x02)):
        out(m, port, 0x11)
        out(m, port + 1, base)
        out(m, port + 1, icw3)
        out(m, port + 1, 0x01)
    out(m, 0x21, 0x00)
    out(m, 0xA1, 0x00)


def cpu_irq(m):
    from emu import abi
    s = m.cpu.state
    return bool(s[abi.S_IRQ] & 1), int(s[abi.S_IRQ_VECTOR])


def test_pic_priority_ack_and_eoi(board):
    init_pics(board)
    pic = board.devices["pic"]
    pic.set_input(3, True)
    pic.set_input(1, True)
    assert cpu_irq(board) == (True, 0x09)          # IRQ1 beats IRQ3
    pic.irq_ack()
    assert inp(board, 0x20) & 0x0A == 0x08          # IRR: IRQ3 still requested
    out(board, 0x20, 0x0B)                          # OCW3: read ISR
    assert inp(board, 0x20) == 0x02
    assert cpu_irq(board)[0] is False               # IRQ3 blocked while IRQ1 in service
    out(board, 0x20, 0x20)                          # non-specific EOI
    assert cpu_irq(board) == (True, 0x0B)


def test_pic_mask_and_slave_cascade(board):
    init_pics(board)
    pic = board.devices["pic"]
    out(board, 0xA1, 0xFF ^ 0x10)                   # only IRQ12 unmasked on the slave
    pic.set_input(9, True)
    assert cpu_irq(board)[0] is False
    pic.set_input(12, True)
    assert cpu_irq(board) == (True, 0x74)
    pic.irq_ack()
    out(board, 0xA0, 0x0B)
    assert inp(board, 0xA0) == 0x10


def test_pit_channel0_rate_drives_irq0(board):
    init_pics(board)
    out(board, 0x21, 0xFE)                          # only IRQ0
    fired = []
    pic = board.devices["pic"]
    real_set = pic.set_input
    pic.set_input = lambda line, level: (fired.append(board.scheduler.now()) if level else None,
                                         real_set(line, level))
    out(board, 0x43, 0x36)                          # ch0, lobyte/hibyte, mode 3
    out(board, 0x40, 0x00)
    out(board, 0x40, 0x00)                          # divisor 65536 -> 18.2065 Hz
    board.step_frame(120)                           # 2 s
    assert len(fired) in (36, 37)
    assert fired[1] - fired[0] == pytest.approx(65536 / 1193182, rel=1e-6)


def test_pit_latch_reads_a_decreasing_count(board):
    out(board, 0x43, 0x34)                          # ch0 mode 2
    out(board, 0x40, 0x00)
    out(board, 0x40, 0x80)                          # 0x8000
    board.step_frame(1)                             # 1/60 s = 19886 ticks
    out(board, 0x43, 0x00)                          # latch
    lo, hi = inp(board, 0x40), inp(board, 0x40)
    count = lo | hi << 8
    expected = (0x8000 - int(board.scheduler.now() * 1193182) % 0x8000)
    assert abs(count - expected) <= 1


def test_kbc_self_test_and_scancodes(board):
    init_pics(board)
    kbc = board.devices["kbc"]
    out(board, 0x64, 0xAA)
    assert inp(board, 0x64) & 1 and inp(board, 0x60) == 0x55
    kbc.key_event("a", True)
    kbc.key_event("a", False)
    kbc.key_event("up", True)
    got = []
    while inp(board, 0x64) & 1:
        got.append(inp(board, 0x60))
    assert got == [0x1E, 0x9E, 0xE0, 0x48]
    out(board, 0x60, 0xFF)                          # keyboard reset: ACK + BAT passed
    assert [inp(board, 0x60), inp(board, 0x60)] == [0xFA, 0xAA]


def test_kbc_raises_irq1(board):
    init_pics(board)
    board.devices["kbc"].key_event("return", True)
    assert cpu_irq(board) == (True, 0x09)


def test_cmos_clock_bcd_and_rollover(board):
    rtc = []
    for reg in (0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32, 0x0B):
        out(board, 0x70, reg)
        rtc.append(inp(board, 0x71))
    assert rtc == [0x58, 0x59, 0x23, 0x29, 0x02, 0x24, 0x20, 0x02]
    board.step_frame(180)                           # 3 s later: 2024-03-01 00:00:01
    vals = []
    for reg in (0x00, 0x04, 0x07, 0x08):
        out(board, 0x70, reg)
        vals.append(inp(board, 0x71))
    assert vals == [0x01, 0x00, 0x01, 0x03]


def test_vga_text_render_matches_font(tmp_path):
    """Power-on registers are mode 03h's (9-dot cells, attribute palette of the BIOS
    table, EGA colours in DAC 0-63): a character and attribute in planes 0/1 and its
    glyph in plane 2 show as the glyph in attribute palette colours."""
    yaml = """
name: vgaboard
cpus: {maincpu: {core: toy8, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
devices: {vga: {type: vga}}
screen: {width: 640, height: 400, refresh: 60, device: vga}
"""
    f = tmp_path / "v.yaml"
    f.write_text(yaml)
    m = Machine.load(str(f))
    m.memory[0] = 0x09                               # HLT
    vga = m.devices["vga"]
    font = bios_font()
    vga.planes[2][ord("A") * 32:ord("A") * 32 + 16] = font[ord("A")]
    # 'A' in yellow (0xE) on blue (0x1) at row 1, column 2: planes 0/1 at 2 * (80 + 2)
    off = (1 * 80 + 2) * 2
    vga.planes[0][off], vga.planes[1][off] = ord("A"), 0x1E
    m.step_frame(1)
    fb = m.screen.framebuffer
    assert fb.shape == (400, 720)                    # 80 columns of 9 dots, 25 rows of 16
    cell = fb[16:32, 18:27]
    fg, bg = ega_rgb(0x3E), ega_rgb(0x01)            # ATC palette 0Eh -> 3Eh, 01h -> 01h
    bits = np.concatenate([(font[ord("A")][:, None] >> (7 - np.arange(8))) & 1,
                           np.zeros((16, 1), dtype=np.uint8)], axis=1)   # 9th dot: background
    assert np.array_equal(cell, np.where(bits, fg, bg))
    assert (fg, bg) == (0xFFFF55, 0x0000AA)
    assert vga.text_lines()[1][2] == "A"


# ---- 8042 controller commands (Intel 8042 / IBM PC/AT Technical Reference) ----------
def test_kbc_command_byte_read_and_write(board):
    init_pics(board)
    kbc = board.devices["kbc"]
    out(board, 0x64, 0x60)                          # write command byte: data follows
    assert inp(board, 0x64) & 0x08                  # status bit 3: last write was a command
    out(board, 0x60, 0x40)                          # translation only: no IRQ1, system flag 0
    assert not inp(board, 0x64) & 0x08              # ... and now data
    assert not inp(board, 0x64) & 0x04              # status bit 2 follows command byte bit 2
    out(board, 0x64, 0x20)                          # read command byte
    assert inp(board, 0x64) & 1 and inp(board, 0x60) == 0x40
    kbc.key_event("a", True)
    assert inp(board, 0x64) & 1 and cpu_irq(board)[0] is False     # bit 0 clear: no IRQ1
    assert inp(board, 0x60) == 0x1E
    out(board, 0x64, 0x60)
    out(board, 0x60, 0x45)
    assert inp(board, 0x64) & 0x04
    kbc.key_event("a", False)
    assert cpu_irq(board) == (True, 0x09)


def test_kbc_disable_and_enable_keyboard(board):
    kbc = board.devices["kbc"]
    out(board, 0x64, 0x60)
    out(board, 0x60, 0x44)
    out(board, 0x64, 0xAD)                          # disable: sets command byte bit 4
    out(board, 0x64, 0x20)
    assert inp(board, 0x60) == 0x54
    kbc.key_event("a", True)                        # the keyboard holds its codes
    kbc.key_event("a", False)
    assert not inp(board, 0x64) & 1
    out(board, 0x64, 0xAE)                          # enable: clears bit 4, codes arrive
    got = []
    while inp(board, 0x64) & 1:
        got.append(inp(board, 0x60))
    assert got == [0x1E, 0x9E]
    out(board, 0x64, 0x20)
    assert inp(board, 0x60) == 0x44


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
devices:
  kbc: {type: kbc8042}
"""
# mov ax,0FFFFh ; mov ds,ax ; mov al,[0010h] ; hlt ; jmp $-1   (FFFF:0010 = linear 100000h)
A20_PROBE = bytes([0xB8, 0xFF, 0xFF, 0x8E, 0xD8, 0xA0, 0x10, 0x00, 0xF4, 0xEB, 0xFD])


@pytest.fixture
def x86board(tmp_path):
    pytest.importorskip("cores.x86")
    f = tmp_path / "a20.yaml"
    f.write_text(X86_BOARD)
    m = Machine.load(str(f))
    m.memory[0x1000:0x1000 + len(A20_PROBE)] = A20_PROBE
    m.memory[0x000000] = 0x11
    m.memory[0x100000] = 0x22
    return m


def read_ffff_0010(m):
    m.cpu.set_registers(cs=0, ip=0x1000, halted=0)
    m.step_frame(1)
    return m.cpu.get_registers()["ax"] & 0xFF


def test_kbc_a20_gate_wraps_at_1mib(x86board):
    m = x86board
    assert read_ffff_0010(m) == 0x22                # reset: A20 on (output port bit 1)
    out(m, 0x64, 0xDD)                              # A20 off: FFFF:0010 wraps to 0
    assert read_ffff_0010(m) == 0x11
    out(m, 0x64, 0xDF)                              # A20 on
    assert read_ffff_0010(m) == 0x22
    out(m, 0x64, 0xD1)                              # write output port: bit 1 clear
    out(m, 0x60, 0x01)
    assert read_ffff_0010(m) == 0x11
    out(m, 0x64, 0xD0)                              # read output port
    assert inp(m, 0x60) == 0x01
    out(m, 0x64, 0xD1)
    out(m, 0x60, 0x03)
    assert read_ffff_0010(m) == 0x22


def test_kbc_fe_pulses_cpu_reset(x86board):
    m = x86board
    m.cpu.set_registers(eax=0x12345678, cs=0, ip=0x1008)   # parked on the HLT
    out(m, 0x64, 0xFE)                              # pulse output port bit 0: CPU reset, now
    r = m.cpu.get_registers()
    assert (r["cs"], r["ip"], r["eax"]) == (0xF000, 0xFFF0, 0)
    assert m.memory[0x100000] == 0x22               # a CPU reset, not a power cycle: RAM kept
