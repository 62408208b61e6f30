"""x86 disassembler: lengths agree with every instruction of the 8086 vectors
(their ``bytes`` are exactly one instruction with its prefixes), and a few
hand-checked texts."""
import gzip
import json

import pytest

from cores.x86.disasm import disassemble

from .conftest import VECTORS

VDIR = VECTORS / "8086"


def dis(code, model=0):
    return disassemble(lambda a: code[a] if a < len(code) else 0x90, 0, model)


@pytest.mark.parametrize("code,model,text", [
    (b"\x01\xd8", 0, "add ax,bx"),
    (b"\x8b\x46\xfe", 0, "mov ax,word [bp-02h]"),
    (b"\xf3\xa5", 0, "rep movsw"),
    (b"\x66\xb8\x78\x56\x34\x12", 3, "mov eax,12345678h"),
    (b"\x0f\xb6\xc3", 3, "movzx ax,bl"),
    (b"\x67\x8b\x04\x73", 3, "mov ax,word [ebx+esi*2]"),
    (b"\xcd\x21", 0, "int 21h"),
])
def test_texts(code, model, text):
    t, n = dis(code, model)
    assert (t, n) == (text, len(code))


@pytest.mark.skipif(not VDIR.exists(), reason=f"8086 vectors not found in {VDIR}")
def test_lengths_match_vectors():
    bad = []
    for f in sorted(p for p in VDIR.glob("*.json.gz") if not p.name.startswith("metadata")):
        for t in json.load(gzip.open(f))[:20]:
            code = bytes(t["bytes"])
            text, n = dis(code)
            if n != len(code):
                bad.append(f"{code.hex()} ({t['name']}): {text} len {n}")
    assert not bad, f"{len(bad)} wrong: " + "; ".join(bad[:5])


def test_the_core_disassembles_as_its_code_segment_decodes():
    """The debugger's and trace's disassembly follows CS.D: 16-bit, then 32-bit code."""
    from cores.x86 import X86, cpu
    c = X86(model="p6")
    b = bytes.fromhex("B8 78 56 34 12 0F 0B 0F A2")
    r = lambda a: b[a] if a < len(b) else 0           # noqa: E731
    assert c.disassemble(r, 0) == ("mov ax,5678h", 3)
    c.state[cpu.CSD] = 1
    assert c.disassemble(r, 0) == ("mov eax,12345678h", 5)
    assert c.disassemble(r, 5) == ("ud2", 2) and c.disassemble(r, 7) == ("cpuid", 2)
