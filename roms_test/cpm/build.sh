#!/bin/sh
# Rebuild cpmboot.rom and the default system disk cpm.img.
# Needs Debian packages z80asm and cpmtools.
set -e
cd "$(dirname "$0")"
z80asm -o cpmboot.rom boot.asm
test "$(wc -c < cpmboot.rom)" -eq 256
for part in ccp bdos bios; do
    z80asm -o "$part.bin" "$part.asm"
done
cat ccp.bin bdos.bin bios.bin > system.bin
test "$(wc -c < system.bin)" -eq 6656    # 2 tracks x 26 sectors x 128
rm -f ccp.bin bdos.bin bios.bin
for p in progs/*.asm; do
    n=$(basename "$p" .asm)
    z80asm -I progs -o "progs/$n.com" "$p"
done
rm -f cpm.img
mkfs.cpm -f ibm-3740 -b system.bin cpm.img
truncate -s 256256 cpm.img              # full 77-track image
for c in progs/*.com; do
    cpmcp -f ibm-3740 cpm.img "$c" "0:$(basename "$c" .com | tr a-z A-Z).COM"
done
cpmls -f ibm-3740 cpm.img
