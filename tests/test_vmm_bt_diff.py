"""Mode bt for x86 guests against the bare x86 core: generated kernel-mode (CPL 0)
instruction sequences, sensitive ones among them, run from the same state on a
``pc`` VM under ``emulate`` (the guest's own CPU: the reference) and under ``bt``
(translated, on the default host CPU at ring 1); the guest-visible result must be
the same: registers, flags, selectors, memory, and which exception was taken where.

The guest is put straight into 32-bit protected mode (flat segments, paging off or
on with an identity map, a GDT, an IDT whose handlers record the vector and the
faulting EIP and halt), the sequence ends in HLT, interrupts stay off.  Also here:
self-modifying code, and a guest that tries to read and write the translation
cache's linear addresses.
"""
import random
import struct

import pytest

from emu.vmm.spec import load_vm
from emu.vmm.vmm import VMM

try:
    from cores.x86 import cpu as X
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)

from emu.vmm.shadow import desc, gate
from tests.test_vmm import VMS

GDT, IDT, HANDLERS, TSS, PD, PT = 0x1000, 0x2000, 0x3000, 0x5000, 0x6000, 0x7000
CODE, DATA, STACK, RESULT = 0x10000, 0x20000, 0x30000, 0x2F000
NVEC = 48

# (bytes, note) in 32-bit code, interrupts off; "#" bytes are random; registers point
# into DATA (EBX, ESI, EDI) or are random
ENC = [
    "01 D8", "03 03", "29 3E", "31 C3", "39 D0", "11 C8", "19 D1", "81 C1 # # # #", "83 E8 #",
    "85 C2", "87 D9", "87 1E", "89 07", "8B 5F #", "89 44 24 #", "8B 44 24 #", "8D 44 9E #", "40", "4B",
    "50", "5A", "91", "98", "99", "B8 # # # #", "C7 07 # # # #", "C6 46 # #", "F7 D0", "F7 DB",
    "FF 07", "FF 4F #", "FF 37", "8F 07", "0F B6 07", "0F BE C9", "0F 94 07", "0F 9F C1",
    "66 01 D8", "66 8B 07", "66 89 07", "A5", "AB", "AD", "B9 05 00 00 00 F3 AB", "0F C8", "0F 44 C3",
    "C1 E3 #", "D1 E0", "D1 3F", "8C D8", "8C C0", "1E", "06", "0F A0", "60", "61",
    # sensitive: what the guest kernel sees must be its own
    "9C", "9C 58", "9C 9D", "FA", "FB FA", "FB 9C", "FB 9C 5A FA", "0F 20 C0", "0F 20 D8", "0F 01 07", "0F 01 0F", "0F 01 E0",
    "0F 00 C8", "0F 00 C0", "0E", "16", "8C C8", "8C D0", "B8 10 00 00 00 0F 03 C0",
    "B8 08 00 00 00 0F 02 D0", "0F 20 E0", "66 8C CA", "0F A2",
    # segment loads (native behind the VMM's selector table, else emulated): the guest's
    # own, a ring-compression case (RPL 1 on DPL 0: #GP on the bare CPU), the TSS, beyond
    # the GDT's limit, and the selectors of the VMM's own descriptors in the shadow GDT
    "1E 1F", "06 07", "0F A0 0F A1", "0F A8 0F A9", "B8 10 00 00 00 8E C0", "B8 20 00 00 00 8E D8",
    "B8 08 00 00 00 8E E0", "66 B8 10 00 8E D8", "8E 1F", "B8 13 00 00 00 8E D8",
    "B8 11 00 00 00 8E E0", "B8 28 00 00 00 8E D8", "B8 30 00 00 00 8E D8",
    "B8 40 00 00 00 8E D8", "B8 49 00 00 00 8E D8", "B8 00 00 00 00 8E E0",
    # branches
    "74 00", "75 02 90 90", "EB 00", "E9 00 00 00 00", "0F 85 00 00 00 00", "0F 84 01 00 00 00 90",
    "E3 00", "E2 00", "E8 01 00 00 00 CC 58", "E8 02 00 00 00 EB 01 C3", "78 03 40 EB 01 48",
    "8D 05 # # # # 90",
    "B9 03 00 00 00 E8 02 00 00 00 EB 02 40 C3 E2 F5",            # a loop calling f: RET hits
    "B9 03 00 00 00 68 # # # # E8 02 00 00 00 EB 04 40 C2 04 00 E2 EE",   # ... RET 4
    "B9 03 00 00 00 FA 9C FB 9C 58 5A E2 F8",                     # CLI PUSHF STI PUSHF in a loop
    "B9 03 00 00 00 E8 00 00 00 00 58 83 C0 08 FF D0 EB 02 40 C3 E2 EF",   # CALL EAX in a loop
    "E8 00 00 00 00 58 83 C0 07 FF E0 40",                        # JMP EAX
    "E8 00 00 00 00 83 04 24 0B FF 14 24 90 90 90 90 5A 5A",      # CALL [ESP]
    # faults
    "31 C9 F7 F1", "0F 0B", "66 B8 FF 00 8E D8", "CD 30", "8B 87 00 00 F0 7F", "F4",
]


