"""Shadow page tables: the guest's paging as the host CPU walks it (trap-and-emulate).

The guest kernel's page tables map guest-linear to guest-physical addresses; the
host CPU needs guest-linear to *host*-physical.  The VMM keeps, in host frames
it owns, shadow tables that compose the guest's tables with the VM's p2m
(``AddressSpace.rpage/wpage``), built lazily on *hidden* page faults: a fault
the guest's own tables would not raise (the shadow entry is just not filled
yet).  The rules (the classical design of VMware's and Xen's shadow paging):

* **Hidden or the guest's own.**  On every host #PF the VMM walks the guest's
  tables with the guest's view (its CR0.WP, its CPL).  If the guest denies the
  access the fault is the guest's: it is injected with the guest's error code
  and CR2.  Otherwise the VMM fills the shadow entry and the guest never knows.
* **A/D bits reflected back.**  A shadow entry is filled only for a guest entry
  the VMM marks accessed (it sets the guest's A bit, as the CPU would), and it is
  writable only once the guest entry is dirty: the first write to a clean page
  faults, the VMM sets the guest's D bit and upgrades the shadow entry.
* **Page-table pages write-protected.**  Every guest page directory and page
  table the shadows were built from is *tracked*: mapped read-only in every
  shadow.  A guest write to one faults; the VMM emulates the write and updates
  the shadows from the entries that changed (compared with its last copy).
* **A cache of shadows.**  Each guest CR3 value has its own shadow directory;
  switching back to an address space finds its shadow still valid (tracking
  kept it in step).  Shadow page tables are shared between directories that
  point at the same guest page table with the same permissions (the kernel half
  every process maps).
* **The VMM's area.**  The top 4 MiB of every shadow address space map the VMM's
  own pages (shadow GDT, IDT, LDT and the host TSS); guest segments end below
  it (ring compression, emu.vmm.shadow), and a guest mapping there is ignored.

Guest 4 MiB pages (CR4.PSE) are shadowed by 4 KiB shadow tables; guest paging
off (CR0.PG clear) by an identity shadow.  Device (MMIO) pages are never mapped:
the access faults and the VMM emulates the instruction against the devices.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import abi
from ..bus import FRAME

VMM_PDE = 1023                    # the VMM's 4 MiB of linear space: FFC00000h-FFFFFFFFh
VMM_BASE = VMM_PDE << 22
TOP = VMM_BASE - 1                # the last linear address a guest segment may reach
MAX_SPACES = 64                   # shadow directories kept (guest CR3 values)
MAX_FRAMES = 4096                 # shadow frames before everything is dropped and rebuilt
FLOOD = 16                        # writes to a page table, not walked between, that unshadow it
A, D = 0x20, 0x40


class ShadowMMU:
    def __init__(self, host, owner: str, space, vmm_frames):
        """``host``: the HostMemory; ``space``: the VM's AddressSpace (its p2m);
        ``vmm_frames``: host frames of the VMM's area, mapped from VMM_BASE up (None:
        the VMM needs no room in the guest's linear space, as under VT-x)."""
        self.host, self.owner, self.space = host, owner, space
        self.u32 = host.data.view(np.uint32)
        self.vmm_pt = None
        if vmm_frames is not None:
            self.vmm_pt = int(host.alloc(1, owner)[0])
            pt = self._table(self.vmm_pt)
            pt[:] = 0
            for i, f in enumerate(vmm_frames):
                pt[i] = (int(f) * FRAME) | 0x63           # present, writable, supervisor, A, D
        self.frames = []                                   # shadow frames (PDs and PTs)
        self.tlb_dirty = True                              # an entry the host TLB may hold changed
        self.stats = {"hidden": 0, "guest": 0, "pt-update": 0, "flush": 0}
        self._clear()

    # ---- bookkeeping ----------------------------------------------------------------
    def _clear(self):
        self.spaces = OrderedDict()    # key -> PD frame   (key: guest PD gfn, or "phys")
        self.pts = {}                  # key -> PT frame   (("pt", gfn, perm) | ("big", base, perm, d) | ("phys", i))
        self.pt_users = {}             # guest PT gfn -> keys of the shadow PTs built from it
        self.tracked = {}              # gfn -> its last copy (uint32[1024]) as the shadows know it
        self.tracked_host = np.zeros(0, dtype=np.int64)    # host offsets of tracked pages
        self.flood = {}                # tracked gfn -> guest writes since it was last walked
        self.ptframes = []             # PT frames (the write-protect scan)

    def flush(self) -> None:
        """Drop every shadow (a p2m change, CR4.PSE, a restore): rebuilt on demand."""
        if self.frames:
            self.host.free(np.array(self.frames, dtype=np.int64))
        self.frames = []
        self._clear()
        self.tlb_dirty = True
        self.stats["flush"] += 1

    def release(self) -> None:
        self.flush()
        if self.vmm_pt is not None:
            self.host.free(np.array([self.vmm_pt], dtype=np.int64))

    def _table(self, frame: int) -> np.ndarray:
        return self.u32[frame * 1024:(frame + 1) * 1024]

    def full(self) -> bool:
        return len(self.frames) >= MAX_FRAMES

    def _alloc(self) -> int:
        f = int(self.host.alloc(1, self.owner)[0])
        self._table(f)[:] = 0
        self.frames.append(f)
        return f

    def gpage(self, gfn: int):
        """The guest page ``gfn`` as uint32[1024] (a view of its host frame), or None
        if it is not RAM."""
        o = int(self.space.rpage[gfn]) if 0 <= gfn < self.space.npages else -1
        if o < 0:
            return None
        return self.u32[o // 4:o // 4 + 1024]

    # ---- address spaces -------------------------------------------------------------
    def root(self, cr0: int, cr3: int) -> int:
        """Host-physical address of the shadow directory for the guest's CR3 (or for
        paging off): served from the cache when the guest switches back."""
        key = (cr3 >> 12) & 0xFFFFF if cr0 & 0x80000000 else "phys"
        f = self.spaces.get(key)
        if f is None:
            if len(self.spaces) >= MAX_SPACES:           # the least recently used goes
                self.unshadow(next(iter(self.spaces)))
            f = self._alloc()
            if self.vmm_pt is not None:
                self._table(f)[VMM_PDE] = (self.vmm_pt * FRAME) | 0x23
            self.spaces[key] = f
            if key != "phys":
                self.track(key)
        else:
            self.spaces.move_to_end(key)
        return f * FRAME

    # ---- tracking (write protection of the guest's page-table pages) ------------------
    def track(self, gfn: int) -> None:
        if gfn in self.tracked:
            return
        page = self.gpage(gfn)
        if page is None:
            return
        self.tracked[gfn] = page.copy()
        ho = int(self.space.rpage[gfn])
        self.tracked_host = np.append(self.tracked_host, ho)
        self.write_protect(np.array([ho], dtype=np.int64))     # its mappings so far

    def write_protect(self, host_offsets: np.ndarray) -> None:
        """Make the shadow entries that map these host frames read-only (a traced page
        table; a dirty-logged page, emu.abi PAGE_LOGGED, whose next write must fault
        to be logged, as KVM write-protects sptes for its dirty log)."""
        for f in self.ptframes:
            t = self._table(f)
            hit = ((t & 3) == 3) & np.isin((t & 0xFFFFF000).astype(np.int64), host_offsets)
            if hit.any():
                t[hit] &= ~np.uint32(2)
                self.tlb_dirty = True

    def written(self, gfn: int) -> None:
        """The guest wrote tracked page ``gfn`` (the VMM emulated the write): drop the
        shadow entries built from the guest entries that changed."""
        page = self.gpage(gfn)
        old = self.tracked.get(gfn)
        if page is None or old is None:
            return
        changed = np.flatnonzero((page ^ old) & ~np.uint32(A | D))
        old[:] = page
        if not len(changed) or not self.is_pt(gfn):
            return
        self.stats["pt-update"] += 1
        self.tlb_dirty = True
        if gfn in self.spaces:
            pd = self._table(self.spaces[gfn])
            idx = changed[changed != VMM_PDE] if self.vmm_pt is not None else changed
            pd[idx] = 0
        for key in self.pt_users.get(gfn, ()):
            self._table(self.pts[key])[changed] = 0

    def flooded(self, gfn: int, current) -> bool:
        """Count a guest write to tracked page ``gfn``; after FLOOD writes with no use of
        it as a page table in between (a freed page table the guest now uses as data,
        say) stop shadowing it, as KVM does on write flooding: its shadows go, its
        mappings become writable again, and it is shadowed afresh if the guest walks
        it again.  ``current``: the active directory's key (kept)."""
        n = self.flood.get(gfn, 0) + 1
        self.flood[gfn] = n
        if n < FLOOD or gfn == current:
            return False
        self.unshadow(gfn)
        return True

    def unshadow(self, gfn: int) -> None:
        drop = []
        for key in self.pt_users.pop(gfn, ()):
            drop.append(self.pts.pop(key))
        if gfn in self.spaces:
            drop.append(self.spaces.pop(gfn))
        if drop:
            dead = np.array(drop, dtype=np.int64) * FRAME
            for f in self.spaces.values():                 # unlink directory entries to them
                pd = self._table(f)
                pd[np.isin(pd.astype(np.int64) & ~0xFFF, dead)] = 0
            gone = set(drop)
            self.ptframes = [f for f in self.ptframes if f not in gone]
            self.frames = [f for f in self.frames if f not in gone]
            self.host.free(np.array(drop, dtype=np.int64))
        self.tracked.pop(gfn, None)
        self.flood.pop(gfn, None)
        ho = int(self.space.rpage[gfn])
        self.tracked_host = self.tracked_host[self.tracked_host != ho]
        self.tlb_dirty = True
        self.stats["unshadowed"] = self.stats.get("unshadowed", 0) + 1

    def is_pt(self, gfn: int) -> bool:
        """``gfn`` is a guest page directory or page table the shadows were built from."""
        return gfn in self.spaces or gfn in self.pt_users

    # ---- filling -----------------------------------------------------------------------
    def _leaves(self, gpte: np.ndarray, perm: int, d_ok) -> np.ndarray:
        """Shadow entries for guest entries ``gpte`` (uint32) that the guest has marked
        accessed: host frame, present, U/W of the guest (``perm``: the directory's
        U/W bits ANDed in), writable only if dirty, RAM and not tracked."""
        gfn = (gpte >> 12).astype(np.int64)
        sp = self.space
        ro = sp.rpage[gfn]
        wo = sp.wpage[gfn]
        ok = ((gpte & 1) != 0) & ((gpte & A) != 0) & (ro >= 0)
        w = ((gpte & perm & 2) != 0) & (wo == ro) & d_ok
        if len(self.tracked_host):
            w &= ~np.isin(ro, self.tracked_host)
        e = (ro & ~0xFFF).astype(np.int64) | 1 | (gpte & perm & 4) | np.where(w, 2 | A | D, A)
        return np.where(ok, e, 0).astype(np.uint32)

    def _pt_for(self, pd_gfn, pdi: int, pde: int, pse: bool):
        """The shadow PT for directory entry ``pdi`` of the guest (``pde``), built or
        found; None if the guest's entry is not usable."""
        if pd_gfn == "phys":
            key = ("phys", pdi)
            f = self.pts.get(key)
            if f is None:
                f = self._alloc()
                self.pts[key] = f
                self.ptframes.append(f)
                gfns = (pdi << 10) + np.arange(1024, dtype=np.int64)
                g = ((gfns << 12) | 0x67).astype(np.uint32)          # as if present U W A D
                self._table(f)[:] = self._leaves(g, 6, True)
            return f, 0x27
        perm = pde & 6
        if pse and pde & 0x80:
            key = ("big", pde & 0xFFC00000, perm, pde & D)
            f = self.pts.get(key)
            if f is None:
                f = self._alloc()
                self.pts[key] = f
                self.ptframes.append(f)
                g = ((pde & 0xFFC00000) + (np.arange(1024, dtype=np.int64) << 12)) | (pde & 0x67)
                self._table(f)[:] = self._leaves(g.astype(np.uint32), perm, (pde & D) != 0)
            return f, 0x21 | perm
        gfn = pde >> 12
        self.flood.pop(gfn, None)                    # (walked as a page table: in use)
        key = ("pt", gfn, perm)
        f = self.pts.get(key)
        if f is None:
            page = self.gpage(gfn)
            if page is None:
                return None
            self.track(gfn)
            f = self._alloc()
            self.pts[key] = f
            self.ptframes.append(f)
            self.pt_users.setdefault(gfn, []).append(key)
            self._table(f)[:] = self._leaves(page, perm, (page & D) != 0)
        return f, 0x21 | perm

    def fill(self, root: int, pd_gfn, la: int, walk) -> bool:
        """Map ``la`` in the shadow rooted at ``root`` after the guest's walk ``walk``
        (emu.vmm.trap.GuestWalk: the guest's A/D bits already set).  False if the
        page cannot be mapped (a device page: the access must be emulated)."""
        pdi = la >> 22
        if pdi == VMM_PDE and self.vmm_pt is not None:
            return False
        got = self._pt_for(pd_gfn, pdi, walk.pde, walk.pse)
        if got is None:
            return False
        f, flags = got
        self._table(root // FRAME)[pdi] = (f * FRAME) | flags
        pt = self._table(f)
        i = (la >> 12) & 1023
        # (the entry afresh, also in the tables _pt_for builds whole: one a dirty log
        # write-protected is writable again once the page is logged)
        if pd_gfn == "phys":
            g, perm, d_ok = ((la >> 12) << 12) | 0x67, 6, True
        elif walk.pse and walk.pde & 0x80:
            g = ((walk.pde & 0xFFC00000) + (i << 12)) | (walk.pde & 0x67)
            perm, d_ok = walk.pde & 6, (walk.pde & D) != 0
        else:
            g, perm, d_ok = walk.pte, walk.pde & 6, (walk.pte & D) != 0
        pt[i] = self._leaves(np.array([g], dtype=np.uint32), perm, d_ok)[0]
        self.stats["hidden"] += 1
        return bool(pt[i] & 1)


def is_mmio(space, gfn: int) -> bool:
    return not (0 <= gfn < space.npages) or int(space.rpage[gfn]) == abi.PAGE_MMIO
