"""Mode ``bt`` for x86 guests: binary translation of the guest kernel, in the manner
of VMware's monitor (Adams & Agesen, ASPLOS 2006; the seed's Part III).

Built on trap-and-emulate (emu.vmm.trap: the host CPU, shadow page tables, the
shadow GDT/IDT with ring compression and segments truncated below the VMM's area,
the virtual IF, emulation of one instruction on the virtual CPU) on the *default*,
non-virtualizable host x86, with no lockstep: the guest kernel (virtual CPL 0)
never runs directly.  Each of its basic blocks is translated into the translation
cache (emu.vmm.bt_x86_tc) in the VMM's area, and the host CPU runs the translation
at ring 1 with the VMM's code segment; the guest's user code (CPL 3) runs directly,
as under trap.

* Innocuous instructions are copied; sensitive and privileged ones (the decoder's
  list, emu.vmm.bt_x86_decode) become *callouts*: an ``HLT`` at ring 1 (#GP, a VM
  exit) whose host EIP names a record; the VMM emulates the guest instruction on the
  virtual CPU (Trap.emulate) and goes on at the guest EIP the virtual CPU reached.
* Relative branches exit through slots that are patched into direct jumps once the
  target is translated (chaining); indirect branches and returns are callouts.
* Exceptions are precise: the VMM maps the host EIP of a fault or an interruption
  back to the guest EIP (the per-instruction map), with the guest's registers.
* Self-modifying code: every guest frame a block was translated from is
  write-protected in the shadow page tables (ShadowMMU.track, the same protection
  as a guest page table's); a write drops that frame's blocks and is emulated.  A
  change of the guest's mapping of a translated page (its page tables, CR3) drops
  the blocks at that page.
* The guest cannot reach the cache: it is in the VMM's area (the top 4 MiB of the
  linear space, supervisor pages of the VMM's own page table), above the limit of
  every guest segment; only the VMM's code segment (a descriptor after the guest's
  entries in the shadow GDT, DPL 1) reaches it.  Guest gates are shadowed not
  present, so no INT or call gate enters the guest kernel natively: every entry to
  virtual ring 0 passes through the VMM and into the cache.
"""
from __future__ import annotations

import time
from collections import Counter

import numpy as np

from .. import abi
from ..bus import FRAME
from .bt_x86_tc import (
    BRANCH,
    D_ALLOW,
    D_JMP,
    D_PATCH,
    D_PEND,
    D_SEL,
    D_VIF,
    DATA_SIZE,
    TranslationCache,
    allow_table,
)
from .mode import ModeError
from .shadow import desc
from .shadowpt import VMM_BASE
from .trap import VMM_PAGES, Trap

TC_PAGES = 256                       # 1 MiB of translation cache
DATA_LIN = VMM_BASE + VMM_PAGES * FRAME          # the VMM's data segment (emu.vmm.bt_x86_tc)
DATA_PAGES = DATA_SIZE // FRAME
TC_LIN = DATA_LIN + DATA_PAGES * FRAME


