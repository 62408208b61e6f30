"""The x86 binary translator's decoder and classifier (32-bit code): for each guest
instruction its length and what the translator does with it.

* ``COPY``: innocuous, copied into the translation cache unchanged (it behaves the
  same at the host's ring 1 over the guest's ring-compressed, truncated segments);
* ``JMP``/``JCC``/``CALL``/``LOOP``: a relative branch, rewritten to reach translated
  code (``target``: the guest EIP it goes to);
* ``SEGLOAD``: POP or MOV into DS, ES or FS, run natively once the selector passed
  the VMM's table of selectors the guest's own tables allow (``cc`` 1: MOV, with
  ``name`` the hex of MOVZX ECX with its operand; 0: POP);
* ``PUSHSEG`` (``cc``: CS 1, SS 2, GS 5), ``POPGS``: the guest's selector kept in the
  virtual CPU block (the host's CS, SS RPL and GS are the VMM's);
* ``RET``, ``ICALL``, ``IJMP``: a near return (``cc``: its immediate), an indirect
  call or jump (``raw``: MOV EAX with its operand), through the translation cache's
  lookup table; ``CLI``, ``STI``, ``PUSHF``: rewritten in place on the virtual IF;
* ``CALLOUT``: everything else: sensitive or privileged (Robin & Irvine's list: PUSHF,
  POPF, SGDT, SIDT, SLDT, STR, SMSW, LAR, LSL, VERR, VERW, PUSH CS/SS, MOV from CS/SS,
  segment loads; and CLI, STI, IN, OUT, INT, IRET, HLT, MOV CRn/DRn, INVLPG, ...),
  an indirect branch or return, a far transfer, an instruction with a CS or GS
  override (the translation cache runs with the VMM's CS and GS), or one this table
  does not know.  The VMM emulates it on the virtual CPU.  A callout needs no length:
  it ends the block, and the guest goes on wherever the virtual CPU went.

The opcode map is the SDM's (vol. 2, appendix A); only what is listed is copied, so
an instruction missing here is slow (a callout), never wrong.
"""
from __future__ import annotations

from typing import NamedTuple

COPY, CALLOUT, JMP, JCC, CALL, LOOP = "copy", "callout", "jmp", "jcc", "call", "loop"
RET, ICALL, IJMP = "ret", "call r/m", "jmp r/m"            # through the return table (emu.vmm.bt_x86_tc)
CLI, STI, PUSHF = "cli", "sti", "pushf"                   # rewritten in place
SEGLOAD = "segload"            # POP/MOV DS, ES, FS: native, behind a check of the selector
PUSHSEG, POPGS = "pushseg", "popgs"     # PUSH CS/SS/GS, POP GS: on the virtual CPU block

PREFIXES = frozenset((0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3))

# one-byte opcodes copied: opcode -> (has ModRM, immediate) where the immediate is
# 0, 1 (imm8), 2 (imm16), "z" (16/32 by operand size), "m" (moffs: address size), 3 (ENTER)
_ONE: dict = {}
for _b in range(0, 0x40, 8):
    if _b in (0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38):
        for _k in range(4):
            _ONE[_b + _k] = (True, 0)
        _ONE[_b + 4] = (False, 1)
        _ONE[_b + 5] = (False, "z")
for _o in (0x06, 0x1E, 0x27, 0x2F, 0x37, 0x3F, 0x60, 0x61, 0x9B, 0x9E, 0x9F, 0xC9, 0xD6, 0xD7,
           0xF5, 0xF8, 0xF9, 0xFC, 0xFD, *range(0x40, 0x60), *range(0x90, 0x9A), *range(0xA4, 0xA8),
           *range(0xAA, 0xB0)):
    _ONE[_o] = (False, 0)
for _o in (0x62, 0x63, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8D, 0x8F, 0xD0, 0xD1, 0xD2,
           0xD3, *range(0xD8, 0xE0)):
    _ONE[_o] = (True, 0)
for _o in (0x6B, 0x80, 0x82, 0x83, 0xC0, 0xC1, 0xC6):
    _ONE[_o] = (True, 1)
for _o in (0x69, 0x81, 0xC7):
    _ONE[_o] = (True, "z")
for _o in (0x6A, 0xA8, 0xD4, 0xD5, *range(0xB0, 0xB8)):
    _ONE[_o] = (False, 1)
for _o in (0x68, 0xA9, *range(0xB8, 0xC0)):
    _ONE[_o] = (False, "z")
for _o in range(0xA0, 0xA4):
    _ONE[_o] = (False, "m")
