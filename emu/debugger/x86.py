"""x86 helpers for the debugger and the GDB stub, in plain Python and free of side
effects: the 32-bit page walk (SDM vol. 3, 4.3: PDE/PTE read from guest memory, no
A/D bits set, no TLB filled), segment bases for ``SEG:OFF`` and the GDB register file.
"""
from __future__ import annotations

from cores.x86 import state as X

from .expr import DebugError

SEG_INDEX = {"es": X.ES, "cs": X.CS, "ss": X.SS, "ds": X.DS, "fs": X.FS, "gs": X.GS}

# GDB's i386 register numbers 0-15 (gdb/features/i386/32bit-core.xml): eax ecx edx ebx
# esp ebp esi edi eip eflags cs ss ds es fs gs, 4 bytes each; 16-40 are x87/SSE, which
# this core has not (reported unavailable)
GDB_REGS = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
            "cs", "ss", "ds", "es", "fs", "gs")
GDB_SIZES = [4] * 16 + [10] * 8 + [4] * 8 + [16] * 8 + [4]


def translate(cpu, read_phys32, lin: int, write: bool = False):
    """Linear -> physical address through the guest's page tables as the CPU would see
    them now (CR0.PG, CR3, CR4.PSE), or None when the page is not present (or not
    writable for ``write`` at CPL 3 / with CR0.WP).  Nothing in the guest changes."""
    s = cpu.state
    lin &= 0xFFFFFFFF
    a20 = int(s[X.A20])
    if not int(s[X.CR0]) & X.PG:
        return lin & a20
    cr3 = int(s[X.CR3])
    pde = read_phys32(((cr3 & ~0xFFF) + ((lin >> 22) << 2)) & a20)
    if pde is None or not pde & 1:
        return None
    rw = pde & 2
    if pde & 0x80 and int(s[X.CR4]) & X.PSE:
        pa = (pde & 0xFFC00000) | (lin & 0x3FFFFF)
    else:
        pte = read_phys32(((pde & ~0xFFF) + (((lin >> 12) & 0x3FF) << 2)) & a20)
        if pte is None or not pte & 1:
            return None
        rw &= pte & 2
        pa = (pte & ~0xFFF) | (lin & 0xFFF)
    if write and not rw and (int(s[X.CPL]) == 3 or int(s[X.CR0]) & X.WP):
        return None
    return pa & a20


def protected(cpu) -> bool:
    s = cpu.state
    return bool(int(s[X.CR0]) & X.PE) and not int(s[X.FLAGS]) & X.VM


def segment_base(cpu, seg, read_lin32) -> int:
    """Base of ``seg`` for SEG:OFF: a segment register name gives its hidden base; a
    number is a real-mode paragraph, or in protected mode a selector looked up in the
    GDT / LDT."""
    s = cpu.state
    if isinstance(seg, str):
        return int(s[X.BASE + SEG_INDEX[seg]])
    if not protected(cpu):
        return (seg & 0xFFFF) << 4
    if seg & 4:
        table, limit = int(s[X.LDTB]), int(s[X.LDTL])
    else:
        table, limit = int(s[X.GDTB]), int(s[X.GDTL])
    index = seg & ~7
    if index + 7 > limit:
        raise DebugError(f"selector {seg:04X} is beyond the {'LDT' if seg & 4 else 'GDT'} limit")
    lo, hi = read_lin32(table + index), read_lin32(table + index + 4)
    if lo is None or hi is None:
        raise DebugError(f"selector {seg:04X}: descriptor table not mapped")
    return ((lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000)) & 0xFFFFFFFF


def gdb_read_regs(cpu) -> list[int]:
    """The 16 GDB registers; ``eip`` is the linear PC (CS base + EIP), so breakpoints
    and ``x/i $pc`` work in real mode (CS:IP) as in flat protected mode."""
    r = cpu.get_registers()
    out = []
    for n in GDB_REGS:
        if n == "eip":
            out.append(cpu.pc & 0xFFFFFFFF)
        else:
            out.append(r[n] & 0xFFFFFFFF)
    return out


def gdb_write_reg(cpu, n: int, value: int) -> None:
    name = GDB_REGS[n]
    s = cpu.state
    if name == "eip":
        s[X.EIP] = (value - int(s[X.BASE + X.CS])) & (0xFFFFFFFF if int(s[X.CSD]) else 0xFFFF)
    elif name in SEG_INDEX:
        if int(s[X.SEL + SEG_INDEX[name]]) != value & 0xFFFF:
            if protected(cpu):
                raise DebugError("segment registers can be set in real mode only")
            cpu.set_registers(**{name: value})
    else:
        cpu.set_registers(**{name: value})
