"""Fuzzing the x86 core (model p6): random instruction streams never crash or hang
the host process, and every run() leaves an architecturally possible state.

Each stream is run by the core's own run(state, mem, budget) in 32-bit flat
protected mode at CPL 0 and CPL 3, with paging off and on, and also in real mode
and V86 mode.  The machine around it is hostile on purpose: random descriptors
next to valid ones in the GDT and an LDT, a second TSS for task switches, call
and task gates, IDT gates of every kind (the handlers are HLTs), pages that are
not present, read-only, supervisor-only or 4 MiB pages onto unmapped space, ROM
pages, MMIO everywhere above 4 MiB, random I/O and MMIO read values, posted
ports, interrupt requests and NMIs raised between runs, and random CR0/CR4/EFLAGS
/DR7 bits.  Registers point into memory more often than not.

After every run() call:
  * no Python exception; the result is an exit reason of emu/abi.py, and only one
    this configuration can produce (never EXIT_FAULT: an undefined opcode raises
    #UD in the guest; never the VMM exits: no intercepts are set);
  * every architectural slot holds a value of its width (32-bit registers, 16-bit
    selectors, CPL 0-3, no EFLAGS bit the model lacks, bit 1 set, no reserved bits:
    SDM vol. 1, 3.4.3 / vol. 3, 2.3);
  * EIP is inside CS (at most limit + 1, where the next fetch faults; 16 bits in
    16-bit code), V86 mode means CPL 3 and real-mode-style segments;
  * cycles and retired instructions only grow, and a run stops within its budget
    (plus at most one instruction or delivery);
  * an exit's port / address / size is one the bus can have.

A hang inside run() is caught by faulthandler (the process dies with a
traceback); a failing stream is named by its seed and configuration, and
``python tests/test_x86_fuzz.py MODE SEED`` replays one with a trace of its exits.
"""
import faulthandler
import random
import struct
import sys

import numpy as np
import pytest

from cores.x86 import X86, cpu
from emu import abi
from emu.core import flat_memory

MEMSIZE = 4 << 20
GDT, IDT, HANDLERS, TSS, LDT, TSS2 = 0x1000, 0x2000, 0x3000, 0x5000, 0x7800, 0x7C00
CODE, KSTACK, USTACK, DATA = 0x10000, 0x9F000, 0x8F000, 0x100000
PD, PT = 0x300000, 0x301000
ROM_PAGES = range(0x3F0, 0x400)                  # the top 64 KiB of RAM reads as ROM
POSTED = (0x80, 0xE9)
MODES = ("pm0", "pm0pg", "pm3", "pm3pg", "real", "v86")
BUDGET = 3000                                    # cycles per run() call
CALLS = 40                                       # run() calls per stream at most
MAX_INSN_CYCLES = 20000                          # a run may overshoot by one instruction/delivery

# the system instructions, prefixes and control transfers a random byte rarely hits
SPICE = [
    "0F 00 D0", "0F 00 D8", "0F 00 E0", "0F 00 E8", "0F 00 C0", "0F 00 C8", "0F 01 10", "0F 01 18",
    "0F 01 00", "0F 01 08", "0F 01 E0", "0F 01 F0", "0F 01 38", "0F 02 C0", "0F 03 C3", "0F 06",
    "0F 08", "0F 09", "0F 0B", "0F 20 C0", "0F 22 C0", "0F 20 D8", "0F 22 D8", "0F 20 E0",
    "0F 22 E0", "0F 21 F8", "0F 23 F8", "0F 23 C0", "0F 21 F0", "0F 30", "0F 32", "0F 31", "0F 33",
    "0F A2", "0F 34", "0F 35", "0F C7 0F", "0F B2 07", "0F B4 07", "0F B5 07",
    "8E D8", "8E C0", "8E D0", "8E E0", "8E E8", "8C C8", "C4 07", "C5 07", "EA", "9A", "CA",
    "CB", "CF", "CD", "CC", "CE", "F1", "62 07", "63 C0", "C8", "C9", "F4", "FA", "FB", "9C",
    "9D", "E4", "E5", "E6", "E7", "EC", "ED", "EE", "EF", "6C", "6D", "6E", "6F", "F3 A4", "F3 A5",
    "F3 AB", "F3 6C", "F3 6E", "F3 A6", "F2 AE", "F0", "66", "67", "26", "2E", "36", "3E", "64",
    "65", "FF 18", "FF 28", "FF 1F", "FF 2F", "FF D0", "FF E0", "C3", "C2", "E8", "E9", "E2",
    "D4 00", "F6 F1", "F7 F1", "F7 F9", "17", "1F", "07", "0F A1", "0F A9", "61", "60",
]


def desc(base, limit, access, flags):
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF, access,
                       ((limit >> 16) & 0xF) | (flags << 4), base >> 24)


def gate(off, sel, typ, dpl=0, params=0):
    return struct.pack("<HHBBH", off & 0xFFFF, sel, params, 0x80 | (dpl << 5) | typ, off >> 16)