_ONE[0xC8] = (False, 3)

# two-byte (0F xx) opcodes copied
_TWO: dict = {}
for _o in (*range(0x40, 0x50), *range(0x90, 0xA0), 0xA3, 0xA5, 0xAB, 0xAD, 0xAF, 0xB0, 0xB1, 0xB3,
           0xB6, 0xB7, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF, 0xC0, 0xC1, 0xC7):
    _TWO[_o] = (True, 0)
for _o in (0xA4, 0xAC, 0xBA):
    _TWO[_o] = (True, 1)
for _o in (0xA0, 0x31, *range(0xC8, 0xD0)):        # PUSH FS, RDTSC, BSWAP
    _TWO[_o] = (False, 0)


class Insn(NamedTuple):
    eip: int            # guest EIP
    length: int         # 0 for a callout (not needed)
    kind: str
    raw: bytes          # the bytes to copy (COPY), the prefixes and opcode (LOOP)
    target: int = 0     # branches: the guest EIP taken
    cc: int = 0         # JCC: the condition (0-15); LOOP: the opcode (E0-E3)
    name: str = ""      # callouts: what for (the --stats breakdown)


def _modrm_len(code: bytes, i: int, asz16: bool):
    """(bytes of ModRM + SIB + displacement, mod, reg) at ``code[i]``."""
    m = code[i]
    mod, reg, rm = m >> 6, (m >> 3) & 7, m & 7
    if mod == 3:
        return 1, mod, reg
    if asz16:
        return (3 if rm == 6 else 1) if mod == 0 else (2 if mod == 1 else 3), mod, reg
    n = 1
    if rm == 4:
        n += 1
        if mod == 0 and code[i + 1] & 7 == 5:
            n += 4
    if mod == 0 and rm == 5:
        n += 4
    return n + (1 if mod == 1 else 4 if mod == 2 else 0), mod, reg


def decode(code: bytes, off: int, eip: int) -> Insn | None:
    """The instruction at ``code[off]`` (guest EIP ``eip``) in 32-bit code; None if
    ``code`` ends before it does (the next page is not readable)."""
    try:
        return _decode(code, off, eip)
    except IndexError:
        return None


def _callout(eip: int, name: str) -> Insn:
    return Insn(eip, 0, CALLOUT, b"", name=name)


