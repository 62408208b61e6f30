"""Data tables for the Z80 core: flag lookups and T-state counts.

T-states: Zilog Z80 CPU User Manual (UM0080), instruction tables; extra cycles
for taken branches and repeated block instructions are added in the code.
Prefixed DD/FD forms cost the unprefixed count + 4, and + 8 more for the
(IX+d) forms (+ 5 for LD (IX+d),n), as the manual's tables give.
"""
import numpy as np

SF, ZF, YF, HF, XF, PF, NF, CF = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01


def _parity(v):
    return bin(v).count("1") % 2 == 0


SZ = np.array([(v & (SF | YF | XF)) | (ZF if v == 0 else 0) for v in range(256)], dtype=np.int64)
SZP = np.array([SZ[v] | (PF if _parity(v) else 0) for v in range(256)], dtype=np.int64)
PARITY = np.array([PF if _parity(v) else 0 for v in range(256)], dtype=np.int64)

CYC_MAIN = np.array([
    4, 10, 7, 6, 4, 4, 7, 4, 4, 11, 7, 6, 4, 4, 7, 4,
    8, 10, 7, 6, 4, 4, 7, 4, 12, 11, 7, 6, 4, 4, 7, 4,
    7, 10, 16, 6, 4, 4, 7, 4, 7, 11, 16, 6, 4, 4, 7, 4,
    7, 10, 13, 6, 11, 11, 10, 4, 7, 11, 13, 6, 4, 4, 7, 4,
    *([4, 4, 4, 4, 4, 4, 7, 4] * 6),
    7, 7, 7, 7, 7, 7, 4, 7, 4, 4, 4, 4, 4, 4, 7, 4,
    *([4, 4, 4, 4, 4, 4, 7, 4] * 8),
    5, 10, 10, 10, 10, 11, 7, 11, 5, 10, 10, 0, 10, 17, 7, 11,
    5, 10, 10, 11, 10, 11, 7, 11, 5, 4, 10, 11, 10, 0, 7, 11,
    5, 10, 10, 19, 10, 11, 7, 11, 5, 4, 10, 4, 10, 0, 7, 11,
    5, 10, 10, 4, 10, 11, 7, 11, 5, 6, 10, 4, 10, 0, 7, 11], dtype=np.int64)
assert len(CYC_MAIN) == 256


def _ed_cycles():
    c = np.full(256, 8, dtype=np.int64)
    for y in range(8):
        base = 0x40 + 8 * y
        c[base + 0] = 12            # IN r,(C)
        c[base + 1] = 12            # OUT (C),r
        c[base + 2] = 15            # SBC/ADC HL,rr
        c[base + 3] = 20            # LD (nn),rr / LD rr,(nn)
        c[base + 4] = 8             # NEG
        c[base + 5] = 14            # RETN / RETI
        c[base + 6] = 8             # IM
    c[0x47] = c[0x4F] = c[0x57] = c[0x5F] = 9
    c[0x67] = c[0x6F] = 18          # RRD / RLD
    c[0x77] = c[0x7F] = 8
    for op in (0xA0, 0xA1, 0xA2, 0xA3, 0xA8, 0xA9, 0xAA, 0xAB,
               0xB0, 0xB1, 0xB2, 0xB3, 0xB8, 0xB9, 0xBA, 0xBB):
        c[op] = 16
    return c


CYC_ED = _ed_cycles()