def base_image(rng):
    """Memory shared by every stream of a mode: tables, handlers, random data."""
    m = bytearray(rng.randbytes(MEMSIZE))
    m[:DATA] = bytes(DATA)
    m[CODE:DATA] = rng.randbytes(DATA - CODE)
    gdt = [bytes(8),
           desc(0, 0xFFFFF, 0x9B, 0xC),          # 08 ring-0 code
           desc(0, 0xFFFFF, 0x93, 0xC),          # 10 ring-0 data
           desc(0, 0xFFFFF, 0xFB, 0xC),          # 18 ring-3 code
           desc(0, 0xFFFFF, 0xF3, 0xC),          # 20 ring-3 data
           desc(TSS, 0x68 + 32 + 8192, 0x89, 0),  # 28 TSS (VME redirection + I/O bitmaps)
           desc(TSS2, 0x67, 0x89, 0),            # 30 second TSS (task switches)
           desc(LDT, 0x3F, 0x82, 0),             # 38 LDT
           gate(CODE, 0x08, 0xC, 3, 2),          # 40 call gate to ring 0, 2 parameters
           gate(0, 0x30, 0x5, 3),                # 48 task gate
           desc(0, 0xFFFF, 0x9B, 0x0),           # 50 16-bit code
           desc(0x20000, 0xFFF, 0x97, 0x4),      # 58 expand-down data
           desc(0, 0xFFFFF, 0x9F, 0xC),          # 60 conforming code
           desc(0, 0xFFFFF, 0x13, 0xC),          # 68 not present
           desc(0, 0xFFFFF, 0xBB, 0xC),          # 70 ring-1 code
           desc(0, 0xFFFFF, 0xB3, 0xC),          # 78 ring-1 data
           ]
    gdt += [rng.randbytes(8) for _ in range(16)]  # 80-F8 random descriptors
    g = b"".join(gdt)
    m[GDT:GDT + len(g)] = g
    ldt = desc(0, 0xFFFFF, 0xF3, 0xC) + desc(0, 0xFFFFF, 0xFB, 0xC) + rng.randbytes(48)
    m[LDT:LDT + len(ldt)] = ldt
    for v in range(256):                         # vector v: HLT at HANDLERS + 16 v
        if v < 32 or rng.random() < 0.6:
            g = gate(HANDLERS + 16 * v, 0x08, 0xE if v < 32 else rng.choice((0xE, 0xF)),
                     3 if v >= 32 else rng.choice((0, 0, 3)))
        else:
            g = rng.choice((gate(0, 0x30, 0x5, 3), rng.randbytes(8), gate(HANDLERS + 16 * v, 0x50, 0x6, 3)))
        m[IDT + 8 * v:IDT + 8 * v + 8] = g
        m[HANDLERS + 16 * v:HANDLERS + 16 * v + 16] = b"\xF4" * 16
    # TSS: ESP0/SS0 (ring 1 and 2 stacks left invalid), I/O map base after a VME bitmap
    tss = bytearray(rng.randbytes(0x68 + 32 + 8192 + 1))
    tss[0:0x68] = bytes(0x68)
    tss[4:12] = struct.pack("<II", KSTACK, 0x10)
    tss[0x66:0x68] = struct.pack("<H", 0x68 + 32)
    tss[-1] = 0xFF
    m[TSS:TSS + len(tss)] = tss
    tss2 = bytearray(0x68)                       # a ring-0 task that runs into a HLT
    tss2[0x1C:0x20] = struct.pack("<I", PD)
    tss2[0x20:0x28] = struct.pack("<II", HANDLERS + 16 * 255, 2)
    tss2[0x38:0x3C] = struct.pack("<I", KSTACK - 0x800)
    tss2[0x48:0x60] = struct.pack("<6I", 0x10, 0x08, 0x10, 0x10, 0x10, 0x10)
    m[TSS2:TSS2 + 0x68] = tss2
    # page tables: identity for the first 4 MiB, random PDEs above (PSE pages onto
    # unmapped space, not present, junk)
    pd = bytearray(4096)
    pd[0:4] = struct.pack("<I", PT | 7)
    for i in range(1, 1024):
        r = rng.random()
        e = ((rng.randrange(1024) << 22) | 0x87) if r < 0.3 else (rng.getrandbits(32) if r < 0.4 else 0)
        pd[4 * i:4 * i + 4] = struct.pack("<I", e)
    m[PD:PD + 4096] = pd
    for i in range(1024):
        e = (i << 12) | 7
        if (i << 12) >= DATA and i not in (PD >> 12, PT >> 12) and rng.random() < 0.1:
            e &= ~rng.choice((1, 2, 4))          # not present, read-only or supervisor
        m[PT + 4 * i:PT + 4 * i + 4] = struct.pack("<I", e)
    # real mode: the vector table at 0 leads to the same HLTs
    for v in range(256):
        m[4 * v:4 * v + 4] = struct.pack("<HH", 16 * v, HANDLERS >> 4)
    return bytes(m)


def assemble_stream(rng, n):
    out = bytearray()
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            out += bytes(int(t, 16) for t in rng.choice(SPICE).split())
        elif r < 0.45:
            out += b"\x0F" + bytes([rng.randrange(256)])
        out += rng.randbytes(rng.randrange(0, 7))
    return bytes(out)


def reg_value(rng):
    r = rng.random()
    if r < 0.35:
        return DATA + rng.randrange(0xF0000)
    if r < 0.5:
        return rng.randrange(0x100)              # selectors, counts, ports
    if r < 0.6:
        return rng.choice((0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0xFFFF))
    if r < 0.7:
        return rng.randrange(MEMSIZE)
    return rng.getrandbits(32)


