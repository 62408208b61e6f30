"""AddressSpace.set_direct and set_posted (emu/bus.py) on the toy machine: a
device's MMIO page mapped straight to RAM and back, kept across a bank switch's
rebuild; port posting switched on and off."""
import pytest

from emu import abi
from emu.machine import Machine


def test_set_direct_maps_a_device_page_to_ram_and_back():
    m = Machine.load("toy")
    sp = m.spaces["maincpu"]
    page = 0xF000 >> sp.page_bits
    assert sp.rpage[page] == abi.PAGE_MMIO                # the console's MMIO page
    sp.set_direct(0xF000, 0xF0FF, "main", 0x10)
    m.memory[0xF003] = 0x5A                               # straight into RAM main + 0x13
    assert m.mem.region("main")[0x13] == 0x5A and m.memory[0xF003] == 0x5A
    m.spaces["maincpu"].io_write(0x30, 2, 1)              # a bank switch rebuilds the tables
    assert sp.rpage[page] >= 0 and m.memory[0xF003] == 0x5A
    sp.set_direct(0xF000, 0xF0FF, None)
    assert sp.rpage[page] == sp.wpage[page] == abi.PAGE_MMIO


def test_set_direct_refuses_bad_ranges():
    sp = Machine.load("toy").spaces["maincpu"]
    with pytest.raises(ValueError, match="not page aligned"):
        sp.set_direct(0xF001, 0xF0FF, "main")
    with pytest.raises(ValueError, match="is not RAM"):
        sp.set_direct(0xF000, 0xF0FF, "bios")


def test_set_posted():
    sp = Machine.load("toy").spaces["maincpu"]
    assert not sp.ioflags[0x30] & abi.IOF_POSTED
    sp.set_posted([0x30], True)
    assert sp.ioflags[0x30] & abi.IOF_POSTED
    sp.set_posted([0x30], False)
    assert not sp.ioflags[0x30] & abi.IOF_POSTED
