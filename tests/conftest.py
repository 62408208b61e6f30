import os
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT.parent / "shared" / "vectors"
FONT_TXT = ROOT / "roms_test" / "pc" / "font8x16.txt"


def bios_font():
    """uint8[256, 16]: the PC BIOS font as drawn in roms_test/pc/font8x16.txt
    ('@XX' header, 16 rows of '#'/'.'; bit 7 = leftmost pixel)."""
    import numpy as np
    glyphs, code = np.zeros((256, 16), dtype=np.uint8), None
    rows = {}
    for line in FONT_TXT.read_text().splitlines():
        if line.startswith("@"):
            code = int(line[1:3], 16)
            rows[code] = []
        elif code is not None and len(line) == 8 and set(line) <= set("#."):
            rows[code].append(int(line.replace("#", "1").replace(".", "0"), 2))
    for c, r in rows.items():
        glyphs[c] = r
    return glyphs


def ega_rgb(i):
    """0xRRGGBB of EGA colour i (rgbRGB, IBM EGA/VGA Technical Reference): bits 2/1/0
    give 0xAA of red/green/blue, bits 5/4/3 add 0x55."""
    return sum((0xAA * (i >> hi & 1) + 0x55 * (i >> lo & 1)) << sh
               for hi, lo, sh in ((2, 5, 16), (1, 4, 8), (0, 3, 0)))


@pytest.fixture
def root():
    return ROOT


def x86_flat_protected(c, cr3=None):
    """Put an x86 core (cores.x86.X86) in flat 32-bit protected mode at CPL 0 as a
    loader leaves it: segment caches of selectors 08h (code) and 10h (data), base 0,
    4 GiB limits; paging on with page directory ``cr3`` if given."""
    from cores.x86 import cpu
    s = c.state
    s[cpu.CR0] |= cpu.PE | (cpu.PG if cr3 is not None else 0)
    if cr3 is not None:
        s[cpu.CR3] = cr3
    for i in range(6):
        sel, attr = (0x08, 0xC9B) if i == cpu.CS else (0x10, 0xC93)
        s[cpu.SEL + i], s[cpu.BASE + i], s[cpu.LIMIT + i], s[cpu.ATTR + i] = sel, 0, 0xFFFFFFFF, attr
    s[cpu.CSD] = s[cpu.SSB] = 1