class BtX86(Trap):
    name = "bt"
    summary = "the guest kernel translated block by block into a translation cache run at ring 1"
    tss_follows = False              # (no gate takes the host CPU into ring 1: its TSS is unused)

    def __init__(self, vm):
        self.tc_pages = TC_PAGES
        self.vmm_pages = VMM_PAGES + DATA_PAGES + self.tc_pages
        super().__init__(vm)
        self.lockstep = False                      # translation, not lockstep, keeps it right
        self.tc = TranslationCache(TC_LIN, self.tc_pages * FRAME, self._put_lin, self._put_data)
        self.tc_cs = self.tc_gs = 0                # the VMM's code and data selectors (RPL 1)
        self._patch_iopl = None
        self._allow_for = None
        self.dpage = self._data_page()
        self._tc_desc_for = None
        self.callouts = Counter()                  # guest instruction -> callouts
        self.maps_ok = None                        # what the translated pages' mappings were checked for
        self.maps_seen = {}                        # guest CR3 -> the same, when last checked
        self.t0 = time.perf_counter()

    # ---- the VMM's area ---------------------------------------------------------------
    def _put_lin(self, la: int, data: bytes) -> None:
        self._put(int(self.vmm_frames[0]) * FRAME + la - VMM_BASE, data)

    def _put_data(self, off: int, data: bytes) -> None:
        self._put_lin(DATA_LIN + off, data)

    def _data_page(self):
        """The virtual-CPU block (the data segment's first page) as uint32 words."""
        f = int(self.vmm_frames[VMM_PAGES])
        return self.hostmem.data[f * FRAME:(f + 1) * FRAME].view(np.uint32)

    def _data32(self, off: int) -> int:
        return int(self.dpage[off >> 2])

    def _shadow(self, name: str, host_off: int, raw: bytes) -> None:
        """Guest gates (IDT entries, call and task gates) shadowed not present: an INT
        or far call into the guest kernel leaves the host CPU (#NP, #GP) for the VMM,
        which delivers it on the virtual CPU and goes on in translated code."""
        b = bytearray(raw)
        for i in range(0, len(b) - 7, 8):
            acc = b[i + 5]
            if not acc & 0x10 and (acc & 0x0F) in (0x4, 0x5, 0x6, 0x7, 0xC, 0xE, 0xF):
                b[i + 5] = acc & 0x7F
        super()._shadow(name, host_off, bytes(b))

    def _descriptors(self) -> None:
        super()._descriptors()
        X, v = self.X, self.vcpu.state
        ldt = self.desc_raw.get("ldt") if v[X.LDTR] & ~3 else None
        gdt = self.desc_raw.get("gdt")
        if (gdt, ldt) != self._allow_for:                # (the guest's tables changed)
            self._allow_for = (gdt, ldt)
            self._put_data(D_ALLOW, allow_table(gdt or b"", ldt))
        if self._tc_desc_for != (self.tss_sel, self.desc_regs):
            self._tc_desc_for = (self.tss_sel, self.desc_regs)
            sel = self.tss_sel + 8                 # after the host TSS: flat code, DPL 1, and
            base = int(self.vmm_frames[0]) * FRAME # the data segment, DPL 1
            self._put(base + sel, desc(0, 0xFFFFF, 0xBB, 0xC) + desc(DATA_LIN, DATA_SIZE - 1, 0xB3, 0x4))
            self.tc_cs, self.tc_gs = sel | 1, (sel + 8) | 1

    def _to_host_full(self) -> None:
        super()._to_host_full()
        self.host.state[self.X.GDTL] = self.tss_sel + 23

    def _host_segments(self, which) -> None:
        super()._host_segments(which)
        X, v, h = self.X, self.vcpu.state, self.host.state
        if int(v[X.CPL]) == 0 and X.CS in which:
            h[X.SEL + X.CS], h[X.BASE + X.CS], h[X.LIMIT + X.CS] = self.tc_cs, 0, 0xFFFFFFFF
            h[X.ATTR + X.CS], h[X.CSD] = 0xCBB, 1
            self.loaded_sel[X.CS] = self.tc_cs
        if int(v[X.CPL]) == 0 and X.GS in which:
            h[X.SEL + X.GS], h[X.BASE + X.GS], h[X.LIMIT + X.GS] = self.tc_gs, DATA_LIN, DATA_SIZE - 1
            h[X.ATTR + X.GS] = 0x4B3
            self.loaded_sel[X.GS] = self.tc_gs
        self.loaded_segs = h[X.SEL:X.SSB + 1].tobytes()

    # ---- which code is translated ---------------------------------------------------------
    def in_pm32(self) -> bool:
        """Translated: 32-bit protected-mode kernel code; 16-bit kernel code or a kernel
        single-stepping itself (TF) runs on the virtual CPU (as real mode does)."""
        X, v = self.X, self.vcpu.state
        if not super().in_pm32():
            return False
        return int(v[X.CPL]) != 0 or not v[X.FLAGS] & X.TF

    def in_tc(self) -> bool:
        return self.on_host and int(self.host.state[self.X.SEL + self.X.CS]) == self.tc_cs

    # ---- entering and leaving the translation cache -------------------------------------
    def to_host(self) -> None:
        super().to_host()
        X, v, h = self.X, self.vcpu.state, self.host.state
        if int(v[X.CPL]) == 0:
            self._check_maps()
            h[X.EIP] = self.entry(int(v[X.EIP]))
            # the virtual CPU block: the virtual IF, an interrupt waiting for it, and
            # PUSHF's view of EFLAGS byte 1 (the virtual IF and IOPL)
            d = self.dpage
            d[D_VIF >> 2] = int(v[X.FLAGS]) & X.IF
            d[D_PEND >> 2] = 1 if v[abi.S_IRQ] & 1 or v[abi.S_NMI] else 0
            for i in (X.CS, X.SS, X.GS):              # the guest's selectors PUSH shows
                d[(D_SEL >> 2) + i] = int(v[X.SEL + i])
            iopl = (int(v[X.FLAGS]) >> 12) & 3
            if iopl != self._patch_iopl:
                self._patch_iopl = iopl
                t = bytearray(768)
                for b in range(256):
                    t[b] = (b & ~0x32) | (iopl << 4)
                    t[512 + b] = t[b] | 0x02
                self._put_data(D_PATCH, bytes(t))

    def _virtual_if(self) -> int:
        return self._data32(D_VIF) & self.X.IF

    def to_vcpu(self) -> None:
        if not self.in_tc():
            super().to_vcpu()
            return
        X, h = self.X, self.host.state
        hip = int(h[X.EIP])
        geip, fix = self.tc.hmap.get(hip), self.tc.fix.get(hip)
        if fix == "jmp":                           # (a translated RET, done but for the jump)
            geip = self.tc.hmap.get(self._data32(D_JMP))
        if geip is None:
            raise ModeError(f"{self.vm.name}: bt: host EIP {hip:08X} is not a translated instruction")
        vif = self._virtual_if()
        super().to_vcpu()
        # the selectors the host holds now stand for the virtual CPU's (DS, ES, FS may
        # have been loaded natively in the TC): what the next to_vcpu compares with
        for i in range(6):
            self.loaded_sel[i] = int(h[X.SEL + i])
        self.loaded_segs = h[X.SEL:X.SSB + 1].tobytes()
        v = self.vcpu.state
        v[X.EIP] = geip
        gs = self._data32(D_SEL + 4 * X.GS)
        if gs != int(v[X.SEL + X.GS]):              # (a translated POP GS)
            seg = self.guest_segment(gs)
            v[X.SEL + X.GS] = gs
            if seg is not None:
                v[X.BASE + X.GS], v[X.LIMIT + X.GS], v[X.ATTR + X.GS] = seg
        v[X.FLAGS] = (int(v[X.FLAGS]) & ~X.IF) | vif
        if fix is not None and fix != "jmp":       # roll a rewritten sequence back
            regs, esp = fix
            for r in regs:
                v[X.REG + r] = self._data32(4 * r)
            v[X.REG + 4] = (int(v[X.REG + 4]) + esp) & 0xFFFFFFFF

    def _wants_vcpu(self) -> bool:
        if self.in_tc():                           # (the virtual IF is the block's)
            X, v = self.X, self.vcpu.state
            if v[abi.S_NMI]:
                return True
            return bool(v[abi.S_IRQ] & 1 and self._virtual_if() and not self.host.state[X.INHIBIT])
        return super()._wants_vcpu()

    def _key(self, eip: int) -> tuple:
        X, v = self.X, self.vcpu.state
        return (eip, int(v[X.BASE + X.CS]))

    def entry(self, eip: int) -> int:
        """The host address of the translation of guest ``eip`` (translated now if new)."""
        b = self.tc.lookup(self._key(eip))
        if b is None:
            host = self._translate(eip)
            b = self.tc.blocks.get(self._key(eip))
            if b is None or b.host != host:
                return host
        self.tc.remember(eip, b)
        return b.host

    def _translate(self, eip: int) -> int:
        X, v = self.X, self.vcpu.state
        base, limit = int(v[X.BASE + X.CS]), int(v[X.LIMIT + X.CS])
        la = (base + eip) & 0xFFFFFFFF
        n = FRAME - (la & 0xFFF)
        code = self.glin(la, n) or b""
        if code:
            more = self.glin((la + n) & 0xFFFFFFFF, 16)
            if more:
                code += more

        def frame(a):
            pa = self.vcpu.linear_to_physical(self.gphys32, a)
            return -1 if pa is None else pa >> 12

        b = self.tc.translate(self._key(eip), eip, code, la, limit, frame) if code else None
        if b is None:
            return self.tc.emulate_slot(eip)
        for g in b.gfns:
            if g >= 0:
                self.mmu.track(g)                 # writes to it now fault: self-modifying code
        if self.mmu.tlb_dirty:
            h = self.host.state
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False
        return b.host

    def _check_maps(self) -> None:
        """Blocks translated from a linear page the guest now maps elsewhere (or not at
        all) are dropped: checked when the guest's CR3 or page tables changed."""
        X, v = self.X, self.vcpu.state
        gen = self.space.generation
        if self.maps_ok is not None and self.maps_ok[0] != gen:
            self.tc.flush()                        # (the p2m changed: other bytes)
        t = self.tc.stats
        now = (gen, int(v[X.CR0]) & X.PG, int(v[X.CR3]), self.mmu.stats["pt-update"],
               self.mmu.stats["flush"], self.tc.generation, t["blocks"], t["invalidations"])
        if now == self.maps_ok:
            return
        self.maps_ok = now
        # (an address space checked since with nothing translated or dropped and no
        # page table written: as it was)
        key, rest = now[2], now[:2] + now[3:]
        if self.maps_seen.get(key) == rest:
            return
        if len(self.maps_seen) > 256:
            self.maps_seen.clear()
        for page, gfn in list(self.tc.page_gfn.items()):
            pa = self.vcpu.linear_to_physical(self.gphys32, page << 12)
            if pa is None or pa >> 12 != gfn:
                self.tc.drop_page(page)
        t = self.tc.stats
        self.maps_seen[key] = rest[:-2] + (t["blocks"], t["invalidations"])

    def invalidate(self) -> None:
        super().invalidate()
        if hasattr(self, "tc"):
            self.tc.flush()

    # ---- exits -----------------------------------------------------------------------------
    def _before_host_run(self, cpu) -> None:
        missing = self.tc.gfn_blocks.keys() - self.mmu.tracked.keys()
        for g in missing:                          # (a shadow flush dropped the protection)
            if g >= 0:
                self.mmu.track(g)
        if self.mmu.tlb_dirty:
            h, X = self.host.state, self.X
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False

    def host_exit(self, cpu, r: int) -> None:
        h, X = self.host.state, self.X
        if r == abi.EXIT_EXCEPTION and int(h[abi.S_FAULT]) == 13 and self.in_tc():
            rec = self.tc.slots.get(int(h[X.EIP]))
            if rec is not None and int(h[abi.S_EXIT_DATA]) in (0, -1):
                self.callout(cpu, int(h[X.EIP]), rec)
                return
        super().host_exit(cpu, r)

    def callout(self, cpu, slot: int, rec) -> None:
        kind, geip, name = rec
        if kind == BRANCH:
            # an exit to guest EIP geip: go there in the cache, and chain the slot to it
            self.exits["exit"] += 1
            gen, key = self.tc.generation, self._key(geip)
            b = self.tc.lookup(key)
            if b is None:
                host = self._translate(geip)
                b = self.tc.blocks.get(key)           # (None: an uncached emulate slot)
                if b is not None and b.host != host:
                    b = None
            else:
                host = b.host
            if b is not None and gen == self.tc.generation:    # (a flush took the slot)
                self.tc.chain(slot, b)
            self.host.state[self.X.EIP] = host
            return
        self.callouts[name] += 1
        self.emulate(cpu, "callout")

    def page_fault(self, cpu, la: int, err: int) -> None:
        """A write to a frame blocks were translated from: they go, and the write is
        emulated; the frame is writable again until code on it is translated anew."""
        if err & 2 and la < VMM_BASE and self.tc.gfn_blocks:
            X, h = self.X, self.host.state
            w = self.walk(la, True, int(h[X.CPL]) == 3)
            gfn = w.gpa >> 12
            if w.ok and gfn in self.tc.gfn_blocks:
                self.tc.drop_gfn(gfn)
                self.exits["smc"] += 1
                self.emulate(cpu, "smc-write")
                self.mmu.written(gfn)
                if gfn in self.desc_gfns:
                    self.desc_dirty = True
                elif not self.mmu.is_pt(gfn):
                    self.mmu.unshadow(gfn)
                return
        super().page_fault(cpu, la, err)

    # ---- --stats ---------------------------------------------------------------------------------
    def stats(self) -> dict:
        st = super().stats()
        t = self.tc.stats
        secs = max(getattr(self.vm, "host_time", 0.0) or time.perf_counter() - self.t0, 1e-9)
        n = sum(self.callouts.values())
        st["bt"] = {"blocks": t["blocks"], "tc_bytes": self.tc.used(), "tc_size": self.tc.size,
                    "cached_blocks": len(self.tc.blocks),
                    "hit_rate": t["hits"] / t["lookups"] if t["lookups"] else 0.0,
                    "callouts": n, "callouts_per_s": n / secs, "exits_to_translate": self.exits["exit"],
                    "chained": t["chained"], "invalidations": t["invalidations"],
                    "flushes": t["flushes"], "callout_by_insn": dict(self.callouts.most_common(8))}
        return st
