#!/bin/sh
# Build os.img (or the path given) from source: MBR, loader, kernel with the
# user programs linked in, and the file system.  OS_KEEP=DIR keeps the objects
# and ELF files there.  Needs nasm, gcc with 32-bit support (gcc-multilib
# on Debian amd64), binutils and python3.  Deterministic: rebuilding gives the same bytes.
set -e
cd "$(dirname "$0")"
OUT=${1:-os.img}
if [ -n "$OS_KEEP" ]; then
    B=$OS_KEEP
    mkdir -p "$B"
else
    B=$(mktemp -d)
    trap 'rm -rf "$B"' EXIT
fi
CC="gcc -m32 -march=i386 -ffreestanding -fno-pic -fno-pie -nostdlib -fno-builtin \
 -fno-stack-protector -fno-asynchronous-unwind-tables -mgeneral-regs-only \
 -O2 -Wall -Wextra -Wno-unused-parameter -Werror"
LD="ld -m elf_i386 --build-id=none -nostdlib -z noexecstack --no-warn-rwx-segments"
PROGS="sh hello fault count spin true bench filetest forktest cat echo wc upper ps ls"
# user programs
nasm -f elf32 -o "$B/crt0.o" user/crt0.asm
$CC -c -o "$B/ulib.o" user/ulib.c
$CC -c -o "$B/ulibc.o" kernel/lib.c
: > "$B/progs_data.inc"
: > "$B/progs_table.inc"
for p in $PROGS; do
    $CC -c -o "$B/$p.o" "user/$p.c"
    $LD -T user/link.ld -o "$B/$p.elf" "$B/crt0.o" "$B/$p.o" "$B/ulib.o" "$B/ulibc.o"
    objcopy -O binary "$B/$p.elf" "$B/$p.bin"
    echo "PROG $p" >> "$B/progs_data.inc"
    echo "ENTRY $p" >> "$B/progs_table.inc"
done
# kernel
nasm -f elf32 -o "$B/entry.o" kernel/entry.asm
# the privileged-operations layer: OS_LAYER=DIR builds with DIR/priv.asm and
# DIR/priv.c instead (a paravirtual layer, issue 17); both see kernel/arch/priv.h
LAYER=${OS_LAYER:-kernel/arch}
nasm -f elf32 -o "$B/priv_asm.o" "$LAYER/priv.asm"
$CC -Ikernel/arch -c -o "$B/priv_c.o" "$LAYER/priv.c"
nasm -f elf32 -i "$B/" -o "$B/progs.o" kernel/progs.asm
OBJS="$B/entry.o $B/priv_asm.o $B/priv_c.o $B/progs.o"
for c in kernel/*.c; do
    o="$B/k_$(echo "$c" | tr / _).o"
    $CC -c -o "$o" "$c"
    OBJS="$OBJS $o"
done
$LD -T kernel/link.ld -o "$B/kernel.elf" $OBJS
objcopy -O binary -R .bss "$B/kernel.elf" "$B/kernel.bin"
KS=$(( ($(wc -c < "$B/kernel.bin") + 511) / 512 ))
LS=4
test "$KS" -le 1000 || { echo "kernel too big: $KS sectors" >&2; exit 1; }
nasm -f bin -DLOADER_SECTORS=$LS -o "$B/mbr.bin" boot/mbr.asm
nasm -f bin -DLOADER_SECTORS=$LS -DKERNEL_SECTORS=$KS -o "$B/loader.bin" boot/loader.asm
cat "$B/mbr.bin" "$B/loader.bin" "$B/kernel.bin" > "$B/os.img"
truncate -s $((2 * 16 * 63 * 512)) "$B/os.img"    # two cylinders of 16 x 63 sectors
# the file system at LBA 1024 (kernel/fs.c): superblock, directory, one file
python3 - "$B/os.img" <<'PY'
import struct, sys
text = b"Welcome to emu-os. Try: ls, cat readme, echo hi > note, filetest, bench, fault, ps.\n"
with open(sys.argv[1], "r+b") as f:
    f.seek(1024 * 512); f.write(b"EMUFS1")
    f.seek(1025 * 512); f.write(struct.pack("<24sII", b"readme", len(text), 0))
    f.seek(1027 * 512); f.write(text)
PY
cp "$B/os.img" "$OUT"
echo "$OUT: kernel $KS sectors"
