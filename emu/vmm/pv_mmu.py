"""PV-assisted shadow paging (mode ``pv``; docs/pv-abi.md "Memory").

The paravirtual kernel's page tables hold *guest-physical* frames, as a native
kernel's do, and are ordinary guest memory: the guest writes its entries itself
and reports them in batches (HC_MMU_UPDATE).  The VMM keeps the shadow tables of
emu.vmm.shadowpt (guest-linear -> host-physical, in the VMM's frames) in step
from those reports, so no page-table page is write-protected and a guest
page-table write never faults.  Guest memory names no host frame anywhere: a
VM moves to other frames (or another host: live migration) with its p2m alone.

What the guest does not report — a page it frees as a page table and reuses
(the kernel zeroes a new directory with memset) — is caught where it matters:
a page directory is compared with the copy its shadow was built from when the
guest loads it (MMU_NEW_BASEPTR), and a page table when a directory entry is
linked to its shadow again.
"""
from __future__ import annotations

from .shadowpt import ShadowMMU


class PvShadowMMU(ShadowMMU):
    def track(self, gfn: int) -> None:
        """Keep the copy the shadows are built from; no write protection."""
        if gfn in self.tracked:
            return
        page = self.gpage(gfn)
        if page is not None:
            self.tracked[gfn] = page.copy()

    def sync(self, gfn: int) -> None:
        """The guest changed page ``gfn`` (a report, or a reuse found): drop the shadow
        entries built from the entries that changed."""
        if gfn in self.tracked:
            self.written(gfn)

    def _pt_for(self, pd_gfn, pdi: int, pde: int, pse: bool):
        if pd_gfn != "phys" and not (pse and pde & 0x80):
            self.sync(pde >> 12)
        return super()._pt_for(pd_gfn, pdi, pde, pse)
