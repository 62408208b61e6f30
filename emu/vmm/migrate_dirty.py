"""Dirty logging for live migration: which guest memory was written since the last look.

A VM's memory travels in *units*: the host frames (4 KiB) of each of its memory
regions, numbered region by region in the machine's logical layout, so both ends
of a migration name the same bytes whatever host frames each side gave the VM.

Logging uses the host CPU's own page tables, as KVM's dirty log write-protects
EPT/shadow entries: every writable page-table entry (``wpage``) of the VM's
address spaces that maps a logged unit is made ``PAGE_MMIO``, so the first write
to the page leaves the core as an MMIO write exit (like a device page's; under mode
``hw`` with nested paging the same table is the EPT, and the exit an EPT violation).
The handler restores the entry (later writes run at full speed), completes the
write, and the unit is dirty.  ``collect()`` returns the units dirtied since the last
call and write-protects them again.

Logged are the RAM regions of at least ``LOGGED_MIN`` bytes (main memory).  Smaller
regions (a PC's conventional memory and the VGA's planes, which device models also
write directly, not through the CPU's tables) and ROMs are compared with the copy last
sent instead (``Compared``): cheap at their size, and right whoever writes them.
"""
from __future__ import annotations

import numpy as np

from .. import abi
from ..bus import FRAME

LOGGED_MIN = 1 << 20


class Units:
    """The unit numbering of one VM's memory: unit -> host offset of its frame."""

    def __init__(self, mem):
        self.mem = mem
        self.names = sorted(mem.layout, key=lambda n: mem.layout[n][0])
        hosts, self.first, self.kind = [], {}, {}
        n = 0
        for name in self.names:
            fr = np.asarray(mem.frames[name], dtype=np.int64)
            self.first[name] = n
            hosts.append(fr)
            n += len(fr)
        self.host = np.concatenate(hosts) if hosts else np.zeros(0, np.int64)
        self.count = n
        self.h2u = np.full(len(mem.data) // FRAME, -1, dtype=np.int64)
        self.h2u[self.host // FRAME] = np.arange(n, dtype=np.int64)
        self.logged = np.zeros(n, dtype=bool)
        for name in self.names:
            _, size, kind = mem.layout[name]
            if kind == "ram" and size >= LOGGED_MIN:
                self.logged[self.first[name]:self.first[name] + len(mem.frames[name])] = True
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


class DirtyLog:
    """Write-protect the VM's logged pages in its address spaces' ``wpage`` tables."""

    def __init__(self, machine, units: Units):
        self.units = units
        self.spaces = list(machine.spaces.values())
        self.orig = {}                # space -> int64[npages]: the entry beneath (-1: not armed)
        self.dirty = set()            # units the handler saw written
        self.faults = 0               # first writes caught (exits)
        self.inner = {}
        self.gen = {}                 # space -> its generation when the log last armed it
        self.cand = {}                # space -> the pages armed at the start
        self.stale = set()            # spaces whose tables were rebuilt meanwhile
        for sp in self.spaces:
            self.orig[sp] = np.full(sp.npages, -1, dtype=np.int64)
            self.inner[sp] = sp.mmio_write
            sp.mmio_write = self._handler(sp)
            self._arm(sp)

    def _logged_pages(self, sp, full: bool = False):
        """(pages, their units) writable now that map logged units: among the pages
        armed at the start, or (``full``: the tables were rebuilt) all of them."""
        wp = sp.wpage
        if full or sp not in self.cand:
            idx = np.flatnonzero(wp >= 0)
        else:
            c = self.cand[sp]
            idx = c[wp[c] >= 0]
        u = self.units.h2u[wp[idx] // FRAME]
        keep = (u >= 0)
        keep[keep] = self.units.logged[u[keep]]
        return idx[keep], u[keep]

    def _arm(self, sp) -> None:
        idx, _ = self._logged_pages(sp, full=True)
        self.cand[sp] = idx
        self.orig[sp][idx] = sp.wpage[idx]
        sp.wpage[idx] = abi.PAGE_MMIO
        sp.generation += 1
        self.gen[sp] = sp.generation

    def _fresh(self, sp) -> bool:
        """False if the tables were rebuilt since the log armed them (its entries are
        stale: forgotten, and collect() counts every writable page)."""
        if sp.generation != self.gen[sp]:
            self.orig[sp][:] = -1
            self.gen[sp] = sp.generation
            self.stale.add(sp)
            return False
        return True

    def _handler(self, sp):
        inner, orig, data, units = self.inner[sp], self.orig[sp], sp.memory.data, self.units
        pb, pm, mask = sp.page_bits, sp.page - 1, sp.addr_mask

        def mmio_write(addr, value, size):
            self._fresh(sp)
            for i in range(size):
                a = (addr + i) & mask
                p = a >> pb
                o = int(orig[p])
                if o < 0:
                    inner(a, (value >> (8 * i)) & 0xFF, 1)
                    continue
                if sp.wpage[p] == abi.PAGE_MMIO:      # the first write: restore, log
                    sp.wpage[p] = o
                    self.faults += 1
                orig[p] = -1
                self.dirty.add(int(units.h2u[o // FRAME]))
                data[o + (a & pm)] = (value >> (8 * i)) & 0xFF
        return mmio_write

    def collect(self, rearm: bool = True) -> np.ndarray:
        """The logged units written since the last call (sorted); with ``rearm`` they
        are write-protected again.  A page writable now that the log did not open (a
        bank switch or remap rebuilt the tables) counts as written."""
        out = set(self.dirty)
        self.dirty.clear()
        for sp in self.spaces:
            full = not self._fresh(sp) or sp in self.stale
            self.stale.discard(sp)
            idx, u = self._logged_pages(sp, full)
            out.update(u.tolist())
            if full:
                self.cand[sp] = np.union1d(self.cand[sp], idx)
            if rearm:
                self.orig[sp][idx] = sp.wpage[idx]
                sp.wpage[idx] = abi.PAGE_MMIO
                sp.generation += 1
                self.gen[sp] = sp.generation
        return np.array(sorted(out), dtype=np.int64)

    def stop(self) -> None:
        """Every armed entry back as it was; the address spaces' handlers too."""
        for sp in self.spaces:
            self._fresh(sp)
            o = self.orig[sp]
            c = self.cand[sp]
            idx = c[(o[c] >= 0) & (sp.wpage[c] == abi.PAGE_MMIO)]
            sp.wpage[idx] = o[idx]
            o[c] = -1
            sp.mmio_write = self.inner[sp]
            sp.generation += 1


class Compared:
    """The units not logged: compared with the bytes last sent."""

    def __init__(self, units: Units):
        self.units = units
        self.which = np.flatnonzero(~units.logged)
        self.sent = None

    def collect(self) -> np.ndarray:
        now = np.frombuffer(self.units.read(self.which), np.uint8).reshape(-1, FRAME)
        if self.sent is None:
            changed = np.ones(len(self.which), dtype=bool)
        else:
            changed = (now != self.sent).any(axis=1)
        self.sent = now
        return self.which[changed]
