"""PUSH and POP on SS:SP."""

from numba import njit

from .state import ESP, J, SS
from .memory import rdm, wrm


@njit(**J)
def push(s, dm, v, w):
    sp = (s[ESP] - w) & 0xFFFF
    wrm(s, dm, SS, sp, w, 0xFFFF, v)
    s[ESP] = (s[ESP] & ~0xFFFF) | sp


@njit(**J)
def pop(s, dm, w):
    sp = s[ESP] & 0xFFFF
    v = rdm(s, dm, SS, sp, w, 0xFFFF)
    s[ESP] = (s[ESP] & ~0xFFFF) | ((sp + w) & 0xFFFF)
    return v
