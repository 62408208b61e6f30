"""Intel x86 core plugin: 8086 and 386 (real mode) — cores/x86/cpu.py holds the interpreter.

Machine YAML::

    cpus:
      maincpu: {core: x86, clock: 4.77MHz, params: {model: 8086}}   # or model: 386
"""
from __future__ import annotations

from emu.core import Core, CoreError

from . import cpu
from .cpu import STATE_SIZE

R16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")
R32 = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
SEGS = ("es", "cs", "ss", "ds", "fs", "gs")
MODELS = {"8086": 0, "8088": 0, "186": 1, "188": 1, "80186": 1, "286": 2, "80286": 2,
          "386": 3, "80386": 3, "i386": 3}


def parse_model(model) -> int:
    key = str(model).lower().lstrip("i") if str(model).lower() != "i386" else "386"
    if key not in MODELS:
        raise CoreError(f"x86: unknown model {model!r} (known: 8086, 8088, 186, 286, 386)")
    return MODELS[key]


class X86(Core):
    name = "x86"
    description = "Intel x86: 8086/8088 (exact, incl. undocumented) and 386 real mode"
    address_bits, page_bits, io_bits = 24, cpu.PB, 16
    state_size = STATE_SIZE
    registers = R16 + ("ip", "flags") + SEGS
    run = cpu.run

    def __init__(self, clock_hz: float = 4_772_727, model=8086, **params):
        self.model = parse_model(model)
        super().__init__(clock_hz, model=model, **params)

    def reset(self):
        super().reset()
        s = self.state
        s[cpu.MODEL] = self.model
        if self.model == 0:
            s[cpu.A20] = 0xFFFFF
            s[cpu.FLAGS] = 0xF002
            self.set_registers(cs=0xFFFF, ip=0)
        else:
            s[cpu.A20] = 0xFFFFFFFF
            s[cpu.FLAGS] = 0x0002
            self.set_registers(cs=0xF000, ip=0xFFF0)
            s[cpu.CR0] = 0x10 if self.model >= 3 else 0
        s[cpu.IDTB] = 0
        s[cpu.IDTL] = 0x3FF
        for i in range(6):
            s[cpu.LIMIT + i] = 0xFFFF

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
        out["cr0"] = int(s[cpu.CR0])
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
            elif k == "cr0":
                s[cpu.CR0] = v
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

    def disassemble(self, read, addr):
        from .disasm import disassemble
        return disassemble(read, addr, self.model)


CORE = X86
