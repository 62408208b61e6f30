"""PCI configuration mechanism #1 (emu/devices/pci.py) against the PCI Local Bus
Specification 2.1 (3.7.4.1, 6.1-6.2) on the pc machine's bus: CONFIG_ADDRESS,
byte/word/dword CONFIG_DATA, master aborts, the header of the 440FX host bridge
and of the PIIX3 IDE function in compatibility mode, what software may write."""
import pytest

from emu.errors import EmuError
from emu.machine import Machine
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def pc():
    return Machine.load("pc")


def out(m, port, v, size=1):
    m.spaces["maincpu"].io_write(port, v, size)


def inp(m, port, size=1):
    return m.spaces["maincpu"].io_read(port, size)


def cfg_addr(bus, dev, fn, reg):
    return 0x80000000 | bus << 16 | dev << 11 | fn << 8 | reg


def cfg_read(m, bus, dev, fn, reg, size=4):
    out(m, 0xCF8, cfg_addr(bus, dev, fn, reg & 0xFC), 4)
    return inp(m, 0xCFC + (reg & 3), size)


def cfg_write(m, bus, dev, fn, reg, value, size=4):
    out(m, 0xCF8, cfg_addr(bus, dev, fn, reg & 0xFC), 4)
    out(m, 0xCFC + (reg & 3), value, size)


def test_config_address_register(pc):
    out(pc, 0xCF8, 0x80000000, 4)
    assert inp(pc, 0xCF8, 4) == 0x80000000             # the type 1 presence check
    out(pc, 0xCF8, 0xFFFFFFFF, 4)
    assert inp(pc, 0xCF8, 4) == 0x80FFFFFC             # reserved 30-24, type bits 1-0 read 0
    out(pc, 0xCF8, 0, 4)
    assert inp(pc, 0xCF8, 4) == 0


def test_disabled_or_absent_reads_all_ones(pc):
    out(pc, 0xCF8, 0x00000000, 4)                      # enable bit clear
    assert inp(pc, 0xCFC, 4) == 0xFFFFFFFF
    assert cfg_read(pc, 0, 2, 0, 0) == 0xFFFFFFFF      # empty slot: master abort
    assert cfg_read(pc, 0, 1, 2, 0) == 0xFFFFFFFF      # absent function
    assert cfg_read(pc, 1, 1, 1, 0) == 0xFFFFFFFF      # no bus 1 behind bus 0
    cfg_write(pc, 0, 2, 0, 0x3C, 0x12345678)           # dropped, nothing to check but no error


def test_host_bridge_header(pc):
    assert cfg_read(pc, 0, 0, 0, 0x00) == 0x12378086   # 82441FX
    assert cfg_read(pc, 0, 0, 0, 0x08) >> 8 == 0x060000  # host bridge
    assert cfg_read(pc, 0, 0, 0, 0x0E, 1) & 0x7F == 0   # type 0 header


def test_ide_function_in_compatibility_mode(pc):
    assert cfg_read(pc, 0, 1, 1, 0x00) == 0x70108086   # PIIX3 IDE
    cls = cfg_read(pc, 0, 1, 1, 0x08)
    assert cls >> 16 == 0x0101                         # mass storage, IDE
    progif = (cls >> 8) & 0xFF
    assert progif & 0x05 == 0                          # both channels in compatibility mode
    assert progif & 0x0A == 0                          # not switchable to native mode
    assert cfg_read(pc, 0, 1, 1, 0x04, 2) & 1          # I/O space decode on
    for bar in range(5):                               # legacy ports: no BARs in use
        assert cfg_read(pc, 0, 1, 1, 0x10 + 4 * bar) == 0
    assert cfg_read(pc, 0, 1, 1, 0x41, 1) & 0x80       # IDETIM: primary decode enabled
    assert cfg_read(pc, 0, 1, 1, 0x43, 1) & 0x80       # secondary
    # function 1 is found because function 0 of device 1 is multifunction
    assert cfg_read(pc, 0, 1, 0, 0x0E, 1) & 0x80


def test_byte_and_word_accesses_reach_their_bytes(pc):
    out(pc, 0xCF8, cfg_addr(0, 1, 1, 0), 4)
    assert inp(pc, 0xCFC, 2) == 0x8086 and inp(pc, 0xCFE, 2) == 0x7010
    assert [inp(pc, 0xCFC + i) for i in range(4)] == [0x86, 0x80, 0x10, 0x70]
    assert inp(pc, 0xCFD, 2) == 0x1080
    out(pc, 0xCF8, cfg_addr(0, 1, 1, 0x08), 4)
    assert inp(pc, 0xCFF) == 0x01 and inp(pc, 0xCFE) == 0x01 and inp(pc, 0xCFD) == 0x80


