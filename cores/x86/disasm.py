"""x86 disassembler (Intel syntax, 16-bit code, or 32-bit code with ``code32``; 386
prefixes 66/67, FS/GS and the common 0F opcodes):
``disassemble(read, addr, model, code32=False) -> (text, length)``.
``read(a)`` gives the byte at linear address ``a``."""
from __future__ import annotations

R8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"]
R16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"]
R32 = ["e" + r for r in R16]
SR = ["es", "cs", "ss", "ds", "fs", "gs", "?", "?"]
EA16 = ["bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bp", "bx"]
ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]
SHF = ["rol", "ror", "rcl", "rcr", "shl", "shr", "setmo", "sar"]
CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]
G3 = ["test", "test", "not", "neg", "mul", "imul", "div", "idiv"]
G5 = ["inc", "dec", "call", "call far", "jmp", "jmp far", "push", "push"]
SIMPLE = {0x27: "daa", 0x2F: "das", 0x37: "aaa", 0x3F: "aas", 0x90: "nop", 0x9B: "wait",
          0x9C: "pushf", 0x9D: "popf", 0x9E: "sahf", 0x9F: "lahf", 0xC3: "ret", 0xCB: "retf",
          0xCC: "int3", 0xCE: "into", 0xCF: "iret", 0xD6: "salc", 0xD7: "xlat", 0xF4: "hlt",
          0xF5: "cmc", 0xF8: "clc", 0xF9: "stc", 0xFA: "cli", 0xFB: "sti", 0xFC: "cld",
          0xFD: "std", 0xC9: "leave", 0x60: "pusha", 0x61: "popa"}
STR = {0xA4: "movs", 0xA6: "cmps", 0xAA: "stos", 0xAC: "lods", 0xAE: "scas", 0x6C: "ins", 0x6E: "outs"}


def _h(v, digits=4):
    return f"{v:0{digits}X}h"


def disassemble(read, addr: int, model: int = 0, code32: bool = False) -> tuple[str, int]:
    """``code32``: a 32-bit code segment (operand and address size 32 unless 66h/67h)."""
    pos = [addr]

    def byte():
        v = read(pos[0] & 0xFFFFFFFF)
        pos[0] += 1
        return v

    def word():
        lo = byte()
        return lo | byte() << 8

    def dword():
        lo = word()
        return lo | word() << 16

    seg, pre, osz, asz = None, [], code32, code32
    while True:
        op = byte()
        if op in (0x26, 0x2E, 0x36, 0x3E):
            seg = SR[(op >> 3) & 3]
        elif op in (0xF0, 0xF2, 0xF3):
            pre.append({0xF0: "lock", 0xF2: "repne", 0xF3: "rep"}[op])
        elif model >= 3 and op in (0x64, 0x65):
            seg = SR[op - 0x60]
        elif model >= 3 and op == 0x66:
            osz = not code32
        elif model >= 3 and op == 0x67:
            asz = not code32
        else:
            break
        if pos[0] - addr > 15:
            break
    RW = R32 if osz else R16
    imw = dword if osz else word

    def modrm(size):
        m = byte()
        mod, reg, rm = m >> 6, (m >> 3) & 7, m & 7
        if mod == 3:
            return reg, {1: R8, 2: R16, 4: R32}[size][rm] if size else R16[rm]
        if asz:
            if rm == 4:
                sib = byte()
                base = "" if (sib & 7) == 5 and mod == 0 else R32[sib & 7]
                idx = "" if ((sib >> 3) & 7) == 4 else f"{R32[(sib >> 3) & 7]}*{1 << (sib >> 6)}"
                ea = "+".join(x for x in (base, idx) if x)
                if (sib & 7) == 5 and mod == 0:
                    ea = (ea + "+" if ea else "") + _h(dword(), 8)
            elif rm == 5 and mod == 0:
                ea = _h(dword(), 8)
            else:
                ea = R32[rm]
            if mod == 1:
                d = byte()
                ea += f"{'-' if d & 0x80 else '+'}{_h(abs(d - 256 if d & 0x80 else d), 2)}"
            elif mod == 2:
                ea += "+" + _h(dword(), 8)
        elif mod == 0 and rm == 6:
            ea = _h(word())
        else:
            ea = EA16[rm]
            if mod == 1:
                d = byte()
                ea += f"{'-' if d & 0x80 else '+'}{_h(abs(d - 256 if d & 0x80 else d), 2)}"
            elif mod == 2:
                ea += "+" + _h(word())
        size_kw = {1: "byte ", 2: "word ", 4: "dword "}.get(size, "")
        return reg, f"{size_kw}[{seg + ':' if seg else ''}{ea}]"

    def rel(d, bits):
        if d >= 1 << (bits - 1):
            d -= 1 << bits
        return _h((pos[0] + d - 0) & 0xFFFF if not osz else pos[0] + d)

    text = _decode(op, byte, word, dword, imw, modrm, rel, RW, model, osz, pos, addr, asz)
    if text is None:
        text = f"db {_h(op, 2)}"
        pos[0] = addr + 1 + len(pre) if False else pos[0]
    if pre:
        text = " ".join(pre) + " " + text
    return text, pos[0] - addr


