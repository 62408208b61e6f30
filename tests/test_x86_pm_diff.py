"""Differential tests of the x86 core in 32-bit protected mode against Unicorn (QEMU's
x86 translator): flat segments at CPL 0 and at CPL 3 (entered by IRETD, as a kernel
does), with paging off and on (an identity map), model p6.

Each case builds a random register and memory state, runs a short random sequence of
32-bit encodings one instruction at a time on both emulators, and compares the general
registers, EIP and the defined flags after every step and the memory at the end.  An
exception must be raised by the same instruction on both; our core delivers it through
the IDT, whose gates lead to a HLT per vector, so the vector is read from where the
core stops (Unicorn reports the vector to a hook).
"""
import random
import struct
import zlib

import numpy as np
import pytest

unicorn = pytest.importorskip("unicorn")
from unicorn import UC_ARCH_X86, UC_HOOK_INTR, UC_MODE_32, Uc  # noqa: E402
from unicorn import x86_const as U  # noqa: E402

from cores.x86 import X86, cpu  # noqa: E402
from emu import abi  # noqa: E402
from emu.core import flat_memory  # noqa: E402

O, S, Z, A, P, C = 0x800, 0x80, 0x40, 0x10, 0x04, 0x01
MEMSIZE = 4 << 20
GDT, IDT, HANDLERS, TSS = 0x1000, 0x2000, 0x3000, 0x5000
CODE, KSTACK, USTACK = 0x10000, 0x9F000, 0x8F000
DATA = 0x100000                                  # 1 MiB of random data the operands point into
PD, PT = 0x300000, 0x301000

# (bytes, undefined flags) in 32-bit code; "#" bytes are random
ENC = [
    ("01 D8", 0), ("03 0B", 0), ("29 3E", 0), ("31 C3", A), ("21 F0", A), ("39 D0", 0), ("11 C8", 0),
    ("19 D1", 0), ("81 C1 # # # #", 0), ("83 E8 #", 0), ("83 67 # #", A), ("85 C2", A), ("87 D9", 0),
    ("87 1E", 0), ("89 07", 0), ("8B 5F #", 0), ("89 44 24 #", 0), ("8B 44 24 #", 0), ("8D 44 9E #", 0),
    ("40", 0), ("4B", 0), ("50", 0), ("5E", 0), ("91", 0), ("98", 0), ("99", 0), ("B8 # # # #", 0),
    ("C7 07 # # # #", 0), ("C6 46 # #", 0), ("F7 D0", 0), ("F7 DB", 0), ("F7 E1", S | Z | A | P),
    ("F7 E9", S | Z | A | P), ("F7 2E", S | Z | A | P), ("F7 C6 # # # #", A), ("FF 07", 0),
    ("FF 4F #", 0), ("FF 37", 0), ("8F 07", 0), ("9C", 0), ("0F AF C3", S | Z | A | P),
    ("0F AF 0F", S | Z | A | P), ("6B 07 #", S | Z | A | P), ("69 C3 # # # #", S | Z | A | P),
    ("A5", 0), ("AB", 0), ("AD", 0), ("A7", 0), ("AF", 0), ("A4", 0), ("AA", 0),
    ("66 01 D8", 0), ("66 8B 07", 0), ("66 89 07", 0), ("66 FF 07", 0), ("66 A5", 0), ("66 50", 0),
    ("0F B6 07", 0), ("0F BE C9", 0), ("0F B7 07", 0), ("0F BF 47 #", 0), ("0F 94 07", 0),
    ("0F 9F C1", 0), ("0F A3 D8", O | S | Z | A | P), ("0F AB C7", O | S | Z | A | P),
    ("0F BA E0 #", O | S | Z | A | P), ("0F BC C3", O | S | A | P | C), ("0F BD 07", O | S | A | P | C),
    ("0F A4 D8 #", O | A), ("0F AD C2", O | A), ("C1 E3 #", O | A), ("C1 0F #", O), ("D3 E2", O | A),
    ("D1 E0", 0), ("D1 3F", 0), ("D0 C8", 0),
    # 486 / Pentium / P6 integer additions
    ("0F C8", 0), ("0F CB", 0), ("0F C1 07", 0), ("0F C1 D8", 0), ("0F C0 0F", 0), ("0F B1 0F", 0),
    ("0F B1 D9", 0), ("0F B0 07", 0), ("0F C7 0F", 0), ("0F 44 C3", 0), ("0F 4F 07", 0),
    ("0F 42 1E", 0), ("66 0F 45 C1", 0),
    # control flow that stays in the sequence
    ("74 00", 0), ("E3 00", 0), ("E2 00", 0), ("EB 00", 0), ("E9 00 00 00 00", 0), ("0F 85 00 00 00 00", 0),
]
UREGS = [U.UC_X86_REG_EAX, U.UC_X86_REG_ECX, U.UC_X86_REG_EDX, U.UC_X86_REG_EBX,
         U.UC_X86_REG_ESP, U.UC_X86_REG_EBP, U.UC_X86_REG_ESI, U.UC_X86_REG_EDI]
