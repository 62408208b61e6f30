"""Mode ``trap``: classical trap-and-emulate (Popek & Goldberg; the seed's Part II).

The guest kernel runs *directly on the host CPU*, deprivileged to ring 1; its
user programs run at ring 3 as they would.  The VMM owns ring 0: every exception
the host CPU raises leaves it to the VMM (the exception bitmap of
INTERCEPT_EXCEPTIONS), and a privileged instruction at ring 1 raises #GP, so it
traps.  The pieces:

* **The virtual CPU** is the VM's own x86 state array, kept as the guest believes
  it runs: ring 0, its own GDT/IDT/TSS, CR0/CR3/CR4, the interrupt flag and IOPL.
  A trapped instruction is *emulated against it*: the VMM executes that one
  instruction on the virtual CPU (the same x86 model the ``emulate`` mode uses,
  here as the VMM's instruction emulator), with the guest's privileges, its
  paging and its devices, then loads the result back into the host CPU.
* **The host CPU** (``HostCPU``: one per VMM, a p6; ``--cpu strict`` the
  virtualizable model) runs with the VMM's structures: shadow page tables
  (emu.vmm.shadowpt), a shadow GDT/LDT/IDT holding the guest's descriptors with
  DPL 0 compressed to 1 and segments truncated below the VMM's area
  (emu.vmm.shadow), the VMM's TSS, CR0 with PG and WP, IOPL 0 and IF on.
* **Virtual IF and interrupt injection.**  The guest's CLI/STI trap (IOPL 0 <
  CPL 1) and change only the virtual IF.  Between runs, an interrupt the VM's
  PIC raises is injected when the virtual IF allows: delivered by the virtual
  CPU through the guest's own IDT onto the guest's own kernel stack.
* **Real mode under ``emulate``.**  The guest's BIOS and boot loader run on the
  virtual CPU alone (the VMM's software model of the guest CPU, as in mode
  ``emulate``); trap-and-emulate takes over once the guest runs 32-bit protected
  mode code, and hands back if the guest leaves it.
* **The default x86 is not virtualizable.**  On it the sensitive unprivileged
  instructions (Robin & Irvine) run at ring 1 without trapping and behave
  differently.  So on the default host CPU the VMM runs the guest in *lockstep*:
  each instruction the host CPU would run natively is first run on the virtual
  CPU as the reference, and the first whose outcome differs (registers with
  the virtual IF/IOPL and ring mapped back, flags, the memory it writes) stops
  the VM with a report: the instruction, its address, the difference.
"""
from __future__ import annotations

import struct
from collections import Counter

import numpy as np

from .. import abi
from ..bus import FRAME
from ..core import CompiledCall
from . import lockstep
from .mode import Emulate, ModeError
from .shadow import desc, shadow_table
from .shadowpt import TOP, VMM_BASE, ShadowMMU, is_mmio

# the VMM's area (linear, from VMM_BASE): shadow GDT (64 KiB + its own entries), IDT,
# host TSS, shadow LDT
GDT_PAGES, LDT_PAGES = 17, 16
SGDT_LIN = VMM_BASE
SIDT_LIN = SGDT_LIN + GDT_PAGES * FRAME
HTSS_LIN = SIDT_LIN + FRAME
SLDT_LIN = HTSS_LIN + FRAME
VMM_PAGES = GDT_PAGES + 2 + LDT_PAGES
EMU_CHUNK = 4000                  # cycles per run of the virtual CPU while it emulates

# host CR0: PE, ET, NE, WP, PG (the guest's TS/EM/MP follow it: #NM as the guest wants)
HOST_CR0 = 0x80010031


class HostCPU:
    """The host's x86: one state array that every trap-mode VM's registers are
    loaded into when it runs, over host-physical memory (identity page tables:
    the shadow page tables hold host-physical frames)."""

    def __init__(self, host_memory, strict: bool, clock_hz: float):
        from cores.x86 import X86, cpu
        self.cpu = X86(clock_hz, model="p6", apic=True, strict=strict)
        self.strict = strict
        n = host_memory.nframes
        rp = np.full(1 << 20, abi.PAGE_MMIO, dtype=np.int64)
        rp[:n] = np.arange(n, dtype=np.int64) * FRAME
        self.mem = (host_memory.data, rp, rp.copy(), np.zeros(1 << 16, dtype=np.uint16),
                    np.zeros(3 * abi.IOLOG_ENTRIES, dtype=np.int64))
        self.state = self.cpu.state
        s = self.state
        s[abi.S_INTERCEPT] = abi.INTERCEPT_EXCEPTIONS
        s[cpu.EXC_BITMAP] = 0xFFFFFFFF
        s[abi.S_BREAK] = -1
        self._run = CompiledCall(X86.run)

    def run(self, budget: int, mem=None) -> int:
        """``mem``: another view of host memory (a VM's own I/O port flags and log)."""
        return self._run(self.state, self.mem if mem is None else mem, budget)


