#!/bin/sh
# Rebuild victim.img, hostile.img and kvmboot.img (1.44M floppies for
# machines/pc.yaml) from their sources.  Needs nasm (Debian package nasm);
# boot.inc comes from ../x86.
set -e
cd "$(dirname "$0")"
for src in victim hostile kvmboot; do
    nasm -I ../x86/ -f bin -o "$src.img" "$src.asm"
    truncate -s 1474560 "$src.img"        # a full 1.44M floppy
done
sha1sum victim.img hostile.img kvmboot.img
