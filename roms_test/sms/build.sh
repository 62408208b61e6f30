#!/bin/sh
# Rebuild the SMS test ROMs: z80asm (Debian package z80asm), then patch the
# header checksum (16-bit sum of 0x0000-0x7FEF, little-endian at 0x7FFA).
set -e
cd "$(dirname "$0")"
for name in vdptest input sound game; do
    z80asm -o "$name.sms" "$name.asm"
    python3 - "$name.sms" <<'PY'
import sys
path = sys.argv[1]
rom = bytearray(open(path, "rb").read())
assert len(rom) == 0x8000, f"{path}: {len(rom)} bytes, expected 32 KiB"
assert rom[0x7FF0:0x7FF8] == b"TMR SEGA"
s = sum(rom[:0x7FF0]) & 0xFFFF
rom[0x7FFA:0x7FFC] = s.to_bytes(2, "little")
open(path, "wb").write(rom)
print(f"{path}: checksum {s:04X}")
PY
done