class Fuzzer:
    def __init__(self):
        self.cpu = X86(200e6, model="p6")
        self.mem = flat_memory(22, X86.page_bits, space_bits=X86.address_bits)
        _, _, wpage, ioflags, _ = self.mem
        for p in ROM_PAGES:
            wpage[p] = abi.PAGE_ROM
        for p in POSTED:
            ioflags[p] = abi.IOF_POSTED
        self.images = {}
        self.stats = {"exits": {}, "vectors": {}, "insns": 0}
        self.cpu.execute(self.mem, 1)     # compile (a cold cache takes minutes) before the watchdog
        self.cpu.reset()

    def image(self, mode):
        if mode not in self.images:
            self.images[mode] = np.frombuffer(base_image(random.Random(mode)), dtype=np.uint8)
        return self.images[mode]

    def setup(self, mode, seed):
        rng = random.Random(f"{mode}:{seed}")
        c, data = self.cpu, self.mem[0]
        data[:] = self.image(mode)
        code = assemble_stream(rng, rng.randrange(4, 40))
        data[CODE:CODE + len(code)] = np.frombuffer(code, dtype=np.uint8)
        c.reset()
        s = c.state
        c.set_registers(**{n: reg_value(rng) for n in ("eax", "ecx", "edx", "ebx", "ebp", "esi", "edi")})
        flags = 0x2 | (rng.getrandbits(22) & (cpu.ARITH | cpu.DF | cpu.AC | cpu.ID))
        if rng.random() < 0.5:
            flags |= cpu.IF
        if rng.random() < 0.1:
            flags |= cpu.TF
        if rng.random() < 0.1:
            flags |= cpu.NT
        s[cpu.GDTB], s[cpu.GDTL] = GDT, 32 * 8 - 1
        s[cpu.IDTB], s[cpu.IDTL] = IDT, 256 * 8 - 1
        if rng.random() < 0.15:
            s[cpu.DR + rng.randrange(4)] = CODE + rng.randrange(64) if rng.random() < 0.5 else DATA
            d7 = s[cpu.DR + 7] = 0x400 | rng.getrandbits(32) & 0xFFFF20FF
            s[cpu.DBACT] = 0                         # the enables as MOV DR7 computes them
            for k in range(4):
                if (d7 >> (2 * k)) & 3:
                    s[cpu.DBACT] |= 1 if ((d7 >> (16 + 4 * k)) & 3) == 0 else 2
        if mode == "real":
            c.set_registers(cs=CODE >> 4, ip=0, ss=0x8000, esp=0xF000, eflags=flags)
            s[cpu.IDTB], s[cpu.IDTL] = 0, 0x3FF
            return rng
        paging = mode.endswith("pg") or (mode == "v86" and rng.random() < 0.5)
        s[cpu.CR0] |= cpu.PE | (cpu.PG if paging else 0) | (cpu.WP if rng.random() < 0.3 else 0) \
            | (cpu.AM if rng.random() < 0.3 else 0) | (cpu.TS if rng.random() < 0.1 else 0)
        s[cpu.CR3] = PD
        cr4 = 0
        for bit in (cpu.VME, cpu.PVI, cpu.TSD, cpu.DE, cpu.PSE, cpu.PGE, cpu.PCE):
            if rng.random() < 0.3:
                cr4 |= bit
        s[cpu.CR4] = cr4
        s[cpu.TR], s[cpu.TRB], s[cpu.TRL], s[cpu.TRA] = 0x28, TSS, 0x68 + 32 + 8192, 0x8B
        s[cpu.LDTR], s[cpu.LDTB], s[cpu.LDTL] = 0x38, LDT, 0x3F
        data[GDT + 0x28 + 5] |= 2                   # TSS 28 busy, as LTR leaves it
        user = mode in ("pm3", "pm3pg")
        if mode == "v86":
            flags |= cpu.VM | (rng.randrange(4) << 12)
            for i in range(6):
                sel = (CODE >> 4) if i == cpu.CS else (0x8000 if i == cpu.SS else rng.choice((0x1000, 0x8000, 0)))
                s[cpu.SEL + i], s[cpu.BASE + i], s[cpu.LIMIT + i], s[cpu.ATTR + i] = sel, sel << 4, 0xFFFF, 0xF3
            s[cpu.CSD] = s[cpu.SSB] = 0
            s[cpu.CPL] = 3
            c.set_registers(eip=0, esp=0xF000)
            s[cpu.FLAGS] = flags
            return rng
        for i in range(6):
            sel, attr = (0x08, 0xC9B) if i == cpu.CS else (0x10, 0xC93)
            if user:
                sel, attr = (0x1B, 0xCFB) if i == cpu.CS else (0x23, 0xCF3)
            s[cpu.SEL + i], s[cpu.BASE + i], s[cpu.LIMIT + i], s[cpu.ATTR + i] = sel, 0, 0xFFFFFFFF, attr
        s[cpu.CSD] = s[cpu.SSB] = 1
        s[cpu.CPL] = 3 if user else 0
        flags |= (rng.randrange(4) << 12)
        c.set_registers(eip=CODE, esp=USTACK if user else KSTACK)
        s[cpu.FLAGS] = flags
        return rng

    def run_stream(self, mode, seed, trace=None):
        """Run one stream; '' when every check holds, else what broke."""
        rng = self.setup(mode, seed)
        s, mem = self.cpu.state, self.mem
        run = type(self.cpu).run
        where = f"{mode} seed {seed}"
        call = stuck = 0
        while call < CALLS:
            if rng.random() < 0.05:
                s[abi.S_IRQ] = 1
                s[abi.S_IRQ_VECTOR] = rng.randrange(256)
            if rng.random() < 0.02:
                s[abi.S_NMI] = 1
            cyc0, insns0 = int(s[abi.S_CYCLES]), int(s[abi.S_INSNS])
            before = (s[cpu.SEL + cpu.CS], s[cpu.EIP])
            arch = s[16:16 + cpu.NREG].copy()
            try:
                r = int(run(s, mem, BUDGET))
            except Exception as e:              # noqa: BLE001 (a Python exception is the failure)
                return f"{where} call {call}: {type(e).__name__}: {e}"
            if trace:
                trace(f"{call:2d} {before[0]:04X}:{before[1]:08X} -> {abi.EXIT_NAMES.get(r, r)} at "
                      f"{int(s[cpu.SEL + cpu.CS]):04X}:{int(s[cpu.EIP]):08X} cpl {int(s[cpu.CPL])} "
                      f"insns +{int(s[abi.S_INSNS]) - insns0}")
            bad = self.check(r, cyc0, insns0)
            if bad:
                return f"{where} call {call}: {bad}"
            st = self.stats
            st["exits"][r] = st["exits"].get(r, 0) + 1
            st["insns"] += int(s[abi.S_INSNS]) - insns0
            la = int(s[cpu.BASE + cpu.CS]) + int(s[cpu.EIP]) - 1     # the handler's HLT
            if HANDLERS <= la < HANDLERS + 16 * 256:
                v = (la - HANDLERS) // 16
                st["vectors"][v] = st["vectors"].get(v, 0) + 1
            call += 1
            if r in (abi.EXIT_IO_IN, abi.EXIT_MMIO_READ):
                s[abi.S_EXIT_DATA] = rng.getrandbits(32)
                s[abi.S_PENDING] = 1
                # a restart (nothing changed) that needs one more answer does not use up the
                # stream: an instruction needs one exit per MMIO read (ENTER: up to 35)
                if int(s[abi.S_INSNS]) == insns0 and (s[16:16 + cpu.NREG] == arch).all():
                    call -= 1
                    stuck += 1
                    if stuck > cpu.MMLOG_CAP + 16:
                        return f"{where} call {call}: no progress after {stuck} read exits at " \
                               f"{int(before[0]):04X}:{int(before[1]):08X}"
                else:
                    stuck = 0
            elif r == abi.EXIT_IRQ_ACK:
                s[abi.S_IRQ] = 0
            elif r in (abi.EXIT_HLT, abi.EXIT_SHUTDOWN):
                break
            s[abi.S_IOLOG_COUNT] = 0
        return ""

    def check(self, r, cyc0, insns0):
        s = self.cpu.state
        if r not in OK_EXITS:
            return f"exit {abi.EXIT_NAMES.get(r, r)}"
        out = []
        for i in range(cpu.REG, cpu.REG + 8):
            if not 0 <= s[i] <= 0xFFFFFFFF:
                out.append(f"reg {i - cpu.REG} = {int(s[i]):#x}")
        for name in ("EIP", "CR0", "CR2", "CR3", "CR4", "GDTB", "IDTB", "LDTB", "TRB", "LDTL", "TRL",
                     "MSR_ESP", "MSR_EIP"):
            v = int(s[getattr(cpu, name)])
            if not 0 <= v <= 0xFFFFFFFF:
                out.append(f"{name} = {v:#x}")
        for name in ("GDTL", "IDTL", "LDTR", "TR", "MSR_CS"):
            if not 0 <= s[getattr(cpu, name)] <= 0xFFFF:
                out.append(f"{name} = {int(s[getattr(cpu, name)]):#x}")
        for i in range(6):
            if not 0 <= s[cpu.SEL + i] <= 0xFFFF:
                out.append(f"sel {i} = {int(s[cpu.SEL + i]):#x}")
            if not 0 <= s[cpu.BASE + i] <= 0xFFFFFFFF or not 0 <= s[cpu.LIMIT + i] <= 0xFFFFFFFF:
                out.append(f"segment {i} base {int(s[cpu.BASE + i]):#x} limit {int(s[cpu.LIMIT + i]):#x}")
            if not 0 <= s[cpu.ATTR + i] <= 0xFFFF:
                out.append(f"segment {i} attr {int(s[cpu.ATTR + i]):#x}")
        for i in range(8):
            if not 0 <= s[cpu.DR + i] <= 0xFFFFFFFF:
                out.append(f"DR{i} = {int(s[cpu.DR + i]):#x}")
        f = int(s[cpu.FLAGS])
        # EFLAGS (SDM vol. 1, 3.4.3): bit 1 is 1; bits 3, 5, 15 and 22-31 are 0
        if f & ~0x3F7FD7 or not f & 2:
            out.append(f"EFLAGS {f:#x}")
        cpl = int(s[cpu.CPL])
        if not 0 <= cpl <= 3:
            out.append(f"CPL {cpl}")
        cr0 = int(s[cpu.CR0])
        if cr0 & cpu.PG and not cr0 & cpu.PE:
            out.append(f"CR0 {cr0:#x}: PG without PE")       # MOV CR0 raises #GP(0) (vol. 3, 2.5)
        eip, lim = int(s[cpu.EIP]), int(s[cpu.LIMIT + cpu.CS])
        if not s[cpu.CSD] and eip > 0xFFFF:
            out.append(f"EIP {eip:#x} in 16-bit code")
        if cr0 & cpu.PE and not f & cpu.VM and eip > lim + 1 and not s[cpu.SHUTDOWN]:
            out.append(f"EIP {eip:#x} beyond the CS limit {lim:#x}")
        if f & cpu.VM:
            if cpl != 3 or not cr0 & cpu.PE:
                out.append(f"V86 with CPL {cpl}, CR0 {cr0:#x}")
            for i in range(6):
                if s[cpu.BASE + i] != s[cpu.SEL + i] << 4:
                    out.append(f"V86 segment {i}: base {int(s[cpu.BASE + i]):#x} selector {int(s[cpu.SEL + i]):#x}")
        if not cr0 & cpu.PE and cpl != 0:
            out.append(f"real mode with CPL {cpl}")
        cyc, insns = int(s[abi.S_CYCLES]), int(s[abi.S_INSNS])
        if not insns0 <= insns <= insns0 + BUDGET:
            out.append(f"instructions {insns0} -> {insns}")
        if not cyc0 <= cyc <= cyc0 + BUDGET + MAX_INSN_CYCLES:
            out.append(f"cycles {cyc0} -> {cyc} (budget {BUDGET})")
        if r in (abi.EXIT_IO_IN, abi.EXIT_IO_OUT) and (
                not 0 <= s[abi.S_EXIT_ADDR] <= 0xFFFF or s[abi.S_EXIT_SIZE] not in (1, 2, 4)):
            out.append(f"port exit {int(s[abi.S_EXIT_ADDR]):#x} size {int(s[abi.S_EXIT_SIZE])}")
        if r in (abi.EXIT_MMIO_READ, abi.EXIT_MMIO_WRITE):
            a = int(s[abi.S_EXIT_ADDR])
            if not 0 <= a <= 0xFFFFFFFF or s[abi.S_EXIT_SIZE] not in (1, 2, 4) \
                    or self.mem[1 if r == abi.EXIT_MMIO_READ else 2][a >> cpu.PB] != abi.PAGE_MMIO:
                out.append(f"MMIO exit {a:#x} size {int(s[abi.S_EXIT_SIZE])}")
        if r in (abi.EXIT_IO_OUT, abi.EXIT_MMIO_WRITE) and not 0 <= s[abi.S_EXIT_DATA] <= 0xFFFFFFFF:
            out.append(f"write exit data {int(s[abi.S_EXIT_DATA]):#x}")
        if not 0 <= s[abi.S_IOLOG_COUNT] <= abi.IOLOG_ENTRIES:
            out.append(f"iolog count {int(s[abi.S_IOLOG_COUNT])}")
        return "; ".join(out)


