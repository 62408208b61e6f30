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

from dataclasses import dataclass, field

from .bt_x86_decode import CALL, CALLOUT, COPY, JCC, JMP, LOOP, decode

MAX_INSNS = 48
SLOT = 5
HLT_SLOT = b"\xF4\xCC\xCC\xCC\xCC"
BRANCH, EMULATE = "branch", "emulate"


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
    def __init__(self, base: int, size: int, put):
        """``base``: host linear address of the cache; ``size`` bytes; ``put(addr, bytes)``
        writes host memory at a host linear address of the VMM's area."""
        self.base, self.size, self.put = base, size, put
        self.stats = {"blocks": 0, "flushes": 0, "invalidations": 0, "lookups": 0, "hits": 0,
                      "chained": 0, "guest_insns": 0}
        self.generation = 0
        self._reset()

    def _reset(self) -> None:
        self.top = self.base
        self.blocks: dict[tuple, Block] = {}
        self.hmap: dict[int, int] = {}                 # host address -> guest EIP
        self.slots: dict[int, tuple] = {}              # slot address -> (kind, guest EIP, name)
        self.gfn_blocks: dict[int, set] = {}
        self.page_gfn: dict[int, int] = {}             # guest linear page -> frame translated from
        self.page_blocks: dict[int, set] = {}
        self.generation += 1

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
            if ins.kind != COPY:
                break
            off += ins.length
        if not insns:
            return None
        out, marks, slots = bytearray(), [], []

        def slot(kind, geip, name=""):
            marks.append((len(out), geip))
            slots.append((len(out), kind, geip, name))
            out.extend(HLT_SLOT)

        last = insns[-1]
        for ins in insns:
            nxt = (ins.eip + ins.length) & 0xFFFFFFFF
            if ins.kind == COPY:
                marks.append((len(out), ins.eip))
                out += ins.raw
            elif ins.kind == CALL:
                marks.append((len(out), ins.eip))
                out += b"\x68" + nxt.to_bytes(4, "little")
                slot(BRANCH, ins.target)
            elif ins.kind == JMP:
                slot(BRANCH, ins.target)
            elif ins.kind == JCC:
                marks.append((len(out), ins.eip))
                out += bytes((0x70 | ins.cc, SLOT))
                slot(BRANCH, nxt)
                slot(BRANCH, ins.target)
            elif ins.kind == LOOP:
                marks.append((len(out), ins.eip))
                out += ins.raw + bytes((ins.cc, 2))
                marks.append((len(out), nxt))
                out += bytes((0xEB, SLOT))
                slot(BRANCH, ins.target)
                slot(BRANCH, nxt)
            else:
                assert ins.kind == CALLOUT
                slot(EMULATE, ins.eip, ins.name)
        if last.kind == COPY:                           # (the block ran out of room or bytes)
            slot(BRANCH, (last.eip + last.length) & 0xFFFFFFFF)
        if self.top + len(out) > self.base + self.size:
            self.flush()
            if len(out) > self.size:
                raise ValueError("translation cache smaller than one block")
        host = self.top
        self.top += len(out)
        self.put(host, bytes(out))
        for o, geip in marks:
            self.hmap[host + o] = geip
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
