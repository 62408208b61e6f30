"""Which guest memory changed since it was last sent, for live migration.

A VM's memory travels in *units*: the host frames (4 KiB) of each of its memory
regions, numbered region by region in the machine's logical layout, so both ends
of a migration name the same bytes whatever host frames each side gave the VM.

Dirty pages come from the page tables the CPU writes through (``DirtyLog``), as
KVM's dirty log does: each round the VM's RAM entries of ``wpage`` (the p2m: the
EPT of the hardware-assisted modes) are *logged* (emu.abi PAGE_LOGGED), and the
first write to such a page puts its offset back, with no exit (EPT dirty bits and
page-modification logging work so); the pages written are the entries that are
offsets again.  Python writers (DMA, the VMM, the debugger) go through
``AddressSpace.write_offset``, which does the same.  Under shadow paging the VM's
shadow entries of those pages are write-protected too (``ShadowMMU.write_protect``):
the first write faults, the VMM logs it and makes the entry writable (KVM's
write-protected sptes).  Regions a device model writes behind the page tables
(``Memory.region(..., device=True)``: the VGA's linear window) are compared with
the copy last sent instead (``PageDiff``), as QEMU's device models mark their own
writes dirty.
"""
from __future__ import annotations

import numpy as np

from .. import abi
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
    """Units ``which`` as last sent, and which of them differ from it now: 8 bytes at
    a time over runs of frames consecutive in host memory (some 7-10 ms for 32 MiB
    here)."""

    def __init__(self, units: Units, which=None):
        self.units = units
        self.which = np.arange(units.count, dtype=np.int64) if which is None \
            else np.asarray(which, dtype=np.int64)
        self.sent = np.zeros((len(self.which), FRAME), dtype=np.uint8)
        self.spans = units.runs(self.which)
        self.first = True

    def collect(self) -> np.ndarray:
        """The units changed since the last call (all of them the first time); the copy
        is brought up to date."""
        d = self.units.mem.data
        if self.first:
            for i, o, k in self.spans:
                self.sent[i:i + k] = d[o:o + k * FRAME].reshape(k, FRAME)
            self.first = False
            return self.which.copy()
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
                    out.append(self.which[idx + i + j])
        return np.concatenate(out) if out else np.zeros(0, np.int64)


class DirtyLog:
    """The units of one VM written since the last ``collect()`` (module docstring).
    Call it between slices only (the VM not running); ``stop()`` ends the logging and
    leaves the tables as they would be without it."""

    def __init__(self, vm, units: Units):
        self.units, self.mode = units, vm.mode
        self.spaces = list(vm.machine.spaces.values())
        self.device_written = vm.machine.mem.device_written
        self.logged_unit = self.diff = None
        self.entries = {}              # id(space) -> (its generation, entries: _entries)

    def _choose(self) -> None:
        """Which units the page tables log: those some ``wpage`` maps as RAM, but for
        the regions a device writes itself.  The others (a device's own RAM, RAM only
        reachable beneath a device's window) are compared."""
        u = self.units
        mapped = np.zeros(u.count, dtype=bool)
        for sp in self.spaces:
            h = u.h2u[sp.wpage[sp.wpage >= 0] // FRAME]
            mapped[h[h >= 0]] = True
        for name in self.device_written:
            mapped[u.first[name]:u.first[name] + len(u.mem.frames[name])] = False
        self.logged_unit = mapped
        if not mapped.all():
            self.diff = PageDiff(u, np.flatnonzero(~mapped))
            self.diff.collect()

    def _entries(self, sp) -> np.ndarray:
        """The entries of ``sp`` that are (or stand for, logged) a logged unit's RAM,
        found again when the map changes (``AddressSpace.generation``)."""
        got = self.entries.get(id(sp))
        if got is None or got[0] != sp.generation:
            wp = sp.wpage
            off = np.where(wp <= abi.PAGE_LOGGED, abi.unlogged(wp), wp)
            p = np.flatnonzero(off >= 0)
            u = self.units.h2u[off[p] // FRAME]
            keep = u >= 0
            keep[keep] = self.logged_unit[u[keep]]
            got = self.entries[id(sp)] = (sp.generation, p[keep])
        return got[1]

    def _arm(self, sp) -> np.ndarray:
        """Log every such entry that is an offset now; the units of those written
        since the last arming, and of the pages a debugger watchpoint traps (written
        beneath the trap, emu.bus: dirty while it lasts)."""
        wp = sp.wpage
        p = self._entries(sp)
        p = p[wp[p] >= 0]
        u = self.units.h2u[wp[p] // FRAME]
        wp[p] = abi.logged(wp[p])
        t = self.units.h2u[np.array(list(sp.trapped_w.values()), dtype=np.int64) // FRAME]
        return np.concatenate([u, t[t >= 0]])

    def collect(self) -> np.ndarray:
        """The units written since the last call (all of them the first time)."""
        first = self.logged_unit is None
        if first:
            self._choose()
        got = [self._arm(sp) for sp in self.spaces]
        mmu = getattr(self.mode, "mmu", None)
        if mmu is not None:                                      # shadow paging
            mmu.write_protect(self.units.host[self.logged_unit] if first
                              else self.units.host[np.unique(np.concatenate(got))])
        if first:
            return np.arange(self.units.count, dtype=np.int64)
        if self.diff is not None:
            got.append(self.diff.collect())
        return np.unique(np.concatenate(got))

    def stop(self) -> None:
        if self.logged_unit is None:
            return
        for sp in self.spaces:
            wp = sp.wpage
            p = self._entries(sp)
            p = p[wp[p] <= abi.PAGE_LOGGED]
            wp[p] = abi.unlogged(wp[p])
