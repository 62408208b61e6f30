"""Mode ``pv``: paravirtualization (Xen's design, Barham et al., SOSP 2003; the seed's
Part III).  docs/pv-abi.md is the ABI, docs/vmm.md "Paravirtualization" the design.

The guest is a kernel *built for the VMM* (roms_test/os/os-pv.img: the PM OS with
its privileged-operations layer replaced by kernel/pv/), which knows it runs at
ring 1 and asks the VMM for what it cannot do there:

* **Hypercalls**: ``int 0x82`` from ring 1, EAX = number, EBX ECX EDX ESI =
  arguments, EAX = result (a negative errno on error).  The VMM's IDT has vector
  82h as a ring-1 gate that is *not present*, so the instruction faults (#NP,
  error code 82h*8+2) and the fault leaves the host CPU for the VMM (the exception
  bitmap), which serves the call and resumes after it.
* **No emulation.**  The kernel issues no privileged instruction; its trap
  handlers run at ring 1 straight from the VMM's IDT (trap gates built from the
  guest's trap table), so system calls and most exceptions cost no exit.  Only
  page faults (shadow paging) and hypercalls exit.
* **Virtual interrupts** are event channels (timer, console, block): pending and
  mask bits in the shared info page, with the virtual IF (``upcall_mask``), so
  CLI/STI are byte writes.  The VMM delivers an event when the guest is at ring 3,
  or at a hypercall (SCHEDOP_BLOCK, the idle loop's HLT), as an interrupt frame on
  the kernel stack at the event's vector; the kernel's return path takes one that
  waited for its virtual IF itself.
* **Memory** is PV-assisted shadow paging (emu.vmm.pv_mmu): the guest's tables
  hold guest-physical frames, updates come in batches, nothing is write-protected.
* **Devices** are rings (emu.vmm.pv_devices) backed by the machine's UART and disk.

The BIOS and the boot loader run under ``emulate`` (the VM's software x86, as
mode trap starts); the VMM takes over at the kernel's entry (1 MiB), finds the PV
note there and starts the kernel at ring 1 with paging on (an identity shadow until
the kernel gives its first directory).
"""
from __future__ import annotations

import struct
from collections import Counter

import numpy as np

from .. import abi
from ..bus import FRAME
from . import pv_abi as P
from .mode import ModeError
from .pv_devices import PvBlock, PvConsole
from .pv_hypercalls import EXC_EXITS, HypercallError, Hypercalls
from .pv_mmu import PvShadowMMU
from .shadow import desc, fields
from .shadowpt import TOP, VMM_BASE, is_mmio
from .trap import HOST_CR0, HTSS_LIN, SGDT_LIN, SIDT_LIN, SLDT_LIN, GuestWalk, Trap

HC_ERR = (P.HYPERCALL_VECTOR << 3) | 2      # the #NP error code of int 0x82 (IDT bit)
FLAT_ATTR = 0xC00                            # G, D/B
ATTR_CODE1, ATTR_DATA1 = 0xBB | FLAT_ATTR, 0xB3 | FLAT_ATTR
IF, TF, NT, RF, VM_FLAG = 0x200, 0x100, 0x4000, 0x10000, 0x20000