def _gdt() -> bytes:
    return b"".join([bytes(8), desc(0, 0xFFFFF, 0x9B, 0xC), desc(0, 0xFFFFF, 0x93, 0xC),
                     desc(0, 0xFFFFF, 0xFB, 0xC), desc(0, 0xFFFFF, 0xF3, 0xC),
                     desc(TSS, 0x67, 0x8B, 0)])


def _handlers() -> bytes:
    # vector v: mov dword [RESULT], v+1; mov eax,[esp]... record the stacked words; hlt
    out = bytearray()
    for v in range(NVEC):
        h = bytearray(b"\xC7\x05" + struct.pack("<II", RESULT, v + 1))       # mov [RESULT], v+1
        h += b"\x8B\x0C\x24\x89\x0D" + struct.pack("<I", RESULT + 4)        # mov ecx,[esp]; mov [R+4],ecx
        h += b"\x8B\x4C\x24\x04\x89\x0D" + struct.pack("<I", RESULT + 8)    # mov ecx,[esp+4]; [R+8]
        h += b"\xF4"
        out += h.ljust(32, b"\x90")
    return bytes(out)


def _setup(vm, code: bytes, regs, paging: bool, data: bytes) -> None:
    m = vm.machine
    space = m.spaces[m.cpu.name]
    space.write_block(GDT, _gdt())
    space.write_block(IDT, b"".join(gate(HANDLERS + 32 * v, 8, 0x8E) for v in range(NVEC)))
    space.write_block(HANDLERS, _handlers())
    space.write_block(TSS, struct.pack("<III", 0, STACK, 0x10).ljust(0x68, b"\0"))
    space.write_block(DATA, data)
    space.write_block(STACK - 0x1000, bytes(0x1000))
    space.write_block(RESULT, bytes(16))
    space.write_block(CODE, code + b"\xF4")
    if paging:                                  # identity map of the low 4 MiB, kernel pages
        space.write_block(PD, struct.pack("<I", PT | 3) + bytes(4092))
        space.write_block(PT, b"".join(struct.pack("<I", (i << 12) | 3) for i in range(1024)))
    space.io_write(0x21, 0xFF, 1)               # every IRQ masked at the PICs: nothing interrupts
    space.io_write(0xA1, 0xFF, 1)
    s = m.cpu.state
    for i in range(6):
        sel = 0x08 if i == X.CS else 0x10
        s[X.SEL + i], s[X.BASE + i], s[X.LIMIT + i] = sel, 0, 0xFFFFFFFF
        s[X.ATTR + i] = 0xC9B if i == X.CS else 0xC93
    s[X.CPL], s[X.CSD], s[X.SSB] = 0, 1, 1
    s[X.GDTB], s[X.GDTL], s[X.IDTB], s[X.IDTL] = GDT, len(_gdt()) - 1, IDT, 8 * NVEC - 1
    s[X.TR], s[X.TRB], s[X.TRL], s[X.TRA] = 0x28, TSS, 0x67, 0x8B
    s[X.LDTR] = 0
    s[X.CR0] = 0x80000011 if paging else 0x11
    s[X.CR3] = PD if paging else 0
    s[X.CR4] = 0
    s[X.REG:X.REG + 8] = regs
    s[X.EIP], s[X.FLAGS], s[X.HALTED], s[X.INHIBIT] = CODE, 0x2, 0, 0
    s[X.TLBT:X.TLBT + X.TLBN] = -1


