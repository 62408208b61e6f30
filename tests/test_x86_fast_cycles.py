"""The fast paths count an instruction's cycles as the general path does.

Which path runs an instruction depends on things the guest does not see (a TLB
entry, a dirty-logged page, MMIO elsewhere in the map): a 32-bit ``mov [mem], reg``
whose page is dirty-logged (emu.abi PAGE_LOGGED) leaves ``run32`` for ``execute``.
So the same code must take the same cycles either way.  Here each instruction of
a list covering ``run32``'s table (cores/x86/fast32.py FT32), memory and register
forms, runs once single-stepped on the fast path and once with the general path
forced (data breakpoints active, DR7 enabling none: ``run`` takes the inline paths
only with DBACT clear); the cycle count, EIP and registers after each must agree.
"""
import struct

from cores.x86 import bench, cpu
from cores.x86.disasm import disassemble
from emu import abi

DATA = 0x200000

# (bytes, comment); "@sub" / "@sub4" / "@next" are patched with absolute addresses
CODE = [
    ("89 07", "mov [edi],eax"), ("50", "push eax"), ("58", "pop eax"),   # (first uses of the
    # code, data and stack pages miss the TLB: the general path runs them on both runs)
    ("01 07", "add [edi],eax"), ("03 07", "add eax,[edi]"), ("39 07", "cmp [edi],eax"),
    ("3B 07", "cmp eax,[edi]"), ("01 C3", "add ebx,eax"), ("29 C3", "sub ebx,eax"),
    ("05 01 00 00 00", "add eax,1"), ("A8 01", "test al,1"),
    ("81 07 11 00 00 00", "add dword [edi],11h"), ("83 3F 05", "cmp dword [edi],5"),
    ("83 C3 01", "add ebx,1"), ("80 27 7F", "and byte [edi],7Fh"),
    ("85 07", "test [edi],eax"), ("85 C3", "test ebx,eax"),
    ("87 07", "xchg [edi],eax"), ("87 C2", "xchg edx,eax"), ("92", "xchg edx,eax"),
    ("89 07", "mov [edi],eax"), ("8B 07", "mov eax,[edi]"), ("88 47 01", "mov [edi+1],al"),
    ("89 04 9F", "mov [edi+ebx*4],eax"), ("8B C3", "mov eax,ebx"),
    ("C7 07 44 33 22 11", "mov dword [edi],11223344h"), ("C6 47 02 55", "mov byte [edi+2],55h"),
    ("A1 00 00 20 00", "mov eax,[200000h]"), ("A3 04 00 20 00", "mov [200004h],eax"),
    ("8D 47 04", "lea eax,[edi+4]"), ("40", "inc eax"), ("4A", "dec edx"),
    ("50", "push eax"), ("58", "pop eax"), ("68 78 56 34 12", "push 12345678h"), ("6A 05", "push 5"),
    ("5B", "pop ebx"), ("5B", "pop ebx"),
    ("69 07 03 00 00 00", "imul eax,[edi],3"), ("6B C0 03", "imul eax,eax,3"),
    ("0F AF 07", "imul eax,[edi]"), ("0F AF C3", "imul eax,ebx"),
    ("31 C0", "xor eax,eax"), ("74 00", "jz $+2 (taken)"), ("75 00", "jnz $+2 (not taken)"),
    ("0F 84 00 00 00 00", "jz $+6 (taken)"), ("0F 85 00 00 00 00", "jnz $+6 (not taken)"),
    ("B8 03 00 00 00", "mov eax,3"), ("B1 03", "mov cl,3"),
    ("C1 27 03", "shl dword [edi],3"), ("D1 27", "shl dword [edi],1"), ("D3 27", "shl dword [edi],cl"),
    ("D3 E0", "shl eax,cl"), ("C1 E8 02", "shr eax,2"), ("D0 C0", "rol al,1"),
    ("E8 @sub", "call sub"), ("6A 07", "push 7"), ("E8 @sub4", "call sub4 (ret 4)"),
    ("B9 02 00 00 00", "mov ecx,2"), ("E2 00", "loop $+2 (taken)"), ("E2 00", "loop $+2 (not taken)"),
    ("E3 00", "jecxz $+2 (taken)"), ("EB 00", "jmp $+2"), ("E9 00 00 00 00", "jmp $+5"),
    ("F7 17", "not dword [edi]"), ("F7 1F", "neg dword [edi]"), ("F7 07 01 00 00 00", "test dword [edi],1"),
    ("F6 D0", "not al"), ("F7 D8", "neg eax"), ("F6 C3 01", "test bl,1"),
    ("F8", "clc"), ("F9", "stc"), ("F5", "cmc"), ("FC", "cld"),
    ("FF 07", "inc dword [edi]"), ("FF 0F", "dec dword [edi]"), ("FE 07", "inc byte [edi]"),
    ("FF C0", "inc eax"), ("FF 37", "push dword [edi]"), ("5B", "pop ebx"),
    ("BE @sub", "mov esi,sub"), ("FF D6", "call esi"), ("89 37", "mov [edi],esi"), ("FF 17", "call [edi]"),
    ("BE @next", "mov esi,next"), ("FF E6", "jmp esi"),
    ("0F 44 07", "cmovz eax,[edi]"), ("0F 45 C3", "cmovnz eax,ebx"), ("0F 94 07", "setz [edi]"),
    ("0F 95 C0", "setnz al"), ("0F B6 07", "movzx eax,byte [edi]"), ("0F BF 07", "movsx eax,word [edi]"),
    ("0F B7 C3", "movzx eax,bx"), ("98", "cwde"), ("99", "cdq"), ("90", "nop"),
    ("EB FE", "stop: jmp $"),
]
SUBS = bytes.fromhex("C3 C2 04 00")          # sub: ret / sub4: ret 4


