"""The hypercalls of mode ``pv`` (docs/pv-abi.md "Hypercalls"): one method per number,
each checking its arguments and answering with a result or a negative errno.  A
mixin of emu.vmm.pv.Pv, whose guest-memory helpers (``ram``, ``rd32``, ``lin_read``)
and VMM tables (``_vmm_write``, ``_gdt_entry``, ``_set_esp1``) they use."""
from __future__ import annotations

import struct

from .. import abi
from ..bus import FRAME
from . import pv_abi as P
from .shadow import desc, fields
from .shadowpt import TOP, VMM_BASE
from .trap import SGDT_LIN, SIDT_LIN, SLDT_LIN

# exceptions that leave the host CPU for the VMM once the guest has its trap table:
# #DF (a broken kernel stack), #NP (the hypercall gate), #PF (shadow paging); every
# other one goes to the guest's handler
EXC_EXITS = (1 << 8) | (1 << 11) | (1 << 14)


class HypercallError(Exception):
    def __init__(self, errno: int):
        self.errno = errno


class Hypercalls:
    def call(self, nr: int, *args) -> int:
        """Serve hypercall ``nr`` with up to four arguments: its result, or a negative
        errno (-ENOSYS for no such number); it never raises."""
        nr &= 0xFFFFFFFF
        a = [int(x) & 0xFFFFFFFF for x in (list(args) + [0, 0, 0, 0])[:4]]
        name = P.HC_NAMES[nr] if nr < len(P.HC_NAMES) else "invalid"
        self.hc[name] += 1
        if name == "invalid":
            return -P.ENOSYS
        try:
            return getattr(self, "hc_" + name)(*a)
        except HypercallError as e:
            return -e.errno

    def _page(self, gpa: int) -> int:
        if gpa & 0xFFF or self.ram(gpa, FRAME) is None:
            raise HypercallError(P.EFAULT)
        return gpa

    def hc_set_shared(self, gpa, *_):
        self.shared = self._page(gpa)
        mul = int((1 << 32) * 1e6 / self.vcpu.clock_hz)
        for off, val in ((P.SH_TSC_MUL, mul), (P.SH_FEATURES, 7), (P.SH_VERSION, P.VERSION)):
            self.wr32(gpa + off, val)
        self.wr8(gpa + P.SH_MASK, 1)
        self.wr32(gpa + P.SH_EVT_MASK, 0xFFFFFFFF)
        return 0

    def hc_version(self, *_):
        return P.VERSION

    def _frame_ok(self, val: int) -> bool:
        """A present entry names the VM's RAM or the PC's first MiB (VGA, ROMs)."""
        return (val >> 12) < 0x100 or self.ram(val & ~0xFFF) is not None

    def hc_mmu_update(self, va, count, *_):
        X, h = self.X, self.regs()
        if count > 1024:
            raise HypercallError(P.EINVAL)
        reqs = struct.unpack(f"<{2 * count}I", self.lin_read(va, 8 * count)) if count else ()
        done, synced = 0, set()
        try:
            for k in range(count):
                ptr, val = reqs[2 * k], reqs[2 * k + 1]
                cmd = ptr & 3
                if cmd == P.MMU_PT_UPDATE:
                    if self.ram(ptr & ~3) is None:
                        raise HypercallError(P.EFAULT)
                    if val & 1 and not self._frame_ok(val):
                        raise HypercallError(P.EINVAL)
                    g = ptr >> 12
                    if g not in synced:
                        synced.add(g)
                        self.mmu.sync(g)
                elif cmd == P.MMU_NEW_BASEPTR:
                    self._page(val)
                    self.gcr3, self.gpg = val, True
                    root = self.mmu.root(0x80000000, val)
                    self.mmu.sync(val >> 12)
                    if int(h[X.CR3]) != root:
                        h[X.CR3] = root
                        self.mmu.tlb_dirty = True
                elif cmd == P.MMU_INVLPG:
                    self.mmu.tlb_dirty = True
                else:
                    self._set_esp1(val, P.KDATA)
                done += 1
        finally:
            if synced:
                self.mmu.tlb_dirty = True
        return done

    def _ring1_sel(self, sel: int, code: bool) -> bool:
        e = self._gdt_entry(sel)
        if e is None or sel & 3 != 1 or (e[3] >> 5) & 3 != 1 or not e[3] & 0x10:
            return False
        return bool(e[3] & 8) == code

    def hc_stack_switch(self, ss, esp, *_):
        if not self._ring1_sel(ss, code=False):
            raise HypercallError(P.EINVAL)
        self._set_esp1(esp, ss)
        return 0

    def hc_set_trap_table(self, va, *_):
        new = {}
        for k in range(256):
            vec, flags, cs, eip = struct.unpack("<BBHI", self.lin_read(va + 8 * k, 8))
            if eip == 0:
                break
            if vec == P.HYPERCALL_VECTOR or not self._ring1_sel(cs, code=True) or eip > TOP:
                raise HypercallError(P.EINVAL)
            new[vec] = (cs, eip, bool(flags & 4), max(1, flags & 3))
        else:
            raise HypercallError(P.EINVAL)
        self.traps = new
        self._write_idt(new)
        self.regs()[self.X.EXC_BITMAP] = EXC_EXITS
        return 0

    def _write_idt(self, gates: dict) -> None:
        """The VMM's IDT for this VM: trap gates to the guest's handlers (the real IF
        stays the VMM's), and the hypercall gate, not present.  Until the guest gives
        its trap table every exception exits (and stops the VM: no handler)."""
        idt = bytearray(256 * 8)
        for vec, (cs, eip, _, dpl) in gates.items():
            idt[8 * vec:8 * vec + 8] = struct.pack("<HHBBH", eip & 0xFFFF, cs, 0, 0x8F | dpl << 5, eip >> 16)
        idt[8 * P.HYPERCALL_VECTOR:8 * P.HYPERCALL_VECTOR + 8] = struct.pack("<HHBBH", 0, P.KCODE, 0,
                                                                           0x0F | 1 << 5, 0)
        self._vmm_write(SIDT_LIN, bytes(idt))

    def hc_update_descriptor(self, table, index, lo, hi, *_):
        """A GDT entry 1-15 or an LDT entry, checked as Xen checks them: code or data
        only, DPL 1-3, not based in the VMM's area, not expand-down; the limit is cut
        below the VMM's area."""
        if table == 0 and not 0 < index < P.GUEST_GDT or table == 1 and not index < P.LDT_ENTRIES \
                or table > 1:
            raise HypercallError(P.EINVAL)
        d = struct.pack("<II", lo, hi)
        base, limit, access, flags = fields(d)
        if access & 0x80:
            dpl, expand_down = (access >> 5) & 3, access & 0x1C == 0x14
            if not access & 0x10 or dpl == 0 or base >= VMM_BASE or expand_down:
                raise HypercallError(P.EINVAL)
            lim = (limit << 12 | 0xFFF) if flags & 8 else limit
            if base + lim > TOP:
                lim = TOP - base
                limit = lim >> 12 if flags & 8 else lim
            d = desc(base, limit, access, flags)
        self._vmm_write((SGDT_LIN if table == 0 else SLDT_LIN) + 8 * index, d)
        return 0

    def hc_set_ldt(self, n, *_):
        X, h = self.X, self.regs()
        if n > P.LDT_ENTRIES:
            raise HypercallError(P.EINVAL)
        self.ldt_n = n
        self._vmm_write(SGDT_LIN + P.LDT_SEL, desc(SLDT_LIN, max(0, 8 * n - 1), 0x82, 0) if n else bytes(8))
        h[X.LDTR], h[X.LDTB], h[X.LDTL] = (P.LDT_SEL if n else 0), SLDT_LIN, max(0, 8 * n - 1)
        return 0

    def hc_sched_op(self, op, *_):
        if op == P.SCHEDOP_YIELD:
            self.yielded = True
        elif op == P.SCHEDOP_BLOCK:
            if self.shared is not None:
                self.wr8(self.shared + P.SH_MASK, 0)          # (as STI; HLT)
            self.blocked = True
        elif op == P.SCHEDOP_SHUTDOWN:
            self.blocked = self.dead = True
        elif op != P.SCHEDOP_NONE:
            raise HypercallError(P.EINVAL)
        return 0

    def hc_evtchn_send(self, port, *_):
        if port == P.PORT_CONSOLE:
            self.console.drain()
        elif port == P.PORT_BLOCK:
            n = self.block.serve()
            if n < 0:
                raise HypercallError(-n)
            self.raise_event(P.PORT_BLOCK)
        else:
            raise HypercallError(P.EINVAL)
        self.notify[port] += 1
        return 0

    def hc_set_ring(self, port, gpa, *_):
        if port not in (P.PORT_CONSOLE, P.PORT_BLOCK):
            raise HypercallError(P.EINVAL)
        self._page(gpa)
        if port == P.PORT_CONSOLE:
            self.console.attach(gpa)
        else:
            self.block.gpa, self.block.cons = gpa, self.rd32(gpa + P.BL_REQ_PROD)
        return 0

    def hc_set_timer(self, us, *_):
        """A period of 100 us to 10 s (a shorter one would make the VM all timer exits)."""
        if us and not 100 <= us <= 10_000_000:
            raise HypercallError(P.EINVAL)
        self.period = int(us * self.vcpu.clock_hz / 1e6)
        self.next_tick = int(self.regs()[abi.S_CYCLES]) + self.period
        return 0

    def hc_evtchn_bind(self, port, vector, *_):
        if port >= P.NPORTS or not 0x20 <= vector <= 0xFF or vector == P.HYPERCALL_VECTOR:
            raise HypercallError(P.EINVAL)
        self.bind[port] = vector
        return 0

    def hc_port_io(self, port, how, value, *_):
        """The legacy ports a PV kernel may still use: the PC's 61h (the nanobenchmark's
        device read) and 80h (POST codes), through the machine's own device models."""
        size = how & 0xFF
        if port not in (0x61, 0x80) or size != 1:
            raise HypercallError(P.EPERM)
        if how & 0x100:
            self.space.io_write(port, value & 0xFF, 1)
            return 0
        return self.space.io_read(port, 1) & 0xFF
