"""Sega Master System cartridge loader (media ``loader: emu.machines.sms.cart:load``).

Strips a 512-byte copier header, rejects empty or absurd files, and checks the
"TMR SEGA" header (at 7FF0h, else 3FF0h/1FF0h): a missing header or a checksum
that does not match gives a warning, not an error — many homebrew and Japanese
cartridges have neither, and the export BIOS is not emulated.
Reference: SMS Power! "ROM header" (size codes, checksum range).
"""
from __future__ import annotations

import warnings

from ...errors import MediaError

MIN_SIZE, MAX_SIZE = 8 * 1024, 4 * 1024 * 1024
SIZE_CODES = {0xA: 0x2000, 0xB: 0x4000, 0xC: 0x8000, 0xD: 0xC000, 0xE: 0x10000, 0xF: 0x20000,
              0x0: 0x40000, 0x1: 0x80000, 0x2: 0x100000}


class CartridgeWarning(UserWarning):
    pass


def checksum(data: bytes, size: int) -> int:
    """Sum of bytes 0000-7FEF (less for 8/16 KiB sizes) plus 8000h up to ``size``."""
    end = min(size, 0x8000) - 0x10
    total = sum(data[:end])
    if size > 0x8000:
        total += sum(data[0x8000:size])
    return total & 0xFFFF


def load(path, data: bytes) -> bytes:
    if not data:
        raise MediaError(f"{path}: empty file")
    if len(data) % 0x4000 == 512:
        data = data[512:]                     # copier header
    if len(data) < MIN_SIZE:
        raise MediaError(f"{path}: {len(data)} bytes is too small for a Master System cartridge "
                         f"(at least 8 KiB)")
    if len(data) > MAX_SIZE:
        raise MediaError(f"{path}: {len(data)} bytes is too large for a Master System cartridge "
                         f"(the Sega mapper addresses at most 4 MiB)")
    for base in (0x7FF0, 0x3FF0, 0x1FF0):
        if base + 16 <= len(data) and data[base:base + 8] == b"TMR SEGA":
            break
    else:
        warnings.warn(f"{path}: no 'TMR SEGA' header (fine for homebrew; an export SMS BIOS "
                      f"would refuse it)", CartridgeWarning, stacklevel=2)
        return data
    code = data[base + 15] & 0x0F
    size = SIZE_CODES.get(code)
    if size is None:
        warnings.warn(f"{path}: header size code {code:X}h is invalid", CartridgeWarning, stacklevel=2)
        return data
    want = data[base + 10] | data[base + 11] << 8
    got = checksum(data, min(size, len(data)))
    if want != got:
        warnings.warn(f"{path}: header checksum {want:04X}h does not match the contents "
                      f"({got:04X}h)", CartridgeWarning, stacklevel=2)
    return data
