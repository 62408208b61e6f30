#!/bin/sh
# Rebuild the toy8 demo ROMs: sh roms_test/toy/build.sh
set -e
cd "$(dirname "$0")"
python3 toyasm.py demo.asm demo.rom --size 256
python3 -c "open('data.rom','wb').write(b''.join(bytes([0x41+k])*256 for k in range(4)))"
sha1sum demo.rom data.rom