class Pv(Hypercalls, Trap):
    name = "pv"
    summary = "a paravirtual kernel at ring 1: hypercalls, event channels, ring devices"
    paravirtual = True

    @classmethod
    def check(cls, spec) -> None:
        super().check(spec)
        if not P.spec_is_pv(spec):
            raise ModeError(f"{spec.name}: mode 'pv' runs a paravirtual kernel (roms_test/os/os-pv.img); "
                            f"this VM's disk has no PV note (use another mode)")

    def __init__(self, vm):
        super().__init__(vm)
        self.mmu.release()                           # (trap's write-protecting shadows)
        self.mmu = PvShadowMMU(self.hostmem, vm.name, self.space, self.vmm_frames)
        self.lockstep = False
        self.hc = Counter()                          # hypercalls by name (--stats)
        self.notify = Counter()                      # ring notifications, guest -> VMM, by port
        self.raised = Counter()                      # events, VMM -> guest, by port
        self.console = PvConsole(self)
        self.block = PvBlock(self)
        self._reset_pv()

    # ---- state ----------------------------------------------------------------------------
    def _reset_pv(self) -> None:
        X = self.X
        self.pv_on = False                           # the kernel runs at ring 1 (after the boot)
        self.shared = None                           # gpa of the shared info page
        self.console.gpa = self.block.gpa = None
        self.block.cons = 0
        self.traps = {}                              # vector -> (cs, eip, mask events, DPL)
        self.bind = {}                               # event port -> guest vector
        self.gcr3, self.gpg = 0, False               # the guest's page directory, paging on
        self.esp1, self.ss1 = 0, P.KDATA
        self.period = 0                              # timer period in cycles (0: off)
        self.next_tick = 0
        self.blocked = self.dead = False
        self.yielded = False
        self.ldt_n = 0
        self.vcpu.state[abi.S_BREAK] = P.KERNEL_ENTRY
        self.vcpu.state[X.STRICT] = 0

    def invalidate(self) -> None:
        """A reset: the guest boots again from the BIOS.  A restored state taken after
        the PV kernel started lacks the VMM's side (trap table, GDT, registered pages):
        the VM stops with a line saying so."""
        self.mmu.flush()
        self._reset_pv()
        self.on_host = False
        if int(self.vcpu.state[self.X.GDTB]) == SGDT_LIN:
            self.m.stop_requested = ("pv: this state was saved while the PV kernel ran; its VMM-side "
                                     "state (trap table, GDT, shared pages) is not in save states")

    # ---- the VMM-side PV state, for a move to another VMM (live migration) -----------------
    def export_state(self) -> dict:
        """What the VMM holds for this PV guest beyond its machine's save state (guest
        memory, devices, the register file): JSON-able.  Nothing in it is a host frame."""
        rd = self._vmm_read
        return {"version": P.VERSION, "pv_on": self.pv_on, "shared": self.shared,
                "console": self.console.gpa, "block": self.block.gpa, "block_cons": self.block.cons,
                "traps": {str(v): list(t) for v, t in self.traps.items()},
                "bind": {str(p): v for p, v in self.bind.items()},
                "gcr3": self.gcr3, "gpg": self.gpg, "esp1": self.esp1, "ss1": self.ss1,
                "period": self.period, "next_tick": self.next_tick, "blocked": self.blocked,
                "dead": self.dead, "ldt_n": self.ldt_n,
                "gdt": rd(SGDT_LIN, 8 * (P.GUEST_GDT + 2)).hex(), "ldt": rd(SLDT_LIN, 8 * self.ldt_n).hex()}

    def import_state(self, st: dict) -> None:
        """Take over a PV guest whose machine state was just restored into this VM (its
        registers are the host view: ring 1, the VMM's GDT/IDT): rebuild the VMM's
        tables for it here and its shadows from its own page tables."""
        if st.get("version") != P.VERSION:
            raise ModeError(f"{self.vm.name}: PV state of ABI {st.get('version')}, this VMM speaks {P.VERSION}")
        X, v = self.X, self.vcpu.state
        self.mmu.flush()
        self._reset_pv()
        self.pv_on = bool(st["pv_on"])
        v[abi.S_BREAK] = -1 if self.pv_on else P.KERNEL_ENTRY
        self.m.stop_requested = None
        if not self.pv_on:
            return
        self._build_tables()
        self.shared, self.console.gpa = st["shared"], st["console"]
        self.block.gpa, self.block.cons = st["block"], st["block_cons"]
        self.traps = {int(k): tuple(t) for k, t in st["traps"].items()}
        self.bind = {int(k): n for k, n in st["bind"].items()}
        self.gcr3, self.gpg = st["gcr3"], st["gpg"]
        self.period, self.next_tick = st["period"], st["next_tick"]
        self.blocked, self.dead, self.ldt_n = st["blocked"], st["dead"], st["ldt_n"]
        self._vmm_write(SGDT_LIN, bytes.fromhex(st["gdt"]))
        self._vmm_write(SLDT_LIN, bytes.fromhex(st["ldt"]))
        self._write_idt(self.traps)
        self._set_esp1(st["esp1"], st["ss1"])
        v[X.CR3] = self.mmu.root(0x80000000 if self.gpg else 0, self.gcr3)
        v[X.TLBT:X.TLBT + X.TLBN] = -1
        v[X.EXC_BITMAP] = EXC_EXITS if self.traps else 0xFFFFFFFF

    def enter(self) -> None:
        pass                                          # (loaded per slice: _run_cpu)

    def leave(self) -> None:
        pass

    def stats(self) -> dict:
        st = super().stats()
        st.pop("report", None)
        st["hypercalls"] = dict(self.hc)
        st["notifications"] = {P.PORT_NAMES[p]: n for p, n in self.notify.items()}
        st["events"] = {P.PORT_NAMES[p]: n for p, n in self.raised.items()}
        st["ring_bytes"] = {"console out": self.console.sent, "console in": self.console.received,
                            "block requests": self.block.requests}
        return st

    # ---- guest memory --------------------------------------------------------------------
    def ram(self, gpa: int, n: int = 4):
        """Host offset (into the VM's memory array) of guest RAM [gpa, gpa+n) in one
        page, or None: not RAM (a device, a ROM, open bus) or crossing a page."""
        gpa &= 0xFFFFFFFF
        if (gpa & 0xFFF) + n > FRAME:
            return None
        g = gpa >> 12
        if g >= self.space.npages:
            return None
        o = int(self.space.rpage[g])
        if o < 0 or int(self.space.wpage[g]) != o:
            return None
        return o + (gpa & 0xFFF)

    def rd32(self, gpa: int) -> int:
        o = self.ram(gpa)
        if o is None:
            raise HypercallError(P.EFAULT)
        return int.from_bytes(self.space.memory.data[o:o + 4].tobytes(), "little")

    def wr32(self, gpa: int, v: int) -> None:
        o = self.ram(gpa)
        if o is None:
            raise HypercallError(P.EFAULT)
        self.space.memory.data[o:o + 4] = np.frombuffer(struct.pack("<I", v & 0xFFFFFFFF), np.uint8)

    def rd8(self, gpa: int) -> int:
        o = self.ram(gpa, 1)
        return 0 if o is None else int(self.space.memory.data[o])

    def wr8(self, gpa: int, v: int) -> None:
        o = self.ram(gpa, 1)
        if o is not None:
            self.space.memory.data[o] = v & 0xFF

    def lin2phys(self, la: int):
        """The guest's own translation of linear ``la`` (no bits set), or None."""
        la &= 0xFFFFFFFF
        if la >= VMM_BASE:
            return None
        if not self.gpg:
            return la
        pde = self.gphys32((self.gcr3 & ~0xFFF) | ((la >> 20) & 0xFFC))
        if pde is None or not pde & 1:
            return None
        pte = self.gphys32((pde & ~0xFFF) | ((la >> 10) & 0xFFC))
        if pte is None or not pte & 1:
            return None
        return (pte & ~0xFFF) | (la & 0xFFF)

    def lin_read(self, la: int, n: int) -> bytes:
        """``n`` bytes of guest RAM at linear ``la`` (EFAULT if any is not mapped RAM)."""
        out = bytearray()
        while n > 0:
            k = min(n, FRAME - (la & 0xFFF))
            pa = self.lin2phys(la)
            o = None if pa is None else self.ram(pa, k)
            if o is None:
                raise HypercallError(P.EFAULT)
            out += self.space.memory.data[o:o + k].tobytes()
            la, n = la + k, n - k
        return bytes(out)

    def lin_write(self, la: int, data: bytes) -> bool:
        i = 0
        while i < len(data):
            k = min(len(data) - i, FRAME - ((la + i) & 0xFFF))
            pa = self.lin2phys(la + i)
            o = None if pa is None else self.ram(pa, k)
            if o is None:
                return False
            self.space.memory.data[o:o + k] = np.frombuffer(data[i:i + k], np.uint8)
            i += k
        return True

    def walk(self, la: int, write: bool, user: bool) -> GuestWalk:
        """The guest's translation of ``la`` for an access, with the A (and D) bits a
        CPU would set.  The PV kernel runs with CR0.WP set: ring 1 cannot write a
        read-only page either (docs/pv-abi.md)."""
        w = GuestWalk()
        err = (2 if write else 0) | (4 if user else 0)
        if not self.gpg:
            w.ok, w.gpa = True, la
            return w
        pde_a = (self.gcr3 & ~0xFFF) | ((la >> 20) & 0xFFC)
        pde = self.gphys32(pde_a)
        if pde is None or not pde & 1:
            w.err = err
            return w
        pte_a = (pde & 0xFFFFF000) | ((la >> 10) & 0xFFC)
        pte = self.gphys32(pte_a)
        if pte is None or not pte & 1:
            w.err = err
            return w
        rights = pde & pte
        w.user_ok, w.write_ok = bool(rights & 4), bool(rights & 2)
        if (user and not w.user_ok) or (write and not w.write_ok):
            w.err = err | 1
            return w
        if not pde & 0x20:
            self.wr32(pde_a, pde | 0x20)
            pde |= 0x20
        npte = pte | 0x20 | (0x40 if write else 0)
        if npte != pte:
            self.wr32(pte_a, npte)
        w.ok, w.gpa, w.pde, w.pte, w.pse = True, (pte & ~0xFFF) | (la & 0xFFF), pde, npte, False
        return w

    # ---- the host's tables for this VM ------------------------------------------------------
    def _vmm_write(self, lin: int, data: bytes) -> None:
        """Bytes into the VMM's area (host frames: the GDT, IDT, TSS, LDT of this VM)."""
        i = 0
        while i < len(data):
            off = lin + i - VMM_BASE
            f = int(self.vmm_frames[off >> 12])
            k = min(len(data) - i, FRAME - (off & 0xFFF))
            h = f * FRAME + (off & 0xFFF)
            self.hostmem.data[h:h + k] = np.frombuffer(data[i:i + k], np.uint8)
            i += k

    def _vmm_read(self, lin: int, n: int) -> bytes:
        off = lin - VMM_BASE
        h = int(self.vmm_frames[off >> 12]) * FRAME + (off & 0xFFF)
        return self.hostmem.data[h:h + n].tobytes()

    def _flat(self, access: int) -> bytes:
        return desc(0, TOP >> 12, access, 0xC)

    def _build_tables(self) -> None:
        for f in self.vmm_frames:                     # (a reboot: nothing of the last one)
            self.hostmem.data[int(f) * FRAME:(int(f) + 1) * FRAME] = 0
        gdt = bytearray(8 * (P.GUEST_GDT + 2))
        for i, acc in ((1, 0xBB), (2, 0xB3), (3, 0xFB), (4, 0xF3)):
            gdt[8 * i:8 * i + 8] = self._flat(acc)
        gdt[P.TSS_SEL:P.TSS_SEL + 8] = desc(HTSS_LIN, 0x67, 0x8B, 0)
        self._vmm_write(SGDT_LIN, bytes(gdt))
        self._write_idt({})
        tss = bytearray(0x68)
        struct.pack_into("<HH", tss, 0x64, 0, 0x68)    # no I/O bitmap: ports are the VMM's
        self._vmm_write(HTSS_LIN, bytes(tss))
        self._set_esp1(0, P.KDATA)

    def _set_esp1(self, esp: int, ss: int) -> None:
        self.esp1, self.ss1 = esp & 0xFFFFFFFF, ss
        self._vmm_write(HTSS_LIN + 12, struct.pack("<II", self.esp1, ss))

    def _gdt_entry(self, sel: int):
        """(base, limit in bytes, attr, access) of selector ``sel`` in the VMM's GDT/LDT
        of this VM, or None."""
        idx = sel >> 3
        if sel & 4:
            if idx >= self.ldt_n:
                return None
            d = self._vmm_read(SLDT_LIN + 8 * idx, 8)
        else:
            if not 0 < idx < P.GUEST_GDT:
                return None
            d = self._vmm_read(SGDT_LIN + 8 * idx, 8)
        base, limit, access, flags = fields(d)
        if not access & 0x80:
            return None
        if flags & 8:
            limit = (limit << 12) | 0xFFF
        return base, limit, access | (flags << 8), access

    def _load_seg(self, i: int, sel: int) -> None:
        X, h = self.X, self.host.state
        base, limit, attr, _ = self._gdt_entry(sel)
        h[X.SEL + i], h[X.BASE + i], h[X.LIMIT + i], h[X.ATTR + i] = sel, base, limit, attr

    def _take_over(self) -> None:
        """The loader jumped to the kernel: start it at ring 1 on the host CPU."""
        X, v = self.X, self.vcpu.state
        img = self.lin_read_phys(P.KERNEL_ENTRY, 65536)
        if P.NOTE not in img:
            self.m.stop_requested = "pv: the kernel at 1 MiB has no PV note (not a paravirtual kernel)"
            return
        self.mmu.flush()
        self._build_tables()
        h = self.host.state
        np.copyto(h, v)
        h[X.EIP] = P.KERNEL_ENTRY
        h[X.FLAGS] = 0x202
        self._load_seg(X.CS, P.KCODE)
        for i in (X.ES, X.SS, X.DS, X.FS, X.GS):
            self._load_seg(i, P.KDATA)
        h[X.CPL], h[X.CSD], h[X.SSB] = 1, 1, 1
        h[X.GDTB], h[X.GDTL] = SGDT_LIN, 8 * (P.GUEST_GDT + 2) - 1
        h[X.IDTB], h[X.IDTL] = SIDT_LIN, 0x7FF
        h[X.LDTR], h[X.LDTB], h[X.LDTL] = 0, SLDT_LIN, 0
        h[X.TR], h[X.TRB], h[X.TRL], h[X.TRA] = P.TSS_SEL, HTSS_LIN, 0x67, 0x8B
        h[X.CR0], h[X.CR4], h[X.CR2] = HOST_CR0, 0, 0
        h[X.CR3] = self.mmu.root(0, 0)
        h[X.TLBT:X.TLBT + X.TLBN] = -1
        h[X.INHIBIT], h[X.HALTED], h[X.SHUTDOWN] = 0, 0, 0
        h[X.XVEC], h[X.DELIV] = -1, -1
        h[abi.S_INTERCEPT], h[X.EXC_BITMAP] = abi.INTERCEPT_EXCEPTIONS, 0xFFFFFFFF
        h[X.VMX], h[X.STRICT] = 0, 0
        h[abi.S_BREAK], h[abi.S_IRQ], h[abi.S_NMI] = -1, 0, 0
        self.mmu.tlb_dirty = False
        np.copyto(v, h)
        self.pv_on = True

    def lin_read_phys(self, gpa: int, n: int) -> bytes:
        out = bytearray()
        for a in range(gpa, gpa + n, FRAME):
            o = self.ram(a, FRAME)
            out += self.space.memory.data[o:o + FRAME].tobytes() if o is not None else bytes(FRAME)
        return bytes(out)

    # ---- the run loop ---------------------------------------------------------------------
    def regs(self):
        """The VM's register file: on the host CPU during its turn, else its own array."""
        return self.host.state if self.on_host else self.vcpu.state

    def _cycles(self) -> int:
        return int((self.host.state if self.on_host else self.vcpu.state)[abi.S_CYCLES])

    def _run_cpu(self, cpu) -> None:
        sched = self.m.scheduler
        sched.running_cpu = cpu
        sched.halted[cpu.name] = False
        try:
            if not self.pv_on:
                self._boot(cpu)
            if self.pv_on and not self.m.stop_requested:
                self._run_pv(cpu)
        finally:
            if self.on_host:
                np.copyto(self.vcpu.state, self.host.state)
                self.on_host = False
            if self.pv_on:                  # SCHEDOP_BLOCK is the PV kernel's HLT: the VMM's
                self.vcpu.state[abi.S_EXIT_REASON] = abi.EXIT_HLT if self.blocked else abi.EXIT_BUDGET
            sched.running_cpu = None        # scheduler sees an idle VM (emu.vmm.sched)

    def _boot(self, cpu) -> None:
        """The BIOS and the boot loader on the VM's software x86, up to the kernel's entry."""
        sched, v = self.m.scheduler, self.vcpu.state
        while not self.m.stop_requested:
            budget = int(sched.slice_end * cpu.clock_hz) - int(v[abi.S_CYCLES])
            if budget <= 0:
                return
            r = self.vrun(min(budget, 200000))
            if v[abi.S_IOLOG_COUNT]:
                self.space.drain_iolog(v)
            if r == abi.EXIT_BREAKPOINT:
                self._take_over()
                return
            sched.halted[cpu.name] = r == abi.EXIT_HLT
            if r:
                sched.dispatch(cpu, self.space, r)

    def _run_pv(self, cpu) -> None:
        X, sched = self.X, self.m.scheduler
        h = self.host.state
        np.copyto(h, self.vcpu.state)
        h[abi.S_IRQ] = h[abi.S_NMI] = 0           # (the PIC is not the PV guest's)
        if self.mmu.tlb_dirty:
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False
        self.on_host = True
        self.yielded = False
        end = int(sched.slice_end * cpu.clock_hz)
        if self.console.poll_input():
            self.raise_event(P.PORT_CONSOLE)
        while not self.m.stop_requested and not self.yielded:
            now = int(h[abi.S_CYCLES])
            if now >= end:
                break
            self._timer(now)
            if self.blocked:
                if self.dead or not self._deliverable():
                    stop = min(end, self.next_tick) if self.period and not self.dead else end
                    h[abi.S_CYCLES] = max(now, stop)      # idle until the next event
                    sched.halted[cpu.name] = True
                    continue
                self.blocked = False                      # (returning from SCHEDOP_BLOCK)
                sched.halted[cpu.name] = False
                self.deliver(hypercall=True)
            else:
                self.deliver(hypercall=False)
            stop = min(end, self.next_tick) if self.period else end
            n0 = int(h[abi.S_INSNS])
            r = self.host.run(max(1, stop - now))
            self.native += int(h[abi.S_INSNS]) - n0
            if r != abi.EXIT_BUDGET:
                self.host_exit(cpu, r)
        self.console.drain()

    def _timer(self, now: int) -> None:
        if self.period and now >= self.next_tick:
            self._set_shared32(P.SH_TICK_TSC, self.next_tick + int(self.host.state[self.X.TSC_OFF]))
            self._set_shared32(P.SH_TICK_TSC + 4, (self.next_tick + int(self.host.state[self.X.TSC_OFF])) >> 32)
            self.next_tick += self.period
            if self.next_tick <= now:
                self.next_tick = now + self.period
            self.raise_event(P.PORT_TIMER)

    # ---- events ------------------------------------------------------------------------------
    def _set_shared32(self, off: int, v: int) -> None:
        if self.shared is not None:
            self.wr32(self.shared + off, v)

    def _update_pending(self) -> None:
        s = self.shared
        pend = self.rd32(s + P.SH_EVT_PENDING) & ~self.rd32(s + P.SH_EVT_MASK)
        self.wr8(s + P.SH_PENDING, 1 if pend else 0)

    def raise_event(self, port: int) -> None:
        """Mark an event pending on channel ``port`` (an edge: one pending at most)."""
        if self.shared is None:
            return
        s = self.shared
        self.wr32(s + P.SH_EVT_PENDING, self.rd32(s + P.SH_EVT_PENDING) | (1 << port))
        self._update_pending()
        self.raised[port] += 1

    def _deliverable(self) -> int:
        """The lowest pending, unmasked channel the virtual IF lets in (-1: none)."""
        s = self.shared
        if s is None or self.rd8(s + P.SH_MASK):
            return 0
        return self.rd32(s + P.SH_EVT_PENDING) & ~self.rd32(s + P.SH_EVT_MASK)

    def deliver(self, hypercall: bool) -> None:
        """Enter the guest at a pending event's vector, if it may take one now: its
        virtual IF is on and it is at ring 3 or has just made a hypercall (elsewhere in
        ring 1 the kernel's own return path takes it)."""
        bits = self._deliverable()
        if not bits or not (hypercall or int(self.host.state[self.X.CPL]) == 3):
            return
        port = (bits & -bits).bit_length() - 1
        vec = self.bind.get(port)
        s = self.shared
        self.wr32(s + P.SH_EVT_PENDING, self.rd32(s + P.SH_EVT_PENDING) & ~(1 << port))
        self._update_pending()
        if vec is not None and self.bounce(vec, None):
            self.blocked = False                          # (an event ends SCHEDOP_BLOCK)

    def bounce(self, vec: int, err, cr2=None) -> bool:
        """Deliver vector ``vec`` to the guest kernel as the CPU delivers an interrupt
        through a gate of its trap table: a frame on the kernel stack (the stack of
        HC_STACK_SWITCH from ring 3), the virtual IF saved in the frame's EFLAGS and
        turned off."""
        X, h = self.X, self.host.state
        t = self.traps.get(vec)
        cs, eip = int(h[X.SEL + X.CS]), int(h[X.EIP])
        if t is None:
            self.m.stop_requested = (f"pv: vector {vec:#x} at {cs:04X}:{eip:08X} and the guest's trap "
                                     f"table has no handler for it")
            return False
        tcs, teip, mask, _ = t
        vif = 0 if self.shared is None or self.rd8(self.shared + P.SH_MASK) else IF
        fl = (int(h[X.FLAGS]) & ~IF) | vif
        cpl = int(h[X.CPL])
        if cpl == 3:
            ss, esp = self.ss1, self.esp1
            words = [eip, cs, fl, int(h[X.ESP]), int(h[X.SEL + X.SS])]
            ss_base = self._gdt_entry(ss)[0] if self._gdt_entry(ss) else 0
        else:
            ss, esp = int(h[X.SEL + X.SS]), int(h[X.ESP])
            words = [eip, cs, fl]
            ss_base = int(h[X.BASE + X.SS])
        if err is not None:
            words.insert(0, err & 0xFFFFFFFF)
        esp = (esp - 4 * len(words)) & 0xFFFFFFFF
        if (cpl == 3 and not self.esp1) or not self.lin_write(ss_base + esp, struct.pack(f"<{len(words)}I", *words)):
            self.m.stop_requested = (f"pv: cannot deliver vector {vec:#x} at {cs:04X}:{eip:08X}: its "
                                     f"kernel stack {ss:04X}:{esp:08X} is not mapped")
            return False
        if cpl == 3:
            self._load_seg(X.SS, ss)
        h[X.ESP] = esp
        self._load_seg(X.CS, tcs)
        h[X.EIP], h[X.CPL] = teip, 1
        h[X.FLAGS] = int(h[X.FLAGS]) & ~(TF | NT | RF | VM_FLAG) | IF
        h[X.INHIBIT] = 0
        if cr2 is not None:
            self._set_shared32(P.SH_CR2, cr2)
        if mask and self.shared is not None:
            self.wr8(self.shared + P.SH_MASK, 1)
        return True

    # ---- exits ----------------------------------------------------------------------------
    def host_exit(self, cpu, r: int) -> None:
        X, h = self.X, self.host.state
        if r == abi.EXIT_EXCEPTION:
            vec, err = int(h[abi.S_FAULT]), int(h[abi.S_EXIT_DATA])
            if vec == 11 and err == HC_ERR and int(h[X.CPL]) == 1:
                self.exits["hypercall"] += 1
                self.hypercall()
                return
            if vec == 14:
                idt, at = int(h[X.IDT_INFO]), (int(h[X.EIP]), int(h[X.SEL + X.CS]))
                h[X.IDT_INFO] = 0
                self.page_fault(cpu, int(h[self.host.cpu.exit_info + abi.EI_GLA]), err)
                if idt & 0x80000000 and at == (int(h[X.EIP]), int(h[X.SEL + X.CS])):
                    # a hidden fault while the host CPU delivered an event natively (a
                    # trap of the guest's table): filled, the event goes in again (VT-x's
                    # IDT-vectoring information, as KVM re-injects it)
                    h[X.INJ_INFO], h[X.INJ_ERR] = idt, h[X.IDT_ERR]
                return
            self.exits[f"exception {vec}"] += 1
            if vec == 8:
                self.m.stop_requested = f"pv: double fault at {int(h[X.SEL + X.CS]):04X}:{int(h[X.EIP]):08X}"
                return
            self.bounce(vec, err if vec in (10, 11, 12, 13, 17) else None)
            return
        if r == abi.EXIT_SHUTDOWN:
            self.m.stop_requested = "pv: the guest kernel triple-faulted"
            return
        self.exits[abi.EXIT_NAMES.get(r, str(r))] += 1
        self.m.stop_requested = f"pv: unexpected exit {abi.EXIT_NAMES.get(r, r)} of the host CPU"

    def page_fault(self, cpu, la: int, err: int) -> None:
        """A host #PF: the guest's own (delivered to its handler, CR2 in the shared page)
        or hidden (the shadow entry filled from the guest's tables)."""
        X, h = self.X, self.host.state
        write, user = bool(err & 2), bool(err & 4)     # (U/S: a stack push in INT n from ring 3 is a supervisor access)
        la &= 0xFFFFFFFF
        w = self.walk(la, write, user) if la < VMM_BASE else GuestWalk()
        if la >= VMM_BASE:
            w.err = (err & 6) | 1
        gfn = w.gpa >> 12
        if w.ok and (is_mmio(self.space, gfn) or write and int(self.space.wpage[gfn]) != int(self.space.rpage[gfn])):
            w.ok, w.err = False, (err & 6) | 1            # a device page or ROM: no mapping in PV
        if not w.ok:
            self.exits["pf-guest"] += 1
            self.mmu.stats["guest"] += 1
            self.bounce(14, w.err, la)
            return
        if self.mmu.full():
            self.mmu.flush()
            h[X.CR3] = self.mmu.root(0x80000000 if self.gpg else 0, self.gcr3)
        pd_key = (self.gcr3 >> 12) & 0xFFFFF if self.gpg else "phys"
        key = (int(h[X.EIP]), la, err)
        if not self.mmu.fill(int(h[X.CR3]), pd_key, la, w) or key == self._last_pf:
            self.m.stop_requested = f"pv: cannot map {la:08X} for {int(h[X.SEL + X.CS]):04X}:{int(h[X.EIP]):08X}"
            return
        self._last_pf = key
        self.exits["pf-hidden"] += 1
        if self.mmu.tlb_dirty:
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False

    # ---- hypercalls ---------------------------------------------------------------------------
    def hypercall(self) -> None:
        X, h = self.X, self.host.state
        code = self.lin_read_safe(int(h[X.BASE + X.CS]) + int(h[X.EIP]), 2)
        if code != b"\xcd\x82":                       # (#NP of another kind at this vector)
            self.bounce(11, HC_ERR)
            return
        h[X.EIP] = (int(h[X.EIP]) + 2) & 0xFFFFFFFF
        self._last_pf = None
        r = self.call(int(h[X.EAX]), *(int(h[X.REG + i]) for i in (3, 1, 2, 6)))   # EBX ECX EDX ESI
        h[X.EAX] = r & 0xFFFFFFFF
        self.console.drain()
        if self.mmu.tlb_dirty:
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False
        self.deliver(hypercall=True)

    def lin_read_safe(self, la: int, n: int) -> bytes:
        try:
            return self.lin_read(la, n)
        except HypercallError:
            return b""