def _decode(op, byte, word, dword, imw, modrm, rel, RW, model, osz, pos, addr, asz=False):
    W = 4 if osz else 2
    sfx = "d" if osz else "w"
    if op in SIMPLE and not (model == 0 and op in (0x60, 0x61, 0xC9)):
        return SIMPLE[op] + ("d" if osz and op in (0x60, 0x61, 0x9C, 0x9D, 0xCF) else "")
    if op < 0x40 and (op & 7) < 6:
        a = ALU[op >> 3]
        k = op & 7
        if k < 4:
            size = 1 if k % 2 == 0 else W
            reg, rm = modrm(size)
            r = (R8 if size == 1 else RW)[reg]
            return f"{a} {rm},{r}" if k < 2 else f"{a} {r},{rm}"
        return f"{a} al,{_h(byte(), 2)}" if k == 4 else f"{a} {RW[0]},{_h(imw())}"
    if op < 0x20 and (op & 7) in (6, 7):
        if op == 0x0F and model:
            return _decode_0f(byte, word, dword, imw, modrm, rel, RW, osz)
        return ("push " if (op & 7) == 6 else "pop ") + SR[op >> 3]
    if 0x40 <= op < 0x60:
        return ["inc", "dec", "push", "pop"][(op - 0x40) >> 3] + " " + RW[op & 7]
    if 0x70 <= op < 0x80 or (model == 0 and 0x60 <= op < 0x70):
        return f"j{CC[op & 15]} {rel(byte(), 8)}"
    if model and op in (0x68, 0x6A):
        return "push " + (_h(imw()) if op == 0x68 else _h(byte(), 2))
    if model and op in (0x69, 0x6B):
        reg, rm = modrm(W)
        return f"imul {RW[reg]},{rm},{_h(imw()) if op == 0x69 else _h(byte(), 2)}"
    if model and op == 0x62:
        reg, rm = modrm(W)
        return f"bound {RW[reg]},{rm}"
    if op in (0x80, 0x81, 0x82, 0x83):
        size = 1 if op in (0x80, 0x82) else W
        reg, rm = modrm(size)
        imm = _h(byte(), 2) if op != 0x81 else _h(imw())
        return f"{ALU[reg]} {rm},{imm}"
    if 0x84 <= op < 0x8C:
        size = 1 if op % 2 == 0 else W
        reg, rm = modrm(size)
        r = (R8 if size == 1 else RW)[reg]
        name = "test" if op < 0x86 else ("xchg" if op < 0x88 else "mov")
        return f"{name} {r},{rm}" if op in (0x8A, 0x8B) else f"{name} {rm},{r}"
    if op in (0x8C, 0x8E):
        reg, rm = modrm(2)
        return f"mov {rm},{SR[reg]}" if op == 0x8C else f"mov {SR[reg]},{rm}"
    if op == 0x8D:
        reg, rm = modrm(0)
        return f"lea {RW[reg]},{rm}"
    if op == 0x8F:
        return "pop " + modrm(W)[1]
    if 0x91 <= op < 0x98:
        return f"xchg {RW[0]},{RW[op & 7]}"
    if op == 0x98:
        return "cwde" if osz else "cbw"
    if op == 0x99:
        return "cdq" if osz else "cwd"
    if op in (0x9A, 0xEA):
        off = imw()
        return f"{'call' if op == 0x9A else 'jmp'} far {_h(word())}:{_h(off)}"
    if 0xA0 <= op < 0xA4:
        a = _h(dword(), 8) if asz else _h(word())
        r = "al" if op % 2 == 0 else RW[0]
        return f"mov {r},[{a}]" if op < 0xA2 else f"mov [{a}],{r}"
    if (op & 0xFE) in STR:
        return STR[op & 0xFE] + ("b" if op % 2 == 0 else sfx)
    if op == 0xA8:
        return f"test al,{_h(byte(), 2)}"
    if op == 0xA9:
        return f"test {RW[0]},{_h(imw())}"
    if 0xB0 <= op < 0xB8:
        return f"mov {R8[op & 7]},{_h(byte(), 2)}"
    if 0xB8 <= op < 0xC0:
        return f"mov {RW[op & 7]},{_h(imw())}"
    if op in (0xC2, 0xCA) or (model == 0 and op in (0xC0, 0xC8)):
        return ("ret " if op in (0xC0, 0xC2) else "retf ") + _h(word())
    if model == 0 and op in (0xC1, 0xC9):
        return "ret" if op == 0xC1 else "retf"
    if op in (0xC4, 0xC5):
        reg, rm = modrm(0)
        return f"{'les' if op == 0xC4 else 'lds'} {RW[reg]},{rm}"
    if op in (0xC6, 0xC7):
        size = 1 if op == 0xC6 else W
        _, rm = modrm(size)
        return f"mov {rm},{_h(byte(), 2) if size == 1 else _h(imw())}"
    if op == 0xC8:
        size = word()
        return f"enter {_h(size)},{_h(byte(), 2)}"
    if op == 0xCD:
        return f"int {_h(byte(), 2)}"
    if op in (0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3):
        size = 1 if op % 2 == 0 else W
        reg, rm = modrm(size)
        cnt = _h(byte(), 2) if op < 0xC2 else ("1" if op < 0xD2 else "cl")
        return f"{SHF[reg] if model == 0 or reg != 6 else 'sal'} {rm},{cnt}"
    if op in (0xD4, 0xD5):
        return f"{'aam' if op == 0xD4 else 'aad'} {_h(byte(), 2)}"
    if 0xD8 <= op < 0xE0:
        _, rm = modrm(0)
        return f"esc {op & 7},{rm}"
    if 0xE0 <= op < 0xE4:
        return f"{['loopne', 'loope', 'loop', 'jcxz'][op & 3]} {rel(byte(), 8)}"
    if op in (0xE4, 0xE5, 0xE6, 0xE7):
        p = _h(byte(), 2)
        r = "al" if op % 2 == 0 else RW[0]
        return f"in {r},{p}" if op < 0xE6 else f"out {p},{r}"
    if op in (0xEC, 0xED, 0xEE, 0xEF):
        r = "al" if op % 2 == 0 else RW[0]
        return f"in {r},dx" if op < 0xEE else f"out dx,{r}"
    if op in (0xE8, 0xE9):
        d = imw()
        return f"{'call' if op == 0xE8 else 'jmp'} {rel(d, 32 if osz else 16)}"
    if op == 0xEB:
        return f"jmp short {rel(byte(), 8)}"
    if op in (0xF6, 0xF7):
        size = 1 if op == 0xF6 else W
        reg, rm = modrm(size)
        if reg < 2:
            return f"test {rm},{_h(byte(), 2) if size == 1 else _h(imw())}"
        return f"{G3[reg]} {rm}"
    if op in (0xFE, 0xFF):
        size = 1 if op == 0xFE else W
        reg, rm = modrm(size)
        return f"{G5[reg]} {rm}"
    return None


