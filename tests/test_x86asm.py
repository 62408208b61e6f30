"""emu.vmm.x86asm against NASM: every instruction form the translators use, over
registers, immediates (8-bit, sign-extended, full), and the addressing forms
(absolute, base, base + disp8/disp32, index*scale, esp/ebp bases), assembled by
both and compared byte for byte."""
import shutil
import subprocess

import pytest

from emu.vmm.x86asm import Asm, AsmError, byte, dword, mem, word

NASM = shutil.which("nasm")
MEMS = [({"disp": 0x1234}, "[0x1234]"), ({"disp": 0, "base": "eax"}, "[eax]"),
        ({"disp": 8, "base": "ecx"}, "[ecx+8]"), ({"disp": -4, "base": "edx"}, "[edx-4]"),
        ({"disp": 0x30000, "base": "ebx"}, "[ebx+0x30000]"), ({"base": "ebp"}, "[ebp]"),
        ({"base": "esp", "disp": 4}, "[esp+4]"), ({"disp": 0x50000, "index": "eax", "scale": 4}, "[0x50000+eax*4]"),
        ({"base": "esi", "index": "edi", "scale": 2, "disp": 3}, "[esi+edi*2+3]"),
        ({"base": "ebp", "index": "ecx"}, "[ebp+ecx]")]
SIZES = {1: ("byte", byte, ("al", "cl", "dh", "bh")), 2: ("word", word, ("ax", "cx", "si")),
         4: ("dword", dword, ("eax", "edx", "ebp", "edi"))}