OK_EXITS = {abi.EXIT_BUDGET, abi.EXIT_IO_IN, abi.EXIT_IO_OUT, abi.EXIT_MMIO_READ, abi.EXIT_MMIO_WRITE,
            abi.EXIT_HLT, abi.EXIT_IRQ_ACK, abi.EXIT_IOLOG_FULL, abi.EXIT_SHUTDOWN}


@pytest.fixture(scope="module")
def fuzzer():
    return Fuzzer()


def fuzz(fuzzer, mode, seeds):
    faulthandler.dump_traceback_later(120, exit=True)   # a hang in run() kills the process
    try:
        fails = [f for f in (fuzzer.run_stream(mode, k) for k in seeds) if f]
    finally:
        faulthandler.cancel_dump_traceback_later()
    return fails


@pytest.mark.parametrize("mode", MODES)
def test_fuzz_streams(fuzzer, mode):
    n = 600 if mode.startswith("pm") else 400
    fuzzer.stats = {"exits": {}, "vectors": {}, "insns": 0}
    fails = fuzz(fuzzer, mode, range(n))
    assert not fails, f"{len(fails)} of {n} streams failed: " + "; ".join(fails[:4])
    st = fuzzer.stats
    # the streams reach the places worth fuzzing: exceptions of several kinds, exits
    assert st["insns"] > 5 * n, st
    assert len(st["vectors"]) >= 5, st["vectors"]
    assert {abi.EXIT_HLT, abi.EXIT_IO_IN, abi.EXIT_IO_OUT} <= set(st["exits"]), st["exits"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_fuzz_streams_long(fuzzer, mode):
    fails = fuzz(fuzzer, mode, range(1000, 21000))
    assert not fails, f"{len(fails)} streams failed: " + "; ".join(fails[:4])


if __name__ == "__main__":
    f = Fuzzer()
    print(f.run_stream(sys.argv[1], int(sys.argv[2]), trace=print) or "ok")


# ---- bugs the fuzzer found, checked against Unicorn (QEMU) and the SDM ----------------
def unicorn_pm(image, eip, regs=None, paging=True):
    """A Unicorn in the flat ring-0 protected mode of ``base_image`` (as setup() makes
    for "pm0pg"); returns (uc, events): events collects ("int", vector, CR2) and
    ("in" / "out", port)."""
    unicorn = pytest.importorskip("unicorn")
    from unicorn import x86_const as U
    uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_32)
    uc.mem_map(0, MEMSIZE)
    uc.mem_write(0, bytes(image))
    events = []

    def intr(uc, vec, _):
        events.append(("int", vec, uc.reg_read(U.UC_X86_REG_CR2)))
        uc.emu_stop()

    def port_in(uc, port, size, _):
        events.append(("in", port))
        return 0

    def port_out(uc, port, size, value, _):
        events.append(("out", port))

    uc.hook_add(unicorn.UC_HOOK_INTR, intr)
    uc.hook_add(unicorn.UC_HOOK_INSN, port_in, None, 1, 0, U.UC_X86_INS_IN)
    uc.hook_add(unicorn.UC_HOOK_INSN, port_out, None, 1, 0, U.UC_X86_INS_OUT)
    uc.reg_write(U.UC_X86_REG_GDTR, (0, GDT, 32 * 8 - 1, 0))
    uc.reg_write(U.UC_X86_REG_IDTR, (0, IDT, 256 * 8 - 1, 0))
    uc.reg_write(U.UC_X86_REG_CR3, PD)
    uc.reg_write(U.UC_X86_REG_CR0, 0x11 | (0x80000000 if paging else 0))
    uc.reg_write(U.UC_X86_REG_ESP, KSTACK)
    for name, v in (regs or {}).items():
        uc.reg_write(getattr(U, f"UC_X86_REG_{name.upper()}"), v)
    uc.reg_write(U.UC_X86_REG_EIP, eip)
    uc.reg_write(U.UC_X86_REG_EFLAGS, 2)
    return uc, events


