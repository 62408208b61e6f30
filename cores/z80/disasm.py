"""Z80 disassembler (Zilog mnemonics, all documented and undocumented opcodes).

Decoding follows the x/y/z/p/q field structure of the opcode byte (as in
"Decoding Z80 opcodes" by C. Smith), so the tables below are the whole
instruction set: ``disassemble(read, addr) -> (text, length)``.
"""
from __future__ import annotations

R = ["B", "C", "D", "E", "H", "L", "(HL)", "A"]
RP = ["BC", "DE", "HL", "SP"]
RP2 = ["BC", "DE", "HL", "AF"]
CC = ["NZ", "Z", "NC", "C", "PO", "PE", "P", "M"]
ALU = ["ADD A,", "ADC A,", "SUB ", "SBC A,", "AND ", "XOR ", "OR ", "CP "]
ROT = ["RLC", "RRC", "RL", "RR", "SLA", "SRA", "SLL", "SRL"]
ACC = ["RLCA", "RRCA", "RLA", "RRA", "DAA", "CPL", "SCF", "CCF"]
IM = ["0", "0", "1", "2", "0", "0", "1", "2"]
BLOCK = {(4, 0): "LDI", (5, 0): "LDD", (6, 0): "LDIR", (7, 0): "LDDR",
         (4, 1): "CPI", (5, 1): "CPD", (6, 1): "CPIR", (7, 1): "CPDR",
         (4, 2): "INI", (5, 2): "IND", (6, 2): "INIR", (7, 2): "INDR",
         (4, 3): "OUTI", (5, 3): "OUTD", (6, 3): "OTIR", (7, 3): "OTDR"}


def _h8(v):
    return f"{v:02X}h"


def _h16(v):
    return f"{v:04X}h"


def disassemble(read, addr: int) -> tuple[str, int]:
    pos = [addr]

    def byte():
        v = read(pos[0] & 0xFFFF)
        pos[0] += 1
        return v

    def word():
        lo = byte()
        return lo | (byte() << 8)

    def disp():
        d = byte()
        return d - 256 if d >= 128 else d

    op = byte()
    if op == 0xCB:
        op = byte()
        return _cb(op, R[op & 7]), pos[0] - addr
    if op == 0xED:
        return _ed(byte(), word), pos[0] - addr
    ix = None
    if op in (0xDD, 0xFD):
        ix = "IX" if op == 0xDD else "IY"
        nxt = read(pos[0] & 0xFFFF)
        if nxt in (0xDD, 0xFD, 0xED):
            return f"DB {_h8(op)}", 1
        op = byte()
        if op == 0xCB:
            d = disp()
            op = byte()
            mem = f"({ix}{d:+d})"
            text = _cb(op, mem)
            if op >> 6 != 1 and op & 7 != 6:
                text += f",{R[op & 7]}"           # undocumented register copy
            return text, pos[0] - addr
    text = _main(op, ix, byte, word, disp, addr, pos)
    return text, pos[0] - addr


def _cb(op, operand):
    x, y = op >> 6, (op >> 3) & 7
    if x == 0:
        return f"{ROT[y]} {operand}"
    return f"{['', 'BIT', 'RES', 'SET'][x]} {y},{operand}"


def _ed(op, word):
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    p, q = y >> 1, y & 1
    if x == 2 and z <= 3 and y >= 4:
        return BLOCK[(y, z)]
    if x != 1:
        return f"NOP* (ED {_h8(op)})"
    if z == 0:
        return "IN F,(C)" if y == 6 else f"IN {R[y]},(C)"
    if z == 1:
        return "OUT (C),0" if y == 6 else f"OUT (C),{R[y]}"
    if z == 2:
        return f"{'SBC' if q == 0 else 'ADC'} HL,{RP[p]}"
    if z == 3:
        nn = word()
        return f"LD ({_h16(nn)}),{RP[p]}" if q == 0 else f"LD {RP[p]},({_h16(nn)})"
    if z == 4:
        return "NEG"
    if z == 5:
        return "RETI" if y == 1 else "RETN"
    if z == 6:
        return f"IM {IM[y]}"
    return ["LD I,A", "LD R,A", "LD A,I", "LD A,R", "RRD", "RLD", "NOP* (ED 77)", "NOP* (ED 7F)"][y]


def _main(op, ix, byte, word, disp, addr, pos):
    x, y, z = op >> 6, (op >> 3) & 7, op & 7
    p, q = y >> 1, y & 1
    hl = ix or "HL"

    def reg(r, allow_index=True):
        if r == 6:
            return f"({ix}{disp():+d})" if ix else "(HL)"
        if ix and allow_index and r in (4, 5):
            return ix + ("H" if r == 4 else "L")
        return R[r]

    def rp(i):
        return hl if i == 2 else RP[i]

    if x == 0:
        if z == 0:
            if y == 0:
                return "NOP"
            if y == 1:
                return "EX AF,AF'"
            d = disp()
            target = _h16((pos[0] + d) & 0xFFFF)
            if y == 2:
                return f"DJNZ {target}"
            if y == 3:
                return f"JR {target}"
            return f"JR {CC[y - 4]},{target}"
        if z == 1:
            return f"LD {rp(p)},{_h16(word())}" if q == 0 else f"ADD {hl},{rp(p)}"
        if z == 2:
            if p < 2:
                m = f"({RP[p]})"
                return f"LD {m},A" if q == 0 else f"LD A,{m}"
            nn = _h16(word())
            if p == 2:
                return f"LD ({nn}),{hl}" if q == 0 else f"LD {hl},({nn})"
            return f"LD ({nn}),A" if q == 0 else f"LD A,({nn})"
        if z == 3:
            return f"{'INC' if q == 0 else 'DEC'} {rp(p)}"
        if z in (4, 5):
            return f"{'INC' if z == 4 else 'DEC'} {reg(y)}"
        if z == 6:
            r = reg(y)
            return f"LD {r},{_h8(byte())}"
        return ACC[y]
    if x == 1:
        if op == 0x76:
            return "HALT"
        if y == 6 or z == 6:                      # (IX+d) forms keep the real H/L
            return f"LD {reg(y, z != 6)},{reg(z, y != 6)}"
        return f"LD {reg(y)},{reg(z)}"
    if x == 2:
        return f"{ALU[y]}{reg(z)}"
    if z == 0:
        return f"RET {CC[y]}"
    if z == 1:
        if q == 0:
            return f"POP {hl if p == 2 else RP2[p]}"
        return ["RET", "EXX", f"JP ({hl})", f"LD SP,{hl}"][p]
    if z == 2:
        return f"JP {CC[y]},{_h16(word())}"
    if z == 3:
        if y == 0:
            return f"JP {_h16(word())}"
        if y == 2:
            return f"OUT ({_h8(byte())}),A"
        if y == 3:
            return f"IN A,({_h8(byte())})"
        return ["", "", "", "", f"EX (SP),{hl}", "EX DE,HL", "DI", "EI"][y]
    if z == 4:
        return f"CALL {CC[y]},{_h16(word())}"
    if z == 5:
        if q == 0:
            return f"PUSH {hl if p == 2 else RP2[p]}"
        return f"CALL {_h16(word())}"
    if z == 6:
        return f"{ALU[y]}{_h8(byte())}"
    return f"RST {_h8(y * 8)}"
