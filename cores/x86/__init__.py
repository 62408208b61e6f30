"""Intel x86 core plugin: 8086/8088 to P6-class (real, protected and V86 mode) — see cores/x86/cpu.py.

Machine YAML::

    cpus:
      maincpu: {core: x86, clock: 4.77MHz, params: {model: 8086}}   # 186 286 386 486 pentium p6
      # params apic: true (pentium, p6): CPUID reports the machine's local APIC
      # params strict: true: a Popek-Goldberg-virtualizable x86 (sensitive instructions
      #   trap with #GP(0) outside ring 0; the VMM's `--cpu strict` host)
"""
from __future__ import annotations

from emu.core import Core, CoreError

from . import cpu
from .cpu import STATE_SIZE
from .state import BREAKS, EXIT_INFO

R16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")
R32 = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
SEGS = ("es", "cs", "ss", "ds", "fs", "gs")
EXC_NAMES = {0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM",
             8: "#DF", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 17: "#AC"}
MODELS = {"8086": 0, "8088": 0, "186": 1, "188": 1, "80186": 1, "286": 2, "80286": 2,
          "386": 3, "80386": 3, "486": 4, "80486": 4, "pentium": 5, "586": 5, "p5": 5,
          "p6": 6, "686": 6, "pentiumpro": 6}


def parse_model(model) -> int:
    key = str(model).lower()
    key = key[1:] if key in ("i386", "i486", "i586", "i686") else key
    if key not in MODELS:
        raise CoreError(f"x86: unknown model {model!r} (known: 8086, 8088, 186, 286, 386, 486, pentium, p6)")
    return MODELS[key]