def test_read_only_and_writable_registers(pc):
    cfg_write(pc, 0, 1, 1, 0x00, 0xFFFFFFFF)
    assert cfg_read(pc, 0, 1, 1, 0x00) == 0x70108086   # IDs are read-only
    cfg_write(pc, 0, 1, 1, 0x3C, 0x0E, 1)
    assert cfg_read(pc, 0, 1, 1, 0x3C, 1) == 0x0E      # interrupt line is scratch
    cfg_write(pc, 0, 1, 1, 0x08, 0, 4)
    assert cfg_read(pc, 0, 1, 1, 0x08) >> 16 == 0x0101  # class is read-only
    pc.reset()
    assert cfg_read(pc, 0, 1, 1, 0x3C, 1) == 0x00      # power-on value again


def test_walk_finds_the_ide_controller(pc):
    """What GRUB's pata module and Linux do: every device and function on bus 0,
    functions above 0 only where function 0 is multifunction."""
    found = []
    for dev in range(32):
        for fn in range(8):
            ident = cfg_read(pc, 0, dev, fn, 0)
            if ident & 0xFFFF == 0xFFFF:
                if fn == 0:
                    break
                continue
            found.append((dev, fn, ident, cfg_read(pc, 0, dev, fn, 8) >> 16))
            if fn == 0 and not cfg_read(pc, 0, dev, 0, 0x0C) & 0x800000:
                break
    assert [(d, f) for d, f, _, c in found if c == 0x0101] == [(1, 1)]
    assert [(d, f) for d, f, _, _ in found] == [(0, 0), (1, 0), (1, 1)]


BOARD = """
name: pciboard
cpus: {maincpu: {core: z80, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
ports:
  maincpu:
    - {start: 0xCF8, end: 0xCFF, device: pci}
devices:
  pci:
    type: pci
    functions:
      "03.0": {vendor: 0x1234, device: 0x5678, class: 0x020000, irq_pin: 1,
               bars: {0: {io: 32}, 1: {mem: 4096}}}
"""


def test_bar_sizing(tmp_path):
    """6.2.5.1: writing all ones to a BAR reads back its size mask and type bits."""
    f = tmp_path / "b.yaml"
    f.write_text(BOARD)
    m = Machine.load(str(f))
    cfg_write(m, 0, 3, 0, 0x10, 0xFFFFFFFF)
    assert cfg_read(m, 0, 3, 0, 0x10) == 0xFFFFFFE1     # 32 bytes of I/O
    cfg_write(m, 0, 3, 0, 0x14, 0xFFFFFFFF)
    assert cfg_read(m, 0, 3, 0, 0x14) == 0xFFFFF000     # 4 KiB of memory
    cfg_write(m, 0, 3, 0, 0x10, 0xC020)
    assert cfg_read(m, 0, 3, 0, 0x10) == 0xC021
    assert cfg_read(m, 0, 3, 0, 0x3D, 1) == 1           # INTA#


@pytest.mark.parametrize("functions,where", [
    ('{"40.0": {vendor: 1, device: 2}}', "functions.40.0"),
    ('{"01.0": {vendor: 1}}', "functions.01.0"),
    ('{"01.0": {vendor: 1, device: 2, colour: 3}}', "functions.01.0"),
])
def test_bad_function_declarations_are_one_line_errors(tmp_path, functions, where):
    f = tmp_path / "b.yaml"
    f.write_text(BOARD.split("    functions:")[0] + f"    functions: {functions}\n")
    with pytest.raises(EmuError) as e:
        Machine.load(str(f))
    assert where in str(e.value) and "\n" not in str(e.value)


PCITEST = """\
B101 00 01 0210 00 20494350
B102 00 0009
B102N 86 01
B103 00 0009
B10A 00 01018000
B109 00 7010
B109O 87
B10B 00 0E
B1FF 81 01
PCITEST DONE
"""


def test_pci_bios_services():
    """pcitest.img calls INT 1Ah AH=B1h (PCI BIOS 2.1): installation check
    (mechanism #1, version 2.10, last bus 0, "PCI "), find device 8086:7010 at
    00:01.1 (BL = device 1 << 3 | function 1), no second one (86h, CF), find class
    010180h, dword/word reads, a misaligned word (87h), a byte written and read
    back, an unknown function (81h, CF)."""
    m = Machine.load("pc", [ROOT / "roms_test" / "x86" / "pcitest.img"])
    assert m.run_until(lambda mm: "PCITEST DONE" in mm.devices["debug"].text, 10)
    text = m.devices["debug"].text
    assert text[text.index("B101"):] == PCITEST
