#!/bin/sh
# Build a GRUB 2 hard-disk image for the pc machine from Debian's grub-pc-bin,
# without root or loop devices:
#   sector 0      boot.img (its default: load the core from sector 1 with the BIOS drive)
#   sectors 1..   core.img (diskboot.img's default block list: the rest follows it)
#   core.img      kernel + biosdisk, memdisk, tar and a memdisk (a tar archive)
#                 holding /boot/grub/grub.cfg and the modules used at run time, so that
#                 `insmod pata` loads GRUB's ATA driver only when asked (it stops
#                 the BIOS disk driver as it starts)
# grub.cfg sends the terminal to COM1 as well when there is one (`serial`).
# Usage: build.sh [OUT [SIZE]]  (default grub.hdd next to this script, 8M)
set -e
cd "$(dirname "$0")"
GRUB=${GRUB_DIR:-/usr/lib/grub/i386-pc}
OUT=${1:-grub.hdd}
SIZE=${2:-8M}
for f in boot.img kernel.img moddep.lst; do
    [ -f "$GRUB/$f" ] || { echo "build.sh: $GRUB/$f missing (apt-get install grub-pc-bin)" >&2; exit 1; }
done
command -v grub-mkimage >/dev/null || { echo "build.sh: grub-mkimage missing (apt-get install grub-pc-bin)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run-time modules and everything they depend on (moddep.lst: "mod: dep dep ...")
want="normal ls echo cat lsmmap mmap pata serial terminal terminfo minicmd help reboot halt"
mods=""
todo="$want"
while [ -n "$todo" ]; do
    set -- $todo
    m=$1; shift; todo="$*"
    case " $mods " in *" $m "*) continue ;; esac
    mods="$mods $m"
    deps=$(sed -n "s/^$m: *//p" "$GRUB/moddep.lst")
    todo="$todo $deps"
done
mkdir -p "$work/mem/boot/grub/i386-pc"
for m in $mods; do cp "$GRUB/$m.mod" "$work/mem/boot/grub/i386-pc/"; done
cp "$GRUB/command.lst" "$GRUB/terminal.lst" "$work/mem/boot/grub/i386-pc/"   # commands load on first use; no fs.lst: ls probes no missing file systems
cat > "$work/mem/boot/grub/grub.cfg" <<'CFG'
if serial --unit=0 --speed=115200; then
    terminal_input --append serial
    terminal_output --append serial
fi
set pager=0
echo "GRUB READY"
CFG
(cd "$work/mem" && tar -cf ../memdisk.tar boot)
grub-mkimage -O i386-pc -o "$work/core.img" -p "(memdisk)/boot/grub" -m "$work/memdisk.tar" \
    biosdisk part_msdos memdisk tar
cat "$GRUB/boot.img" "$work/core.img" > "$OUT"
truncate -s "$SIZE" "$OUT"
echo "$OUT: $(wc -c < "$work/core.img") bytes of core.img at sector 1, $SIZE disk"