class X86(Core):
    name = "x86"
    description = "Intel x86: 8086/8088 (exact, incl. undocumented) to P6-class protected mode"
    address_bits, page_bits, io_bits = 32, cpu.PB, 16
    state_size = STATE_SIZE
    exit_info = EXIT_INFO          # VMM exit info: ILEN, GLA, GPA (emu.abi)
    break_table = BREAKS           # execution breakpoints (emu.abi BT_*): linear addresses
    registers = R16 + ("ip", "flags") + SEGS
    run = cpu.run

    def __init__(self, clock_hz: float = 4_772_727, model=8086, apic=False, strict=False, **params):
        self.model = parse_model(model)
        if apic and self.model < 5:
            raise CoreError("x86: apic: the local APIC needs model pentium or p6")
        if strict and self.model < 3:
            raise CoreError("x86: strict: a virtualizable CPU needs protected mode (model 386 or later)")
        self.apic = bool(apic)
        self.strict = bool(strict)
        super().__init__(clock_hz, model=model, apic=apic, strict=strict, **params)

    def reset(self):
        """The state after RESET (Intel SDM vol. 3, 9.1.1, table 9-1)."""
        super().reset()
        s = self.state
        m = self.model
        s[cpu.MODEL] = m
        s[cpu.XVEC] = s[cpu.DELIV] = s[cpu.MMLOG_W] = s[cpu.VMX_MSRBM] = -1
        s[cpu.TLBT:cpu.TLBT + cpu.TLBN] = -1
        for i in range(6):
            s[cpu.LIMIT + i] = 0xFFFF
            s[cpu.ATTR + i] = 0x93                     # present read/write data, accessed
        s[cpu.ATTR + cpu.CS] = 0x9B
        s[cpu.IDTL] = 0x3FF
        s[cpu.GDTL] = 0xFFFF
        s[cpu.TRL] = 0xFFFF
        s[cpu.TRA] = 0x8B
        s[cpu.DR + 6] = 0xFFFF0FF0
        s[cpu.DR + 7] = 0x400
        if m == 0:
            s[cpu.A20] = 0xFFFFF
            s[cpu.FLAGS] = 0xF002
            self.set_registers(cs=0xFFFF, ip=0)
            return
        s[cpu.A20] = 0xFFFFFFFF
        s[cpu.FLAGS] = 0x0002
        self.set_registers(cs=0xF000, ip=0xFFF0)
        if m >= 3:                                     # the first fetch is at FFFFFFF0h
            s[cpu.BASE + cpu.CS] = 0xFFFF0000
            s[cpu.IDTL] = 0xFFFF                       # (the 286 resets it to 3FFh)
            s[cpu.EDX] = 0x0308 if m == 3 else (m << 8) | 0x11
            s[cpu.CR0] = 0x10 if m == 3 else 0x60000010
        if m >= 6:
            s[cpu.APICBASE] = 0xFEE00900
        # params apic: the machine has a local APIC (CPUID.1 EDX bit 9; SDM vol. 3, 10.4.2)
        s[cpu.FEAT] = 0x200 if getattr(self, "apic", False) else 0
        # params strict: every sensitive instruction traps outside ring 0 (system.sensitive)
        s[cpu.STRICT] = 1 if getattr(self, "strict", False) else 0

    def set_a20(self, enabled: bool) -> None:
        """A20 gate (386): off wraps linear addresses at 1 MiB like the 8086."""
        if self.model:
            self.state[cpu.A20] = 0xFFFFFFFF if enabled else 0xFFFFF

    # ---- registers ---------------------------------------------------------
    def get_registers(self) -> dict:
        s = self.state
        out = {}
        for i, n in enumerate(R16):
            out[n] = int(s[cpu.REG + i]) & 0xFFFF
        for i, n in enumerate(R32):
            out[n] = int(s[cpu.REG + i])
        out["ip"] = int(s[cpu.EIP]) & 0xFFFF
        out["eip"] = int(s[cpu.EIP])
        out["flags"] = int(s[cpu.FLAGS]) & 0xFFFF
        out["eflags"] = int(s[cpu.FLAGS])
        for i, n in enumerate(SEGS):
            out[n] = int(s[cpu.SEL + i])
        for n in ("cr0", "cr2", "cr3", "cr4", "cpl"):
            out[n] = int(s[getattr(cpu, n.upper())])
        out["gdtr"] = (int(s[cpu.GDTB]), int(s[cpu.GDTL]))
        out["idtr"] = (int(s[cpu.IDTB]), int(s[cpu.IDTL]))
        out["ldtr"] = int(s[cpu.LDTR])
        out["tr"] = int(s[cpu.TR])
        out["halted"] = int(s[cpu.HALTED])
        out["pc"] = self.pc
        return out

    def set_registers(self, **regs) -> None:
        s = self.state
        for k, v in regs.items():
            v = int(v)
            if k in R16:
                i = cpu.REG + R16.index(k)
                s[i] = (int(s[i]) & ~0xFFFF) | (v & 0xFFFF)
            elif k in R32:
                s[cpu.REG + R32.index(k)] = v & 0xFFFFFFFF
            elif k in ("ip", "eip"):
                s[cpu.EIP] = v & (0xFFFF if k == "ip" else 0xFFFFFFFF)
            elif k in ("flags", "eflags"):
                if self.model == 0:
                    s[cpu.FLAGS] = (v & 0x0FD5) | 0xF002
                else:
                    s[cpu.FLAGS] = (v & 0x3F7FD5) | 0x0002
            elif k in SEGS:
                i = SEGS.index(k)
                s[cpu.SEL + i] = v & 0xFFFF
                s[cpu.BASE + i] = (v & 0xFFFF) << 4
            elif k in ("cr0", "cr2", "cr3", "cr4", "cpl"):
                s[getattr(cpu, k.upper())] = v
            elif k == "halted":
                s[cpu.HALTED] = v
            else:
                raise KeyError(f"x86 has no register {k!r}")

    @property
    def pc(self) -> int:
        s = self.state
        return (int(s[cpu.BASE + cpu.CS]) + int(s[cpu.EIP])) & int(s[cpu.A20])

    def format_registers(self) -> str:
        r = self.get_registers()
        if self.model >= 3:
            regs = " ".join(f"{n.upper()}={r[n]:08X}" for n in R32)
        else:
            regs = " ".join(f"{n.upper()}={r[n]:04X}" for n in R16)
        segs = " ".join(f"{n.upper()}={r[n]:04X}" for n in SEGS[:4 if self.model < 3 else 6])
        return f"{regs} {segs} IP={r['ip']:04X} FL={r['flags']:04X}"

    def exception_chain(self) -> str:
        """The exceptions of the delivery that ended in a triple fault, in order: the
        first event, each fault raised while delivering the previous one (error code
        in parentheses), and #DF where SDM vol. 3 table 6-5 turned a pair into one."""
        s = self.state
        v = int(s[cpu.XCHAIN])

        def name(k):
            vec, err = (v >> (8 * k)) & 0xFF, int(s[cpu.XCHERR + k])
            n = EXC_NAMES.get(vec, f"vector {vec:02X}h")
            return f"{n}({err:04X})" if err >= 0 else n

        def contributory(x):
            return x == 0 or 10 <= x <= 13
        out, cur = [name(0)], v & 0xFF
        for k in range(1, 5):
            f = (v >> (8 * k)) & 0xFF
            if not f:                                  # (faults raised in delivery are never #DE)
                break
            out.append(name(k))
            if cur == 8:                               # raised while delivering #DF
                break
            if (contributory(cur) and contributory(f)) or (cur == 14 and (f == 14 or contributory(f))):
                out.append("#DF")
                cur = 8
            else:
                cur = f
        return " -> ".join(out + ["triple fault"])

    def linear_to_physical(self, read32, la: int):
        """Physical address of linear ``la`` as the CPU would fetch it (its TLB entry,
        else a walk of the page tables; no accessed bits set), or None if not mapped."""
        s = self.state
        la &= 0xFFFFFFFF
        if not s[cpu.CR0] & cpu.PG:
            return la & int(s[cpu.A20])
        pg = la >> cpu.PB
        i = pg & (cpu.TLBN - 1)
        if s[cpu.TLBT + i] == pg:
            return ((int(s[cpu.TLBE + i]) & ~cpu.PM) | (la & cpu.PM)) & int(s[cpu.A20])
        pde = read32((int(s[cpu.CR3]) & 0xFFFFF000) | ((la >> 20) & 0xFFC))
        if pde is None or not pde & 1:
            return None
        if pde & 0x80 and s[cpu.CR4] & cpu.PSE:
            return ((pde & 0xFFC00000) | (la & 0x3FFFFF)) & int(s[cpu.A20])
        pte = read32((pde & 0xFFFFF000) | ((la >> 10) & 0xFFC))
        if pte is None or not pte & 1:
            return None
        return ((pte & 0xFFFFF000) | (la & cpu.PM)) & int(s[cpu.A20])

    def shutdown_report(self, peek=None) -> str:
        """One line for a triple fault: CS:EIP where the fatal delivery started, the
        instruction there (its bytes read through the guest's paging; ``peek(pa)``
        gives a physical byte or None) and the exception chain."""
        s = self.state
        cs, eip = int(s[cpu.XFCS]), int(s[cpu.XFEIP])
        where = f"{cs:04X}:{eip:08X}" if s[cpu.CSD] or eip > 0xFFFF else f"{cs:04X}:{eip:04X}"
        insn = ""
        if peek is not None:
            def read32(pa):
                b = [peek((pa + i) & 0xFFFFFFFF) for i in range(4)]
                return None if None in b else int.from_bytes(bytes(b), "little")
            base = int(s[cpu.BASE + cpu.CS])
            code = []
            for i in range(15):                        # the longest x86 instruction
                pa = self.linear_to_physical(read32, base + eip + i)
                b = None if pa is None else peek(pa)
                if b is None:
                    break
                code.append(b)
            if code:
                from .disasm import disassemble
                text, n = disassemble(lambda a: code[a] if a < len(code) else 0, 0, self.model,
                                      code32=bool(s[cpu.CSD]))
                n = min(n, len(code))
                insn = f" ({' '.join(f'{b:02X}' for b in code[:n])}: {text})"
            else:
                insn = " (instruction bytes not mapped)"
        return f"triple fault at {where}{insn}: {self.exception_chain()}"

    def disassemble(self, read, addr):
        """At ``addr`` as the CPU would decode it now: 32-bit code when CS is a
        32-bit segment (its D bit), else 16-bit."""
        from .disasm import disassemble
        return disassemble(read, addr, self.model, code32=bool(self.state[cpu.CSD]))


CORE = X86