class GuestWalk:
    """The guest's own translation of one linear address (its page tables, CR0.WP,
    the CPL it believes it has), with the accessed and dirty bits the access sets."""
    __slots__ = ("err", "gpa", "ok", "pde", "pse", "pte", "user_ok", "write_ok")

    def __init__(self):
        self.ok, self.gpa, self.pde, self.pte, self.pse = False, 0, 0, 0, False
        self.user_ok = self.write_ok = True
        self.err = 0


class Trap(Emulate):
    name = "trap"
    isas = frozenset({"x86"})
    summary = "the guest kernel at ring 1 on the host CPU; privileged instructions trap to the VMM"
    vmm_area = True                  # the VMM's shadow GDT/IDT/TSS in the guest's linear space
    vmm_pages = VMM_PAGES            # its size in pages (mode bt adds its translation cache)
    tss_follows = True               # the host TSS follows the guest's ESP0 at every entry

    def __init__(self, vm):
        super().__init__(vm)
        from cores.x86 import cpu as X
        self.X = X
        m = vm.machine
        self.m = m
        self.vcpu = m.cpu
        if getattr(self.vcpu, "model", 0) < 3:
            raise ModeError(f"{vm.name}: mode 'trap' needs a 386 or later guest CPU")
        self.space = m.spaces[self.vcpu.name]
        vmm = vm.vmm
        self.hostmem = m.mem.host
        if self.hostmem is None:
            raise ModeError(f"{vm.name}: mode 'trap' runs VMs of a VMM")
        strict = bool(getattr(vmm, "host_cpu_strict", False))
        self.host = vmm.host_cpu() if vmm is not None and hasattr(vmm, "host_cpu") else \
            HostCPU(self.hostmem, strict, self.vcpu.clock_hz)
        self.lockstep = not self.host.strict
        owner = vm.name
        if self.vmm_area:
            self.vmm_frames = self.hostmem.alloc(self.vmm_pages, owner)
            self.mmu = ShadowMMU(self.hostmem, owner, self.space, self.vmm_frames)
        else:
            self.vmm_frames = np.zeros(0, dtype=np.int64)
            self.mmu = ShadowMMU(self.hostmem, owner, self.space, None)
        self.ctx = self.host.state.copy()        # this VM's host register file
        self.hmem = None                         # the host memory view the host CPU runs on
        self.on_host = False                     # the host state is newer than the vcpu's
        self.trapping = False                    # in protected mode under trap-and-emulate
        self.loaded_sel = [0] * 6
        self.loaded_segs = b""
        self.desc_regs, self.desc_dirty, self.desc_raw = None, False, {}
        self.desc_gfns, self.tss_raw = set(), None
        self.sys_snap = None                     # _system() as the host CPU holds it
        self.tss_sel = 0
        self.p2m_gen = self.pse = None             # what the shadows were built for
        self.exits = Counter()                   # reason -> count (--stats)
        self.native = 0                          # guest instructions the host CPU ran itself
        self.emulated = 0                        # ... and the VMM emulated (while trapping)
        self.report = None                       # lockstep: the first misbehaving instruction
        self._last_pf = None
        self._vrun = CompiledCall(type(self.vcpu).run)
        m.scheduler.cpu_hooks[self.vcpu.name] = self._run_cpu

    # ---- the VMM's turn ------------------------------------------------------------
    def enter(self) -> None:
        np.copyto(self.host.state, self.ctx)

    def leave(self) -> None:
        np.copyto(self.ctx, self.host.state)

    def invalidate(self) -> None:
        """The guest's state was replaced (reset, restore): shadows are rebuilt."""
        self.mmu.flush()
        self.on_host = False
        self.desc_regs, self.desc_raw, self.tss_raw = None, {}, None
        self.sys_snap = None

    def destroy(self) -> None:
        self.mmu.release()
        self.hostmem.free(self.vmm_frames)

    def stats(self) -> dict:
        return {"exits": dict(self.exits), "native_insns": self.native,
                "emulated_insns": self.emulated, "shadow": dict(self.mmu.stats),
                "shadow_frames": len(self.mmu.frames), "tracked": len(self.mmu.tracked),
                "spaces": len(self.mmu.spaces), "report": self.report}

    # ---- the virtual CPU ---------------------------------------------------------------
    def vrun(self, budget: int) -> int:
        return self._vrun(self.vcpu.state, self.space.mem, budget)

    def in_pm32(self) -> bool:
        X, v = self.X, self.vcpu.state
        return bool(v[X.CR0] & X.PE) and not v[X.FLAGS] & X.VM and bool(v[X.CSD])

    # ---- guest memory through the guest's eyes -------------------------------------------
    def gphys32(self, pa: int):
        o = self.space.rpage[(pa >> 12) & 0xFFFFF]
        if o < 0:
            return None
        i = int(o) + (pa & 0xFFF)
        return int.from_bytes(self.space.memory.data[i:i + 4].tobytes(), "little")

    def glin(self, la: int, n: int) -> bytes | None:
        """``n`` bytes at guest-linear ``la`` through the guest's paging (RAM only)."""
        out = bytearray()
        while n > 0:
            pa = self.vcpu.linear_to_physical(self.gphys32, la)
            if pa is None:
                return None
            o = self.space.rpage[(pa >> 12) & 0xFFFFF]
            if o < 0:
                return None
            k = min(n, FRAME - (la & 0xFFF))
            i = int(o) + (pa & 0xFFF)
            out += self.space.memory.data[i:i + k].tobytes()
            la, n = la + k, n - k
        return bytes(out)

    def glin_write(self, la: int, data: bytes) -> None:
        """Bytes to guest-linear ``la`` through the guest's paging (RAM only)."""
        i = 0
        while i < len(data):
            pa = self.vcpu.linear_to_physical(self.gphys32, la + i)
            o = None if pa is None else self.space.write_offset((pa >> 12) & 0xFFFFF)
            k = min(len(data) - i, FRAME - ((la + i) & 0xFFF))
            if o is not None and o >= 0:
                j = o + (pa & 0xFFF)
                self.space.memory.data[j:j + k] = np.frombuffer(data[i:i + k], np.uint8)
            i += k

    def walk(self, la: int, write: bool, user: bool) -> GuestWalk:
        """The guest's translation of ``la``; on success the guest's A (and D on a
        write) bits are set, as the CPU sets them (SDM vol. 3, 4.8)."""
        X, v = self.X, self.vcpu.state
        w = GuestWalk()
        err = (2 if write else 0) | (4 if user else 0)
        if not v[X.CR0] & X.PG:
            w.ok, w.gpa = True, la
            return w
        pde_a = (int(v[X.CR3]) & 0xFFFFF000) | ((la >> 20) & 0xFFC)
        pde = self.gphys32(pde_a)
        if pde is None or not pde & 1:
            w.err = err
            return w
        w.pse = bool(v[X.CR4] & X.PSE)
        large = w.pse and bool(pde & 0x80)
        if large:
            pte_a, pte, rights = -1, pde, pde
        else:
            pte_a = (pde & 0xFFFFF000) | ((la >> 10) & 0xFFC)
            pte = self.gphys32(pte_a)
            if pte is None or not pte & 1:
                w.err = err
                return w
            rights = pde & pte
        w.user_ok, w.write_ok = bool(rights & 4), bool(rights & 2)
        if (user and not rights & 4) or (write and not rights & 2 and (user or v[X.CR0] & X.WP)):
            w.err = err | 1
            return w
        if not pde & 0x20 or (large and write and not pde & 0x40):
            pde |= 0x20 | (0x40 if large and write else 0)
            self._gwrite32(pde_a, pde)
        if not large and (not pte & 0x20 or (write and not pte & 0x40)):
            pte |= 0x20 | (0x40 if write else 0)
            self._gwrite32(pte_a, pte)
        w.ok, w.pde, w.pte = True, pde, pte
        w.gpa = ((pde & 0xFFC00000) | (la & 0x3FFFFF)) if large else ((pte & 0xFFFFF000) | (la & 0xFFF))
        return w

    def _gwrite32(self, pa: int, value: int) -> None:
        self.space.write_offset((pa >> 12) & 0xFFFFF)      # (dirty-logged: the write is logged)
        o = int(self.space.rpage[(pa >> 12) & 0xFFFFF]) + (pa & 0xFFF)
        self.space.memory.data[o:o + 4] = np.frombuffer(struct.pack("<I", value & 0xFFFFFFFF), np.uint8)

    # ---- the host's view of the guest (loading the host CPU) -------------------------------
    def _host_seg(self, attr: int, limit: int, base: int):
        """A guest segment cache as the host CPU holds it: DPL 0 -> 1, truncated at TOP."""
        if attr & 0x90 == 0x90:                                 # present code or data
            if not attr & 0x60:
                attr |= 0x20
            expand_down = attr & 0x0C == 0x04
            if not expand_down and base + limit > TOP:
                limit = max(0, TOP - base)
        return attr, limit

    def _descriptors(self) -> None:
        """The shadow GDT, LDT and IDT from the guest's tables: rebuilt when the
        guest loads another table or writes one (their pages are write-traced, as
        VMware's monitor traced them: a guest write traps, the VMM emulates it and
        marks the tables dirty); entry by entry, from the bytes that changed."""
        X, v = self.X, self.vcpu.state
        regs = tuple(int(v[i]) for i in (X.GDTB, X.GDTL, X.IDTB, X.IDTL, X.LDTR, X.LDTB, X.LDTL,
                                          X.TR)) + (int(v[X.CR0]) & X.PG,)
        if regs != self.desc_regs or self.desc_dirty:
            self.desc_regs, self.desc_dirty = regs, False
            gb, gl = int(v[X.GDTB]), int(v[X.GDTL])
            ib, il = int(v[X.IDTB]), min(int(v[X.IDTL]), 0x7FF)
            lb, ll = int(v[X.LDTB]), int(v[X.LDTL])
            has_ldt = bool(v[X.LDTR] & ~3)
            n = (gl + 1) // 8
            self.tss_sel = 8 * n + 8
            base = int(self.vmm_frames[0]) * FRAME
            gdt = bytearray(self.glin(gb, gl + 1) or b"")
            ldt_slot = int(v[X.LDTR]) & ~7
            if has_ldt and ldt_slot + 8 <= len(gdt):    # the guest's LDT slot -> the shadow LDT
                gdt[ldt_slot:ldt_slot + 8] = desc(SLDT_LIN, ll, 0x82, 0)
            gdt += bytes(8 * (self.tss_sel // 8 - n)) + desc(HTSS_LIN, 0x67, 0x8B, 0)
            self._shadow("gdt", base, bytes(gdt))
            self._shadow("idt", base + GDT_PAGES * FRAME, self.glin(ib, il + 1) or b"")
            if has_ldt:
                self._shadow("ldt", base + (GDT_PAGES + 2) * FRAME, self.glin(lb, ll + 1) or b"")
            traced = set()
            for b, size in ((gb, gl + 1), (ib, il + 1), (lb, ll + 1) if has_ldt else (0, 0)):
                for la in range(b & ~0xFFF, b + size, FRAME):
                    pa = self.vcpu.linear_to_physical(self.gphys32, la)
                    if pa is not None:
                        traced.add(pa >> 12)
            for g in self.desc_gfns - traced:           # tables moved: stop tracing the old
                if not self.mmu.is_pt(g):
                    self.mmu.unshadow(g)
            self.desc_gfns = traced
            for g in traced:
                self.mmu.track(g)
        # the host TSS: the guest kernel's stack (its TSS.SS0:ESP0) as ring 1's
        t = self.glin(int(v[X.TRB]) + 4, 8) if v[X.TR] & ~3 else None
        if t != self.tss_raw:
            self.tss_raw = t
            esp0, ss0 = struct.unpack("<II", t) if t else (0, 0)
            tss = struct.pack("<IIIII", 0, 0, 0, esp0, (ss0 & 0xFFFC) | 1)
            self._put(int(self.vmm_frames[0]) * FRAME + (GDT_PAGES + 1) * FRAME,
                      tss + bytes(0x66 - len(tss)) + b"\x68\x00")

    def _shadow(self, name: str, host_off: int, raw: bytes) -> None:
        """Ring-compress the descriptors of ``raw`` that differ from the last copy."""
        old = self.desc_raw.get(name, b"")
        self.desc_raw[name] = raw
        for i in range(0, len(raw) - 7, 8):
            d = raw[i:i + 8]
            if old[i:i + 8] != d:
                self._put(host_off + i, shadow_table(d, TOP))

    def _put(self, host_off: int, data: bytes) -> None:
        """Bytes into the VMM's area (its frames are not contiguous)."""
        fr = self.vmm_frames
        first = int(self.vmm_frames[0]) * FRAME
        rel = host_off - first
        buf = np.frombuffer(bytes(data), np.uint8)
        i = 0
        while i < len(buf):
            p, o = divmod(rel + i, FRAME)
            k = min(len(buf) - i, FRAME - o)
            h = int(fr[p]) * FRAME + o
            self.hostmem.data[h:h + k] = buf[i:i + k]
            i += k

    def _system(self) -> np.ndarray:
        """The virtual CPU's system state that the host CPU's is derived from:
        [0:24] selectors and descriptor caches, [24:27] CPL and the code and stack
        sizes, [27:] LDTR/TR, GDTR/IDTR, CR0/CR3/CR4, the debug registers and the
        TSC offset."""
        X, v = self.X, self.vcpu.state
        return v[X.SEL:X.INHIBIT].tobytes() + v[X.DR:X.DR + 8].tobytes() + v[X.TSC_OFF:X.TSC_OFF + 1].tobytes()

    def to_host(self) -> None:
        """Load the virtual CPU into the host CPU (what a world switch in does).  After
        an emulated instruction only what it changed moves: the registers (an I/O
        port, CLI/STI, a control register read), the segments and ring (a segment
        load, INT, IRET), or everything (a table, CR0/CR3/CR4)."""
        X, v, h = self.X, self.vcpu.state, self.host.state
        snap = self.sys_snap
        if snap is None or self.desc_dirty or self.space.generation != self.p2m_gen:
            self._to_host_full()
            self.sys_snap = self._system()
            return
        now = self._system()
        if now != snap:
            if now[27 * 8:] != snap[27 * 8:]:
                self._to_host_full()
                self.sys_snap = now
                return
            diff = np.frombuffer(now, np.int64) != np.frombuffer(snap, np.int64)
            self._host_segments([i for i in range(6) if diff[i] or diff[6 + i] or diff[12 + i]
                                 or diff[18 + i]] if not diff[24:27].any() else range(6))
            self.sys_snap = now
        h[X.REG:X.EIP + 1] = v[X.REG:X.EIP + 1]
        h[X.FLAGS] = (int(v[X.FLAGS]) & ~(X.IF | X.IOPL | X.VIF | X.VIP)) | X.IF
        h[X.INHIBIT], h[X.CR2] = v[X.INHIBIT], v[X.CR2]
        h[abi.S_CYCLES], h[abi.S_INSNS] = v[abi.S_CYCLES], v[abi.S_INSNS]
        if self.mmu.tlb_dirty:                          # (shadow entries changed: pt-update)
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False
        if not self.host.strict and self.tss_follows:
            self._descriptors()                         # (the host TSS follows TSS.ESP0)
        self.on_host = True

    def _host_segments(self, which) -> None:
        """Segment registers ``which`` (and the ring) of the host from the virtual CPU's:
        CS and SS of the guest kernel at RPL 1, DPL 0 compressed to 1, limits below
        the VMM's area."""
        X, v, h = self.X, self.vcpu.state, self.host.state
        vc = int(v[X.CPL])
        for i in which:
            sel = int(v[X.SEL + i])
            if i in (X.CS, X.SS) and vc == 0:
                sel = (sel & ~3) | 1
            attr, lim = self._host_seg(int(v[X.ATTR + i]), int(v[X.LIMIT + i]), int(v[X.BASE + i]))
            h[X.SEL + i], h[X.BASE + i], h[X.LIMIT + i], h[X.ATTR + i] = sel, v[X.BASE + i], lim, attr
            self.loaded_sel[i] = sel
        h[X.CPL], h[X.CSD], h[X.SSB] = 1 if vc == 0 else vc, v[X.CSD], v[X.SSB]
        self.loaded_segs = h[X.SEL:X.SSB + 1].tobytes()      # (what to_vcpu compares)

    def _check_shadows(self) -> None:
        """The shadows go when what they were built from changed: the p2m (a device
        remapped its window, a bank switch) or CR4.PSE (how guest PDEs read)."""
        gen, pse = self.space.generation, int(self.vcpu.state[self.X.CR4]) & self.X.PSE
        if (gen, pse) != (self.p2m_gen, self.pse):
            self.p2m_gen, self.pse = gen, pse
            self.mmu.flush()

    def _to_host_full(self) -> None:
        X, v, h = self.X, self.vcpu.state, self.host.state
        self._check_shadows()
        self._descriptors()
        h[X.REG:X.EIP + 1] = v[X.REG:X.EIP + 1]
        h[X.FLAGS] = (int(v[X.FLAGS]) & ~(X.IF | X.IOPL | X.VIF | X.VIP)) | X.IF
        self._host_segments(range(6))
        h[X.GDTB], h[X.GDTL] = SGDT_LIN, self.tss_sel + 7
        h[X.IDTB], h[X.IDTL] = SIDT_LIN, min(int(v[X.IDTL]), 0x7FF)
        h[X.LDTR], h[X.LDTB], h[X.LDTL] = v[X.LDTR], SLDT_LIN, v[X.LDTL]
        h[X.TR], h[X.TRB], h[X.TRL], h[X.TRA] = self.tss_sel, HTSS_LIN, 0x67, 0x8B
        h[X.CR0] = HOST_CR0 | (int(v[X.CR0]) & (X.TS | X.EM | X.MP))
        root = self.mmu.root(int(v[X.CR0]), int(v[X.CR3]))
        if int(h[X.CR3]) != root or self.mmu.tlb_dirty:
            h[X.CR3] = root                                  # (a CR3 load flushes the TLB)
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False
        h[X.CR4] = 0
        h[X.INHIBIT], h[X.HALTED], h[X.CR2] = v[X.INHIBIT], 0, v[X.CR2]
        h[X.DR:X.DR + 8] = v[X.DR:X.DR + 8]
        h[X.DBACT], h[X.TSC_OFF] = v[X.DBACT], v[X.TSC_OFF]
        h[abi.S_CYCLES], h[abi.S_INSNS] = v[abi.S_CYCLES], v[abi.S_INSNS]
        h[X.SHUTDOWN] = 0
        h[X.XVEC], h[X.DELIV] = -1, -1
        # ring 0 is the VMM's: every exception exits; the host CPU's own model
        h[abi.S_INTERCEPT], h[X.EXC_BITMAP] = abi.INTERCEPT_EXCEPTIONS, 0xFFFFFFFF
        h[X.VMX], h[X.STRICT] = 0, 1 if self.host.strict else 0
        self.on_host = True

    def guest_segment(self, sel: int):
        """(base, limit, attr) of selector ``sel`` in the guest's own GDT/LDT."""
        X, v = self.X, self.vcpu.state
        if sel & ~3 == 0 and not sel & 4:
            return 0, 0, 0
        tb, tl = (int(v[X.LDTB]), int(v[X.LDTL])) if sel & 4 else (int(v[X.GDTB]), int(v[X.GDTL]))
        if (sel & ~7) + 7 > tl:
            return None
        d = self.glin(tb + (sel & ~7), 8)
        if d is None:
            return None
        lo, hi = struct.unpack("<II", d)
        base = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000)
        limit = (lo & 0xFFFF) | (hi & 0xF0000)
        if hi & 0x800000:
            limit = (limit << 12) | 0xFFF
        return base, limit, ((hi >> 8) & 0xFF) | (((hi >> 20) & 0xF) << 8)

    def to_vcpu(self) -> None:
        """Save the host CPU back into the virtual CPU (the guest's view)."""
        if not self.on_host:
            return
        self.on_host = False
        X, v, h = self.X, self.vcpu.state, self.host.state
        v[X.REG:X.EIP + 1] = h[X.REG:X.EIP + 1]
        keep = X.IF | X.IOPL | X.VIF | X.VIP
        v[X.FLAGS] = (int(h[X.FLAGS]) & ~keep) | (int(v[X.FLAGS]) & keep)
        v[X.INHIBIT] = h[X.INHIBIT]
        v[X.DR + 6] = h[X.DR + 6]
        v[abi.S_CYCLES], v[abi.S_INSNS] = h[abi.S_CYCLES], h[abi.S_INSNS]
        hc = int(h[X.CPL])
        if h[X.SEL:X.SSB + 1].tobytes() == self.loaded_segs:
            return                                # (the strict CPU: segments never change natively)
        for i in range(6):
            hs = int(h[X.SEL + i])
            if hs == self.loaded_sel[i]:
                continue
            sel = (hs & ~3) if i in (X.CS, X.SS) and hc == 1 and hs & 3 == 1 else hs
            seg = self.guest_segment(sel)
            v[X.SEL + i] = sel
            if seg is not None:
                v[X.BASE + i], v[X.LIMIT + i], v[X.ATTR + i] = seg
        v[X.CPL], v[X.CSD], v[X.SSB] = 0 if hc == 1 else hc, h[X.CSD], h[X.SSB]
        self.sys_snap = self._system()            # what the host's system state derives from

    # ---- the run loop (the scheduler's slice of this VM's CPU) ----------------------------
    def _cycles(self) -> int:
        return int((self.host.state if self.on_host else self.vcpu.state)[abi.S_CYCLES])

    def _run_cpu(self, cpu) -> None:
        sched = self.m.scheduler
        sched.running_cpu = cpu
        sched.halted[cpu.name] = False
        clock = cpu.clock_hz
        try:
            while not self.m.stop_requested:
                budget = int(sched.slice_end * clock) - self._cycles()
                if budget <= 0:
                    return
                if not self.on_host:
                    if not self.in_pm32():
                        if self.trapping:
                            self.trapping = False
                        self._vcpu_run(cpu, min(budget, EMU_CHUNK))
                        continue
                    if not self.trapping:
                        self.trapping = True
                        self.invalidate()
                if self._wants_vcpu():
                    self.to_vcpu()
                    v = self.vcpu.state
                    if v[self.X.HALTED]:
                        self._vcpu_run(cpu, budget)
                    else:
                        self.exits["injection"] += 1
                        self._vcpu_run(cpu, 1)
                    continue
                if not self.on_host:
                    self.to_host()
                if self.lockstep:
                    if not lockstep.step(self, cpu, budget):
                        return
                    continue
                self._before_host_run(cpu)
                n0 = int(self.host.state[abi.S_INSNS])
                r = self.host.run(budget, self.hmem)
                self.native += int(self.host.state[abi.S_INSNS]) - n0
                if r != abi.EXIT_BUDGET:
                    self.host_exit(cpu, r)
        finally:
            self.to_vcpu()
            sched.running_cpu = None

    def _before_host_run(self, cpu) -> None:
        """(The hardware-assisted modes inject interrupts here.)"""

    def _wants_vcpu(self) -> bool:
        """The virtual CPU must act before the host runs on: it is halted, or an
        interrupt it accepts is pending (the virtual IF allows it)."""
        X, v = self.X, self.vcpu.state
        if v[X.HALTED] and not self.on_host:
            return True
        if v[abi.S_NMI]:
            return True
        inhibit = self.host.state[X.INHIBIT] if self.on_host else v[X.INHIBIT]
        return bool(v[abi.S_IRQ] & 1 and v[X.FLAGS] & X.IF and not inhibit)

    def _vcpu_run(self, cpu, budget: int) -> int:
        """Run the virtual CPU itself (emulation) and hand its exit to the machine."""
        v = self.vcpu.state
        n0 = int(v[abi.S_INSNS])
        r = self.vrun(budget)
        if self.trapping:
            self.emulated += int(v[abi.S_INSNS]) - n0
        sched, space = self.m.scheduler, self.space
        if v[abi.S_IOLOG_COUNT]:
            space.drain_iolog(v)
        sched.halted[cpu.name] = r == abi.EXIT_HLT
        if r:
            sched.dispatch(cpu, space, r)
        return r

    def emulate(self, cpu, why: str) -> None:
        """Execute the guest instruction at CS:EIP on the virtual CPU, with the guest's
        privileges and devices (it may fault: the virtual CPU then delivers the fault
        through the guest's IDT, as the guest expects)."""
        self.exits[why] += 1
        self.to_vcpu()
        X, v = self.X, self.vcpu.state
        n0, cs0, ip0 = int(v[abi.S_INSNS]), int(v[X.SEL + X.CS]), int(v[X.EIP])
        # (an interrupt the virtual CPU takes first is right: it arrived before the
        # instruction; the host then resumes in the handler)
        for _ in range(1 << 20):
            r = self._vcpu_run(cpu, 1)
            if r in (abi.EXIT_IO_IN, abi.EXIT_MMIO_READ):
                continue                           # the answer is pending: finish it
            if r != abi.EXIT_BUDGET or self.m.stop_requested:
                break
            if int(v[abi.S_INSNS]) != n0 or v[X.HALTED] or int(v[X.EIP]) != ip0 \
                    or int(v[X.SEL + X.CS]) != cs0:
                break                              # (else a REP string instruction goes on)

    def inject_fault(self, cpu, vec: int, err: int, cr2: int | None = None) -> None:
        """Deliver an exception to the guest through its own IDT (the virtual CPU)."""
        self.to_vcpu()
        if cr2 is not None:
            self.vcpu.state[self.X.CR2] = cr2
        self.inject_event(cpu, 0x80000000 | vec | (0x800 if err >= 0 else 0), max(err, 0))

    def inject_event(self, cpu, info: int, err: int) -> None:
        """Deliver an event (VT-x interruption-information format) on the virtual CPU:
        the guest's IDT, its own paging, and the SDM's rules for faults on the way."""
        X, v = self.X, self.vcpu.state
        self.to_vcpu()
        if info & 0xFF == 14:                      # (delivery of #PF loads CR2 from XLIN)
            v[X.XLIN] = v[X.CR2]
        v[X.INJ_INFO], v[X.INJ_ERR] = info, err
        self._vcpu_run(cpu, 0)

    def host_exit(self, cpu, r: int) -> None:
        h, X = self.host.state, self.X
        if r == abi.EXIT_EXCEPTION and int(h[X.IDT_INFO]) & 0x80000000:
            # the host CPU faulted delivering an event natively (a push onto a stack page
            # the shadows map read-only): the virtual CPU delivers it instead
            self.exits["delivery-fault"] += 1
            info, h[X.IDT_INFO] = int(h[X.IDT_INFO]), 0
            self.inject_event(cpu, info, int(h[X.IDT_ERR]))
            return
        if r == abi.EXIT_EXCEPTION:
            vec = int(h[abi.S_FAULT])
            if vec == 14:
                self.page_fault(cpu, int(h[self.host.cpu.exit_info + abi.EI_GLA]), int(h[abi.S_EXIT_DATA]))
                return
            self.emulate(cpu, "gp" if vec == 13 else f"exception {vec}")
            return
        if r == abi.EXIT_VMEXIT:
            self.vm_exit(cpu)
            return
        if r == abi.EXIT_SHUTDOWN:
            h[X.SHUTDOWN] = 0
        self.emulate(cpu, abi.EXIT_NAMES.get(r, str(r)))

    def vm_exit(self, cpu) -> None:
        """(A VM exit of the host CPU's guest mode: the hardware-assisted modes.)"""
        self.emulate(cpu, "vmexit")

    def page_fault(self, cpu, la: int, err: int) -> None:
        """A host #PF: the guest's own fault (inject it), a hidden one (fill the shadow),
        a write to a tracked page-table page (emulate, update the shadows) or a device
        page (emulate the access)."""
        X, h, v = self.X, self.host.state, self.vcpu.state
        write, user = bool(err & 2), bool(err & 4)     # (U/S: a stack push in INT n from ring 3 is a supervisor access)
        if la >= VMM_BASE and self.mmu.vmm_pt is not None:   # (the guest cannot map the VMM's area)
            self.exits["pf-guest"] += 1
            self.mmu.stats["guest"] += 1
            self.inject_fault(cpu, 14, (err & 6), la)
            return
        w = self.walk(la, write, user)
        if not w.ok:
            self.exits["pf-guest"] += 1
            self.mmu.stats["guest"] += 1
            self.inject_fault(cpu, 14, w.err, la)
            return
        gfn = w.gpa >> 12
        key = (int(h[X.EIP]), la, err)
        if is_mmio(self.space, gfn):
            self.emulate(cpu, "mmio")
            return
        if write and gfn in self.mmu.tracked:
            # a write to a page the VMM traces: a guest page table (the shadows follow it)
            # or a descriptor table (the shadow GDT/IDT/LDT follow it)
            pt = self.mmu.is_pt(gfn)
            self.emulate(cpu, "pt-update" if pt else "desc-update")
            self.mmu.written(gfn)
            if pt:
                self.mmu.flooded(gfn, (int(v[X.CR3]) >> 12) & 0xFFFFF if v[X.CR0] & X.PG else None)
            if gfn in self.desc_gfns:
                self.desc_dirty = True
            return
        if write and w.write_ok:
            self.space.write_offset(gfn)             # (a dirty-logged page: dirty, writable)
        if write and not w.write_ok or write and int(self.space.wpage[gfn]) != int(self.space.rpage[gfn]) \
                or key == self._last_pf:
            # a supervisor write the guest allows with CR0.WP clear, a ROM page, or a
            # fault the fill did not cure: emulate the access
            self._last_pf = None
            self.emulate(cpu, "pf-emulate")
            return
        self._last_pf = key
        if self.mmu.full():                          # too many shadow frames: start afresh
            self.mmu.flush()
            h[X.CR3] = self.mmu.root(int(v[X.CR0]), int(v[X.CR3]))
        root = int(h[X.CR3])
        pd_key = (int(v[X.CR3]) >> 12) & 0xFFFFF if v[X.CR0] & X.PG else "phys"
        if not self.mmu.fill(root, pd_key, la, w):
            self.emulate(cpu, "pf-emulate")
            return
        self.exits["pf-hidden"] += 1
        if self.mmu.tlb_dirty:                       # the fill write-protected a new page table
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False
        # (no TLB flush: the host TLB holds no entry the fill could have made stale, since
        # it caches no not-present entry and re-walks an entry lacking the access's rights)

