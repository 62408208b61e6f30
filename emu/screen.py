"""The screen: a framebuffer (numpy uint32 0xRRGGBB, height x width) that a
video device fills and the frontend shows; PNG export without pygame."""
from __future__ import annotations

import os
import struct
import zlib

import numpy as np


class Screen:
    def __init__(self, spec):
        self.width, self.height = spec.width, spec.height
        self.refresh, self.scale = spec.refresh, spec.scale
        self.framebuffer = np.zeros((spec.height, spec.width), dtype=np.uint32)
        # a device that draws the frame in Python may say when it did (``tracked``,
        # ``version`` bumped per drawing), so the window need not compare frames
        self.tracked, self.version = False, 0

    def resize(self, width: int, height: int) -> None:
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self.framebuffer = np.zeros((height, width), dtype=np.uint32)

    def rgb(self) -> np.ndarray:
        """height x width x 3 uint8 copy of the frame."""
        fb = self.framebuffer
        return np.stack([(fb >> 16) & 0xFF, (fb >> 8) & 0xFF, fb & 0xFF], axis=-1).astype(np.uint8)

    def save_png(self, path) -> None:
        write_png(path, self.rgb())


def write_png(path, rgb: np.ndarray) -> None:
    """Write an RGB image (h x w x 3 uint8) as PNG, atomically."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)


def read_png(path) -> np.ndarray:
    """Read an 8-bit RGB/RGBA non-interlaced PNG (as written by write_png or pygame)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if tag == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            ch = {2: 3, 6: 4}[ctype]
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], dtype=np.uint8).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) >> 1
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(h, w, ch)[:, :, :3]
