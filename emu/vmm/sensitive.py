"""``emu vmm sensitive``: which x86 instructions virtualize by trap-and-emulate.

Each instruction form that reads or writes privileged state runs twice on the
project's x86 core, one instruction each:

* **bare**: the guest kernel as it believes it runs: ring 0, its own GDT, IDT,
  TSS and LDT, CR0 as it set it, interrupts off;
* **deprivileged**: the same guest as trap-and-emulate puts it on the host CPU:
  ring 1, the VMM's shadow GDT/IDT (ring-compressed and truncated below the
  VMM's area, emu.vmm.shadow), the VMM's TSS and LDT, the host's CR0, real
  interrupts on; exceptions 0-31 go to the VMM's ring-0 handlers.

What the guest observes afterwards is compared: its registers (with what the
VMM virtualizes mapped back: the virtual IF and IOPL, CS/SS as ring 0), its
flags, its memory and the exception it took.  An instruction that traps to the
VMM where the bare run did not is *privileged* (the VMM can emulate it); one
that behaves differently without trapping is *sensitive but unprivileged*
(Robin & Irvine, USENIX Security 2000: why the x86 is not Popek-Goldberg
virtualizable); one that behaves the same is *innocuous*.  With ``--cpu strict``
the deprivileged run uses the strict host CPU, on which no instruction remains
sensitive but unprivileged.  Nothing here knows which instruction is which: the
classification is what the two runs show.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .shadow import desc, gate, shadow_table

# ---- layout (1 MiB of physical memory, flat) -------------------------------------------
GDT, IDT, TSS, LDT, GSTUB = 0x1000, 0x2000, 0x3000, 0x3800, 0x4000
CODE, STACK, DATA = 0x10000, 0x1FF00, 0x30000
TOP = 0x7FFFF                                   # guest segments end here; the VMM lives above
SGDT_, SIDT_, HTSS, SLDT_, VSTUB, VSTACK = 0x80000, 0x81000, 0x82000, 0x83000, 0x84000, 0x8F000
NVEC = 64
TARGET = CODE + 0x40                            # where far transfers go
GUEST_CR0, HOST_CR0 = 0x11, 0x10031             # PE ET / + NE WP (the VMM's choice)
REGS = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")


def _guest_gdt() -> bytes:
    e = [bytes(8),
         desc(0, 0xFFFFF, 0x9B, 0xC),           # 08 kernel code, DPL 0
         desc(0, 0xFFFFF, 0x93, 0xC),           # 10 kernel data
         desc(0, 0xFFFFF, 0xFB, 0xC),           # 18 user code, DPL 3
         desc(0, 0xFFFFF, 0xF3, 0xC),           # 20 user data
         desc(TSS, 0x67, 0x8B, 0),              # 28 the guest's TSS (busy)
         desc(LDT, 0x0F, 0x82, 0),              # 30 the guest's LDT
         desc(0, 0xFFFFF, 0xBB, 0xC),           # 38 ring-1 code (a guest may use ring 1)
         desc(0, 0xFFFFF, 0xB3, 0xC),           # 40 ring-1 data
         gate(TARGET, 0x08, 0x8C)]              # 48 call gate, DPL 0
    return b"".join(e)


def _vmm_gdt_entries() -> bytes:
    return b"".join([desc(0, 0xFFFFF, 0x9B, 0xC),       # 50 VMM code (ring 0)
                     desc(0, 0xFFFFF, 0x93, 0xC),       # 58 VMM data
                     desc(HTSS, 0x67, 0x8B, 0),         # 60 the host TSS (busy)
                     desc(SLDT_, 0x0F, 0x82, 0)])       # 68 the shadow LDT


@dataclass
class Form:
    name: str             # as printed
    family: str           # Robin & Irvine's name for it (or the privileged one's)
    code: bytes
    regs: dict | None = None
    stack: tuple = ()     # dwords at ESP upward before the instruction


def _far(op, sel, off=TARGET):
    return bytes([op]) + struct.pack("<IH", off, sel)


FORMS = [
    # privileged on every x86
    Form("CLI", "CLI", b"\xFA"), Form("STI", "STI", b"\xFB"), Form("HLT", "HLT", b"\xF4"),
    Form("LGDT [EBX]", "LGDT", b"\x0F\x01\x13"), Form("LIDT [EBX]", "LIDT", b"\x0F\x01\x1B"),
    Form("LLDT AX", "LLDT", b"\x0F\x00\xD0", {"eax": 0x30}),
    Form("MOV CR0, EAX", "MOV CRn", b"\x0F\x22\xC0", {"eax": GUEST_CR0}),
    Form("MOV EAX, CR0", "MOV CRn", b"\x0F\x20\xC0"),
    Form("MOV EAX, CR3", "MOV CRn", b"\x0F\x20\xD8"),
    Form("INVLPG [EBX]", "INVLPG", b"\x0F\x01\x3B"), Form("CLTS", "CLTS", b"\x0F\x06"),
    Form("LMSW AX", "LMSW", b"\x0F\x01\xF0", {"eax": GUEST_CR0}),
    Form("MOV EAX, DR7", "MOV DRn", b"\x0F\x21\xF8"),
    Form("RDMSR", "RDMSR", b"\x0F\x32", {"ecx": 0x10}), Form("WBINVD", "WBINVD", b"\x0F\x09"),
    Form("IN AL, DX", "IN/OUT", b"\xEC", {"edx": 0x80}), Form("OUT DX, AL", "IN/OUT", b"\xEE", {"edx": 0x80}),
    # the sensitive suspects
    Form("SGDT [EBX]", "SGDT", b"\x0F\x01\x03"), Form("SIDT [EBX]", "SIDT", b"\x0F\x01\x0B"),
    Form("SLDT EAX", "SLDT", b"\x0F\x00\xC0"), Form("STR EAX", "STR", b"\x0F\x00\xC8"),
    Form("SMSW EAX", "SMSW", b"\x0F\x01\xE0"),
    Form("PUSHF", "PUSHF", b"\x9C"),
    Form("POPF (IF=1)", "POPF", b"\x9D", stack=(0x202,)),
    Form("POPF (IOPL=3)", "POPF", b"\x9D", stack=(0x3002,)),
    Form("LAR EAX, CX (10h)", "LAR", b"\x0F\x02\xC1", {"ecx": 0x10}),
    Form("LAR EAX, CX (11h: RPL 1)", "LAR", b"\x0F\x02\xC1", {"ecx": 0x11}),
    Form("LSL EAX, CX (10h)", "LSL", b"\x0F\x03\xC1", {"ecx": 0x10}),
    Form("VERR CX (11h: RPL 1)", "VERR", b"\x0F\x00\xE1", {"ecx": 0x11}),
    Form("VERW CX (11h: RPL 1)", "VERW", b"\x0F\x00\xE9", {"ecx": 0x11}),
    Form("PUSH CS", "PUSH Sreg", b"\x0E"), Form("PUSH SS", "PUSH Sreg", b"\x16"),
    Form("PUSH DS", "PUSH Sreg", b"\x1E"),
    Form("POP DS (11h: RPL 1)", "POP Sreg", b"\x1F", stack=(0x11,)),
    Form("POP DS (41h: ring-1 data)", "POP Sreg", b"\x1F", stack=(0x41,)),
    Form("MOV EAX, CS", "MOV Sreg", b"\x8C\xC8"), Form("MOV EAX, SS", "MOV Sreg", b"\x8C\xD0"),
    Form("MOV DS, AX (11h: RPL 1)", "MOV Sreg", b"\x8E\xD8", {"eax": 0x11}),
    Form("MOV SS, AX (10h)", "MOV Sreg", b"\x8E\xD0", {"eax": 0x10}),
    Form("CALL FAR 08h:x", "far CALL", _far(0x9A, 0x08)),
    Form("CALL FAR 48h (call gate)", "far CALL", _far(0x9A, 0x48, 0)),
    Form("JMP FAR 08h:x", "far JMP", _far(0xEA, 0x08)),
    Form("JMP FAR 39h:x (ring-1 code)", "far JMP", _far(0xEA, 0x39)),
    Form("RETF to 08h:x", "far RET", b"\xCB", stack=(TARGET, 0x08)),
    Form("RETF to 39h:x (ring 1)", "far RET", b"\xCB", stack=(TARGET, 0x39, STACK, 0x41)),
    Form("INT 30h", "INT n", b"\xCD\x30"),
    Form("IRET to 08h:x", "IRET", b"\xCF", stack=(TARGET, 0x08, 0x202)),
    # innocuous controls
    Form("ADD EAX, ECX", "ADD", b"\x01\xC8"), Form("MOV EAX, [EBX]", "MOV r, m", b"\x8B\x03"),
    Form("PUSH EAX", "PUSH r", b"\x50"), Form("CPUID", "CPUID", b"\x0F\xA2"),
    Form("NOP", "NOP", b"\x90"),
]


class Runner:
    """One CPU and memory per side, set up afresh for every form."""

    def __init__(self, strict: bool):
        from cores.x86 import X86
        from emu.core import flat_memory
        self.cpu = X86(model="p6", strict=strict)
        self.mem = flat_memory(20, X86.page_bits, space_bits=X86.address_bits)

    def setup(self, form: Form, deprivileged: bool):
        from cores.x86 import cpu
        m = bytearray(1 << 20)
        gdt = _guest_gdt()
        m[GDT:GDT + len(gdt)] = gdt
        for v in range(NVEC):                        # the guest's handlers: HLT stubs
            m[IDT + 8 * v:IDT + 8 * v + 8] = gate(GSTUB + 16 * v, 0x08)
            m[GSTUB + 16 * v] = 0xF4
        m[TSS + 4:TSS + 12] = struct.pack("<II", STACK, 0x10)
        m[CODE:CODE + len(form.code)] = form.code
        m[TARGET] = 0x90
        for i, v in enumerate(form.stack):
            m[STACK + 4 * i:STACK + 4 * i + 4] = struct.pack("<I", v)
        m[DATA:DATA + 16] = bytes(range(16))
        if deprivileged:                             # what the VMM builds for trap-and-emulate
            sg = shadow_table(gdt, TOP) + _vmm_gdt_entries()
            m[SGDT_:SGDT_ + len(sg)] = sg
            sidt = b"".join(gate(VSTUB + 16 * v, 0x50) if v < 32 else
                            shadow_table(bytes(m[IDT + 8 * v:IDT + 8 * v + 8]), TOP)
                            for v in range(NVEC))
            m[SIDT_:SIDT_ + len(sidt)] = sidt
            for v in range(NVEC):
                m[VSTUB + 16 * v] = 0xF4
            m[HTSS + 4:HTSS + 12] = struct.pack("<II", VSTACK, 0x58)
            m[HTSS + 0x66:HTSS + 0x68] = struct.pack("<H", 0x68)   # no I/O bitmap: ports trap
        c, s = self.cpu, self.cpu.state
        self.mem[0][:] = np.frombuffer(bytes(m), dtype=np.uint8)
        c.reset()
        regs = {"eax": 0x11223344, "ecx": 0x55, "edx": 0x66, "ebx": DATA, "esp": STACK,
                "ebp": 0x77, "esi": DATA + 0x100, "edi": DATA + 0x200, **(form.regs or {})}
        c.set_registers(**regs, eip=CODE, eflags=0x202 if deprivileged else 0x2)
        s[cpu.CR0] = HOST_CR0 if deprivileged else GUEST_CR0
        rpl = 1 if deprivileged else 0
        lim = TOP if deprivileged else 0xFFFFFFFF
        for i in range(6):
            code = i == cpu.CS
            sel = (0x08 if code else 0x10) | (rpl if i in (cpu.CS, cpu.SS) else 0)
            acc = (0x9B if code else 0x93) | (0x20 if deprivileged else 0)
            s[cpu.SEL + i], s[cpu.BASE + i], s[cpu.LIMIT + i], s[cpu.ATTR + i] = sel, 0, lim, 0xC00 | acc
        s[cpu.CSD] = s[cpu.SSB] = 1
        s[cpu.CPL] = rpl
        if deprivileged:
            s[cpu.GDTB], s[cpu.GDTL] = SGDT_, len(gdt) + 32 - 1
            s[cpu.IDTB], s[cpu.IDTL] = SIDT_, NVEC * 8 - 1
            s[cpu.TR], s[cpu.TRB], s[cpu.TRL], s[cpu.TRA] = 0x60, HTSS, 0x67, 0x8B
            s[cpu.LDTR], s[cpu.LDTB], s[cpu.LDTL] = 0x68, SLDT_, 0x0F
        else:
            s[cpu.GDTB], s[cpu.GDTL] = GDT, len(gdt) - 1
            s[cpu.IDTB], s[cpu.IDTL] = IDT, NVEC * 8 - 1
            s[cpu.TR], s[cpu.TRB], s[cpu.TRL], s[cpu.TRA] = 0x28, TSS, 0x67, 0x8B
            s[cpu.LDTR], s[cpu.LDTB], s[cpu.LDTL] = 0x30, LDT, 0x0F

    def observe(self, deprivileged: bool) -> dict:
        """What the guest sees after the instruction (the VMM's virtualization
        mapped back: virtual IF and IOPL, CS/SS at ring 0)."""
        from cores.x86 import cpu
        c, s = self.cpu, self.cpu.state
        r = c.get_registers()
        eip = r["eip"]
        out = {"trap": None, "exception": None}
        if deprivileged and VSTUB <= eip < VSTUB + 16 * NVEC:
            out["trap"] = (eip - VSTUB) // 16
            return out
        if GSTUB <= eip < GSTUB + 16 * NVEC and not deprivileged:
            v = (eip - GSTUB) // 16
            if v < 32:
                out["exception"] = v
        out.update({n: r[n] for n in REGS})
        out["eip"] = eip
        f = r["eflags"]
        if deprivileged:                             # the virtual IF and IOPL (unchanged)
            f = (f & ~0x3200) | 0x2
        out["eflags"] = f & ~0x10000                 # RF aside
        for n in ("cs", "ss"):
            sel = r[n]
            out[n] = sel & ~3 if deprivileged and sel & 3 == 1 else sel
        for n in ("ds", "es", "fs", "gs"):
            out[n] = r[n]
        out["cpl"] = 0 if deprivileged and int(s[cpu.CPL]) == 1 else int(s[cpu.CPL])
        out["memory"] = bytes(self.mem[0][:TOP + 1])
        return out

    def run(self, form: Form, deprivileged: bool) -> dict:
        self.setup(form, deprivileged)
        self.cpu.execute(self.mem, 1)
        return self.observe(deprivileged)

    def run_hw(self, form: Form) -> dict:
        """The guest as mode ``hw`` runs it: its own ring 0 and tables, in the core's
        VMX non-root operation with the mode's controls (emu.vmm.hw)."""
        from cores.x86 import cpu, vmx
        from emu import abi
        self.setup(form, False)
        s = self.cpu.state
        s[cpu.VMX], s[cpu.VMX_PIN], s[cpu.VMX_PROC] = 1, vmx.PIN_NMI, vmx.P_HLT
        s[cpu.CR0_MASK], s[cpu.CR0_SHADOW] = cpu.CD | cpu.NW, 0
        r = self.cpu.execute(self.mem, 1)
        if r == abi.EXIT_VMEXIT:
            return {"trap": ("vmexit", int(s[cpu.VMX_REASON])), "exception": None}
        if r in (abi.EXIT_IO_IN, abi.EXIT_IO_OUT):         # (VT-x's I/O bitmaps: the port exits)
            return {"trap": ("vmexit", vmx.R_IO), "exception": None}
        return self.observe(False)


