"""Lockstep: trap-and-emulate on the default (not virtualizable) x86 host CPU.

On the real x86 the deprivileged guest kernel executes the sensitive but
unprivileged instructions without trapping, so the VMM never sees them.  To
show where that goes wrong, mode ``trap`` on the default host CPU runs the guest
one instruction at a time: each instruction the host CPU is about to run
natively is first run on the virtual CPU (the guest's own view: ring 0, its
tables, its IF), then undone, then run on the host CPU.  What the guest can
observe afterwards is compared, as ``emu vmm sensitive`` compares it: the
general registers, EIP, the flags (with the VMM's virtual IF and IOPL), the
segment selectors and privilege level (ring 1 mapped back to the ring 0 the
guest believes in), and the memory the instruction writes (the stack around ESP,
its memory operand, ES:EDI, the bytes the registers point at).  The first
instruction whose outcomes differ stops the VM with a report.  Instructions
that trap are emulated on the virtual CPU, which is the reference by
construction.
"""
from __future__ import annotations

import struct

import numpy as np

from .. import abi

STACK_BELOW, STACK_ABOVE = 48, 16           # stack bytes compared around ESP
_MODRM1 = {o for o in range(0x40) if o & 7 < 4} | \
    {0x62, 0x63, 0x69, 0x6B, 0xC0, 0xC1, 0xC4, 0xC5, 0xC6, 0xC7, 0xD0, 0xD1, 0xD2, 0xD3,
     0xF6, 0xF7, 0xFE, 0xFF} | set(range(0x80, 0x90)) | set(range(0xD8, 0xE0))
_NO_MODRM2 = {0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0E, 0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9,
              0xAA} | set(range(0x30, 0x38)) | set(range(0x80, 0x90)) | set(range(0xC8, 0xD0))
_SEG_PREFIX = {0x26: 0, 0x2E: 1, 0x36: 2, 0x3E: 3, 0x64: 4, 0x65: 5}


def operand_address(code: bytes, regs, code32: bool, segbase):
    """The linear address of the memory operand of the instruction ``code`` (its
    ModRM form), or None.  ``regs``: the eight general registers; ``segbase(i)``:
    the base of segment register i (ES CS SS DS FS GS)."""
    i, seg, a32 = 0, None, code32
    while i < len(code) and code[i] in (0x66, 0x67, 0xF0, 0xF2, 0xF3, *_SEG_PREFIX):
        if code[i] == 0x67:
            a32 = not code32
        elif code[i] in _SEG_PREFIX:
            seg = _SEG_PREFIX[code[i]]
        i += 1
    if i >= len(code):
        return None
    op = code[i]
    if op == 0x0F:
        i += 1
        if i >= len(code) or code[i] in _NO_MODRM2:
            return None
    elif op not in _MODRM1:
        return None
    i += 1
    if i >= len(code):
        return None
    modrm = code[i]
    mod, rm = modrm >> 6, modrm & 7
    if mod == 3 or not a32:
        return None                           # a register, or 16-bit addressing (not compared)
    i += 1
    base_ss = False
    if rm == 4:
        sib = code[i]
        i += 1
        ss, idx, b = sib >> 6, (sib >> 3) & 7, sib & 7
        ea = (regs[idx] << ss) if idx != 4 else 0
        if b == 5 and mod == 0:
            ea += struct.unpack_from("<i", code, i)[0]
            i += 4
        else:
            ea += regs[b]
            base_ss = b in (4, 5)
    elif rm == 5 and mod == 0:
        ea = struct.unpack_from("<i", code, i)[0]
        i += 4
    else:
        ea = regs[rm]
        base_ss = rm == 5
    if mod == 1:
        ea += struct.unpack_from("<b", code, i)[0]
    elif mod == 2:
        ea += struct.unpack_from("<i", code, i)[0]
    if seg is None:
        seg = 2 if base_ss else 3
    return (segbase(seg) + ea) & 0xFFFFFFFF


class Observation:
    def __init__(self, mode, windows):
        X, v = mode.X, mode.vcpu.state
        self.regs = [int(x) for x in v[X.REG:X.REG + 8]]
        self.eip = int(v[X.EIP])
        self.flags = int(v[X.FLAGS]) & ~X.RF
        self.sels = [int(x) for x in v[X.SEL:X.SEL + 6]]
        self.cpl = int(v[X.CPL])
        self.mem = [mode.glin(a, n) for a, n in windows]


NAMES = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
SEGN = ("es", "cs", "ss", "ds", "fs", "gs")


def difference(a: Observation, b: Observation, windows) -> str:
    """What the guest sees differently (a: its own CPU, b: deprivileged)."""
    out = []
    for n, x, y in zip(NAMES, a.regs, b.regs):
        if x != y:
            out.append(f"{n} {x:X} vs {y:X}")
    if a.eip != b.eip:
        out.append(f"eip {a.eip:X} vs {b.eip:X}")
    if a.flags != b.flags:
        out.append(f"eflags {a.flags:X} vs {b.flags:X}")
    for n, x, y in zip(SEGN, a.sels, b.sels):
        if x != y:
            out.append(f"{n} {x:X} vs {y:X}")
    if a.cpl != b.cpl:
        out.append(f"cpl {a.cpl} vs {b.cpl}")
    for (la, _), x, y in zip(windows, a.mem, b.mem):
        if x != y and x is not None and y is not None:
            k = min(next(i for i in range(len(x)) if x[i] != y[i]) & ~3, len(x) - 4)
            dx, dy = (int.from_bytes(z[k:k + 4], "little") for z in (x, y))
            out.append(f"dword at {la + k:X} {dx:08X} vs {dy:08X}")
            break
    return "; ".join(out)


