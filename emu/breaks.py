"""Execution breakpoints checked by the cores: S_BREAK and the break table (emu/abi.py,
"Execution breakpoints").  ``bp_range`` folds them into one [lo, hi] range once per run;
a core tests ``lo <= pc <= hi`` (empty with none set: lo > hi) and only then
``bp_hit``, which looks the address up.  A core that runs a stretch of code without
a test per instruction narrows the stretch with ``bp_window`` instead."""
from __future__ import annotations

from numba import njit

from . import abi

NO_LO = 1 << 62            # lo of an empty range: no address reaches it


@njit(cache=True, _nrt=False)
def bp_range(s, table):
    """(lo, hi) of S_BREAK and the addresses of the break table at slot ``table``
    (-1: the core has none); (NO_LO, -1) with none set."""
    lo = NO_LO
    hi = -1
    if table >= 0 and s[table + abi.BT_COUNT] > 0:
        lo = s[table + abi.BT_LO]
        hi = s[table + abi.BT_HI]
    b = s[abi.S_BREAK]
    if b >= 0:
        lo = min(lo, b)
        hi = max(hi, b)
    return lo, hi


@njit(cache=True, _nrt=False)
def bp_hit(s, table, pc):
    """Whether ``pc`` (inside the range of bp_range) is a breakpoint address."""
    if pc == s[abi.S_BREAK]:
        return True
    if table >= 0:
        for i in range(s[table + abi.BT_COUNT]):
            if s[table + abi.BT_ADDRS + i] == pc:
                return True
    return False


@njit(cache=True, _nrt=False)
def bp_window(s, table, base, pc, lo, hi, mask):
    """For a core that runs a window of pcs [lo, hi] (lo <= pc <= hi) without looking
    each up: the window narrowed to hold no breakpoint but one at ``pc`` (a pc's
    address is (base + pc) & mask), and whether there is one at ``pc``, in which case
    the window is ``pc`` alone.  (lo, hi, at)."""
    at = False
    n = s[table + abi.BT_COUNT] if table >= 0 else 0
    for i in range(-1, n):
        b = s[abi.S_BREAK] if i < 0 else s[table + abi.BT_ADDRS + i]
        if b < 0:
            continue
        e = (b - base) & mask
        if e == pc:
            at = True
        elif e < pc:
            lo = max(lo, e + 1)
        else:
            hi = min(hi, e - 1)
    if at:
        lo = pc
        hi = pc
    return lo, hi, at


def write_table(state, table: int, addrs) -> None:
    """Fill the break table at slot ``table`` with ``addrs`` (at most BT_MAX)."""
    addrs = sorted(set(int(a) for a in addrs))
    if len(addrs) > abi.BT_MAX:
        raise ValueError(f"{len(addrs)} breakpoint addresses, the break table holds {abi.BT_MAX}")
    state[table + abi.BT_ADDRS:table + abi.BT_ADDRS + len(addrs)] = addrs
    state[table + abi.BT_LO] = addrs[0] if addrs else 0
    state[table + abi.BT_HI] = addrs[-1] if addrs else -1
    state[table + abi.BT_COUNT] = len(addrs)


def table_of(state, table: int) -> list:
    """The addresses in the break table at slot ``table``."""
    n = int(state[table + abi.BT_COUNT])
    return [int(a) for a in state[table + abi.BT_ADDRS:table + abi.BT_ADDRS + n]]