def quiet_pm0pg(fuzzer):
    """The fuzzer's ring-0 paging setup without its random extras (IRQs, DR7, TF)."""
    fuzzer.setup("pm0pg", 0)
    s = fuzzer.cpu.state
    s[cpu.FLAGS] = 2
    s[cpu.DR + 7], s[cpu.DBACT] = 0x400, 0
    s[cpu.CR0] = (s[cpu.CR0] & ~(cpu.TS | cpu.AM | cpu.WP)) | cpu.PE | cpu.PG
    s[cpu.CR4] = 0
    s[cpu.ESP] = KSTACK
    return s


@pytest.mark.parametrize("insn", ["E4", "E6"])
def test_port_immediate_on_a_missing_page(fuzzer, insn):
    """IN AL,imm8 / OUT imm8,AL whose immediate byte lies on a not-present page: #PF
    (CR2 = the byte's address, error code 0: supervisor read of a not-present page,
    SDM vol. 3, 4.7) before any port access.  The core used to report an IN from
    port 0 for the abandoned instruction first."""
    s = quiet_pm0pg(fuzzer)
    d = fuzzer.mem[0]
    page = 0x40000
    d[PT + 4 * (page >> 12):PT + 4 * (page >> 12) + 4] = np.frombuffer(struct.pack("<I", page | 6), np.uint8)
    d[page - 1] = int(insn, 16)
    s[cpu.EIP] = page - 1
    uc, events = unicorn_pm(d, page - 1)
    uc.emu_start(page - 1, 0xFFFFFFFF, count=1)
    assert events == [("int", 14, page)]
    exits = [int(type(fuzzer.cpu).run(s, fuzzer.mem, 1000))]
    assert exits == [abi.EXIT_HLT]                     # no port exit before the #PF
    assert int(s[cpu.BASE + cpu.CS]) + int(s[cpu.EIP]) - 1 == HANDLERS + 16 * 14
    assert int(s[cpu.CR2]) == page
    esp = int(s[cpu.ESP])
    assert d[esp:esp + 12].view("<u4").tolist() == [0, page - 1, 0x08]   # error code, EIP, CS


