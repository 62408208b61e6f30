"""Debugger expressions, MAME style: numbers are hexadecimal (``7c00``, ``0x7c00``),
``#123`` is decimal, register names stand for their values (a name wins over a
hex number spelled the same: write ``0ah`` as ``0a``), ``b@ADDR`` / ``w@`` / ``d@``
read a byte / word / dword, and the C operators ``+ - * / % & | ^ ~ << >>
== != < <= > >= && || !`` with parentheses combine them.  ``SEG:OFF`` (x86) is
handled by the caller (Debugger.address).
"""
from __future__ import annotations

import operator
import re

from ..errors import EmuError


class DebugError(EmuError):
    """A command the debugger cannot carry out (one line for the user)."""


_TOKEN = re.compile(r"\s*(?:(0x[0-9a-fA-F]+)|(#[0-9]+)|([bwd]@)|([A-Za-z_][A-Za-z0-9_']*|[0-9][0-9a-fA-F]*)"
                    r"|(==|!=|<=|>=|<<|>>|&&|\|\||[-+*/%&|^~()<>!]))")

_BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="),
           ("<<", ">>"), ("+", "-"), ("*", "/", "%")]


_OPS = {"||": lambda v, w: int(bool(v) or bool(w)), "&&": lambda v, w: int(bool(v) and bool(w)),
        "|": operator.or_, "^": operator.xor, "&": operator.and_,
        "==": lambda v, w: int(v == w), "!=": lambda v, w: int(v != w), "<": lambda v, w: int(v < w),
        "<=": lambda v, w: int(v <= w), ">": lambda v, w: int(v > w), ">=": lambda v, w: int(v >= w),
        "<<": operator.lshift, ">>": operator.rshift, "+": operator.add, "-": operator.sub,
        "*": operator.mul, "/": operator.floordiv, "%": operator.mod}


def tokenize(text: str):
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise DebugError(f"bad expression {text!r}: unexpected {text[pos:].strip()[:10]!r}")
        pos = m.end()
        hexnum, dec, deref, word, op = m.groups()
        if hexnum:
            out.append(("num", int(hexnum, 16)))
        elif dec:
            out.append(("num", int(dec[1:])))
        elif deref:
            out.append(("deref", {"b": 1, "w": 2, "d": 4}[deref[0]]))
        elif word:
            out.append(("name", word))
        else:
            out.append(("op", op))
    return out


class Evaluator:
    """Evaluate an expression; ``regs`` maps lower-case names to values, ``read(addr, n)``
    reads memory (for ``b@``)."""

    def __init__(self, regs: dict, read=None):
        self.regs, self.read = regs, read

    def eval(self, text: str) -> int:
        self.text = text
        self.toks = tokenize(text)
        if not self.toks:
            raise DebugError("missing expression")
        self.i = 0
        v = self._binary(0)
        if self.i != len(self.toks):
            raise DebugError(f"bad expression {text!r}")
        return v

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def _binary(self, level):
        if level == len(_BINARY):
            return self._unary()
        v = self._binary(level + 1)
        while True:
            kind, op = self._peek()
            if kind != "op" or op not in _BINARY[level]:
                return v
            self.i += 1
            w = self._binary(level + 1)
            if op in ("/", "%") and w == 0:
                raise DebugError(f"bad expression {self.text!r}: division by zero")
            v = _OPS[op](v, w)

    def _unary(self):
        kind, val = self._peek()
        if kind == "op" and val in ("-", "~", "!", "+"):
            self.i += 1
            v = self._unary()
            return {"-": -v, "~": ~v, "!": int(not v), "+": v}[val]
        if kind == "deref":
            self.i += 1
            addr = self._unary()
            if self.read is None:
                raise DebugError("memory reads are not available here")
            return self.read(addr, val)
        if kind == "op" and val == "(":
            self.i += 1
            v = self._binary(0)
            if self._peek() != ("op", ")"):
                raise DebugError(f"bad expression {self.text!r}: missing )")
            self.i += 1
            return v
        if kind == "num":
            self.i += 1
            return val
        if kind == "name":
            self.i += 1
            low = val.lower()
            if low in self.regs:
                return int(self.regs[low])
            if re.fullmatch(r"[0-9a-f]+h?", low) and (low[0].isdigit() or low.endswith("h")):
                return int(low.rstrip("h"), 16)
            if re.fullmatch(r"[0-9a-f]+", low):
                return int(low, 16)
            raise DebugError(f"bad expression {self.text!r}: unknown name {val!r}")
        raise DebugError(f"bad expression {self.text!r}")