def _run(mode: str, code: bytes, regs, paging: bool, data: bytes, tc_pages=None, monkeypatch=None):
    if tc_pages is not None:
        from emu.vmm import bt_x86
        monkeypatch.setattr(bt_x86, "TC_PAGES", tc_pages)
    vmm = VMM(32 << 20)
    vm = vmm.add(load_vm(VMS / "pmos.yaml", {"mode": mode, "name": f"d-{mode}", "ram": "4M"}))
    vmm.step()                                          # (the first slice: the BIOS starts)
    _setup(vm, code, regs, paging, data)
    vm.mode.invalidate()
    s = vm.machine.cpu.state
    for _ in range(400):
        vmm.step()
        if s[X.HALTED]:
            break
    space = vm.machine.spaces[vm.machine.cpu.name]
    got = {"regs": [int(x) for x in s[X.REG:X.REG + 8]], "eip": int(s[X.EIP]),
           "flags": int(s[X.FLAGS]) & 0x3F7FD5, "sel": [int(x) for x in s[X.SEL:X.SEL + 6]],
           "cpl": int(s[X.CPL]), "halted": int(s[X.HALTED]),
           "result": space.read_block(RESULT, 16), "data": space.read_block(DATA, 0x1000),
           "stack": space.read_block(STACK - 0x400, 0x400)}
    mode_obj = vm.mode
    vmm.shutdown()
    return got, mode_obj


def _case(rng):
    seq = [rng.choice(ENC) for _ in range(rng.randrange(4, 14))]
    code = b"".join(bytes(rng.randrange(256) if t == "#" else int(t, 16) for t in e.split()) for e in seq)
    regs = [rng.getrandbits(32) for _ in range(8)]
    regs[3], regs[6], regs[7] = DATA + 0x100, DATA + 0x200, DATA + 0x300    # EBX ESI EDI
    regs[4] = STACK - 0x100
    regs[1] = rng.randrange(1, 8)                       # ECX: small counts (LOOP, REP)
    regs[5] = DATA + 0x400
    return seq, code, regs, rng.randbytes(0x1000)


@pytest.mark.parametrize("seed", range(6))
def test_generated_kernel_sequences_match_the_bare_cpu(seed):
    rng = random.Random(1000 + seed)
    for k in range(4):
        seq, code, regs, data = _case(rng)
        paging = bool((seed + k) & 1)
        ref, _ = _run("emulate", code, regs, paging, data)
        got, m = _run("bt", code, regs, paging, data)
        assert ref["halted"], seq
        for key in ref:
            assert got[key] == ref[key], (seq, key, paging)
        assert m.tc.stats["blocks"] > 0


REWRITTEN = [e for e in ENC if e.startswith(("B9 03", "E8", "9C", "FB", "1E", "06", "0F A0"))]


@pytest.mark.parametrize("paging", [False, True])
def test_each_rewritten_form_matches_the_bare_cpu(paging):
    """Every rewritten form (calls, returns and indirect branches through the return
    table, PUSHF, STI, loops hitting the table), one after another in one sequence."""
    rng = random.Random(7)
    code = b"".join(bytes(rng.randrange(256) if t == "#" else int(t, 16) for t in e.split())
                    for e in REWRITTEN)
    _, _, regs, data = _case(rng)
    ref, _ = _run("emulate", code, regs, paging, data)
    got, m = _run("bt", code, regs, paging, data)
    assert ref["halted"] and ref["eip"] == CODE + len(code) + 1        # (no fault: all of it ran)
    assert got == ref
    # each RET and CALL r/m site misses the table once; in the loops the later passes hit
    assert m.callouts["ret (not in the table)"] <= 4 and m.callouts["call r/m"] <= 2, m.callouts
    assert m.tc.stats["chained"] > 5


