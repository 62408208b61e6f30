"""The cheat finder (MAME's ``cheatinit``/``cheatnext`` in spirit): narrow the RAM
addresses down to the one that holds a value (lives, a score) by how it changes.

    s = m.search()                 # every byte of RAM is a candidate
    m.run_for(1); s.keep("decreased")      # lost a life
    m.run_for(1); s.keep("same")
    s.keep("equal", 2)             # ... or a known value
    s.candidates                   # [(address, value), ...]
    s.poke(3)                      # write 3 at every candidate left (infinite lives)

Addresses are the CPU's (the main CPU's address space: the RAM regions it maps,
bank choices as they are when the search starts).  ``size`` 1, 2 or 4 bytes,
little-endian.
"""
from __future__ import annotations

import numpy as np

from .errors import EmuError

TESTS = ("equal", "notequal", "changed", "same", "increased", "decreased", "less", "greater")


class Search:
    def __init__(self, machine, size: int = 1):
        if size not in (1, 2, 4):
            raise EmuError(f"search: size {size}: 1, 2 or 4 bytes")
        self.m, self.size = machine, size
        sp = machine.spaces[machine.cpu.name]
        self.space = sp
        # the CPU's pages that are RAM (read and write reach the same backing store)
        pages = np.flatnonzero((sp.rpage >= 0) & (sp.wpage == sp.rpage))
        addrs = (pages[:, None] * sp.page + np.arange(sp.page)[None, :]).reshape(-1)
        if size > 1:
            addrs = addrs[addrs % size == 0]
        self.addrs = addrs.astype(np.uint32)
        self.last = self._values()

    def _values(self) -> np.ndarray:
        sp, d = self.space, self.m.mem.data
        v = np.zeros(len(self.addrs), dtype=np.uint32)
        for i in range(self.size):
            a = (self.addrs.astype(np.int64) + i) & sp.addr_mask
            off = sp.rpage[a >> sp.page_bits] + (a & (sp.page - 1))
            v |= d[off].astype(np.uint32) << np.uint32(8 * i)
        return v

    def keep(self, test: str, value: int | None = None) -> int:
        """Keep the candidates whose value passes ``test`` against the last look
        (changed, same, increased, decreased) or against ``value`` (equal, notequal,
        less, greater); the number left."""
        if test not in TESTS:
            raise EmuError(f"search: unknown test {test!r} ({', '.join(TESTS)})")
        now = self._values()
        if test in ("equal", "notequal", "less", "greater") and value is None:
            raise EmuError(f"search: {test} needs a value")
        ref = self.last if value is None else np.uint32(value & 0xFFFFFFFF)
        ok = {"equal": now == ref, "notequal": now != ref, "changed": now != self.last,
              "same": now == self.last, "increased": now > self.last, "decreased": now < self.last,
              "less": now < ref, "greater": now > ref}[test]
        self.addrs, self.last = self.addrs[ok], now[ok]
        return len(self.addrs)

    @property
    def candidates(self) -> list:
        return [(int(a), int(v)) for a, v in zip(self.addrs[:1000], self._values()[:1000], strict=True)]

    def poke(self, value: int) -> None:
        """Write ``value`` at every candidate left."""
        for a in self.addrs:
            for i in range(self.size):
                self.space.write8(int(a) + i, (value >> (8 * i)) & 0xFF)
