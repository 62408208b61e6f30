"""Mode ``hw``: hardware-assisted virtualization in the manner of Intel VT-x.

The guest runs unmodified at its own ring 0 in the x86 core's VMX non-root
operation (cores/x86/vmx.py); the VMM sets the controls and serves the VM exits.
Two ways of handling memory, as on VT-x:

* **nested paging** (``--paging nested``, the default; EPT): the core walks the
  guest's own page tables to guest-physical addresses and the VM's p2m (the
  address space's ``rpage``/``wpage``, built from the VM's host frames) to host
  memory; a guest-physical page the p2m does not map as RAM is an EPT violation
  (the MMIO exits, with the EPT qualification).  The guest's page tables, CR3,
  INVLPG and page faults are its own: none exits.  VT-x allows an unrestricted
  guest only with EPT, and so here: the BIOS and boot loader run in non-root
  operation too, real mode included.
* **shadow paging** (``--paging shadow``): the core runs the guest over host
  memory with the VMM's shadow page tables (emu.vmm.shadowpt, as in mode
  ``trap``); CR3 loads and stores, INVLPG and #PF exit (the exception bitmap), the
  VMM owns CR0.PG/WP/PE and the paging bits of CR4 (guest/host masks; the guest
  reads its own values from the read shadows).  As on VT-x without unrestricted
  guest, the real-mode start runs under ``emulate``.

In both the VMM virtualizes the interrupt controller the VT-x way: the VM's PIC
signals the VMM, which injects the interrupt on VM entry when the guest's
RFLAGS.IF and interruptibility allow, and otherwise asks for an interrupt-window
exit.  CPUID exits (the VMM answers as the guest's CPU model, with the
"hypervisor present" bit, CPUID.1:ECX[31], set as KVM and Xen set it), HLT exits
(the VMM idles the virtual CPU until an interrupt), MSR accesses exit but for the
SYSENTER MSRs, which the MSR bitmaps give the guest.  The
instructions an exit asks the VMM to emulate run on the VM's own x86 model in
root operation (the VMM's instruction emulator), and EIP moves on.
"""
from __future__ import annotations

from collections import Counter

from .. import abi
from ..core import CompiledCall
from .mode import Emulate, Mode, ModeError
from .trap import Trap

# VT-x basic exit reasons by name (SDM vol. 3D, appendix C) and the run ABI's exits
VT_NAMES = {0: "exception or NMI", 1: "external interrupt", 2: "triple fault", 7: "interrupt window",
            8: "NMI window", 10: "CPUID", 12: "HLT", 13: "INVD", 14: "INVLPG", 15: "RDPMC",
            16: "RDTSC", 28: "control-register access", 29: "MOV DR", 30: "I/O instruction",
            31: "RDMSR", 32: "WRMSR", 48: "EPT violation"}
ABI_REASON = {abi.EXIT_IO_IN: 30, abi.EXIT_IO_OUT: 30, abi.EXIT_MMIO_READ: 48,
              abi.EXIT_MMIO_WRITE: 48, abi.EXIT_EXCEPTION: 0, abi.EXIT_SHUTDOWN: 2}
INJ_VALID = 0x80000000
PASS_MSRS = (0x174, 0x175, 0x176)  # IA32_SYSENTER_CS/ESP/EIP: the guest's own
HYPERVISOR = 1 << 31              # CPUID.1:ECX bit 31


def vt_name(reason: int) -> str:
    return f"{VT_NAMES.get(reason, 'reason')} ({reason})"


def inject(mode, cpu, s, pending: bool, vector: int) -> None:
    """VM entry (SDM 26.6): a pending virtual interrupt goes in as an event (``s``: the
    state array the guest runs in) if the guest can take it now, and the PIC moves
    it into service; else an interrupt-window exit is requested."""
    X, V = mode.X, mode.V
    if s[X.INJ_INFO] & INJ_VALID or not pending:
        s[X.VMX_PROC] &= ~V.P_IWIN
    elif s[X.FLAGS] & X.IF and not s[X.INHIBIT]:
        s[X.INJ_INFO] = INJ_VALID | (vector & 0xFF)
        s[X.VMX_PROC] &= ~V.P_IWIN
        mode.exits["injection"] += 1
        mode.m.irq_acknowledged(cpu)
    else:
        s[X.VMX_PROC] |= V.P_IWIN