NAMES = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")


def desc(base, limit, access, flags):
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF, access,
                       ((limit >> 16) & 0xF) | (flags << 4), base >> 24)


def gate(off, sel, typ=0x8E):
    return struct.pack("<HHBBH", off & 0xFFFF, sel, 0, typ, off >> 16)


def assemble(enc, rng):
    return bytes(rng.randrange(256) if t == "#" else int(t, 16) for t in enc.split())


def image(rng, code, paging, user, bad_pages):
    """The memory both emulators start from: tables, handlers, code, random data."""
    m = bytearray(rng.randbytes(MEMSIZE))
    m[:DATA] = bytes(DATA)
    gdt = (bytes(8) + desc(0, 0xFFFFF, 0x9B, 0xC) + desc(0, 0xFFFFF, 0x93, 0xC)
           + desc(0, 0xFFFFF, 0xFB, 0xC) + desc(0, 0xFFFFF, 0xF3, 0xC) + desc(TSS, 0x67, 0x89, 0))
    m[GDT:GDT + len(gdt)] = gdt
    for v in range(32):                          # vector v: HLT at HANDLERS + 16 v
        m[IDT + 8 * v:IDT + 8 * v + 8] = gate(HANDLERS + 16 * v, 0x08)
        m[HANDLERS + 16 * v] = 0xF4
    m[TSS + 4:TSS + 12] = struct.pack("<II", KSTACK, 0x10)     # ESP0, SS0
    if paging:
        m[PD:PD + 4096] = bytes(4096)
        m[PD:PD + 4] = struct.pack("<I", PT | 7)
        for i in range(1024):
            e = (i << 12) | 7
            if i << 12 in bad_pages:
                e &= ~bad_pages[i << 12]
            m[PT + 4 * i:PT + 4 * i + 4] = struct.pack("<I", e)
    if user:                                     # IRETD to CPL 3 (SS:ESP, EFLAGS, CS:EIP pushed)
        pro = bytes.fromhex("6A 23 68") + struct.pack("<I", USTACK) + bytes.fromhex("9C 6A 1B 68") \
            + struct.pack("<I", CODE + 0x100) + b"\xCF"
        m[CODE:CODE + len(pro)] = pro
        m[CODE + 0x100:CODE + 0x100 + len(code)] = code
    else:
        m[CODE:CODE + len(code)] = code
    return m