def _decode(code: bytes, off: int, eip: int) -> Insn:
    i, seg, osz16, asz16 = off, None, False, False
    while code[i] in PREFIXES:
        p = code[i]
        if p in (0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65):
            seg = p
        elif p == 0x66:
            osz16 = True
        elif p == 0x67:
            asz16 = True
        i += 1
        if i - off >= 15:
            return _callout(eip, "prefixes")
    op = code[i]
    i += 1
    if seg in (0x2E, 0x65):
        return _callout(eip, "cs/gs override")
    zlen = 2 if osz16 else 4
    if op in (0xE8, 0xE9, 0xEB) or 0x70 <= op <= 0x7F or 0xE0 <= op <= 0xE3 or \
            (op == 0x0F and 0x80 <= code[i] <= 0x8F):
        if osz16:
            return _callout(eip, "16-bit branch")
        if op == 0x0F:
            cc, n, i = code[i] & 15, 4, i + 1
        else:
            cc, n = op & 15, (1 if op in (0xEB,) or op < 0xE8 else 4)
        d = int.from_bytes(code[i:i + n], "little", signed=True)
        if len(code) < i + n:
            raise IndexError
        nxt = eip + (i + n - off)
        tgt = (nxt + d) & 0xFFFFFFFF
        length = i + n - off
        if op == 0xE8:
            return Insn(eip, length, CALL, b"", tgt)
        if op in (0xE9, 0xEB):
            return Insn(eip, length, JMP, b"", tgt)
        if 0xE0 <= op <= 0xE3:
            return Insn(eip, length, LOOP, bytes(code[off:i - 1]), tgt, op)
        return Insn(eip, length, JCC, b"", tgt, cc)
    if op in (0x0E, 0x16) or (op == 0x0F and code[i] == 0xA8):       # PUSH CS/SS/GS
        n = i + (1 if op == 0x0F else 0) - off
        return Insn(eip, n, PUSHSEG, bytes(p for p in code[off:i - 1] if p == 0x66), 0,
                    {0x0E: 1, 0x16: 2}.get(op, 5))
    if op == 0x0F and code[i] == 0xA9 and not osz16:                   # POP GS
        return Insn(eip, i + 1 - off, POPGS, b"")
    if op in (0x07, 0x1F) or (op == 0x0F and code[i] == 0xA1):       # POP ES/DS/FS
        n = i + (1 if op == 0x0F else 0) - off
        return Insn(eip, n, SEGLOAD, bytes(code[off:off + n]), 0, 0,
                    bytes(p for p in code[off:i - 1] if p != 0x66 and p != 0x67).hex())
    if op == 0x8E and (code[i] >> 3) & 7 in (0, 3, 4):              # MOV ES/DS/FS, r/m16
        n, _, _ = _modrm_len(code, i, asz16)
        if len(code) < i + n:
            raise IndexError
        keep = bytes(p for p in code[off:i - 1] if p != 0x66)        # (the operand's segment, 67)
        movzx = keep + b"\x0F\xB7" + bytes(((code[i] & 0xC7) | 0x08,)) + bytes(code[i + 1:i + n])
        return Insn(eip, i + n - off, SEGLOAD, bytes(code[off:i + n]), 0, 1, movzx.hex())
    if op == 0x0F:
        op2 = code[i]
        i += 1
        spec = _TWO.get(op2)
        if spec is None:
            return _callout(eip, f"0f {op2:02x}")
        modrm, imm = spec
    else:
        spec = _ONE.get(op)
        modrm, imm = spec if spec is not None else (None, None)
        if op == 0x8C:                                   # MOV r/m, Sreg: CS/SS show the RPL,
            n, _, reg = _modrm_len(code, i, asz16)       # GS is the VMM's
            if reg in (1, 2, 5) or reg > 5:
                return _callout(eip, "mov from cs/ss/gs")
            modrm, imm = True, 0
        elif op in (0xF6, 0xF7):
            _, _, reg = _modrm_len(code, i, asz16)
            modrm, imm = True, (0 if reg > 1 else 1 if op == 0xF6 else "z")
        elif op == 0xFF and not osz16 and code[i] >> 3 & 7 in (2, 4):
            n, _, reg = _modrm_len(code, i, asz16)       # CALL/JMP r/m32: as MOV EAX, r/m32
            if len(code) < i + n:
                raise IndexError
            mov = bytes(code[off:i - 1]) + b"\x8B" + bytes((code[i] & 0xC7,)) + bytes(code[i + 1:i + n])
            return Insn(eip, i + n - off, ICALL if reg == 2 else IJMP, mov)
        elif op == 0xFE or op == 0xFF:
            _, _, reg = _modrm_len(code, i, asz16)
            if not (reg in (0, 1) or (op == 0xFF and reg == 6)):
                return _callout(eip, "indirect/far" if op == 0xFF else "fe")
            modrm, imm = True, 0
        elif op in (0xC3, 0xC2) and not osz16 and not asz16:
            n = 0 if op == 0xC3 else int.from_bytes(code[i:i + 2], "little")
            return Insn(eip, 1 if op == 0xC3 else 3, RET, b"", cc=n)
        elif op in (0xFA, 0xFB) and seg is None:
            return Insn(eip, 1, CLI if op == 0xFA else STI, b"")
        elif op == 0x9C and not osz16:
            return Insn(eip, i - off, PUSHF, b"")
        elif spec is None:
            return _callout(eip, _NAMES.get(op, f"{op:02x}"))
    if modrm:
        n, _, _ = _modrm_len(code, i, asz16)
        i += n
    i += {0: 0, 1: 1, 2: 2, 3: 3, "z": zlen, "m": 2 if asz16 else 4}[imm]
    if len(code) < i:
        raise IndexError
    return Insn(eip, i - off, COPY, bytes(code[off:i]))


_NAMES = {0x07: "pop es", 0x0E: "push cs", 0x16: "push ss", 0x17: "pop ss", 0x1F: "pop ds",
          0x8E: "mov sreg", 0x9A: "call far", 0x9C: "pushf", 0x9D: "popf", 0xC2: "ret", 0xC3: "ret",
          0xC4: "les", 0xC5: "lds", 0xCA: "retf", 0xCB: "retf", 0xCC: "int3", 0xCD: "int",
          0xCE: "into", 0xCF: "iret", 0xEA: "jmp far", 0xF4: "hlt", 0xFA: "cli", 0xFB: "sti",
          **{o: "in/out" for o in (0x6C, 0x6D, 0x6E, 0x6F, 0xE4, 0xE5, 0xE6, 0xE7, 0xEC, 0xED, 0xEE,
                                   0xEF)}}