class Hw(Mode):
    """Mode ``hw``: the VMM's ``paging`` choice picks nested (HwNested) or shadow
    (HwShadow) paging."""
    name = "hw"
    isas = frozenset({"x86"})
    summary = "the guest at its own ring 0 in VT-x-style non-root operation (nested or shadow paging)"

    def __new__(cls, vm):
        paging = vm.spec.paging or (getattr(vm.vmm, "paging", "nested") if vm.vmm is not None else "nested")
        if paging not in ("nested", "shadow"):
            raise ModeError(f"unknown paging {paging!r} (nested, shadow)")
        return (HwShadow if paging == "shadow" else HwNested)(vm)


class HwNested(Emulate):
    name = "hw"
    paging = "nested"

    def __init__(self, vm):
        super().__init__(vm)
        from cores.x86 import cpu as X
        from cores.x86 import vmx as V
        self.X, self.V = X, V
        m = vm.machine
        self.m = m
        self.vcpu = m.cpu
        if getattr(self.vcpu, "model", 0) < 5:
            raise ModeError(f"{vm.name}: mode 'hw' needs a Pentium-class or later guest CPU (CPUID)")
        self.space = m.spaces[self.vcpu.name]
        self.exits = Counter()
        self.emulated = 0
        self._vrun = CompiledCall(type(self.vcpu).run)
        self.in_slice = False
        self.vcpu.set_irq = self._virtual_irq           # the PIC signals the VMM (VT-x)
        m.scheduler.cpu_hooks[self.vcpu.name] = self._run_cpu
        # the MSR bitmaps (a host frame of the VMM's): the SYSENTER MSRs are the guest's
        # (no exit, as KVM passes them through); every other MSR exits
        self.hostmem = m.mem.host
        if self.hostmem is None:
            raise ModeError(f"{vm.name}: mode 'hw' runs VMs of a VMM")
        self.msr_frame = self.hostmem.alloc(1, vm.name)
        o = int(self.msr_frame[0]) * 4096
        bm = self.hostmem.data[o:o + 4096]
        bm[:] = 0xFF
        for n in PASS_MSRS:
            for base in (0, 0x800):                     # read low, write low
                bm[base + (n >> 3)] &= ~(1 << (n & 7)) & 0xFF
        self.msr_bitmaps = o                            # (non-root operation from the first slice)

    # ---- the VMCS --------------------------------------------------------------------
    def arm(self) -> None:
        """Enter non-root operation with this mode's controls (after a reset too)."""
        X, V, s = self.X, self.V, self.vcpu.state
        s[X.VMX] = 1
        s[X.VMX_PIN] = V.PIN_NMI
        s[X.VMX_PROC] = V.P_HLT | V.P_MSR_BITMAPS
        s[X.VMX_MSRBM] = self.msr_bitmaps
        s[X.EXC_BITMAP] = 0
        if s[X.CR0_MASK] != X.CD | X.NW:                # (first entry, or after a reset)
            s[X.CR0_MASK] = X.CD | X.NW                 # the VMM owns the cache controls
            s[X.CR0_SHADOW] = int(s[X.CR0]) & (X.CD | X.NW)
            s[X.CR4_MASK] = s[X.CR4_SHADOW] = 0

    def _virtual_irq(self, level: bool, vector=None) -> None:
        """The VM's interrupt controller's output: while the guest runs, a line the VMM
        samples (bit 1 of S_IRQ), not the core's INT pin; between slices the INT pin
        (so a save state is the machine's own, loadable in any mode)."""
        s = self.vcpu.state
        if vector is not None:
            s[abi.S_IRQ_VECTOR] = vector
        if level:
            s[abi.S_IRQ] |= 2 if self.in_slice else 1
        else:
            s[abi.S_IRQ] &= ~3

    def invalidate(self) -> None:
        """A reset or a restore: the read shadows are set afresh at the next entry."""
        self.vcpu.state[self.X.CR0_MASK] = 0

    def destroy(self) -> None:
        self.hostmem.free(self.msr_frame)

    def stats(self) -> dict:
        n = int(self.vcpu.state[abi.S_INSNS])
        return {"exits": dict(self.exits), "native_insns": n - self.emulated,
                "emulated_insns": self.emulated, "paging": self.paging}

    def vrun(self, budget: int) -> int:
        return self._vrun(self.vcpu.state, self.space.mem, budget)

    # ---- the run loop --------------------------------------------------------------------
    def _inject(self, cpu) -> None:
        s = self.vcpu.state
        inject(self, cpu, s, bool(s[abi.S_IRQ] & 2), int(s[abi.S_IRQ_VECTOR]))

    def _run_cpu(self, cpu) -> None:
        sched, space, X = self.m.scheduler, self.space, self.X
        s = cpu.state
        sched.running_cpu = cpu
        sched.halted[cpu.name] = False
        clock = cpu.clock_hz
        # VM entry for the slice: non-root operation, the PIC's line to the VMM
        self.arm()
        self.in_slice = True
        if s[abi.S_IRQ] & 1:
            s[abi.S_IRQ] = (int(s[abi.S_IRQ]) & ~1) | 2
        try:
            while not self.m.stop_requested:
                budget = int(sched.slice_end * clock) - int(s[abi.S_CYCLES])
                if budget <= 0:
                    return
                if not s[X.VMX]:                        # (a reset left non-root operation)
                    self.arm()
                self._inject(cpu)
                r = self.vrun(budget)
                if s[abi.S_IOLOG_COUNT]:
                    space.drain_iolog(s)
                sched.halted[cpu.name] = r == abi.EXIT_HLT
                if r == abi.EXIT_VMEXIT:
                    self.vm_exit(cpu)
                elif r:
                    if r in ABI_REASON:
                        self.exits[vt_name(ABI_REASON[r])] += 1
                    sched.dispatch(cpu, space, r)
        finally:
            # VM exit to the VMM at the slice end: root operation, the line on the INT
            # pin (an event not yet delivered stays pending in INJ_INFO)
            self.in_slice = False
            s[X.VMX] = 0
            if s[abi.S_IRQ] & 2:
                s[abi.S_IRQ] = (int(s[abi.S_IRQ]) & ~2) | 1
            sched.running_cpu = None

    def vm_exit(self, cpu) -> None:
        X, V, s = self.X, self.V, self.vcpu.state
        reason = int(s[X.VMX_REASON])
        self.exits[vt_name(reason)] += 1
        if reason == V.R_IWIN:                          # the window is open: inject next
            s[X.VMX_PROC] &= ~V.P_IWIN
            return
        if reason == V.R_EXCEPTION and s[abi.S_FAULT] == 2:   # an NMI: the VMM's to inject
            s[X.INJ_INFO] = INJ_VALID | 2
            return
        self.emulate_exit(cpu, reason)

    def emulate_exit(self, cpu, reason: int) -> None:
        """The exiting instruction, executed by the VMM on the guest's CPU model in root
        operation (its own semantics: the model's CPUID, MSRs, HLT), then the VMM's
        policy on top: the hypervisor bit, the owned CR0 bits."""
        X, V, s = self.X, self.V, self.vcpu.state
        leaf = int(s[X.EAX])
        cr0 = int(s[X.CR0])
        s[X.VMX] = 0
        n0 = int(s[abi.S_INSNS])
        try:
            for _ in range(64):
                r = self.vrun(1)
                if s[abi.S_IOLOG_COUNT]:
                    self.space.drain_iolog(s)
                if r in (abi.EXIT_IO_IN, abi.EXIT_MMIO_READ):
                    self.m.scheduler.dispatch(cpu, self.space, r)
                    continue
                if r not in (abi.EXIT_BUDGET, abi.EXIT_HLT):
                    self.m.scheduler.dispatch(cpu, self.space, r)
                break
        finally:
            s[X.VMX] = 1
        self.emulated += int(s[abi.S_INSNS]) - n0
        if reason == V.R_CPUID and leaf == 1:
            s[X.ECX] = int(s[X.ECX]) | HYPERVISOR
        elif reason == V.R_CR:                          # the guest's value of the owned bits
            m = int(s[X.CR0_MASK])                      # goes to the read shadow
            s[X.CR0_SHADOW] = (int(s[X.CR0_SHADOW]) & ~m) | (int(s[X.CR0]) & m)
            s[X.CR0] = (int(s[X.CR0]) & ~m) | (cr0 & m)