class Pair:
    def __init__(self):
        self.cpu = X86(model="p6")
        self.mem = flat_memory(22, X86.page_bits, space_bits=X86.address_bits)

    def _intr(self, uc, intno, data):
        if self.uc_vector is None:               # the instruction's own exception (the first)
            self.uc_vector = intno
            self.uc_cr2 = uc.reg_read(U.UC_X86_REG_CR2)
        uc.emu_stop()

    def setup(self, rng, code, paging, user, bad_pages):
        m = image(rng, code, paging, user, bad_pages)
        self.mem[0][:] = np.frombuffer(bytes(m), dtype=np.uint8)
        # a fresh Unicorn each time: its segment caches, CPL and TLB would outlive a case
        uc = self.uc = Uc(UC_ARCH_X86, UC_MODE_32)
        uc.mem_map(0, MEMSIZE)
        uc.hook_add(UC_HOOK_INTR, self._intr)
        uc.mem_write(0, bytes(m))
        regs = [rng.getrandbits(32), rng.randrange(1, 40), rng.getrandbits(32),
                DATA + rng.randrange(0xF0000), KSTACK - 0x100, DATA + rng.randrange(0xF0000),
                DATA + rng.randrange(0xF0000), DATA + rng.randrange(0xF0000)]
        flags = 0x0002 | (rng.getrandbits(12) & 0x8D5)
        self.uc_vector = None
        # ours: flat protected mode as a loader leaves it (caches loaded from the GDT)
        c = self.cpu
        c.reset()
        s = c.state
        c.set_registers(**dict(zip(NAMES, regs)), eip=CODE, eflags=flags)
        s[cpu.CR0] |= cpu.PE | (cpu.PG if paging else 0)
        s[cpu.CR3] = PD
        s[cpu.GDTB], s[cpu.GDTL] = GDT, 6 * 8 - 1
        s[cpu.IDTB], s[cpu.IDTL] = IDT, 32 * 8 - 1
        for i in range(6):                       # (user: data segments of DPL 3, as IRETD keeps them)
            sel, attr = (0x08, 0xC9B) if i == cpu.CS else (0x10, 0xC93)
            if user and i not in (cpu.CS, cpu.SS):
                sel, attr = 0x23, 0xCF3
            s[cpu.SEL + i], s[cpu.BASE + i], s[cpu.LIMIT + i], s[cpu.ATTR + i] = sel, 0, 0xFFFFFFFF, attr
        s[cpu.CSD] = s[cpu.SSB] = 1
        s[cpu.CPL] = 0
        s[cpu.TR], s[cpu.TRB], s[cpu.TRL], s[cpu.TRA] = 0x28, TSS, 0x67, 0x8B
        # Unicorn
        uc.reg_write(U.UC_X86_REG_GDTR, (0, GDT, 6 * 8 - 1, 0))
        uc.reg_write(U.UC_X86_REG_IDTR, (0, IDT, 32 * 8 - 1, 0))
        uc.reg_write(U.UC_X86_REG_CR3, PD)
        uc.reg_write(U.UC_X86_REG_CR0, 0x11 | (0x80000000 if paging else 0))
        for r, v in zip(UREGS, regs):
            uc.reg_write(r, v)
        uc.reg_write(U.UC_X86_REG_EIP, CODE)
        uc.reg_write(U.UC_X86_REG_EFLAGS, flags)
        if user:
            for r in (U.UC_X86_REG_DS, U.UC_X86_REG_ES, U.UC_X86_REG_FS, U.UC_X86_REG_GS):
                uc.reg_write(r, 0x23)                                 # run the IRETD prologue on both
            for _ in range(6):
                self.step_uc()
                self.step_ours()

    def step_uc(self):
        uc = self.uc
        ip = uc.reg_read(U.UC_X86_REG_EIP)
        for _ in range(1 << 12):                 # QEMU counts every REP iteration
            uc.emu_start(uc.reg_read(U.UC_X86_REG_EIP), 0xFFFFFFFF, count=1)
            if self.uc_vector is not None or uc.reg_read(U.UC_X86_REG_EIP) != ip:
                break

    def step_ours(self):
        c = self.cpu
        n = c.state[abi.S_INSNS]
        for _ in range(1 << 12):
            r = c.execute(self.mem, 1)
            assert r == abi.EXIT_BUDGET, abi.EXIT_NAMES[r]
            if c.state[abi.S_INSNS] != n or c.state[cpu.SWINT]:
                break

    def vector(self):
        """The vector our core delivered (its EIP sits on that vector's HLT), or None."""
        eip = self.cpu.get_registers()["eip"]
        if HANDLERS <= eip < HANDLERS + 32 * 16:
            return (eip - HANDLERS) // 16
        return None

    def compare(self, undef):
        uc, r = self.uc, self.cpu.get_registers()
        bad = [f"{n}={r[n]:08x} want {uc.reg_read(u):08x}" for n, u in zip(NAMES, UREGS)
               if r[n] != uc.reg_read(u)]
        if r["eip"] != uc.reg_read(U.UC_X86_REG_EIP):
            bad.append(f"eip={r['eip']:x} want {uc.reg_read(U.UC_X86_REG_EIP):x}")
        uf = uc.reg_read(U.UC_X86_REG_EFLAGS)
        m = 0xFD5 & ~undef
        if (r["eflags"] & m) != (uf & m):
            bad.append(f"flags={r['eflags']:04x} want {uf:04x} (mask {m:03x})")
        self.cpu.state[cpu.FLAGS] = (int(self.cpu.state[cpu.FLAGS]) & ~undef) | (uf & undef)
        return bad

    def compare_memory(self):
        ours = self.mem[0][DATA:DATA + (1 << 20)]
        theirs = np.frombuffer(self.uc.mem_read(DATA, 1 << 20), dtype=np.uint8)
        diff = np.nonzero(ours != theirs)[0]
        return [f"mem[{DATA + a:06x}]={ours[a]:02x} want {theirs[a]:02x}" for a in diff[:4]]


@pytest.fixture(scope="module")
def pair():
    return Pair()