@pytest.mark.parametrize("insn", ["E4", "E6"])
def test_port_immediate_in_mmio(fuzzer, insn):
    """IN AL,imm8 / OUT imm8,AL whose immediate byte is fetched from MMIO: the first
    exit reads that byte (the instruction is restarted with it), then the port the
    byte names is accessed, as in Unicorn with that byte in memory.  The core used to report the abandoned
    instruction's access to port 0 (IN), or to overwrite the MMIO read's address
    with port 0 (OUT)."""
    s = quiet_pm0pg(fuzzer)
    d = fuzzer.mem[0]
    page, mmio, port = 0x40000, 0x500000, 0x42
    d[PT + 4 * (page >> 12):PT + 4 * (page >> 12) + 4] = np.frombuffer(struct.pack("<I", mmio | 7), np.uint8)
    d[page - 1] = int(insn, 16)
    s[cpu.EIP] = page - 1
    uc, events = unicorn_pm(d, page - 1)
    uc.mem_map(mmio, 0x1000)                  # (Unicorn cannot fetch from MMIO: the device's byte
    uc.mem_write(mmio, bytes([port]))          # in memory instead)
    uc.emu_start(page - 1, page + 1, count=1)
    assert events == [("in" if insn == "E4" else "out", port)]
    run = type(fuzzer.cpu).run
    r = run(s, fuzzer.mem, 1000)
    assert (abi.EXIT_NAMES[r], int(s[abi.S_EXIT_ADDR]), int(s[abi.S_EXIT_SIZE])) == ("mmio-read", mmio, 1)
    s[abi.S_EXIT_DATA], s[abi.S_PENDING] = port, 1
    r = run(s, fuzzer.mem, 1000)
    want = "io-in" if insn == "E4" else "io-out"
    assert (abi.EXIT_NAMES[r], int(s[abi.S_EXIT_ADDR]), int(s[abi.S_EXIT_SIZE])) == (want, port, 1)