def rep_string(code: bytes):
    """(length, bytes per iteration, writes ES:EDI) of a REP-prefixed string
    instruction ``code``, or None."""
    i, rep, osz = 0, False, 4
    while i < len(code) and code[i] in (0x66, 0x67, 0xF0, 0xF2, 0xF3, *_SEG_PREFIX):
        rep |= code[i] in (0xF2, 0xF3)
        osz = 2 if code[i] == 0x66 else osz
        i += 1
    if not rep or i >= len(code) or code[i] not in (0x6C, 0x6D, 0x6E, 0x6F, *range(0xA4, 0xA8),
                                                     *range(0xAA, 0xB0)):
        return None
    op = code[i]
    return i + 1, 1 if op & 1 == 0 else osz, op in (0x6C, 0x6D, 0xA4, 0xA5, 0xAA, 0xAB)


MAX_REP_WINDOW = 4 << 20


def windows_of(mode, code: bytes, rep):
    """The memory the instruction may write: the stack around ESP, its memory
    operand, ES:EDI (all that a REP string store covers)."""
    X, v = mode.X, mode.vcpu.state
    regs = [int(x) for x in v[X.REG:X.REG + 8]]

    def base(i):
        return int(v[X.BASE + i])
    w = [((base(X.SS) + regs[4] - STACK_BELOW) & 0xFFFFFFFF, STACK_BELOW + STACK_ABOVE)]
    di = (base(X.ES) + regs[7]) & 0xFFFFFFFF
    if rep is not None and rep[2]:
        n = regs[1] * rep[1]
        if n > MAX_REP_WINDOW:
            return None
        w.append(((di - n + rep[1]) & 0xFFFFFFFF, n) if v[X.FLAGS] & X.DF else (di, n))
    else:
        w.append((di, 8))
    ea = operand_address(code, regs, bool(v[X.CSD]), base)
    if ea is not None:
        w.append((ea, 16))
    return [(a, n) for a, n in w if n > 0]


def _put_back(mode, windows, saved) -> None:
    for (la, n), b in zip(windows, saved):
        if b is not None:
            mode.glin_write(la, b)


def step(mode, cpu, budget: int) -> bool:
    """One guest instruction in lockstep (a REP string instruction whole); False
    when it misbehaved (the VM stops with a report)."""
    X, v, h = mode.X, mode.vcpu.state, mode.host.state
    mode.to_vcpu()
    cs, eip = int(v[X.SEL + X.CS]), int(v[X.EIP])
    csb = int(v[X.BASE + X.CS])
    code = mode.glin(csb + eip, 15) or b""
    rep = rep_string(code)
    wins = windows_of(mode, code, rep)
    if rep is not None:
        brk, run_budget = (csb + eip + rep[0]) & 0xFFFFFFFF, min(budget, 40 * int(v[X.ECX]) + 400)
    else:
        brk, run_budget = -1, 1
    ref = None
    if wins is not None:
        pre = v.copy()
        before = [mode.glin(a, n) for a, n in wins]
        v[abi.S_IRQ] = int(v[abi.S_IRQ]) & ~1      # the instruction, not an interrupt
        v[abi.S_BREAK] = brk
        r = mode.vrun(run_budget)
        if r == (abi.EXIT_BUDGET if brk < 0 else abi.EXIT_BREAKPOINT):
            ref = Observation(mode, wins)
        np.copyto(v, pre)
        _put_back(mode, wins, before)
    mode.on_host = True                             # (the host still holds the state before)
    h[abi.S_BREAK] = brk
    n0 = int(h[abi.S_INSNS])
    r = mode.host.run(run_budget)
    mode.native += int(h[abi.S_INSNS]) - n0
    h[abi.S_BREAK] = -1
    if r == abi.EXIT_BREAKPOINT:
        r = abi.EXIT_BUDGET
    elif brk >= 0:
        ref = None                                  # the string instruction did not finish
    if r != abi.EXIT_BUDGET:
        mode.host_exit(cpu, r)                      # it trapped: emulated, as the guest expects
        return True
    mode.exits["lockstep"] += 1
    if ref is None:
        return True
    mode.to_vcpu()
    mode.on_host = True
    got = Observation(mode, wins)
    d = difference(ref, got, wins)
    if not d:
        return True
    text = mode.vcpu.disassemble(lambda a: code[a - eip] if 0 <= a - eip < len(code) else 0, eip)[0]
    mode.report = {"instruction": text, "cs": cs, "eip": eip, "bytes": code[:8].hex(),
                   "difference": d, "insns": int(v[abi.S_INSNS])}
    mode.m.stop_requested = (f"sensitive instruction {text} at {cs:04X}:{eip:08X} did not trap at ring 1 "
                             f"and behaved differently (the guest's own CPU vs deprivileged: {d})")
    return False