def _decode_0f(byte, word, dword, imw, modrm, rel, RW, osz):
    W = 4 if osz else 2
    op = byte()
    if 0x80 <= op < 0x90:
        return f"j{CC[op & 15]} {rel(imw(), 32 if osz else 16)}"
    if 0x90 <= op < 0xA0:
        return f"set{CC[op & 15]} {modrm(1)[1]}"
    if op in (0xA0, 0xA1, 0xA8, 0xA9):
        return ("push " if op in (0xA0, 0xA8) else "pop ") + ("fs" if op < 0xA8 else "gs")
    if op in (0xB6, 0xB7, 0xBE, 0xBF):
        reg, rm = modrm(1 if op % 2 == 0 else 2)
        return f"{'movzx' if op < 0xB8 else 'movsx'} {RW[reg]},{rm}"
    if op in (0xA3, 0xAB, 0xB3, 0xBB, 0xAF, 0xBC, 0xBD):
        reg, rm = modrm(W)
        name = {0xA3: "bt", 0xAB: "bts", 0xB3: "btr", 0xBB: "btc", 0xAF: "imul", 0xBC: "bsf", 0xBD: "bsr"}[op]
        return f"{name} {RW[reg]},{rm}" if op in (0xAF, 0xBC, 0xBD) else f"{name} {rm},{RW[reg]}"
    if op == 0xBA:
        reg, rm = modrm(W)
        return f"{['?', '?', '?', '?', 'bt', 'bts', 'btr', 'btc'][reg]} {rm},{_h(byte(), 2)}"
    if op in (0xA4, 0xA5, 0xAC, 0xAD):
        reg, rm = modrm(W)
        cnt = _h(byte(), 2) if op in (0xA4, 0xAC) else "cl"
        return f"{'shld' if op < 0xAC else 'shrd'} {rm},{RW[reg]},{cnt}"
    if op in (0xB2, 0xB4, 0xB5):
        reg, rm = modrm(0)
        return f"{ {0xB2: 'lss', 0xB4: 'lfs', 0xB5: 'lgs'}[op]} {RW[reg]},{rm}"
    if op in (0x20, 0x22):
        m = byte()
        cr, r = f"cr{(m >> 3) & 7}", R32[m & 7]
        return f"mov {r},{cr}" if op == 0x20 else f"mov {cr},{r}"
    if op == 0x06:
        return "clts"
    simple = {0x0B: "ud2", 0x08: "invd", 0x09: "wbinvd", 0x30: "wrmsr", 0x31: "rdtsc", 0x32: "rdmsr",
              0x33: "rdpmc", 0x34: "sysenter", 0x35: "sysexit", 0xA2: "cpuid", 0xAA: "rsm"}
    if op in simple:
        return simple[op]
    if op == 0x01:
        reg, rm = modrm(0)
        return f"{['sgdt', 'sidt', 'lgdt', 'lidt', 'smsw', '?', 'lmsw', 'invlpg'][reg]} {rm}"
    return f"db 0Fh,{_h(op, 2)}"