class _HostView:
    """The host CPU's state as the machine's exit dispatcher sees a CPU."""

    def __init__(self, host, vcpu):
        self.host, self.name, self.clock_hz = host, vcpu.name, vcpu.clock_hz

    @property
    def state(self):
        return self.host.state

    @property
    def sv(self):                      # (emu.core.Core.sv: the dispatcher's view of the state)
        return self.host.state.data


class HwShadow(Trap):
    """Mode ``hw`` with shadow paging: the guest at ring 0 in non-root operation on the
    host CPU over host memory and the VMM's shadow page tables."""
    name = "hw"
    paging = "shadow"
    vmm_area = False                 # (VT-x: the VMM needs no room in the guest's linear space)

    def __init__(self, vm):
        super().__init__(vm)
        from cores.x86 import vmx as V
        self.V = V
        self.lockstep = False
        sp = self.space                                  # the VM's own I/O port flags and log
        self.hmem = self.host.mem[:3] + (sp.ioflags, sp.iolog)
        self.hview = _HostView(self.host, self.vcpu)

    def stats(self) -> dict:
        return dict(super().stats(), paging=self.paging)

    # the VMM owns paging and protection: PG, WP, PE (a guest leaving protected mode goes
    # back to emulate), the cache controls; CR4's paging bits
    def _cr0_mask(self):
        X = self.X
        return X.PG | X.WP | X.PE | X.CD | X.NW

    def _cr4_mask(self):
        X = self.X
        return X.PSE | X.PGE | X.VME | X.PVI

    def to_host(self) -> None:
        """The guest's own state into the host CPU in non-root operation: its segments,
        tables and rings as they are; CR0 with PG and WP on, CR3 the shadow directory,
        CR4 without the paging bits (the guest reads its own through the shadows)."""
        X, V, v, h = self.X, self.V, self.vcpu.state, self.host.state
        self._check_shadows()
        h[X.REG:X.HALTED] = v[X.REG:X.HALTED]            # registers, segments, tables, CRs
        h[X.HALTED] = 0
        m0, m4 = self._cr0_mask(), self._cr4_mask()
        h[X.CR0] = (int(v[X.CR0]) & ~m0) | X.PG | X.WP | X.PE
        h[X.CR0_MASK], h[X.CR0_SHADOW] = m0, v[X.CR0]
        h[X.CR4] = int(v[X.CR4]) & ~m4
        h[X.CR4_MASK], h[X.CR4_SHADOW] = m4, v[X.CR4]
        root = self.mmu.root(int(v[X.CR0]), int(v[X.CR3]))
        if int(h[X.CR3]) != root or self.mmu.tlb_dirty:
            h[X.TLBT:X.TLBT + X.TLBN] = -1
            self.mmu.tlb_dirty = False
        h[X.CR3] = root
        h[X.CR2] = v[X.CR2]
        h[X.DR:X.DR + 8] = v[X.DR:X.DR + 8]
        h[X.DBACT], h[X.TSC_OFF] = v[X.DBACT], v[X.TSC_OFF]
        h[X.MSR_CS:X.MSR_EIP + 1] = v[X.MSR_CS:X.MSR_EIP + 1]
        h[abi.S_CYCLES], h[abi.S_INSNS] = v[abi.S_CYCLES], v[abi.S_INSNS]
        h[X.SHUTDOWN], h[X.XVEC], h[X.DELIV] = 0, -1, -1
        h[abi.S_INTERCEPT] = 0
        h[X.STRICT] = 0                                 # (VT-x runs on the real x86)
        h[X.VMX] = 1
        h[X.VMX_PIN] = V.PIN_NMI
        h[X.VMX_PROC] = (int(h[X.VMX_PROC]) & V.P_IWIN) | V.P_HLT | V.P_INVLPG | V.P_CR3_LOAD | V.P_CR3_STORE
        h[X.EXC_BITMAP] = 1 << 14
        self.on_host = True

    def to_vcpu(self) -> None:
        """The host CPU's guest state back: what the guest changed natively (registers,
        segments, its own tables, CR0's guest-owned bits, CR2)."""
        if not self.on_host:
            return
        self.on_host = False
        X, v, h = self.X, self.vcpu.state, self.host.state
        cr0, cr3, cr4 = int(v[X.CR0]), int(v[X.CR3]), int(v[X.CR4])
        v[X.REG:X.HALTED] = h[X.REG:X.HALTED]
        m0, m4 = self._cr0_mask(), self._cr4_mask()
        v[X.CR0] = (int(h[X.CR0]) & ~m0) | (cr0 & m0)
        v[X.CR3] = cr3
        v[X.CR4] = (int(h[X.CR4]) & ~m4) | (cr4 & m4)
        v[X.CR2] = h[X.CR2]
        v[X.DR + 6] = h[X.DR + 6]
        v[abi.S_CYCLES], v[abi.S_INSNS] = h[abi.S_CYCLES], h[abi.S_INSNS]

    def _wants_vcpu(self) -> bool:
        """Only a halted virtual CPU (HLT exited and was emulated) idles on its own
        until an interrupt it takes is pending; that one wakes it and is injected by
        VM entry (``_before_host_run``)."""
        X, v = self.X, self.vcpu.state
        if self.on_host or not v[X.HALTED]:
            return False
        if v[abi.S_IRQ] & 1 and v[X.FLAGS] & X.IF:
            v[X.HALTED] = 0
            return False
        return True

    def _before_host_run(self, cpu) -> None:
        v = self.vcpu.state                             # (the PIC's line is on the vcpu)
        inject(self, cpu, self.host.state, bool(v[abi.S_IRQ] & 1), int(v[abi.S_IRQ_VECTOR]))

    def vm_exit(self, cpu) -> None:
        X, V, h = self.X, self.V, self.host.state
        reason = int(h[X.VMX_REASON])
        if reason == V.R_IWIN:
            self.exits[vt_name(reason)] += 1
            h[X.VMX_PROC] &= ~V.P_IWIN
            return
        leaf = int(h[X.EAX])
        self.emulate(cpu, vt_name(reason))
        if reason == V.R_CPUID and leaf == 1:
            v = self.vcpu.state
            v[X.ECX] = int(v[X.ECX]) | HYPERVISOR

    def host_exit(self, cpu, r: int) -> None:
        h = self.host.state
        if h[abi.S_IOLOG_COUNT]:                        # posted port writes, in order
            self.space.drain_iolog(h)
        if r in (abi.EXIT_IO_IN, abi.EXIT_IO_OUT, abi.EXIT_IOLOG_FULL):
            # an I/O exit of the guest at ring 0 (VT-x's I/O bitmaps: the VM's port flags),
            # served by the VM's devices on the host state: a read restarts with the value
            self.exits[vt_name(30)] += r != abi.EXIT_IOLOG_FULL
            self.vcpu.state[abi.S_CYCLES] = h[abi.S_CYCLES]   # (devices read the time)
            self.m.scheduler.dispatch(self.hview, self.space, r)
            return
        super().host_exit(cpu, r)