def cases():
    out = []

    def add(fn, text):
        out.append((fn, text))
    for size, (kw, mk, regs) in SIZES.items():
        for m, mt in MEMS:
            mm = mk(**m)
            add(lambda a, mm=mm, r=regs[1]: a.mov(mm, r), f"mov {mt}, {regs[1]}")
            add(lambda a, mm=mm, r=regs[0]: a.mov(r, mm), f"mov {regs[0]}, {mt}")
            add(lambda a, mm=mm: a.mov(mm, 0x5A), f"mov {kw} {mt}, 0x5a")
            for op in ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"):
                add(lambda a, mm=mm, op=op, r=regs[-1]: getattr(a, op)(mm, r), f"{op} {mt}, {regs[-1]}")
                add(lambda a, mm=mm, op=op, r=regs[0]: getattr(a, op)(r, mm), f"{op} {regs[0]}, {mt}")
                add(lambda a, mm=mm, op=op: getattr(a, op)(mm, 3), f"{op} {kw} {mt}, 3")
                if size > 1:
                    add(lambda a, mm=mm, op=op: getattr(a, op)(mm, 0x1234), f"{op} {kw} {mt}, 0x1234")
                    add(lambda a, mm=mm, op=op: getattr(a, op)(mm, -2), f"{op} {kw} {mt}, -2")
            add(lambda a, mm=mm: a.test(mm, 0x21), f"test {kw} {mt}, 0x21")
            add(lambda a, mm=mm, r=regs[1]: a.test(mm, r), f"test {mt}, {regs[1]}")
            for op in ("rol", "ror", "rcl", "rcr", "shl", "shr", "sar"):
                add(lambda a, mm=mm, op=op: getattr(a, op)(mm), f"{op} {kw} {mt}, 1")
                add(lambda a, mm=mm, op=op: getattr(a, op)(mm, 3), f"{op} {kw} {mt}, 3")
                add(lambda a, mm=mm, op=op: getattr(a, op)(mm, "cl"), f"{op} {kw} {mt}, cl")
            for op in ("not", "neg", "inc", "dec"):
                add(lambda a, mm=mm, op=op: getattr(a, op)(mm), f"{op} {kw} {mt}")
            if size == 1:
                add(lambda a, mm=mm: a.setnz(mm), f"setnz {mt}")
            if size < 4:
                add(lambda a, mm=mm: a.movzx("eax", mm), f"movzx eax, {kw} {mt}")
                add(lambda a, mm=mm: a.movsx("ecx", mm), f"movsx ecx, {kw} {mt}")
            if size == 4:
                add(lambda a, mm=mm: a.lea("esi", mm), f"lea esi, {mt}")
                add(lambda a, mm=mm: a.jmp(mm), f"jmp dword {mt}")
                add(lambda a, mm=mm: a.push(mm), f"push dword {mt}")
                add(lambda a, mm=mm: a.bt(mm, 5), f"bt dword {mt}, 5")
        for r in regs:
            for s in regs:
                add(lambda a, r=r, s=s: a.mov(r, s), f"mov {r}, {s}")
                add(lambda a, r=r, s=s: a.xor(r, s), f"xor {r}, {s}")
                add(lambda a, r=r, s=s: a.xchg(r, s), f"xchg {r}, {s}")
            for imm in (1, 0x7F, 0x80, -1) + ((0x1234, 0xFFFF) if size > 1 else ()):
                add(lambda a, r=r, i=imm: a.mov(r, i), f"mov {r}, {imm}")
                for op in ("add", "and", "cmp", "sub"):
                    add(lambda a, r=r, i=imm, op=op: getattr(a, op)(r, i), f"{op} {r}, {imm}")
                add(lambda a, r=r, i=imm: a.test(r, i), f"test {r}, {imm}")
            add(lambda a, r=r: a.inc(r), f"inc {r}")
            add(lambda a, r=r: a.dec(r), f"dec {r}")
            add(lambda a, r=r: a.neg(r), f"neg {r}")
            add(lambda a, r=r: a.shl(r, 2), f"shl {r}, 2")
    for r in ("eax", "ebx", "esi"):
        add(lambda a, r=r: a.push(r), f"push {r}")
        add(lambda a, r=r: a.pop(r), f"pop {r}")
        add(lambda a, r=r: a.jmp(r), f"jmp {r}")
        add(lambda a, r=r: a.movzx(r, "al"), f"movzx {r}, al")
        add(lambda a, r=r: a.movzx(r, "dx"), f"movzx {r}, dx")
    for name in ("lahf", "sahf", "ret", "nop", "clc", "stc", "cmc", "hlt", "cdq"):
        add(lambda a, n=name: getattr(a, n)(), name)
    for cc in ("o", "no", "c", "nc", "z", "nz", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"):
        add(lambda a, cc=cc: a.setcc(cc, "cl"), f"set{cc} cl")
    add(lambda a: a.out(0xE1), "out 0xe1, al")
    add(lambda a: a.push(0x12345678), "push dword 0x12345678")
    return out


@pytest.mark.skipif(NASM is None, reason="nasm not installed")
def test_encodings_match_nasm(tmp_path):
    cs = cases()
    src = tmp_path / "t.asm"
    src.write_text("bits 32\n" + "".join(f"{t}\n" for _, t in cs))
    subprocess.run([NASM, "-f", "bin", "-O1", "-o", str(tmp_path / "t.bin"), str(src)], check=True)
    want = (tmp_path / "t.bin").read_bytes()
    got, bad = b"", []
    for fn, text in cs:
        a = Asm()
        fn(a)
        c = a.code()
        if want[len(got):len(got) + len(c)] != c:
            # re-assemble this one alone for a readable report
            one = tmp_path / "one.asm"
            one.write_text(f"bits 32\n{text}\n")
            subprocess.run([NASM, "-f", "bin", "-O1", "-o", str(tmp_path / "one.bin"), str(one)], check=True)
            bad.append(f"{text}: {c.hex()} want {(tmp_path / 'one.bin').read_bytes().hex()}")
            break
        got += c
    assert not bad, bad[0]
    assert got == want


@pytest.mark.skipif(NASM is None, reason="nasm not installed")
def test_jumps_and_labels_match_nasm(tmp_path):
    a = Asm(origin=0x100000)
    top = a.label()
    a.jcc("nz", top)
    fwd = a.label(bind=False)
    a.jmp(fwd)
    a.call(0x90000)
    a.jcc("le", 0x90010)
    a.bind(fwd)
    a.nop()
    src = tmp_path / "j.asm"
    src.write_text("bits 32\norg 0x100000\ntop: jnz near top\njmp near fwd\ncall 0x90000\n"
                   "jle near 0x90010\nfwd: nop\n")
    subprocess.run([NASM, "-f", "bin", "-o", str(tmp_path / "j.bin"), str(src)], check=True)
    assert a.code() == (tmp_path / "j.bin").read_bytes()


def test_bad_operands_are_one_line_errors():
    a = Asm()
    with pytest.raises(AsmError):
        a.mov(mem(0), 1)                       # size unknown
    with pytest.raises(AsmError):
        a.mov("eax", "bl")
    with pytest.raises(AsmError):
        mem(0, index="esp")
    with pytest.raises(AsmError):
        a.mov(byte(0), byte(1))
