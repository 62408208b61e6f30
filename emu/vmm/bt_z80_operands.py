"""Operands of the Z80 translator's x86 code (emu.vmm.bt_z80_gen): register-block
slots as x86 memory operands and the Z80's register fields."""
from __future__ import annotations

from . import bt_z80_layout as L
from .x86asm import byte, dword, word

R8 = (L.B, L.C, L.D, L.E, L.H, L.L, None, L.A)     # Z80 register field -> block offset
RP = (L.BC, L.DE, L.HL, L.SP)
RP2 = (L.BC, L.DE, L.HL, L.AF)
FLAG_OF_CC = (0x40, 0x40, 0x01, 0x01, 0x04, 0x04, 0x80, 0x80)   # NZ Z NC C PO PE P M


def rb(off):
    return byte(L.reg(off))


def rw(off):
    return word(L.reg(off))


def rd_(off):
    return dword(L.reg(off))


class Untranslated(Exception):
    """The instruction at this address is left to the VMM's Z80 model."""
