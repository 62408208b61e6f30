"""Segment register loads (real mode: base = selector << 4)."""

from numba import njit

from .state import BASE, J, SEL


@njit(**J)
def load_seg(s, sr, sel):
    """Real mode / 8086 segment load (protected mode will read a descriptor here)."""
    sel &= 0xFFFF
    s[SEL + sr] = sel
    s[BASE + sr] = sel << 4
