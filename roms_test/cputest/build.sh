#!/bin/sh
# Rebuild cputest.rom (64 KiB) from cputest.asm and its include files.
# Needs nasm (Debian package nasm).  `build.sh OUT -DQEMU_TCG` assembles the
# variant the QEMU test runs (see README.md).
set -e
cd "$(dirname "$0")"
out=${1:-cputest.rom}
[ $# -gt 0 ] && shift
nasm -f bin -w-number-overflow "$@" -o "$out" cputest.asm
test "$(wc -c < "$out")" -eq 65536
sha1sum "$out"
