"""Code page 437 text font for video devices.

The glyphs come from a Linux console font (PSF, with its Unicode table)
installed by Debian's `console-setup-linux` package — each CP437 code is
mapped through Unicode to the font's glyph — so no font data ships in this
repository.  Without such a font, glyphs are rendered from pygame's bundled
FreeSans as a fallback.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import numpy as np

FONT_DIRS = [Path("/usr/share/consolefonts"), Path("/usr/share/kbd/consolefonts")]
CANDIDATES = ["Uni2-VGA16.psf.gz", "Uni1-VGA16.psf.gz", "Lat15-VGA16.psf.gz", "default8x16.psfu.gz"]


def _cp437_chars():
    chars = [bytes([i]).decode("cp437") for i in range(256)]
    # the control codes show as the classic glyphs (IBM PC character set)
    ctl = "\u0000☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"
    chars[:32] = list(ctl)
    chars[127] = "⌂"
    return chars


def _parse_psf(data: bytes):
    """-> (glyphs uint8[n, height] (8 pixels wide), {unicode char: glyph index})"""
    if data[:2] == b"\x36\x04":
        mode, h = data[2], data[3]
        n = 512 if mode & 1 else 256
        glyphs = np.frombuffer(data[4:4 + n * h], dtype=np.uint8).reshape(n, h)
        table = {}
        if mode & 6:
            pos, g = 4 + n * h, 0
            while pos + 1 < len(data) and g < n:
                u = int.from_bytes(data[pos:pos + 2], "little")
                pos += 2
                if u == 0xFFFF:
                    g += 1
                elif u != 0xFFFE:
                    table.setdefault(chr(u), g)
        return glyphs, table
    if data[:4] == b"\x72\xb5\x4a\x86":
        hsize, flags, n, size, h, w = (int.from_bytes(data[i:i + 4], "little") for i in range(8, 32, 4))
        if w != 8:
            raise ValueError("only 8-pixel-wide fonts")
        glyphs = np.frombuffer(data[hsize:hsize + n * size], dtype=np.uint8).reshape(n, size)[:, :h]
        table = {}
        if flags & 1:
            rest = data[hsize + n * size:]
            for g, entry in enumerate(rest.split(b"\xff")[:n]):
                for cp in entry.split(b"\xfe")[0].decode("utf-8", "replace"):
                    table.setdefault(cp, g)
        return glyphs, table
    raise ValueError("not a PSF font")


def _from_psf(height):
    for d in FONT_DIRS:
        for name in CANDIDATES:
            p = d / name
            if p.exists():
                try:
                    glyphs, table = _parse_psf(gzip.decompress(p.read_bytes()))
                except (ValueError, OSError):
                    continue
                if glyphs.shape[1] != height or not table:
                    continue
                out = np.zeros((256, height), dtype=np.uint8)
                for i, ch in enumerate(_cp437_chars()):
                    g = table.get(ch, table.get("?", 0) if i >= 32 else None)
                    if g is not None and i:
                        out[i] = glyphs[g]
                return out
    return None


def _from_pygame(height):
    import os
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame
    pygame.font.init()
    font = pygame.font.Font(None, height + 2)
    out = np.zeros((256, height), dtype=np.uint8)
    for i, ch in enumerate(_cp437_chars()):
        if i == 0 or ch.isspace():
            continue
        surf = font.render(ch, False, (255, 255, 255), (0, 0, 0))
        a = pygame.surfarray.array2d(surf).T != 0 if surf.get_width() else None
        if a is None:
            continue
        a = a[:height, :8]
        for y in range(a.shape[0]):
            row = 0
            for x in range(a.shape[1]):
                if a[y, x]:
                    row |= 0x80 >> x
            out[i, y] = row
    return out


@lru_cache(maxsize=4)
def cp437_font(height: int = 16) -> np.ndarray:
    """uint8[256, height]: one byte per glyph row, bit 7 = leftmost pixel."""
    f = _from_psf(height)
    return f if f is not None else _from_pygame(height)
