"""Cartridge loading: copier headers, absurd sizes, TMR SEGA header checks."""
import warnings

import pytest

from emu.machines.sms.cart import CartridgeWarning, checksum, load
from emu.errors import MediaError


def cart(size=0x8000, header=True, good_sum=True):
    data = bytearray((i * 7 + 3) & 0xFF for i in range(size))
    if header:
        data[0x7FF0:0x7FF8] = b"TMR SEGA"
        data[0x7FFF] = 0x4C                      # export, 32 KiB
        s = checksum(bytes(data), 0x8000)
        if not good_sum:
            s ^= 0x1234
        data[0x7FFA], data[0x7FFB] = s & 0xFF, s >> 8
    return bytes(data)


def loaded(data):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = load("x.sms", data)
    return out, [str(x.message) for x in w if issubclass(x.category, CartridgeWarning)]


def test_checksum_is_the_byte_sum_before_the_header():
    data = bytes(range(256)) * 128
    assert checksum(data, 0x8000) == sum(data[:0x7FF0]) & 0xFFFF


def test_good_cartridge_loads_silently():
    data = cart()
    assert loaded(data) == (data, [])


def test_copier_header_is_stripped():
    data = cart()
    assert loaded(b"\0" * 512 + data) == (data, [])


def test_bad_checksum_and_missing_header_warn():
    _, w = loaded(cart(good_sum=False))
    assert len(w) == 1 and "checksum" in w[0]
    _, w = loaded(cart(header=False))
    assert len(w) == 1 and "no 'TMR SEGA' header" in w[0]


@pytest.mark.parametrize("data,msg", [(b"", "empty file"), (b"\1" * 1000, "too small"),
                                      (b"\1" * (5 << 20), "too large")])
def test_absurd_files_are_refused(data, msg):
    with pytest.raises(MediaError, match=msg):
        load("x.sms", data)


def test_shipped_roms_have_valid_headers(root):
    for f in sorted((root / "roms_test" / "sms").glob("*.sms")):
        _, w = loaded(f.read_bytes())
        assert w == [], f
