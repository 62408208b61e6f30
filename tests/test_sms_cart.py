"""Cartridge loading: copier headers, absurd sizes, and the Sega header checks.

Expected checksums come from the documented header rules (SMS Power!
"ROM header"; Collapse OS doc/sega.txt for the 8-32 KiB cases), written here as
a table, not from the loader's checksum function: the header is the 16 bytes at
7FF0h, 3FF0h or 1FF0h ("TMR SEGA", 2 reserved bytes, the checksum as a
little-endian word at +0Ah, ..., the size code in the low nibble of +0Fh); the
export BIOS sums the bytes of the ranges below, modulo 65536."""
import random
import warnings

import pytest

from emu.errors import MediaError
from emu.machines.sms.cart import CartridgeWarning, checksum, load

KIB = 1024
# size code -> (ROM size, summed ranges [start, end))
SUMMED = {0xA: (8 * KIB, [(0x0000, 0x1FF0)]),
          0xB: (16 * KIB, [(0x0000, 0x3FF0)]),
          0xC: (32 * KIB, [(0x0000, 0x7FF0)]),
          0xD: (48 * KIB, [(0x0000, 0x7FF0), (0x8000, 0xC000)]),
          0xE: (64 * KIB, [(0x0000, 0x7FF0), (0x8000, 0x10000)]),
          0xF: (128 * KIB, [(0x0000, 0x7FF0), (0x8000, 0x20000)]),
          0x0: (256 * KIB, [(0x0000, 0x7FF0), (0x8000, 0x40000)]),
          0x1: (512 * KIB, [(0x0000, 0x7FF0), (0x8000, 0x80000)]),
          0x2: (1024 * KIB, [(0x0000, 0x7FF0), (0x8000, 0x100000)])}


def reference_sum(data, code):
    total = 0
    for start, end in SUMMED[code][1]:
        total += sum(data[start:end])
    return total % 65536


def cart(code=0xC, size=None, base=None, good_sum=True):
    """A ROM of the code's size (or ``size``) with a header at ``base`` (default:
    7FF0h, or 1FF0h/3FF0h for 8/16 KiB) and a valid checksum unless ``good_sum`` is False."""
    size = size or SUMMED[code][0]
    base = base if base is not None else min(size, 0x8000) - 0x10
    rng = random.Random(size * 31 + code)
    data = bytearray(rng.randrange(256) for _ in range(size))
    data[base:base + 8] = b"TMR SEGA"
    data[base + 15] = 0x40 | code                  # region 4 (export SMS), size code
    s = reference_sum(data, code) if code in SUMMED else 0
    if not good_sum:
        s ^= 0x1234
    data[base + 10], data[base + 11] = s & 0xFF, s >> 8
    return data


def loaded(data):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = load("x.sms", bytes(data))
    return out, [str(x.message) for x in w if issubclass(x.category, CartridgeWarning)]


@pytest.mark.parametrize("code", sorted(SUMMED))
def test_checksum_over_the_size_codes_ranges(code):
    data = cart(code)
    assert checksum(bytes(data), SUMMED[code][0]) == reference_sum(data, code)


@pytest.mark.parametrize("code", sorted(SUMMED))
def test_good_cartridges_load_silently(code):
    data = cart(code)
    assert loaded(data) == (bytes(data), [])


@pytest.mark.parametrize("code", sorted(SUMMED))
def test_a_wrong_checksum_warns(code):
    _, w = loaded(cart(code, good_sum=False))
    assert len(w) == 1 and "checksum" in w[0]


@pytest.mark.parametrize("code,addr,counted", [
    (0xE, 0x8000, True), (0xE, 0xFFFF, True),     # above 32 KiB: summed for 64 KiB
    (0x2, 0xFFFFF, True),                          # the last byte of 1 MiB
    (0xC, 0x7FEF, True),                           # the last byte before the header
    (0xC, 0x7FF8, False),                          # the header's reserved bytes are not summed
    (0xE, 0x7FFC, False),
    (0xB, 0x3FF9, False),                          # 16 KiB: the header at 3FF0h is not summed
])
def test_which_bytes_the_checksum_covers(code, addr, counted):
    data = cart(code)
    data[addr] ^= 0x01
    _, w = loaded(data)
    assert (len(w) == 1 and "checksum" in w[0]) if counted else w == []


def test_the_size_code_not_the_file_decides_the_range():
    data = cart(0xC, size=64 * KIB)               # says 32 KiB, is 64 KiB
    data[0x9000] ^= 0xFF                          # outside the 32 KiB range
    assert loaded(data)[1] == []


@pytest.mark.parametrize("base", [0x3FF0, 0x1FF0])
def test_headers_at_3ff0_and_1ff0_are_found(base):
    code = 0xB if base == 0x3FF0 else 0xA
    size = SUMMED[code][0]
    assert loaded(cart(code, size=size, base=base)) == (bytes(cart(code, size=size, base=base)), [])
    _, w = loaded(cart(code, size=size, base=base, good_sum=False))
    assert len(w) == 1 and "checksum" in w[0]


@pytest.mark.parametrize("code", [0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9])
def test_invalid_size_codes_warn(code):
    _, w = loaded(cart(code, size=32 * KIB))
    assert w == [f"x.sms: header size code {code:X}h is invalid"]


def test_copier_header_is_stripped():
    data = bytes(cart())
    assert loaded(b"\0" * 512 + data) == (data, [])


def test_missing_header_warns():
    data = cart()
    data[0x7FF0:0x7FF8] = b"TMR SEGB"
    _, w = loaded(data)
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
