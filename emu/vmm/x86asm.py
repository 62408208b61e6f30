"""A small table-driven x86 assembler for 32-bit code (the translators' emitter).

    a = Asm(origin=0x100000)
    a.mov(dword(0x2000), "eax")        # mov [0x2000], eax
    a.add("al", byte(0x2007))
    top = a.label()
    a.jcc("nz", top)                   # rel32 to a label (bound now or later)
    code = a.code()                    # bytes; labels resolved

Operands: a register name ("eax", "cx", "bl", ...), an ``int`` immediate, or a
memory operand ``mem(disp, base, index, scale, size)`` (``byte``/``word``/``dword``
give the size where no register names it).  Encodings follow the Intel SDM
vol. 2 (ModRM/SIB, table 2-2 and 2-3); where two encodings exist the choice is
the one NASM makes (the test assembles the same list with ``nasm`` and compares):
the accumulator short forms, an 8-bit sign-extended immediate where it fits,
``r/m, reg`` direction for register to register moves and ALU operations, the
shortest displacement.
"""
from __future__ import annotations

import struct

from ..errors import EmuError


class AsmError(EmuError):
    pass


REG32 = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
REG16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")
REG8 = ("al", "cl", "dl", "bl", "ah", "ch", "dh", "bh")
REGS = {**{r: (i, 4) for i, r in enumerate(REG32)}, **{r: (i, 2) for i, r in enumerate(REG16)},
        **{r: (i, 1) for i, r in enumerate(REG8)}}

ALU = {"add": 0, "or": 1, "adc": 2, "sbb": 3, "and": 4, "sub": 5, "xor": 6, "cmp": 7}
SHIFT = {"rol": 0, "ror": 1, "rcl": 2, "rcr": 3, "shl": 4, "shr": 5, "sar": 7}
UNARY = {"not": 2, "neg": 3, "mul": 4, "imul1": 5, "div": 6, "idiv": 7}
CC = {"o": 0, "no": 1, "b": 2, "c": 2, "nae": 2, "ae": 3, "nb": 3, "nc": 3, "e": 4, "z": 4,
      "ne": 5, "nz": 5, "be": 6, "na": 6, "a": 7, "nbe": 7, "s": 8, "ns": 9, "p": 10, "pe": 10,
      "np": 11, "po": 11, "l": 12, "nge": 12, "ge": 13, "nl": 13, "le": 14, "ng": 14, "g": 15,
      "nle": 15}
SIMPLE = {"lahf": b"\x9f", "sahf": b"\x9e", "ret": b"\xc3", "nop": b"\x90", "hlt": b"\xf4",
          "clc": b"\xf8", "stc": b"\xf9", "cmc": b"\xf5", "cli": b"\xfa", "sti": b"\xfb",
          "pushfd": b"\x9c", "popfd": b"\x9d", "cdq": b"\x99", "cwde": b"\x98"}


class Mem:
    """[base + index * scale + disp], ``size`` bytes (None: from the other operand)."""
    __slots__ = ("base", "disp", "index", "scale", "size")

    def __init__(self, disp=0, base=None, index=None, scale=1, size=None):
        if base is not None and REGS.get(base, (0, 0))[1] != 4:
            raise AsmError(f"x86asm: base {base!r} is not a 32-bit register")
        if index is not None and (REGS.get(index, (0, 0))[1] != 4 or index == "esp"):
            raise AsmError(f"x86asm: index {index!r} is not a 32-bit register other than esp")
        if scale not in (1, 2, 4, 8):
            raise AsmError(f"x86asm: scale {scale} (1, 2, 4 or 8)")
        self.disp, self.base, self.index, self.scale, self.size = disp, base, index, scale, size

    def __repr__(self):
        parts = [p for p in (self.base, f"{self.index}*{self.scale}" if self.index else None) if p]
        if self.disp or not parts:
            parts.append(hex(self.disp))
        return f"{({1: 'byte', 2: 'word', 4: 'dword'}.get(self.size, ''))} [{'+'.join(parts)}]".strip()


def mem(disp=0, base=None, index=None, scale=1, size=None) -> Mem:
    return Mem(disp, base, index, scale, size)


