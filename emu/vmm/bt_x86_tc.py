"""The x86 translation cache: guest basic blocks translated into host code in the
VMM's area of the linear space, with the maps the VMM needs around them.

A block is translated from one guest EIP up to its first branch, callout or
``MAX_INSNS`` instructions.  Its code (emitted by ``translate``):

* an innocuous instruction, copied unchanged;
* ``CALL rel``: ``PUSH imm32`` (the guest's return EIP) then an exit to the target;
* ``JMP rel``: an exit to the target;
* ``Jcc rel``: ``Jcc +5`` over an exit to the fall-through, then an exit to the target;
* ``LOOP/JECXZ rel8``: the instruction with displacement 2, ``JMP +5``, the two exits;
* a callout: a callout slot (the instruction is emulated on the virtual CPU).

An *exit* is a 5-byte slot: ``HLT`` at first, which at the host's ring 1 raises #GP,
a VM exit whose host EIP names the slot's record (a branch to guest EIP T).  The
VMM then translates T (or finds it) and patches the slot into ``JMP rel32`` to its
block: the blocks are *chained*, and the next pass goes straight through.

Maps kept: every host instruction's address -> the guest EIP it stands for (a fault
or an interruption there shows the guest at that EIP with its own registers: no
rewritten sequence leaves the guest's state half changed at an instruction
boundary); guest page frames -> the blocks translated from them (write-protected
by the VMM: a write drops them); blocks -> the slots chained to them (unpatched
when the block goes).  A full cache is flushed whole and refilled on demand.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from .bt_x86_decode import (
    CALL,
    CALLOUT,
    CLI,
    COPY,
    ICALL,
    IJMP,
    JCC,
    JMP,
    LOOP,
    POPGS,
    PUSHF,
    PUSHSEG,
    RET,
    SEGLOAD,
    STI,
    decode,
)

MAX_INSNS = 48
SLOT = 5
HLT_SLOT = b"\xF4\xCC\xCC\xCC\xCC"
BRANCH, EMULATE = "branch", "emulate"

# The VMM's data segment (the host's GS while it runs the cache, DPL 1, in the VMM's
# area): the virtual CPU block the rewritten code acts on, and the return table.
D_EAX, D_ECX, D_JMP = 0x00, 0x04, 0x08          # scratch: saved EAX, ECX; a jump target
D_VIF = 0x0C                                    # the virtual EFLAGS.IF: 0 or 200h
D_PEND = 0x10                                   # 1: an interrupt waits for the virtual IF
D_SEL = 0x20                                    # + 4 * segment: the guest's CS, SS, GS selectors
D_PATCH = 0x100                                 # PUSHF: byte 1 of EFLAGS as the guest sees it,
                                                # [VIF byte 1 (0/2) * 256 + host byte 1]
D_RET = 0x1000                                  # returns: 65536 x (-guest EIP, host address)
RET_ENTRIES = 1 << 16
D_ALLOW = D_RET + 8 * RET_ENTRIES               # selectors: 1 if DS/ES/FS may load it natively
DATA_SIZE = D_ALLOW + 0x10000
EAX, ECX = 0, 1


def _gs(opcode: bytes, modrm: int, disp: int) -> bytes:
    """A GS-relative instruction with a disp32 operand: 65 opcode modrm disp32."""
    return b"\x65" + opcode + bytes((modrm,)) + struct.pack("<I", disp)


SAVE_EAX = b"\x65\xA3" + struct.pack("<I", D_EAX)            # mov gs:[D_EAX], eax
LOAD_EAX = b"\x65\xA1" + struct.pack("<I", D_EAX)            # mov eax, gs:[D_EAX]
SAVE_ECX = _gs(b"\x89", 0x0D, D_ECX)                           # mov gs:[D_ECX], ecx
LOAD_ECX = _gs(b"\x8B", 0x0D, D_ECX)                           # mov ecx, gs:[D_ECX]


@dataclass
class Block:
    key: tuple
    host: int                          # host linear address of its first byte
    size: int
    gfns: frozenset                    # guest frames its bytes came from
    pages: frozenset                   # guest linear pages they sit at
    incoming: list = field(default_factory=list)       # slots chained to it
    insns: int = 0


class TranslationCache:
    def __init__(self, base: int, size: int, put, put_data):
        """``base``: host linear address of the cache; ``size`` bytes; ``put(addr, bytes)``
        writes host memory at a host linear address of the VMM's area, ``put_data(offset,
        bytes)`` into the VMM's data segment."""
        self.base, self.size, self.put, self.put_data = base, size, put, put_data
        self.stats = {"blocks": 0, "flushes": 0, "invalidations": 0, "lookups": 0, "hits": 0,
                      "chained": 0, "guest_insns": 0}
        self.generation = 0
        self._reset()

    def _reset(self) -> None:
        self.top = self.base
        self.blocks: dict[tuple, Block] = {}
        self.hmap: dict[int, int] = {}                 # host address -> guest EIP
        self.fix: dict[int, tuple] = {}                # host address -> (saved regs, ESP to add)
        self.slots: dict[int, tuple] = {}              # slot address -> (kind, guest EIP, name)
        self.gfn_blocks: dict[int, set] = {}
        self.page_gfn: dict[int, int] = {}             # guest linear page -> frame translated from
        self.page_blocks: dict[int, set] = {}
        self.generation += 1
        self.rets: dict[int, int] = {}                  # return-table index -> host address in it
        self.ret_base = 0                                # the CS base its entries are for
        self.put_data(D_RET, _empty_table())

    def remember(self, eip: int, b: Block) -> None:
        """Block ``b`` (at guest ``eip``) into the return table, where translated RETs
        look their target up (a hash on the low 16 bits, one entry per index)."""
        if b.key[1] != self.ret_base:                   # (the table holds one CS base's)
            self.rets, self.ret_base = {}, b.key[1]
            self.put_data(D_RET, _empty_table())
        i = eip & (RET_ENTRIES - 1)
        if self.rets.get(i) != b.host:
            self.rets[i] = b.host
            self.put_data(D_RET + 8 * i, struct.pack("<II", -eip & 0xFFFFFFFF, b.host))

    def _ret(self, e: int, n: int, emit, slot) -> None:
        """RET (imm16 ``n``): the return address looked up in the return table; a miss
        is a callout."""
        emit(e, SAVE_EAX)
        emit(e, SAVE_ECX, ((EAX,), 0))
        emit(e, b"\x8B\x04\x24", ((EAX, ECX), 0))                    # mov eax, [esp]
        k = 4 + n
        pop = b"\x8D\x64\x24" + bytes((k,)) if k < 128 else b"\x8D\xA4\x24" + struct.pack("<I", k)
        self._lookup(e, emit, slot, 0, b"", pop, "ret (not in the table)")

    def _indirect(self, e: int, nxt: int, mov: bytes, call: bool, emit, slot) -> None:
        """JMP r/m32, CALL r/m32: the target read into EAX (``mov``: MOV EAX, r/m with
        the guest's operand), the return EIP pushed for a CALL, then the table lookup."""
        emit(e, SAVE_EAX)
        emit(e, SAVE_ECX, ((EAX,), 0))
        emit(e, mov, ((EAX, ECX), 0))
        adj, undo = 0, b""
        if call:
            emit(e, b"\x68" + struct.pack("<I", nxt), ((EAX, ECX), 0))  # push the return EIP
            adj, undo = 4, b"\x8D\x64\x24\x04"                         # (lea esp, [esp+4])
        self._lookup(e, emit, slot, adj, undo, b"", "call r/m" if call else "jmp r/m")

    def _lookup(self, e, emit, slot, adj: int, undo: bytes, tail: bytes, name: str) -> None:
        """EAX holds a guest target (guest EAX, ECX saved; ``adj`` bytes pushed): jump to
        its translation through the return table, with no instruction that changes the
        flags (MOVZX, LEA, JECXZ, an indirect JMP).  A miss undoes the push (``undo``),
        restores the registers and calls out (the VMM emulates the instruction); a hit
        restores them, runs ``tail`` (a RET's pop) and jumps."""
        f = ((EAX, ECX), adj)
        emit(e, b"\x0F\xB7\xC8", f)                                   # movzx ecx, ax
        emit(e, b"\x65\x8B\x0C\xCD" + struct.pack("<I", D_RET), f)    # mov ecx, gs:[RET+ecx*8]
        emit(e, b"\x8D\x0C\x01", f)                                   # lea ecx, [ecx+eax]
        emit(e, bytes((0xE3, len(undo) + len(LOAD_ECX) + len(LOAD_EAX) + SLOT)), f)   # jecxz hit
        if undo:
            emit(e, undo, f)
        emit(e, LOAD_ECX, ((EAX, ECX), 0))
        emit(e, LOAD_EAX, ((EAX,), 0))
        slot(EMULATE, e, name)
        emit(e, b"\x0F\xB7\xC8", f)                                   # hit: movzx ecx, ax
        emit(e, b"\x65\x8B\x0C\xCD" + struct.pack("<I", D_RET + 4), f)   # mov ecx, gs:[RET+4+ecx*8]
        emit(e, _gs(b"\x89", 0x0D, D_JMP), f)                           # mov gs:[JMP], ecx
        emit(e, LOAD_ECX, f)
        emit(e, LOAD_EAX, ((EAX,), adj))
        if tail:
            emit(e, tail)
        emit(e, b"\x65\xFF\x25" + struct.pack("<I", D_JMP), "jmp")     # jmp gs:[JMP]

    def used(self) -> int:
        return self.top - self.base

    def flush(self) -> None:
        """Everything goes (the cache is full, or the guest's memory was replaced)."""
        self.stats["flushes"] += 1
        self._reset()

    # ---- lookup and translation ----------------------------------------------------------
    def lookup(self, key: tuple):
        self.stats["lookups"] += 1
        b = self.blocks.get(key)
        if b is not None:
            self.stats["hits"] += 1
        return b

    def translate(self, key: tuple, eip: int, code: bytes, code_la: int, limit: int, frames):
        """Translate the block at guest EIP ``eip``: ``code`` holds the guest's bytes from
        linear ``code_la`` (= CS base + ``eip``) as far as they are readable, ``limit``
        the CS limit, ``frames(la)`` the guest frame of linear ``la``.  Returns the Block,
        cached (None if not even the first instruction can be decoded: the caller
        emulates it)."""
        insns, off = [], 0
        while len(insns) < MAX_INSNS:
            ins = decode(code, off, (eip + off) & 0xFFFFFFFF)
            if ins is None or (ins.length and ins.eip + ins.length - 1 > limit):
                break
            insns.append(ins)
            if ins.kind not in (COPY, CLI, STI, PUSHF, SEGLOAD, PUSHSEG, POPGS):
                break
            off += ins.length
        if not insns:
            return None
        out, marks, slots = bytearray(), [], []

        def slot(kind, geip, name=""):
            marks.append((len(out), geip, None))
            slots.append((len(out), kind, geip, name))
            out.extend(HLT_SLOT)

        def emit(geip, code, fix=None):
            """Host code standing for guest EIP ``geip``; ``fix``: how the guest's state is
            had back if the host stops before it (registers saved in the data segment,
            ESP to add): the rewritten sequences roll back to the guest instruction."""
            marks.append((len(out), geip, fix))
            out.extend(code)

        last = insns[-1]
        for ins in insns:
            nxt = (ins.eip + ins.length) & 0xFFFFFFFF
            e = ins.eip
            if ins.kind == COPY:
                emit(e, ins.raw)
            elif ins.kind == CALL:
                emit(e, b"\x68" + nxt.to_bytes(4, "little"))
                slot(BRANCH, ins.target)
            elif ins.kind == RET:
                self._ret(e, ins.cc, emit, slot)
            elif ins.kind == SEGLOAD:
                # the selector through the VMM's table (the guest's own GDT/LDT allow the
                # load: index within the limit, a data or readable code segment, RPL <= DPL),
                # then the guest's instruction itself on the ring-compressed shadow; a
                # selector the table refuses is a callout (the guest's own fault)
                f = ((ECX,), 0)
                get = bytes.fromhex(ins.name) if ins.cc else b"\x0F\xB7\x0C\x24"   # movzx ecx, word [esp]
                emit(e, SAVE_ECX)
                emit(e, get, f)
                emit(e, b"\x65\x0F\xB6\x89" + struct.pack("<I", D_ALLOW), f)  # movzx ecx, byte gs:[ALLOW+ecx]
                emit(e, bytes((0xE3, len(LOAD_ECX) + len(ins.raw) + 2)), f)      # jecxz refused
                emit(e, LOAD_ECX, f)
                emit(e, ins.raw)
                emit(nxt, bytes((0xEB, len(LOAD_ECX) + SLOT)))
                emit(e, LOAD_ECX, f)                                           # refused:
                slot(EMULATE, e, "segment load (refused)")
            elif ins.kind == PUSHSEG:                                     # push dword gs:[SEL+4*seg]
                emit(e, ins.raw + b"\x65\xFF\x35" + struct.pack("<I", D_SEL + 4 * ins.cc))
            elif ins.kind == POPGS:
                # the selector checked as for DS, then kept as the guest's GS (the VMM
                # loads the guest's descriptor into the virtual CPU when it next looks)
                f = ((ECX,), 0)
                emit(e, SAVE_ECX)
                emit(e, b"\x0F\xB7\x0C\x24", f)                                # movzx ecx, word [esp]
                emit(e, b"\x65\x0F\xB6\x89" + struct.pack("<I", D_ALLOW), f)  # movzx ecx, byte gs:[ALLOW+ecx]
                ok = [b"\x0F\xB7\x0C\x24", _gs(b"\x89", 0x0D, D_SEL + 20), b"\x8D\x64\x24\x04",
                      LOAD_ECX]
                emit(e, bytes((0xE3, sum(map(len, ok)) + 2)), f)                  # jecxz refused
                emit(e, ok[0], f)                                               # movzx ecx, word [esp]
                emit(e, ok[1], f)                                               # mov gs:[SEL+20], ecx
                emit(e, ok[2], f)                                               # lea esp, [esp+4]
                emit(nxt, ok[3], f)
                emit(nxt, bytes((0xEB, len(LOAD_ECX) + SLOT)))
                emit(e, LOAD_ECX, f)                                           # refused:
                slot(EMULATE, e, "pop gs (refused)")
            elif ins.kind in (ICALL, IJMP):
                self._indirect(e, nxt, ins.raw, ins.kind == ICALL, emit, slot)
            elif ins.kind == CLI:
                emit(e, _gs(b"\xC7", 0x05, D_VIF) + bytes(4))             # mov dword gs:[VIF], 0
            elif ins.kind == STI:
                # an interrupt waiting for the virtual IF: the VMM emulates the STI (its
                # one-instruction shadow, then the delivery); else only the virtual IF is set
                f = ((ECX,), 0)
                emit(e, SAVE_ECX)
                emit(e, _gs(b"\x0F\xB6", 0x0D, D_PEND), f)                # movzx ecx, byte gs:[PEND]
                emit(e, bytes((0xE3, len(LOAD_ECX) + SLOT)), f)             # jecxz +12
                emit(e, LOAD_ECX, f)
                slot(EMULATE, e, "sti (interrupt pending)")
                emit(e, LOAD_ECX, f)
                emit(e, _gs(b"\xC7", 0x05, D_VIF) + struct.pack("<I", 0x200))
            elif ins.kind == PUSHF:
                # the host's EFLAGS pushed, its byte 1 (TF IF DF OF IOPL NT) replaced by the
                # guest's through D_PATCH: no instruction here changes the live flags
                f = ((ECX,), 4)
                emit(e, b"\x9C")                                            # pushfd
                emit(e, SAVE_ECX, ((), 4))
                emit(e, b"\x0F\xB6\x4C\x24\x01", f)                        # movzx ecx, byte [esp+1]
                emit(e, _gs(b"\x8A", 0x2D, D_VIF + 1), f)                   # mov ch, gs:[VIF+1]
                emit(e, _gs(b"\x8A", 0x89, D_PATCH), f)                     # mov cl, gs:[PATCH+ecx]
                emit(e, b"\x88\x4C\x24\x01", f)                            # mov [esp+1], cl
                emit(e, LOAD_ECX, f)
            elif ins.kind == JMP:
                slot(BRANCH, ins.target)
            elif ins.kind == JCC:
                emit(e, bytes((0x70 | ins.cc, SLOT)))
                slot(BRANCH, nxt)
                slot(BRANCH, ins.target)
            elif ins.kind == LOOP:
                emit(e, ins.raw + bytes((ins.cc, 2)))
                emit(nxt, bytes((0xEB, SLOT)))
                slot(BRANCH, ins.target)
                slot(BRANCH, nxt)
            else:
                assert ins.kind == CALLOUT
                slot(EMULATE, ins.eip, ins.name)
        if last.kind in (COPY, CLI, STI, PUSHF, SEGLOAD, PUSHSEG, POPGS):   # (out of room or bytes)
            slot(BRANCH, (last.eip + last.length) & 0xFFFFFFFF)
        if self.top + len(out) > self.base + self.size:
            self.flush()
            if len(out) > self.size:
                raise ValueError("translation cache smaller than one block")
        host = self.top
        self.top += len(out)
        self.put(host, bytes(out))
        for o, geip, fix in marks:
            self.hmap[host + o] = geip
            if fix is not None:
                self.fix[host + o] = fix
        for o, kind, geip, name in slots:
            self.slots[host + o] = (kind, geip, name)
        pages, gfns = set(), set()
        for ins in insns:
            n = max(ins.length, 1)
            for la in {(code_la + ins.eip - eip) & ~0xFFF, (code_la + ins.eip - eip + n - 1) & ~0xFFF}:
                la &= 0xFFFFFFFF
                g = frames(la)
                pages.add(la >> 12)
                gfns.add(g)
                self.page_gfn[la >> 12] = g
        b = Block(key, host, len(out), frozenset(gfns), frozenset(pages), insns=len(insns))
        self.blocks[key] = b
        for g in gfns:
            self.gfn_blocks.setdefault(g, set()).add(key)
        for p in pages:
            self.page_blocks.setdefault(p, set()).add(key)
        self.stats["blocks"] += 1
        self.stats["guest_insns"] += len(insns)
        return b

    def emulate_slot(self, eip: int) -> int:
        """A lone callout slot for guest EIP ``eip`` (its bytes cannot be read: the
        virtual CPU raises the guest's fault), not cached."""
        if self.top + SLOT > self.base + self.size:
            self.flush()
        host = self.top
        self.top += SLOT
        self.put(host, HLT_SLOT)
        self.hmap[host] = eip
        self.slots[host] = (EMULATE, eip, "unreadable")
        return host

    # ---- chaining and invalidation ---------------------------------------------------------
    def chain(self, slot: int, b: Block) -> None:
        """Patch exit ``slot`` into a direct jump to block ``b``."""
        rel = (b.host - (slot + SLOT)) & 0xFFFFFFFF
        self.put(slot, b"\xE9" + rel.to_bytes(4, "little"))
        b.incoming.append(slot)
        self.stats["chained"] += 1

    def drop(self, key) -> None:
        b = self.blocks.pop(key, None)
        if b is None:
            return
        i = key[0] & (RET_ENTRIES - 1)
        if self.rets.get(i) == b.host:
            del self.rets[i]
            self.put_data(D_RET + 8 * i, _empty_table()[8 * i:8 * i + 8])
        for s in b.incoming:                            # back to exits into the VMM
            self.put(s, HLT_SLOT)
        for g in b.gfns:
            s = self.gfn_blocks.get(g)
            if s is not None:
                s.discard(key)
                if not s:
                    del self.gfn_blocks[g]
        for p in b.pages:
            s = self.page_blocks.get(p)
            if s is not None:
                s.discard(key)
                if not s:
                    del self.page_blocks[p]
                    self.page_gfn.pop(p, None)
        self.stats["invalidations"] += 1

    def drop_gfn(self, gfn: int) -> int:
        keys = list(self.gfn_blocks.get(gfn, ()))
        for k in keys:
            self.drop(k)
        return len(keys)

    def drop_page(self, page: int) -> int:
        keys = list(self.page_blocks.get(page, ()))
        for k in keys:
            self.drop(k)
        self.page_gfn.pop(page, None)
        return len(keys)