def program():
    """The code at bench.UCODE with its labels resolved: (image, instruction addresses)."""
    org = bench.UCODE
    size = sum(len(h.replace("@sub4", "00 00 00 00").replace("@sub", "00 00 00 00")
                   .replace("@next", "00 00 00 00").split()) for h, _ in CODE)
    sub = org + size
    out, addrs = bytearray(), []
    nxt = None
    for i, (h, _) in enumerate(CODE):
        at = org + len(out)
        addrs.append(at)
        parts = h.split()
        op = bytes.fromhex(parts[0])
        n = 1 + 4 if len(parts) == 2 and parts[1].startswith("@") else None
        if n:
            label = parts[1]
            if label == "@next":                   # the instruction after the JMP that follows
                nxt = at + 5 + 2
                val = nxt
            elif op[0] == 0xE8:
                val = (sub + (1 if label == "@sub4" else 0)) - (at + 5)
            else:
                val = sub
            out += op + struct.pack("<i" if op[0] == 0xE8 else "<I", val)
        else:
            out += bytes.fromhex(h)
    assert len(out) == size
    image = bytearray(bench._pm_image())
    image[org:org + size + len(SUBS)] = bytes(out) + SUBS
    return bytes(image), addrs


def trace(general: bool):
    """(EIP, cycles, registers) after each instruction, single-stepped to the stop."""
    image, addrs = program()
    x, mem = bench._pm_machine(image, bench.UCODE)
    s = x.state
    x.set_registers(eax=0x81, ebx=2, ecx=1000, edx=0, esi=0, edi=DATA)
    if general:
        s[cpu.DBACT] = 2                           # (no breakpoint enabled in DR7)
    stop = addrs[-1]
    out = []
    for _ in range(400):
        c0 = int(s[abi.S_CYCLES])
        at = int(s[cpu.EIP])
        r = x.execute(mem, 1)
        assert r == abi.EXIT_BUDGET, f"exit {r} at {at:X}"
        out.append((at, int(s[abi.S_CYCLES]) - c0, int(s[cpu.EIP]),
                    tuple(int(v) for v in s[cpu.REG:cpu.REG + 8]), int(s[cpu.FLAGS]) & 0x8D5))
        if int(s[cpu.EIP]) == stop:
            return out, bytes(mem[0][DATA:DATA + 64]), image
    raise AssertionError("the program did not reach its stop")


def test_fast_paths_take_the_general_paths_cycles():
    fast, fdata, image = trace(False)
    slow, sdata, _ = trace(True)
    rd = lambda a: image[a]                        # noqa: E731
    for f, g in zip(fast, slow):
        text = disassemble(rd, f[0], 6, True)[0]
        assert f[0] == g[0], f"paths went apart before {text} at {f[0]:X}"
        assert f[1] == g[1], f"{text} at {f[0]:X}: {f[1]} cycles on the fast path, {g[1]} on the general"
        assert f[2:] == g[2:], f"{text} at {f[0]:X}: different results"
    assert len(fast) == len(slow) and fdata == sdata
    assert len(fast) > len(CODE) - 8               # (every instruction ran: the calls add a few)