@pytest.mark.parametrize("seq", [
    ["1E 1F", "06 07", "0F A0 0F A1", "B8 10 00 00 00 8E C0", "B8 20 00 00 00 8E D8",
     "66 B8 10 00 8E D8", "B8 00 00 00 00 8E E0", "8C E2", "8C C3"],
    # DS changed natively, a callout (the VMM sees it), and back natively: the guest's
    # view must follow both
    ["B8 20 00 00 00 8E D8", "0F 20 C0", "B8 10 00 00 00 8E D8", "0F 20 C0", "8C DA"],
    # GS: the VMM's while the TC runs; the guest's in the virtual CPU block
    ["0F A8", "6A 20", "0F A9", "0F 20 C0", "8C EA", "0E", "16", "0F A8", "6A 10", "0F A9", "0F A8"],
    ["B8 11 00 00 00 8E E0"], ["B8 40 00 00 00 8E D8"], ["B8 49 00 00 00 8E D8"], ["6A 11 0F A9"]])
def test_segment_loads_match_the_bare_cpu(seq):
    """Loads the guest's tables allow run natively; RPL 1 on a DPL 0 segment (which ring
    compression would let through) and the VMM's own selectors fault as on bare."""
    code = bytes.fromhex(" ".join(seq))
    regs = [0, 0, 0, DATA, STACK - 0x100, 0, DATA, DATA]
    ref, _ = _run("emulate", code, regs, True, bytes(0x1000))
    got, m = _run("bt", code, regs, True, bytes(0x1000))
    assert got == ref
    if len(seq) > 1:
        assert ref["eip"] == CODE + len(code) + 1                  # (no fault)
        assert not {k for k in m.callouts if "segment" in k or "sreg" in k}, m.callouts   # native
    else:
        assert int.from_bytes(ref["result"][:4], "little") == 14      # #GP (vector 13)
        assert m.callouts["segment load (refused)"] + m.callouts["pop gs (refused)"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(60))
def test_generated_kernel_sequences_match_the_bare_cpu_many(seed):
    test_generated_kernel_sequences_match_the_bare_cpu(100 + seed)


def _smc_code() -> bytes:
    """Code that rewrites itself: a called function's immediate after its first call
    (its block was translated), and the very next instruction of the same block."""
    f = CODE + 40
    c = bytearray()
    c += b"\xB9\x02\x00\x00\x00"                               # 0  mov ecx, 2
    c += b"\x31\xDB"                                           # 5  xor ebx, ebx
    top = len(c)                                               # 7
    c += b"\xE8" + struct.pack("<i", f - (CODE + top + 5))     # 7  call f
    c += b"\xC6\x05" + struct.pack("<I", f + 1) + b"\x07"      # 12 mov byte [f+1], 7
    c += b"\x01\xC3"                                           # 19 add ebx, eax
    c += b"\xE2" + bytes([(top - (len(c) + 2)) & 0xFF])        # 21 loop top
    x = CODE + len(c) + 7
    c += b"\xC6\x05" + struct.pack("<I", x + 1) + b"\x42"      # 23 mov byte [x+1], 42h
    c += b"\xB0\x00"                                           # 30 mov al, 0 (becomes 42h)
    c += b"\xF4"                                               # 32 hlt
    c = c.ljust(40, b"\x90")
    c += b"\xB8\x01\x00\x00\x00\xC3"                           # 40 f: mov eax, 1; ret
    return bytes(c)


@pytest.mark.parametrize("paging", [False, True])
def test_self_modifying_code_is_seen(paging):
    code = _smc_code()
    regs = [0, 0, 0, 0, STACK - 0x100, 0, 0, 0]
    data = bytes(0x1000)
    ref, _ = _run("emulate", code, regs, paging, data)
    got, m = _run("bt", code, regs, paging, data)
    assert ref["regs"][3] == 8 and ref["regs"][0] & 0xFF == 0x42       # (1 + 7; the new byte)
    assert got == ref
    assert m.tc.stats["invalidations"] >= 2 and m.exits["smc"] >= 2