_EMPTY = None


def _empty_table() -> bytes:
    """Every entry's guest EIP differs from its index in bit 15: no target matches."""
    global _EMPTY
    if _EMPTY is None:
        t = np.zeros((RET_ENTRIES, 2), dtype=np.uint32)
        t[:, 0] = (-(np.arange(RET_ENTRIES, dtype=np.int64) ^ 0x8000)) & 0xFFFFFFFF
        _EMPTY = t.tobytes()
    return _EMPTY


def allow_table(gdt: bytes, ldt: bytes | None) -> bytes:
    """D_ALLOW: for every selector, 1 if loading it into DS, ES or FS at the guest's CPL
    0 succeeds by the guest's own descriptors (SDM vol. 3, 5.10.1: within the table's
    limit, present, data or readable code, RPL <= DPL unless conforming code) and sets
    no accessed bit (the host CPU would set it in the shadow, not in the guest's table),
    so also on the shadow the host CPU loads it from; 0 (the load is emulated) otherwise."""
    t = np.zeros(1 << 16, dtype=np.uint8)
    sel = np.arange(1 << 16)
    rpl, idx, ti = sel & 3, sel >> 3, (sel >> 2) & 1
    for tab, which in ((gdt, 0), (ldt, 1)):
        if not tab:
            continue
        d = np.frombuffer(tab[:len(tab) // 8 * 8], np.uint8).reshape(-1, 8)
        acc = d[:, 5].astype(np.int64)
        typ, dpl = acc & 0x0F, (acc >> 5) & 3
        ok = ((acc & 0x91) == 0x91) & (((typ & 8) == 0) | ((typ & 2) != 0))
        conforming = ((typ & 0x0C) == 0x0C)
        m = (ti == which) & (idx < len(d))
        ii = idx[m]
        t[m] = ok[ii] & (conforming[ii] | (rpl[m] <= dpl[ii]))
    t[0:4] = 1                                              # the null selector
    return t.tobytes()
