"""Rewind: run time backwards over the last seconds of a machine.

Every ``interval`` seconds of emulated time the machine is captured whole (the
contents of a save state, emu.savestate.capture).  Only the newest snapshot is
kept whole; each older one keeps, of its large arrays (memory, disks, the
screen), just the 4 KiB pages that differ from the snapshot after it (*reverse
dirty-page deltas*), so going back walks from the newest snapshot through the
deltas, and dropping the oldest snapshot frees its deltas without touching the
others.  Snapshots older than ``span`` seconds, or beyond the memory ``cap``,
are dropped oldest first.

    m.enable_rewind(span=30, interval=1.0, cap=64 << 20)
    m.rewind(5.0)          # back to the newest snapshot at least 5 s old

In the window, holding Backspace steps back one snapshot per frame (emu.frontend).
"""
from __future__ import annotations

import copy

import numpy as np

PAGE = 4096
LARGE = 64 << 10                  # arrays from this size are kept as page deltas


def _pages(a: np.ndarray) -> np.ndarray:
    """``a`` as rows of PAGE bytes (the last one padded) for a page-by-page compare."""
    b = a.reshape(-1).view(np.uint8)
    n = -(-len(b) // PAGE)
    if len(b) == n * PAGE:
        return b.reshape(n, PAGE)
    out = np.zeros((n, PAGE), dtype=np.uint8)
    out.reshape(-1)[:len(b)] = b
    return out


class _Delta:
    """A large array of an older snapshot: its pages that differ from the next
    snapshot's (all of them when the next one has no such array or another shape)."""
    __slots__ = ("data", "dtype", "full", "idx", "shape")

    def __init__(self, old: np.ndarray, new: np.ndarray | None):
        self.dtype, self.shape = old.dtype, old.shape
        self.full = new is None or new.shape != old.shape or new.dtype != old.dtype
        if new is old:                # (an unchanged page table: Rewind._tables)
            self.idx, self.data = np.zeros(0, dtype=np.int64), np.zeros((0, PAGE), dtype=np.uint8)
            return
        po = _pages(old)
        self.idx = (np.arange(len(po)) if self.full else    # (compared 8 bytes at a time)
                    np.flatnonzero((po.view(np.uint64) != _pages(new).view(np.uint64)).any(axis=1)))
        self.data = po[self.idx].copy()

    @property
    def nbytes(self) -> int:
        return self.data.nbytes + self.idx.nbytes

    def undo(self, newer: np.ndarray | None) -> np.ndarray:
        """This snapshot's array, from the next snapshot's."""
        raw = self.data.copy() if self.full else _pages(newer).copy()
        if not self.full:
            raw[self.idx] = self.data
        n = int(np.prod(self.shape)) * self.dtype.itemsize
        return raw.reshape(-1)[:n].view(self.dtype).reshape(self.shape)


class Rewind:
    def __init__(self, machine, span: float = 30.0, interval: float = 1.0, cap: int = 64 << 20):
        if span <= 0 or interval <= 0 or cap <= 0:
            raise ValueError("rewind: span, interval and cap must be positive")
        self.m, self.span, self.interval, self.cap = machine, span, interval, cap
        self.snaps = []               # oldest first: [time, meta, small arrays, large arrays]
        self.next_at = machine.time
        self._raw = {}                # page table key -> (its raw copy, its logical form)

    # ---- recording ------------------------------------------------------------------
    def tick(self) -> None:
        """At a frame's end: a snapshot when the interval has passed."""
        if self.m.time + 1e-12 >= self.next_at:
            self.record()

    def record(self) -> None:
        from .savestate import capture
        meta, arrays = capture(self.m, tables=False)
        self._tables(arrays)
        small = {k: v for k, v in arrays.items() if v.nbytes < LARGE}
        large = {k: v for k, v in arrays.items() if v.nbytes >= LARGE}
        if self.snaps:                # the newest so far becomes a delta against this one
            prev = self.snaps[-1]
            prev[3] = {k: _Delta(v, large.get(k)) for k, v in prev[3].items()}
        self.snaps.append([self.m.time, meta, small, large])
        self.next_at = self.m.time + self.interval
        self._trim()

    def _tables(self, arrays) -> None:
        """The page tables as capture gives them, but a table that has not changed
        since the last snapshot (one compare of the raw table) is that snapshot's
        array itself: no conversion, and its delta is empty."""
        for name, sp in self.m.spaces.items():
            for kind in ("rpage", "wpage"):
                raw, key = getattr(sp, kind), f"{kind}.{name}"
                got = self._raw.get(key)
                if got is None or got[0].shape != raw.shape or not np.array_equal(got[0], raw):
                    got = self._raw[key] = (raw.copy(), self.m.mem.to_logical(raw))
                arrays[key] = got[1]

    def _size(self, snap) -> int:
        return sum(v.nbytes for v in snap[2].values()) + sum(v.nbytes for v in snap[3].values())

    def _trim(self) -> None:
        now = self.m.time
        while len(self.snaps) > 1 and (now - self.snaps[0][0] > self.span
                                       or sum(self._size(s) for s in self.snaps) > self.cap):
            self.snaps.pop(0)

    @property
    def seconds(self) -> float:
        """How far back the history reaches now."""
        return self.m.time - self.snaps[0][0] if self.snaps else 0.0

    @property
    def nbytes(self) -> int:
        return sum(self._size(s) for s in self.snaps)

    # ---- going back --------------------------------------------------------------------
    def rewind(self, seconds: float) -> float:
        """Back to the newest snapshot at least ``seconds`` old (the oldest if none is);
        the snapshots after it are dropped.  Returns the machine's time now."""
        from .savestate import apply
        if not self.snaps:
            return self.m.time
        target = self.m.time - seconds
        i = len(self.snaps) - 1
        while i > 0 and self.snaps[i][0] > target + 1e-9:
            i -= 1
        large = dict(self.snaps[-1][3])
        for j in range(len(self.snaps) - 2, i - 1, -1):
            large = {k: d.undo(large.get(k)) for k, d in self.snaps[j][3].items()}
        _, meta, small, _ = self.snaps[i]
        arrays = {k: v.copy() for k, v in {**small, **large}.items()}
        apply(self.m, copy.deepcopy(meta), arrays)
        self.snaps = self.snaps[:i + 1]
        self.snaps[i][3] = {k: v.copy() for k, v in large.items()}    # the newest: whole again
        self.next_at = self.m.time + self.interval
        return self.m.time

    def step_back(self) -> float:
        """One snapshot back (a held rewind key, a frame at a time): to the newest if the
        machine has run on since it, else to the one before."""
        if not self.snaps:
            return self.m.time
        newest = self.snaps[-1][0]
        if self.m.time > newest + 1e-9 or len(self.snaps) == 1:
            return self.rewind(self.m.time - newest)
        return self.rewind(self.m.time - self.snaps[-2][0])
