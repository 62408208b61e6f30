"""Zilog Z80 core plugin (cores/z80/cpu.py holds the compiled interpreter)."""
from __future__ import annotations

from emu.core import Core

from . import cpu, loop
from .cpu import BREAKS, STATE_SIZE

REG8 = {"b": cpu.B, "c": cpu.C, "d": cpu.D, "e": cpu.E, "h": cpu.H, "l": cpu.L, "f": cpu.F,
        "a": cpu.A, "i": cpu.I, "r": cpu.R, "iff1": cpu.IFF1, "iff2": cpu.IFF2, "im": cpu.IM,
        "ei": cpu.EI, "q": cpu.Q, "p": cpu.P, "halted": cpu.HALTED}
REG16 = {"pc": cpu.PC, "sp": cpu.SP, "wz": cpu.WZ}
PAIRS = {"ix": (cpu.IXH, cpu.IXL), "iy": (cpu.IYH, cpu.IYL), "af_": (cpu.A_, cpu.F_),
         "bc_": (cpu.B_, cpu.C_), "de_": (cpu.D_, cpu.E_), "hl_": (cpu.H_, cpu.L_)}


class Z80(Core):
    name = "z80"
    description = "Zilog Z80 (all documented and undocumented opcodes)"
    address_bits, page_bits, io_bits = 16, 8, 16
    state_size = STATE_SIZE
    break_table = BREAKS           # execution breakpoints (emu.abi BT_*)
    run = loop.run

    def reset(self):
        super().reset()
        s = self.state
        s[cpu.A] = s[cpu.F] = 0xFF
        s[cpu.SP] = 0xFFFF
        s[cpu.IXH] = s[cpu.IXL] = s[cpu.IYH] = s[cpu.IYL] = 0xFF

    def get_registers(self) -> dict:
        s = self.state
        out = {k: int(s[v]) for k, v in REG8.items()}
        out.update({k: int(s[v]) for k, v in REG16.items()})
        out.update({k: int(s[hi]) << 8 | int(s[lo]) for k, (hi, lo) in PAIRS.items()})
        return out

    def set_registers(self, **regs) -> None:
        s = self.state
        for k, v in regs.items():
            if k in REG8:
                s[REG8[k]] = v
            elif k in REG16:
                s[REG16[k]] = v
            elif k in PAIRS:
                hi, lo = PAIRS[k]
                s[hi], s[lo] = (v >> 8) & 0xFF, v & 0xFF
            else:
                raise KeyError(f"z80 has no register {k!r}")

    def format_registers(self) -> str:
        r = self.get_registers()
        return (f"AF={r['a']:02X}{r['f']:02X} BC={r['b']:02X}{r['c']:02X} DE={r['d']:02X}{r['e']:02X} "
                f"HL={r['h']:02X}{r['l']:02X} IX={r['ix']:04X} IY={r['iy']:04X} SP={r['sp']:04X}")

    def disassemble(self, read, addr):
        from .disasm import disassemble
        return disassemble(read, addr)


CORE = Z80
