"""Which guest memory changed since it was last sent, for live migration.

A VM's memory travels in *units*: the host frames (4 KiB) of each of its memory
regions, numbered region by region in the machine's logical layout, so both ends
of a migration name the same bytes whatever host frames each side gave the VM.

Dirty pages are found by comparing each unit with the copy of it last sent
(``PageDiff``), 8 bytes at a time over runs of frames that are consecutive in host
memory (some 7-10 ms for 32 MiB here).  Not by write-protecting the host CPU's page
tables, as KVM's dirty log does (EPT or shadow entries read-only, the first write
to each page faulting): making a RAM page of ``wpage`` PAGE_MMIO turns its writes
into MMIO write exits, and the x86 core reports only the *first* MMIO write of an
instruction (none of those an interrupt or exception entry makes, emu.debugger says
so too), so a far call's second push, an interrupt frame or a string move's last
bytes would be lost: the PM OS panicked within a second of it; and the exits changed
the guest's cycle count, so its emulated time drifted.  Comparing costs the guest nothing (no exits, its emulated time untouched)
and sees every writer: the CPU, DMA, and device models that write their own RAM
(the VGA's planes) directly.
"""
from __future__ import annotations

import numpy as np

from ..bus import FRAME

WORDS = FRAME // 8
CHUNK = 1024                      # frames compared at a time (cache-sized temporaries)


class Units:
    """The unit numbering of one VM's memory: unit -> host offset of its frame."""

    def __init__(self, mem):
        self.mem = mem
        self.names = sorted(mem.layout, key=lambda n: mem.layout[n][0])
        hosts, self.first = [], {}
        n = 0
        for name in self.names:
            self.first[name] = n
            hosts.append(np.asarray(mem.frames[name], dtype=np.int64))
            n += len(mem.frames[name])
        self.host = np.concatenate(hosts) if hosts else np.zeros(0, np.int64)
        self.count = n
        self.h2u = np.full(len(mem.data) // FRAME, -1, dtype=np.int64)
        self.h2u[self.host // FRAME] = np.arange(n, dtype=np.int64)
        self.logical = np.zeros(n, dtype=np.int64)      # unit -> logical offset
        for name in self.names:
            k = len(mem.frames[name])
            self.logical[self.first[name]:self.first[name] + k] = \
                mem.layout[name][0] + FRAME * np.arange(k, dtype=np.int64)

    def layout(self) -> list:
        """What must agree between the two ends: the regions, their sizes and kinds."""
        return [[n, self.mem.layout[n][1], self.mem.layout[n][2]] for n in self.names]

    def runs(self, units):
        """(position in ``units``, host offset, frames) of each run of units whose
        frames are consecutive in host memory too."""
        u = np.asarray(units, np.int64)
        if not len(u):
            return []
        o = self.host[u]
        cut = np.flatnonzero((np.diff(u) != 1) | (np.diff(o) != FRAME)) + 1
        starts = np.concatenate([[0], cut])
        ends = np.concatenate([cut, [len(u)]])
        return [(int(a), int(o[a]), int(b - a)) for a, b in zip(starts, ends)]

    def read(self, units) -> bytes:
        d = self.mem.data
        return b"".join(d[o:o + k * FRAME].tobytes() for _, o, k in self.runs(units))

    def write(self, units, payload) -> None:
        d = self.mem.data
        buf = np.frombuffer(payload, dtype=np.uint8)
        for i, o, k in self.runs(units):
            d[o:o + k * FRAME] = buf[i * FRAME:(i + k) * FRAME]

    def to_logical(self, table: np.ndarray) -> np.ndarray:
        """Page-table entries (host offsets of this VM's frames, or PAGE_* codes) as
        logical offsets (emu.bus.Memory.to_logical, for a few entries)."""
        out = np.asarray(table, dtype=np.int64).copy()
        ok = out >= 0
        u = self.h2u[out[ok] // FRAME]
        if len(u) and u.min() < 0:
            raise ValueError("a page-table entry names a frame the VM does not own")
        out[ok] = self.logical[u] + out[ok] % FRAME
        return out


class PageDiff:
    """The VM's memory as last sent, and which units differ from it now."""

    def __init__(self, units: Units):
        self.units = units
        self.sent = np.zeros((units.count, FRAME), dtype=np.uint8)
        self.spans = units.runs(np.arange(units.count))
        self.first = True

    def collect(self) -> np.ndarray:
        """The units changed since the last call (all of them the first time); the copy
        is brought up to date, so ``pages()`` gives what was compared."""
        d = self.units.mem.data
        if self.first:
            for i, o, k in self.spans:
                self.sent[i:i + k] = d[o:o + k * FRAME].reshape(k, FRAME)
            self.first = False
            return np.arange(self.units.count, dtype=np.int64)
        out = []
        sent = self.sent.view(np.uint64)
        for i, o, k in self.spans:
            for j in range(0, k, CHUNK):
                n = min(CHUNK, k - j)
                cur = d[o + j * FRAME:o + (j + n) * FRAME].view(np.uint64).reshape(n, WORDS)
                old = sent[i + j:i + j + n]
                idx = np.flatnonzero((cur != old).any(axis=1))
                if len(idx):
                    old[idx] = cur[idx]
                    out.append(idx + i + j)
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def pages(self, units) -> bytes:
        return self.sent[np.asarray(units, np.int64)].tobytes()