def test_a_tiny_cache_refills_unnoticed(monkeypatch):
    """A 1-page cache, flushed many times by a loop through many blocks."""
    c = bytearray(b"\xB9\x10\x00\x00\x00\x31\xC0")             # mov ecx, 16; xor eax, eax
    top = len(c)
    for k in range(1000):                                      # 1000 blocks: add eax, k; jmp next
        c += b"\x05" + struct.pack("<I", k) + b"\xEB\x00"
    c += b"\x49\x0F\x85" + struct.pack("<i", top - (len(c) + 7))   # dec ecx; jnz top
    regs = [0, 0, 0, 0, STACK - 0x100, 0, 0, 0]
    ref, _ = _run("emulate", bytes(c), regs, True, bytes(0x1000))
    got, m = _run("bt", bytes(c), regs, True, bytes(0x1000), tc_pages=1, monkeypatch=monkeypatch)
    assert ref["regs"][0] == 16 * sum(range(1000))
    assert got == ref
    assert m.tc.stats["flushes"] > 10, m.tc.stats


def test_the_guest_cannot_reach_the_translation_cache():
    """The guest maps its own page where the cache sits (linear TC_LIN, in the VMM's
    area), fills it and reads it back: it sees its own memory, as on the bare CPU;
    the cache holds none of what it wrote, and translated code goes on working."""
    from emu.vmm.bt_x86 import TC_LIN
    own = 0x40000
    code = bytearray()
    code += b"\xBF" + struct.pack("<I", TC_LIN)                 # mov edi, TC_LIN
    code += b"\xB9\x00\x04\x00\x00"                             # mov ecx, 1024
    code += b"\xB8\x5A\xA5\x5A\xA5"                             # mov eax, A55AA55Ah
    code += b"\xF3\xAB"                                         # rep stosd
    code += b"\x8B\x1D" + struct.pack("<I", TC_LIN + 0x10)      # mov ebx, [TC_LIN+10h]
    code += b"\xC7\x05" + struct.pack("<II", TC_LIN + 0x20, 0x12345678)   # mov dword [..], ..
    code += b"\x8B\x15" + struct.pack("<I", TC_LIN + 0x20)      # mov edx, [TC_LIN+20h]
    code += b"\x31\xC0\x40\x40"                                 # xor eax, eax; inc eax; inc eax
    regs = [0, 0, 0, 0, STACK - 0x100, 0, 0, 0]

    def run(mode):
        from emu.vmm import bt_x86
        vmm = VMM(32 << 20)
        vm = vmm.add(load_vm(VMS / "pmos.yaml", {"mode": mode, "name": f"r-{mode}", "ram": "4M"}))
        vmm.step()
        _setup(vm, bytes(code), regs, True, bytes(0x1000))
        space = vm.machine.spaces[vm.machine.cpu.name]
        # PDE 1023 -> a page table mapping TC_LIN's page to the guest's own frame
        pt2 = 0x8000
        space.write_block(PD + 4 * 1023, struct.pack("<I", pt2 | 3))
        space.write_block(pt2, bytes(4096))
        space.write_block(pt2 + 4 * ((TC_LIN >> 12) & 1023), struct.pack("<I", own | 3))
        vm.mode.invalidate()
        s = vm.machine.cpu.state
        for _ in range(400):
            vmm.step()
            if s[X.HALTED]:
                break
        res = ([int(x) for x in s[X.REG:X.REG + 8]], int(s[X.EIP]), space.read_block(own, 4096))
        tc = None
        if mode == "bt":
            m = vm.mode
            fr = m.vmm_frames
            tc = b"".join(bytes(m.hostmem.data[int(f) * 4096:(int(f) + 1) * 4096])
                          for f in fr[len(fr) - bt_x86.TC_PAGES:])
            assert m.tc.stats["blocks"] > 0
        vmm.shutdown()
        return res, tc

    ref, _ = run("emulate")
    got, tc = run("bt")
    assert ref[0][3] == 0xA55AA55A and ref[0][2] == 0x12345678 and ref[0][0] == 2
    assert got == ref
    assert b"\x5A\xA5\x5A\xA5" * 4 not in tc            # (the pattern is there once: copied code)
    assert tc.startswith(bytes(code[:10]))                  # the first block, copied, intact
