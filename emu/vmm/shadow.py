"""Shadow descriptors for a deprivileged guest kernel (trap-and-emulate).

The guest kernel believes it runs at ring 0; the VMM runs it at ring 1, so the
descriptors the host CPU uses are the guest's with *ring compression*: a DPL 0
code, data or gate descriptor becomes DPL 1 (guest rings 0 and 1 both land in
host ring 1: the ambiguity that makes x86 hard to virtualize), and every guest
segment is truncated below the VMM's own area at the top of the linear space
(as VMware's monitor protected itself, and as LSL then reveals).  System
descriptors (TSS, LDT) are the VMM's business: the host CPU uses the VMM's TSS
(its ring-0 stack for traps) and a shadow LDT.
"""
from __future__ import annotations

import struct


def desc(base: int, limit: int, access: int, flags: int) -> bytes:
    """An 8-byte segment descriptor (limit in units of the G bit: flags bit 3)."""
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF, access,
                       ((limit >> 16) & 0xF) | (flags << 4), (base >> 24) & 0xFF)


def gate(offset: int, selector: int, typ: int = 0x8E) -> bytes:
    """An 8-byte interrupt/trap/call gate (typ: P, DPL, type)."""
    return struct.pack("<HHBBH", offset & 0xFFFF, selector, 0, typ, (offset >> 16) & 0xFFFF)


def fields(d: bytes):
    lo, hi = struct.unpack("<II", d)
    base = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000)
    limit = (lo & 0xFFFF) | (hi & 0xF0000)
    access = (hi >> 8) & 0xFF
    flags = (hi >> 20) & 0xF
    return base, limit, access, flags


def compress(d: bytes, top: int) -> bytes:
    """One guest descriptor as the host CPU must see it: DPL 0 -> 1 for code, data
    and gates; code and data segments end at ``top`` (the VMM's area above)."""
    base, limit, access, flags = fields(d)
    present, dpl, s = access & 0x80, (access >> 5) & 3, access & 0x10
    if not present:
        return d
    if s == 0 and (access & 0x0F) not in (0x4, 0x6, 0x7, 0xC, 0xE, 0xF):
        return d                                        # TSS, LDT: not the guest's to use
    if dpl == 0:
        access |= 1 << 5
    if s == 0:                                          # a gate: DPL only
        return d[:5] + bytes([access]) + d[6:]
    gran = flags & 8
    lim = (limit << 12 | 0xFFF) if gran else limit
    expand_down = (access & 0x0C) == 0x04
    if not expand_down and base + lim > top:
        lim = max(0, top - base)
        if gran:
            limit = lim >> 12
        else:
            limit = lim
    return desc(base, limit, access, flags)


def shadow_table(guest: bytes, top: int) -> bytes:
    """A whole guest GDT/LDT/IDT, descriptor by descriptor."""
    return b"".join(compress(guest[i:i + 8], top) for i in range(0, len(guest) - 7, 8))
