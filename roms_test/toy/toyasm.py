"""A two-pass assembler for the toy8 CPU (cores/toy8).  Usage:

    python roms_test/toy/toyasm.py roms_test/toy/demo.asm roms_test/toy/demo.rom --size 256

Syntax: one instruction per line, ``label:`` definitions, ``;`` comments,
numbers as 12, 0x0C or 0Ch, ``ORG addr``, ``DB b, b, "text"``.
"""
from __future__ import annotations

import argparse
import re
import sys

OPS = {"NOP": (0, ""), "LDI": (1, "n"), "LD": (2, "a"), "ST": (3, "a"), "ADD": (4, "n"),
       "JMP": (5, "a"), "JNZ": (6, "a"), "OUT": (7, "n"), "IN": (8, "n"), "HLT": (9, ""),
       "EI": (10, ""), "DI": (11, ""), "RETI": (12, ""), "INC": (13, "a"), "CMP": (14, "n"),
       "JZ": (15, "a")}


def num(tok, labels):
    tok = tok.strip().strip("[]()").replace("A,", "").strip()
    if tok in labels:
        return labels[tok]
    if re.fullmatch(r"[0-9][0-9A-Fa-f]*[hH]", tok):
        return int(tok[:-1], 16)
    return int(tok, 0)


def assemble(src: str, size: int | None = None) -> bytes:
    labels, out = {}, {}
    for pass_ in (1, 2):
        pc = 0
        for lineno, line in enumerate(src.splitlines(), 1):
            line = line.split(";")[0].strip()
            if not line:
                continue
            m = re.match(r"(\w+):\s*(.*)", line)
            if m:
                labels[m.group(1)] = pc
                line = m.group(2)
                if not line:
                    continue
            word, _, rest = line.partition(" ")
            word = word.upper()
            try:
                if word == "ORG":
                    pc = num(rest, labels)
                    continue
                if word == "DB":
                    for item in re.findall(r'"[^"]*"|[^,]+', rest):
                        item = item.strip()
                        data = item[1:-1].encode() if item.startswith('"') else \
                            bytes([num(item, labels) & 0xFF if pass_ == 2 else 0])
                        for b in data:
                            out[pc] = b
                            pc += 1
                    continue
                op, kind = OPS[word]
                # operand: the last comma-separated field that is not the register A
                args = [a.strip() for a in rest.split(",") if a.strip() and a.strip().upper() != "A"]
                val = num(args[-1], labels) if kind and pass_ == 2 else 0
            except (KeyError, ValueError, IndexError) as e:
                if pass_ == 2:
                    sys.exit(f"line {lineno}: cannot assemble {line!r} ({e})")
                val, op, kind = 0, OPS.get(word, (0, ""))[0], OPS.get(word, (0, "n"))[1]
            out[pc] = op
            if kind == "n":
                out[pc + 1] = val & 0xFF
            elif kind == "a":
                out[pc + 1], out[pc + 2] = val & 0xFF, (val >> 8) & 0xFF
            pc += 1 + {"": 0, "n": 1, "a": 2}[kind]
    end = max(out) + 1 if out else 0
    size = size or end
    img = bytearray([0xFF] * size)
    for a, b in out.items():
        if a < size:
            img[a] = b
    return bytes(img)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--size", type=lambda s: int(s, 0))
    a = ap.parse_args()
    open(a.out, "wb").write(assemble(open(a.src).read(), a.size))