def byte(disp=0, base=None, index=None, scale=1) -> Mem:
    return Mem(disp, base, index, scale, 1)


def word(disp=0, base=None, index=None, scale=1) -> Mem:
    return Mem(disp, base, index, scale, 2)


def dword(disp=0, base=None, index=None, scale=1) -> Mem:
    return Mem(disp, base, index, scale, 4)


class Label:
    __slots__ = ("pos",)

    def __init__(self):
        self.pos = None


def _fits8(v: int) -> bool:
    return -128 <= v <= 127


def _signed(v: int, size: int) -> int:
    bits = 8 * size
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


class Asm:
    def __init__(self, origin: int = 0):
        self.origin = origin
        self.buf = bytearray()
        self.fixups = []             # (position of the rel32, Label or absolute target)

    # ---- output -------------------------------------------------------------------
    @property
    def here(self) -> int:
        """The address of the next byte."""
        return self.origin + len(self.buf)

    def label(self, bind: bool = True) -> Label:
        lab = Label()
        if bind:
            lab.pos = len(self.buf)
        return lab

    def bind(self, lab: Label) -> None:
        lab.pos = len(self.buf)

    def code(self) -> bytes:
        out = bytearray(self.buf)
        for pos, target in self.fixups:
            if isinstance(target, Label):
                if target.pos is None:
                    raise AsmError("x86asm: a jump to a label that was never bound")
                dest = self.origin + target.pos
            else:
                dest = target
            out[pos:pos + 4] = struct.pack("<i", _s32(dest - (self.origin + pos + 4)))
        return bytes(out)

    def raw(self, data: bytes) -> None:
        self.buf += data

    # ---- operand helpers --------------------------------------------------------------
    @staticmethod
    def _size(op) -> int | None:
        if isinstance(op, str):
            if op not in REGS:
                raise AsmError(f"x86asm: unknown register {op!r}")
            return REGS[op][1]
        if isinstance(op, Mem):
            return op.size
        return None

    def _modrm(self, reg: int, rm) -> bytes:
        """ModRM (+ SIB + displacement) for ``reg`` field and r/m operand ``rm``."""
        if isinstance(rm, str):
            return bytes([0xC0 | (reg << 3) | REGS[rm][0]])
        disp, base, index = rm.disp, rm.base, rm.index
        disp = _s32(disp)
        if base is None and index is None:                     # [disp32]
            return bytes([(reg << 3) | 5]) + struct.pack("<i", disp)
        if base is None:                                       # [index*s + disp32]
            sib = ({1: 0, 2: 1, 4: 2, 8: 3}[rm.scale] << 6) | (REGS[index][0] << 3) | 5
            return bytes([(reg << 3) | 4, sib]) + struct.pack("<i", disp)
        b = REGS[base][0]
        if disp == 0 and b != 5:
            mod, tail = 0, b""
        elif _fits8(disp):
            mod, tail = 1, struct.pack("<b", disp)
        else:
            mod, tail = 2, struct.pack("<i", disp)
        if index is None and b != 4:
            return bytes([(mod << 6) | (reg << 3) | b]) + tail
        sib = ({1: 0, 2: 1, 4: 2, 8: 3}[rm.scale] << 6) | ((REGS[index][0] if index else 4) << 3) | b
        return bytes([(mod << 6) | (reg << 3) | 4, sib]) + tail

    def _emit(self, opcode: bytes, reg: int, rm, size: int, imm: bytes = b"") -> None:
        pre = b"\x66" if size == 2 else b""
        self.buf += pre + opcode + self._modrm(reg, rm) + imm

    @staticmethod
    def _imm(v: int, size: int) -> bytes:
        return (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    def _opsize(self, a, b=None) -> int:
        sa, sb = self._size(a), self._size(b) if b is not None else None
        if sa and sb and sa != sb:
            raise AsmError(f"x86asm: operand sizes differ ({a!r}, {b!r})")
        s = sa or sb
        if s is None:
            raise AsmError(f"x86asm: operand size unknown ({a!r}, {b!r}): use byte/word/dword")
        return s

    # ---- instructions ------------------------------------------------------------------
    def mov(self, dst, src) -> None:
        size = self._opsize(dst, src if not isinstance(src, int) else None)
        w = 0 if size == 1 else 1
        if isinstance(src, int):
            if isinstance(dst, str):                           # B0+r / B8+r
                pre = b"\x66" if size == 2 else b""
                self.buf += pre + bytes([(0xB0 if size == 1 else 0xB8) + REGS[dst][0]]) + self._imm(src, size)
            else:
                self._emit(bytes([0xC6 | w]), 0, dst, size, self._imm(src, size))
        elif isinstance(src, str):
            if src in ("al", "ax", "eax") and self._moffs(dst):     # A2/A3 moffs
                self.buf += (b"\x66" if size == 2 else b"") + bytes([0xA2 | w]) + self._imm(dst.disp, 4)
                return
            self._emit(bytes([0x88 | w]), REGS[src][0], dst, size)
        elif isinstance(dst, str):
            if dst in ("al", "ax", "eax") and self._moffs(src):     # A0/A1 moffs
                self.buf += (b"\x66" if size == 2 else b"") + bytes([0xA0 | w]) + self._imm(src.disp, 4)
                return
            self._emit(bytes([0x8A | w]), REGS[dst][0], src, size)
        else:
            raise AsmError("x86asm: mov memory to memory")

    @staticmethod
    def _moffs(m) -> bool:
        return isinstance(m, Mem) and m.base is None and m.index is None

    def _movx(self, op: int, dst: str, src) -> None:
        sz = self._size(src)
        if sz not in (1, 2):
            raise AsmError(f"x86asm: movzx/movsx source {src!r} must be byte or word")
        dsz = REGS[dst][1]
        self._emit(bytes([0x0F, op | (sz == 2)]), REGS[dst][0], src, dsz)

    def movzx(self, dst: str, src) -> None:
        self._movx(0xB6, dst, src)

    def movsx(self, dst: str, src) -> None:
        self._movx(0xBE, dst, src)

    def alu(self, name: str, dst, src) -> None:
        n = ALU[name]
        if isinstance(src, int):
            size = self._opsize(dst)
            sv = _signed(src, size)
            if dst in ("al", "ax", "eax") and not (size > 1 and _fits8(sv)):
                pre = b"\x66" if size == 2 else b""
                self.buf += pre + bytes([(n << 3) | (4 if size == 1 else 5)]) + self._imm(src, size)
                return
            if size == 1:
                self._emit(b"\x80", n, dst, 1, self._imm(src, 1))
                return
            if _fits8(sv):
                self._emit(b"\x83", n, dst, size, self._imm(sv, 1))
            else:
                self._emit(b"\x81", n, dst, size, self._imm(src, size))
            return
        size = self._opsize(dst, src)
        w = 0 if size == 1 else 1
        if isinstance(src, str):
            self._emit(bytes([(n << 3) | w]), REGS[src][0], dst, size)
        elif isinstance(dst, str):
            self._emit(bytes([(n << 3) | 2 | w]), REGS[dst][0], src, size)
        else:
            raise AsmError(f"x86asm: {name} memory to memory")

    def test(self, dst, src) -> None:
        if isinstance(src, int):
            size = self._opsize(dst)
            if dst in ("al", "ax", "eax"):
                pre = b"\x66" if size == 2 else b""
                self.buf += pre + bytes([0xA8 if size == 1 else 0xA9]) + self._imm(src, size)
            else:
                self._emit(bytes([0xF6 if size == 1 else 0xF7]), 0, dst, size, self._imm(src, size))
            return
        size = self._opsize(dst, src)
        if not isinstance(src, str):
            dst, src = src, dst
        self._emit(bytes([0x84 if size == 1 else 0x85]), REGS[src][0], dst, size)

    def shift(self, name: str, dst, count) -> None:
        n, size = SHIFT[name], self._opsize(dst)
        w = 0 if size == 1 else 1
        if count == 1:
            self._emit(bytes([0xD0 | w]), n, dst, size)
        elif count == "cl":
            self._emit(bytes([0xD2 | w]), n, dst, size)
        else:
            self._emit(bytes([0xC0 | w]), n, dst, size, self._imm(count, 1))

    def unary(self, name: str, dst) -> None:
        size = self._opsize(dst)
        self._emit(bytes([0xF6 if size == 1 else 0xF7]), UNARY[name], dst, size)

    def inc(self, dst) -> None:
        size = self._opsize(dst)
        if isinstance(dst, str) and size > 1:
            self.buf += (b"\x66" if size == 2 else b"") + bytes([0x40 + REGS[dst][0]])
        else:
            self._emit(bytes([0xFE if size == 1 else 0xFF]), 0, dst, size)

    def dec(self, dst) -> None:
        size = self._opsize(dst)
        if isinstance(dst, str) and size > 1:
            self.buf += (b"\x66" if size == 2 else b"") + bytes([0x48 + REGS[dst][0]])
        else:
            self._emit(bytes([0xFE if size == 1 else 0xFF]), 1, dst, size)

    def lea(self, dst: str, src: Mem) -> None:
        self._emit(b"\x8D", REGS[dst][0], src, REGS[dst][1])

    def xchg(self, a, b) -> None:
        size = self._opsize(a, b)
        if isinstance(a, str) and isinstance(b, str):
            if size > 1 and (a in ("eax", "ax") or b in ("eax", "ax")):   # 90+r
                other = b if a in ("eax", "ax") else a
                self.buf += (b"\x66" if size == 2 else b"") + bytes([0x90 + REGS[other][0]])
                return
            a, b = b, a                                       # (NASM: the first in reg)
        elif not isinstance(b, str):
            a, b = b, a
        self._emit(bytes([0x86 if size == 1 else 0x87]), REGS[b][0], a, size)

    def setcc(self, cc: str, dst) -> None:
        self._emit(bytes([0x0F, 0x90 | CC[cc]]), 0, dst, 1)

    def bt(self, dst, bit: int) -> None:
        self._emit(b"\x0F\xBA", 4, dst, self._opsize(dst), self._imm(bit, 1))

    def push(self, src) -> None:
        if isinstance(src, str):
            self.buf += bytes([0x50 + REGS[src][0]])
        elif isinstance(src, int):
            self.buf += b"\x68" + self._imm(src, 4)
        else:
            self._emit(b"\xFF", 6, src, 4)

    def pop(self, dst) -> None:
        if isinstance(dst, str):
            self.buf += bytes([0x58 + REGS[dst][0]])
        else:
            self._emit(b"\x8F", 0, dst, 4)

    def _rel32(self, opcode: bytes, target) -> None:
        self.buf += opcode
        self.fixups.append((len(self.buf), target))
        self.buf += b"\0\0\0\0"

    def jmp(self, target) -> None:
        """To a Label or an absolute address (rel32), or through a register / memory."""
        if isinstance(target, (Label, int)):
            self._rel32(b"\xE9", target)
        else:
            self._emit(b"\xFF", 4, target, 4)

    def call(self, target) -> None:
        if isinstance(target, (Label, int)):
            self._rel32(b"\xE8", target)
        else:
            self._emit(b"\xFF", 2, target, 4)

    def jcc(self, cc: str, target) -> None:
        self._rel32(bytes([0x0F, 0x80 | CC[cc]]), target)

    def out(self, port: int) -> None:
        """OUT imm8, AL."""
        self.buf += bytes([0xE6, port & 0xFF])

    def __getattr__(self, name):
        if name in SIMPLE:
            return lambda: self.raw(SIMPLE[name])
        if name in ALU:
            return lambda dst, src: self.alu(name, dst, src)
        if name in SHIFT:
            return lambda dst, count=1: self.shift(name, dst, count)
        if name in UNARY:
            return lambda dst: self.unary(name, dst)
        if name.startswith("set") and name[3:] in CC:
            return lambda dst: self.setcc(name[3:], dst)
        if name.startswith("j") and name[1:] in CC:
            return lambda target: self.jcc(name[1:], target)
        raise AttributeError(name)