def run_case(pair, seed, paging, user, twice=False):
    rng = random.Random(seed * 4 + paging * 2 + user)
    picks = [rng.choice(ENC) for _ in range(rng.randrange(1, 5))]
    codes = [assemble(e, rng) for e, _ in picks]
    if twice:                   # the second pass finds its pages in the TLB (the fast path)
        picks, codes = picks * 2, codes * 2
    # Every page is present, writable and user: Unicorn 2 misses some page faults of a
    # not-present or supervisor PTE (seen: an MOVSX read at CPL 3 on a not-present
    # page runs on) and raises #DF for others, so page faults are checked by the
    # CPU tester ROM (roms_test/cputest, group 5), whose expectations Bochs confirms.
    bad_pages = {}
    pair.setup(rng, b"".join(codes) + b"\x90" * 16, paging, user, bad_pages)
    for (enc, undef), code in zip(picks, codes):
        try:
            pair.step_uc()
        except unicorn.UcError:
            return "abandoned"      # a loaded register sent an address out of the map
        pair.step_ours()
        where = f"seed {seed} paging={paging} user={user}: {enc} ({code.hex()}) in {[p[0] for p in picks]}"
        if pair.uc_vector is None and pair.vector() == 14 and pair.cpu.get_registers()["cr2"] >= MEMSIZE:
            return "abandoned"      # a loaded register sent an address past the 4 MiB map
        if pair.uc_vector is not None:           # a fault: same vector and CR2, error code per the SDM
            v = pair.vector()
            if v != pair.uc_vector:
                return f"{where}: vector {v} want {pair.uc_vector}"
            if v == 14:
                cr2 = pair.cpu.get_registers()["cr2"]
                if cr2 != pair.uc_cr2:
                    return f"{where}: CR2 {cr2:x} want {pair.uc_cr2:x}"
                page = cr2 & ~0xFFF
                err = int(pair.cpu.state[cpu.ESP])
                err = int.from_bytes(pair.mem[0][err:err + 4].tobytes(), "little")
                cleared = bad_pages.get(page, 0)
                want_p = 0 if cleared == 1 else 1
                if (err & 1) != want_p or (err & 4) != (4 if user else 0):
                    return f"{where}: #PF error code {err:x} (page bits cleared {cleared})"
            return None
        bad = pair.compare(undef)
        if bad:
            return f"{where}: {', '.join(bad)}"
    bad = pair.compare_memory()
    return f"seed {seed}: {[p[0] for p in picks]}: {', '.join(bad)}" if bad else None


@pytest.mark.parametrize("paging,user", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_pm_diff_sequences(pair, paging, user):
    results = [run_case(pair, s, paging, user) for s in range(150)]
    assert results.count("abandoned") < 30, "too few cases compared"
    fails = [f for f in results if f and f != "abandoned"]
    assert not fails, f"{len(fails)} failing: " + "; ".join(fails[:3])


@pytest.mark.parametrize("user", [0, 1])
def test_pm_diff_sequences_twice(pair, user):
    """Each sequence runs twice with paging on: the second pass hits the TLB entries
    the first one filled, so its memory operands take the fast path (fast32)."""
    results = [run_case(pair, s, 1, user, twice=True) for s in range(1000, 1150)]
    assert results.count("abandoned") < 30, "too few cases compared"
    fails = [f for f in results if f and f != "abandoned"]
    assert not fails, f"{len(fails)} failing: " + "; ".join(fails[:3])


@pytest.mark.parametrize("enc", [e for e, _ in ENC])
def test_pm_diff_each(pair, enc):
    """Every encoding alone at CPL 3 with paging on, 6 random states."""
    undef = dict(ENC)[enc]
    fails = []
    for k in range(6):
        rng = random.Random(zlib.crc32(enc.encode()) * 8 + k)
        code = assemble(enc, rng)
        pair.setup(rng, code + b"\x90" * 16, 1, 1, {})
        try:
            pair.step_uc()
        except unicorn.UcError:
            continue
        pair.step_ours()
        bad = pair.compare(undef) + pair.compare_memory()
        if bad:
            fails.append(f"{code.hex()}: {', '.join(bad)}")
    assert not fails, "; ".join(fails[:3])


@pytest.mark.slow
@pytest.mark.parametrize("paging,user", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_pm_diff_sequences_long(pair, paging, user):
    fails = [f for f in (run_case(pair, s, paging, user) for s in range(150, 2150)) if f and f != "abandoned"]
    assert not fails, f"{len(fails)} failing: " + "; ".join(fails[:3])