def _diff(a: dict, b: dict) -> str:
    parts = []
    for k in a:
        if k == "memory" or a[k] == b.get(k):
            continue
        va, vb = a[k], b.get(k)
        parts.append(f"{k} {va:X} vs {vb:X}" if isinstance(va, int) and isinstance(vb, int)
                     else f"{k} {va} vs {vb}")
    if a.get("memory") is not None and b.get("memory") is not None and a["memory"] != b["memory"]:
        ma, mb = np.frombuffer(a["memory"], np.uint8), np.frombuffer(b["memory"], np.uint8)
        at = int(np.flatnonzero(ma != mb)[0]) & ~3
        parts.append(f"memory at {at:X}: {bytes(ma[at:at + 4]).hex()} vs {bytes(mb[at:at + 4]).hex()}")
    return "; ".join(parts)


EXC = {6: "#UD", 13: "#GP", 14: "#PF", 12: "#SS", 11: "#NP", 10: "#TS"}


def classify(strict: bool = False, bare_strict: bool = False, mode: str = "trap") -> list[dict]:
    """One row per form: kind (privileged / sensitive / innocuous) and what differed.
    ``strict``: the deprivileged run's CPU is the strict model; ``bare_strict``: so is
    the bare run's (at ring 0 it must make no difference); ``mode`` ``hw``: the other
    run is the guest as mode hw runs it (VMX non-root operation), not deprivileged."""
    bare, dep = Runner(bare_strict), Runner(strict)
    rows = []
    for f in FORMS:
        a = bare.run(f, False)
        b = dep.run_hw(f) if mode == "hw" else dep.run(f, True)
        if isinstance(b["trap"], tuple):               # a VM exit (mode hw)
            from .hw import vt_name
            rows.append({"form": f.name, "family": f.family, "kind": "privileged",
                         "difference": f"VM exit: {vt_name(b['trap'][1])}"})
            continue
        if b["trap"] is not None:
            name = EXC.get(b["trap"], b["trap"])
            kind, what = "privileged", (f"traps to the VMM ({name})" if a.get("exception") != b["trap"]
                                        else f"traps to the VMM ({name}, as it faults on bare)")
        else:
            d = _diff(a, b)
            kind, what = ("sensitive", d) if d else ("innocuous", "")
        rows.append({"form": f.name, "family": f.family, "kind": kind, "difference": what})
    return rows


def families(rows) -> dict:
    """family -> its worst kind (sensitive beats privileged beats innocuous)."""
    rank = {"innocuous": 0, "privileged": 1, "sensitive": 2}
    out = {}
    for r in rows:
        if rank[r["kind"]] >= rank.get(out.get(r["family"]), -1):
            out[r["family"]] = r["kind"]
    return out


def table(rows, other: str = "deprivileged ring 1") -> str:
    w = max(len(r["form"]) for r in rows)
    lines = [f"{'instruction':{w}s}  {'class':10s}  observed (bare ring 0 vs {other})"]
    for r in rows:
        label = {"sensitive": "SENSITIVE", "privileged": "traps", "innocuous": "innocuous"}[r["kind"]]
        lines.append(f"{r['form']:{w}s}  {label:10s}  {r['difference']}")
    fam = families(rows)
    sens = sorted(k for k, v in fam.items() if v == "sensitive")
    lines.append(f"sensitive but unprivileged: {', '.join(sens) if sens else 'none'}")
    return "\n".join(lines)