def test_v86_vme_popf_keeps_reserved_flags(fuzzer):
    """POPF in V86 mode at IOPL 0 with CR4.VME (SDM vol. 2, POPF; vol. 3, 20.3): the
    popped IF goes to VIF, IF and IOPL stay, and the reserved bits stay as they
    always are (vol. 1, 3.4.3: bit 1 set, bits 3, 5 and 15 clear).  The core used
    to copy bits 3, 5 and 15 from the stack."""
    fuzzer.setup("v86", 0)
    s, d = fuzzer.cpu.state, fuzzer.mem[0]
    s[cpu.CR4] = cpu.VME
    s[cpu.FLAGS] = cpu.VM | 2                          # IOPL 0, IF 0, VIP 0
    s[cpu.DR + 7], s[cpu.DBACT], s[abi.S_IRQ], s[abi.S_NMI] = 0x400, 0, 0, 0
    s[cpu.ESP] = 0x100
    lin = int(s[cpu.BASE + cpu.SS]) + 0x100
    d[lin:lin + 2] = (0xFF, 0xFE)                       # FEFFh: every bit but TF
    d[int(s[cpu.BASE + cpu.CS]) + int(s[cpu.EIP])] = 0x9D  # POPF
    fuzzer.cpu.execute(fuzzer.mem, 1)
    want = cpu.VM | cpu.VIF | (0xFEFF & ~(cpu.IF | cpu.IOPL) & ~0x8028) | 2
    assert int(s[cpu.FLAGS]) == want == 0xA4CD7


@pytest.mark.parametrize("code,target", [
    ("66 73 F3", 0xFFFFFFFD),                # JAE rel8 with a 32-bit operand size, backwards from 0
    ("66 E9 00 00 01 00", 0x10006),          # JMP rel32
    ("66 C3", 0x12345),                      # RET popping a 32-bit EIP
    ("66 EA 00 00 01 00 00 10", 0x10000),    # JMP FAR 1000:00010000
    ("66 CB", 0x12345),                      # RETF popping a 32-bit EIP
    ("66 CF", 0x12345),                      # IRETD
])
def test_real_mode_target_beyond_the_cs_limit(fuzzer, code, target):
    """A 32-bit jump target beyond the real-mode CS limit (FFFFh) raises #GP(0), in
    real mode interrupt 13 with the faulting instruction's address pushed (SDM vol. 2,
    JMP/Jcc/RET/IRET, "Real-Address Mode Exceptions"; vol. 3, 20.1.4).  The core used
    to load the 32-bit EIP and run on at the wrapped 16-bit address."""
    fuzzer.setup("real", 0)
    s, d = fuzzer.cpu.state, fuzzer.mem[0]
    s[cpu.FLAGS], s[abi.S_IRQ], s[abi.S_NMI] = 2, 0, 0
    s[cpu.DR + 7], s[cpu.DBACT] = 0x400, 0
    s[cpu.EIP] = 0 if code.startswith("66 73") else 0x100
    ss = int(s[cpu.BASE + cpu.SS])
    s[cpu.ESP] = 0x100
    d[ss + 0x100:ss + 0x10C] = np.frombuffer(struct.pack("<III", target, 0x1000, 2), np.uint8)
    cs, eip = int(s[cpu.SEL + cpu.CS]), int(s[cpu.EIP])
    d[int(s[cpu.BASE + cpu.CS]) + eip:][:len(code.split())] = [int(b, 16) for b in code.split()]
    r = type(fuzzer.cpu).run(s, fuzzer.mem, 1000)
    assert abi.EXIT_NAMES[r] == "hlt"
    assert int(s[cpu.BASE + cpu.CS]) + int(s[cpu.EIP]) - 1 == HANDLERS + 16 * 13          # #GP
    sp = ss + int(s[cpu.ESP])
    assert d[sp:sp + 6].view("<u2").tolist() == [eip, cs, 2]                              # IP CS FLAGS


def test_trap_delivery_keeps_the_out_exit(fuzzer):
    """OUT with TF set: the port write is reported after the instruction (emu/abi.py)
    with its port and size even when the #DB delivery that follows reads a descriptor
    from MMIO (here the GDT above RAM).  The delivery's read used to overwrite the
    exit's port with its own address."""
    s = quiet_pm0pg(fuzzer)
    s[cpu.CR0] &= ~cpu.PG
    s[cpu.FLAGS] = 2 | cpu.TF
    s[cpu.EAX] = 0x5A
    s[cpu.GDTB] = 0x500000                             # MMIO: CS is already loaded
    fuzzer.mem[0][int(s[cpu.EIP]):][:2] = (0xE6, 0x42)  # OUT 42h, AL
    run = type(fuzzer.cpu).run
    r = run(s, fuzzer.mem, 1000)
    assert (abi.EXIT_NAMES[r], int(s[abi.S_EXIT_ADDR]), int(s[abi.S_EXIT_SIZE]),
            int(s[abi.S_EXIT_DATA])) == ("io-out", 0x42, 1, 0x5A)
    assert abi.EXIT_NAMES[run(s, fuzzer.mem, 1000)] == "shutdown"   # (every descriptor reads 0)


def mmio_device(code=b""):
    """Byte a of the MMIO space above RAM: ``code`` from 500000h, else a's low byte."""
    def byte(a):
        return code[a - 0x500000] if 0 <= a - 0x500000 < len(code) else a & 0xFF
    return byte


