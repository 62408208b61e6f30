"""PUSH and POP on SS:SP, or SS:ESP when the stack segment is 32-bit (its B bit)."""

from numba import njit

from .state import ESP, J, SS, SSB
from .memory import rdm, wrm


@njit(**J)
def push(s, mem, v, w):
    if s[SSB]:
        sp = (s[ESP] - w) & 0xFFFFFFFF
        wrm(s, mem, SS, sp, w, 0xFFFFFFFF, v)
        s[ESP] = sp
    else:
        sp = (s[ESP] - w) & 0xFFFF
        wrm(s, mem, SS, sp, w, 0xFFFF, v)
        s[ESP] = (s[ESP] & ~0xFFFF) | sp


@njit(**J)
def pop(s, mem, w):
    if s[SSB]:
        sp = s[ESP]
        v = rdm(s, mem, SS, sp, w, 0xFFFFFFFF)
        s[ESP] = (sp + w) & 0xFFFFFFFF
        return v
    sp = s[ESP] & 0xFFFF
    v = rdm(s, mem, SS, sp, w, 0xFFFF)
    s[ESP] = (s[ESP] & ~0xFFFF) | ((sp + w) & 0xFFFF)
    return v


@njit(**J)
def sp_add(s, n):
    """ESP/SP += n (RET imm, LEAVE-style adjustments) in the stack's width."""
    if s[SSB]:
        s[ESP] = (s[ESP] + n) & 0xFFFFFFFF
    else:
        s[ESP] = (s[ESP] & ~0xFFFF) | ((s[ESP] + n) & 0xFFFF)


@njit(**J)
def peek(s, mem, depth, w):
    """The stack item ``depth`` bytes above the top, without popping (for far returns
    that check before they commit)."""
    if s[SSB]:
        return rdm(s, mem, SS, (s[ESP] + depth) & 0xFFFFFFFF, w, 0xFFFFFFFF)
    return rdm(s, mem, SS, (s[ESP] + depth) & 0xFFFF, w, 0xFFFF)