def serve(fuzzer, device, limit=64):
    """Run, answering MMIO reads from ``device``, until another exit; (exit, reads)."""
    s, run = fuzzer.cpu.state, type(fuzzer.cpu).run
    for n in range(limit):
        r = run(s, fuzzer.mem, 1000)
        if r != abi.EXIT_MMIO_READ:
            return abi.EXIT_NAMES[r], n
        a, size = int(s[abi.S_EXIT_ADDR]), int(s[abi.S_EXIT_SIZE])
        s[abi.S_EXIT_DATA] = sum(device(a + i) << (8 * i) for i in range(size))
        s[abi.S_PENDING] = 1
    return "no progress", limit


def test_instruction_with_several_mmio_reads(fuzzer):
    """A dword read across two MMIO pages (four byte reads, SDM vol. 3, 8.1.1: split
    accesses) completes with the bytes the device gave, as in Unicorn with the same
    device (mmio_map).  The run ABI answers one read per exit, and the core used to
    restart the instruction forever (the host's scheduler loop with it)."""
    s = quiet_pm0pg(fuzzer)
    s[cpu.CR0] &= ~cpu.PG
    code = bytes.fromhex("A1 FE 0F 50 00 F4")         # mov eax, [500FFEh] ; hlt
    start = int(s[cpu.EIP])
    fuzzer.mem[0][start:start + len(code)] = np.frombuffer(code, np.uint8)
    assert serve(fuzzer, mmio_device()) == ("hlt", 4)
    uc, _ = unicorn_pm(fuzzer.mem[0], start, paging=False)
    dev = mmio_device()
    uc.mmio_map(0x500000, 0x2000, lambda uc, off, size, _: sum(dev(0x500000 + off + i) << (8 * i)
                                                               for i in range(size)), None, None, None)
    uc.emu_start(start, 0xFFFFFFFF, count=1)
    from unicorn import x86_const as U
    assert int(s[cpu.EAX]) == uc.reg_read(U.UC_X86_REG_EAX) == 0x0100FFFE


def test_code_fetched_from_mmio(fuzzer):
    """Instructions fetched from MMIO run (one read exit per byte the first time; the
    core replays the bytes already answered): a 5-byte MOV, a far pointer operand read
    from MMIO, then HLT, as Unicorn runs the same bytes from RAM (it cannot fetch from
    MMIO)."""
    s = quiet_pm0pg(fuzzer)
    s[cpu.CR0] &= ~cpu.PG
    code = bytes.fromhex("B8 78 56 34 12"             # mov eax, 12345678h
                         "C4 1D 20 00 50 00"          # les ebx, [500020h]: offset and selector
                         "F4") + bytes(20) + bytes.fromhex("44 33 22 11 10 00")
    s[cpu.EIP] = 0x500000
    exit_, reads = serve(fuzzer, mmio_device(code), 200)
    assert exit_ == "hlt" and reads <= 20
    assert (int(s[cpu.EAX]), int(s[cpu.EBX]), int(s[cpu.SEL + cpu.ES])) == (0x12345678, 0x11223344, 0x10)
    uc, _ = unicorn_pm(fuzzer.mem[0], 0x500000, paging=False)
    from unicorn import x86_const as U
    uc.mem_map(0x500000, 0x1000)
    uc.mem_write(0x500000, code)
    uc.emu_start(0x500000, 0x50000B)
    assert (uc.reg_read(U.UC_X86_REG_EAX), uc.reg_read(U.UC_X86_REG_EBX), uc.reg_read(U.UC_X86_REG_ES)) \
        == (0x12345678, 0x11223344, 0x10)


def test_mmio_write_before_mmio_reads(fuzzer):
    """ENTER 0,3 with the stack and the old frame in MMIO: it pushes EBP (an MMIO
    write, reported after the instruction), then reads two frame pointers (MMIO read
    exits).  The write's report used to overwrite the slots of the pending read's
    answer, so the restarted ENTER never found it.  Registers as in Unicorn with the
    same device (SDM vol. 2, ENTER)."""
    s = quiet_pm0pg(fuzzer)
    s[cpu.CR0] &= ~cpu.PG
    start = int(s[cpu.EIP])
    fuzzer.mem[0][start:start + 5] = (0xC8, 0x00, 0x00, 0x03, 0xF4)   # enter 0,3 ; hlt
    s[cpu.ESP], s[cpu.EBP] = 0x600000, 0x500010
    exit_, reads = serve(fuzzer, mmio_device())
    assert exit_ == "mmio-write" and reads == 2
    assert (int(s[abi.S_EXIT_ADDR]), int(s[abi.S_EXIT_DATA])) == (0x5FFFFC, 0x500010)   # PUSH EBP
    uc, _ = unicorn_pm(fuzzer.mem[0], start, {"esp": 0x600000, "ebp": 0x500010}, paging=False)
    from unicorn import x86_const as U
    dev = mmio_device()
    uc.mmio_map(0x500000, 0x101000, lambda uc, off, size, _: sum(dev(0x500000 + off + i) << (8 * i)
                                                                 for i in range(size)),
                None, lambda *a: None, None)
    uc.emu_start(start, 0xFFFFFFFF, count=1)
    assert (int(s[cpu.ESP]), int(s[cpu.EBP]), int(s[cpu.EIP])) == (
        uc.reg_read(U.UC_X86_REG_ESP), uc.reg_read(U.UC_X86_REG_EBP), uc.reg_read(U.UC_X86_REG_EIP))
