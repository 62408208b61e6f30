"""The Z80 translator's engine: a Z80 run ABI (``run(budget) -> EXIT_*``, as the
Z80 core's) whose instructions the host x86 CPU executes from a translation cache.

``Z80Engine(hostmem, host, zstate, zmem)`` takes the Z80's state array (the
VMM's Z80 model: cores/z80) and its memory map (host frames), and builds in host
memory what the host CPU runs on (emu.vmm.bt_z80_layout): page tables and GDT,
the register block, the code map, the lookup table, the stubs and the
translation cache.  ``run`` loads the Z80's registers into the register block,
runs the host CPU from the dispatcher, and takes its callouts:

* ``miss``: no translation for the Z80 PC yet: translate the block, enter it in
  the lookup table and the code map (a full cache is flushed first: everything
  is retranslated as it runs again, which the guest cannot see);
* ``interp``: an instruction the translator leaves alone (I/O, HALT, ...) runs on
  the VMM's Z80 model, the machine's own; its exits (IN, OUT) go back to the
  caller as the core's would, to the machine's devices, unchanged;
* ``smc``: a store hit translated code: the blocks made from those bytes go;
* ``budget``: the cycles given ran out at a block boundary, or an EI's block
  ended with the INT line up.

The Z80 model also runs what translated code cannot: an interrupt to accept
(NMI, or INT with IFF1 set and no EI just before: at block boundaries), HALT's
idling, a restarted IN, and a memory map that 4 KiB host pages cannot express
(the CP/M boot ROM's 256-byte overlay over RAM).  Stores of an instruction the
model ran are found by comparing the translated bytes with what they were
(``sync_code``); writes from outside the Z80 (a device's DMA, the debugger)
reach ``written`` (emu.vmm.bt_z80 hooks the address space's writers).
"""
from __future__ import annotations

import struct

import numpy as np

from cores.z80 import cpu as Z
from cores.z80.loop import run as z80_run
from cores.z80.tables import SZ, SZP

from .. import abi
from ..bus import FRAME
from ..errors import EmuError
from . import bt_z80_layout as L
from .bt_z80_gen import MAX_INSNS, Block, Gen

# Z80 state slot -> register block byte (emu.vmm.bt_z80_layout)
BYTE_SLOTS = {Z.B: L.B, Z.C: L.C, Z.D: L.D, Z.E: L.E, Z.H: L.H, Z.L: L.L, Z.F: L.F, Z.A: L.A,
              Z.IXH: L.IXH, Z.IXL: L.IXL, Z.IYH: L.IYH, Z.IYL: L.IYL, Z.I: L.I, Z.IFF1: L.IFF1,
              Z.IFF2: L.IFF2, Z.IM: L.IM, Z.EI: L.EI, Z.P: L.P, Z.Q: L.Q, Z.HALTED: L.HALTED,
              Z.A_: L.A_, Z.F_: L.F_, Z.B_: L.B_, Z.C_: L.C_, Z.D_: L.D_, Z.E_: L.E_,
              Z.H_: L.H_, Z.L_: L.L_}
# _to_block builds the block's first 64 bytes from [state slots 0-47] + [SP lo, SP hi,
# PC lo, PC hi, WZ lo, WZ hi, 0, 4 (LAST: nothing ran yet), the INT line]
_EXT = {"sp": 48, "pc": 50, "wz": 52, "zero": 54, "last": 55, "irq": 56}
PERM_IN = [_EXT["zero"]] * 64
for _slot, _off in BYTE_SLOTS.items():
    PERM_IN[_off] = _slot
for _name, _off in (("sp", L.SP), ("pc", L.PC), ("wz", L.WZ)):
    PERM_IN[_off], PERM_IN[_off + 1] = _EXT[_name], _EXT[_name] + 1
PERM_IN[L.LAST], PERM_IN[L.IRQLINE], PERM_IN[L.R] = _EXT["last"], _EXT["irq"], Z.R
# _from_block: state slots 16-47 from block bytes (the words and R fixed after)
PERM_OUT = [BYTE_SLOTS.get(slot, 0) for slot in range(16, 48)]
def _daa_table() -> np.ndarray:
    """DAA's result for every A and C, H, N: the Z80 core's own rule (cores/z80/cpu.acc8)."""
    t = np.zeros(2048, dtype=np.uint16)
    for i in range(2048):
        a, f = i & 0xFF, ((i >> 8) & 1) | (((i >> 9) & 1) << 4) | (((i >> 10) & 1) << 1)
        r, nf = Z.acc8.py_func(4, a, f, 0)
        t[i] = int(r) | (int(nf) << 8)
    return t.view(np.uint8)


DAA_TABLE = _daa_table()
REM_MAX = 1 << 24                 # cycles per entry at most (the counters stay far from 2**31)
DEFAULT_TC = 1 << 20


class BtError(EmuError):
    pass


def _pte(frame_off: int) -> int:
    return (frame_off & ~0xFFF) | 3                 # present, writable, supervisor


class Z80Engine:
    def __init__(self, hostmem, host, zstate, zmem, owner: str, tc_size: int = DEFAULT_TC,
                 max_insns: int = MAX_INSNS, port_mask: int = 0xFFFF):
        if not FRAME <= tc_size <= L.TC_MAX or tc_size % FRAME:
            raise BtError(f"{owner}: translation cache of {tc_size} bytes (4 KiB to "
                          f"{L.TC_MAX >> 20} MiB, whole pages)")
        from cores.x86 import state as X
        self.X = X
        self.hostmem, self.host, self.zs, self.zmem, self.owner = hostmem, host, zstate, zmem, owner
        self.tc_size, self.max_insns = tc_size, max_insns
        # IN A,(n) in x86 code when a port's flags are the same for every high byte (a port
        # mask of FF: the machine publishes status for all aliases); off while ports are held
        self.fast_in = port_mask <= 0xFF
        self.data = hostmem.data
        n_tc = tc_size // FRAME
        self.frames = []
        self.pd, self.pt, self.regs_f, self.stubs_f, self.daa_f, self.ftab_f = \
            (int(f) * FRAME for f in self._alloc(6))
        self.codemap_f = int(self._alloc(16, True)[0]) * FRAME
        self.lookup_f = int(self._alloc(64, True)[0]) * FRAME
        self.tc_f = int(self._alloc(n_tc, True)[0]) * FRAME
        d = self.data
        self.regs = d[self.regs_f:self.regs_f + 0x80]
        self.mv = memoryview(d)
        self.regs32 = self.regs.view(np.int32)
        self.ioflags = d[self.regs_f + L.IOFLAGS:self.regs_f + L.IOFLAGS + 512].view(np.uint16)
        self.codemap = d[self.codemap_f:self.codemap_f + 0x10000]
        self.lookup = d[self.lookup_f:self.lookup_f + 0x40000].view(np.uint32)
        self.tc = d[self.tc_f:self.tc_f + tc_size]
        self.cover = np.zeros(0x10000, dtype=np.int32)     # translations made from each byte
        self.shadow = np.zeros(0x10000, dtype=np.uint8)    # those bytes as translated
        self.cov_idx = None                                # flatnonzero(cover), while valid
        self.zoff = np.zeros(0x10000, dtype=np.int64)      # host offset of each Z80 byte
        pt = d[self.pt:self.pt + FRAME].view(np.uint32)
        pt[:] = 0
        pt[L.REGS_LIN >> 12] = _pte(self.regs_f)
        for i in range(16):
            pt[(L.CODEMAP_LIN >> 12) + i] = _pte(self.codemap_f + i * FRAME)
        pt[(L.CODEMAP_LIN >> 12) + 16] = _pte(self.codemap_f)            # (wraps as the Z80)
        for i in range(64):
            pt[(L.LOOKUP_LIN >> 12) + i] = _pte(self.lookup_f + i * FRAME)
        pt[L.STUBS_LIN >> 12] = _pte(self.stubs_f)
        pt[L.DAA_LIN >> 12] = _pte(self.daa_f)
        d[self.daa_f:self.daa_f + FRAME] = DAA_TABLE
        pt[L.SZ_LIN >> 12] = _pte(self.ftab_f)
        d[self.ftab_f:self.ftab_f + FRAME] = 0
        d[self.ftab_f:self.ftab_f + 256] = SZ.astype(np.uint8)
        d[self.ftab_f + 256:self.ftab_f + 512] = SZP.astype(np.uint8)
        for i in range(n_tc):
            pt[(L.TC_LIN >> 12) + i] = _pte(self.tc_f + i * FRAME)
        pdt = d[self.pd:self.pd + FRAME].view(np.uint32)
        pdt[:] = 0
        pdt[0] = _pte(self.pt)
        self.ptv = pt
        self._gdt()
        self._stubs()
        self.map_sig = None               # the Z80 map the page tables were built for
        self.mappable = False
        self.blocks: dict[int, Block] = {}
        self.by_page: dict[int, set] = {}
        self.tc_used = 0
        self.stats = {"blocks_translated": 0, "misses": 0, "interp": 0, "smc": 0,
                      "invalidations": 0, "flushes": 0, "host_entries": 0, "block_exits": 0,
                      "model_runs": 0, "insns_translated_code": 0, "callouts": 0, "out": 0}
        self.interp_ops = {}              # first opcode byte -> instructions run by the model
        self.ctx = self._context()
        self.entered = False
        self.flush()

    def _alloc(self, n: int, contiguous: bool = False):
        fr = self.hostmem.alloc(n, self.owner, contiguous=contiguous)
        self.frames.extend(int(f) for f in fr)
        return fr

    def destroy(self) -> None:
        if self.frames:
            self.hostmem.free(np.array(self.frames, dtype=np.int64))
            self.frames = []

    # ---- the host CPU's structures ----------------------------------------------------
    def _gdt(self) -> None:
        g = self.data[self.regs_f + L.GDT_OFF:self.regs_f + L.GDT_OFF + 24].view(np.uint64)
        g[0] = 0
        g[1] = 0x00CF9B000000FFFF        # flat 32-bit code, ring 0
        g[2] = 0x00CF93000000FFFF        # flat 32-bit data, ring 0

    def _stubs(self) -> None:
        from .x86asm import Asm, dword, word
        page = np.zeros(FRAME, dtype=np.uint8)
        a = Asm(L.DISPATCH)
        a.movzx("eax", word(L.reg(L.PC)))
        a.jmp(dword(L.LOOKUP_LIN, index="eax", scale=4))
        code = a.code()
        page[:len(code)] = np.frombuffer(code, np.uint8)
        for port, lin in L.STUB.items():
            a = Asm(lin)
            a.out(port)
            a.jmp(L.DISPATCH)
            code = a.code()
            o = lin - L.STUBS_LIN
            page[o:o + len(code)] = np.frombuffer(code, np.uint8)
        self.data[self.stubs_f:self.stubs_f + FRAME] = page

    def _context(self):
        """The host CPU's state while it runs this Z80: flat ring-0 protected mode with
        paging on the engine's page tables, every exception leaving to the VMM."""
        X = self.X
        c = self.host.state.copy()
        c[X.REG:X.REG + 8] = 0
        c[X.ESP] = L.REGS_LIN + 0x7F0
        c[X.FLAGS] = 0x2
        for i in range(6):
            c[X.SEL + i], c[X.BASE + i], c[X.LIMIT + i], c[X.ATTR + i] = 0x10, 0, 0xFFFFFFFF, 0xC93
        c[X.SEL + X.CS], c[X.ATTR + X.CS] = 0x08, 0xC9B
        c[X.CPL], c[X.CSD], c[X.SSB] = 0, 1, 1
        c[X.GDTB], c[X.GDTL] = L.REGS_LIN + L.GDT_OFF, 23
        c[X.IDTB], c[X.IDTL] = 0, 0
        c[X.LDTR], c[X.LDTB], c[X.LDTL] = 0, 0, 0
        c[X.CR0] = X.PE | X.ET | X.NE | X.PG
        c[X.CR3] = self.pd
        c[X.CR4] = 0
        c[X.INHIBIT], c[X.HALTED], c[X.SHUTDOWN] = 0, 0, 0
        c[X.XVEC], c[X.DELIV] = -1, -1
        c[X.VMX] = 0
        c[abi.S_INTERCEPT], c[X.EXC_BITMAP] = abi.INTERCEPT_EXCEPTIONS, 0xFFFFFFFF
        c[abi.S_BREAK] = -1
        c[X.TLBT:X.TLBT + X.TLBN] = -1
        c[X.EIP] = L.DISPATCH
        return c

    def enter(self) -> None:
        np.copyto(self.host.state, self.ctx)
        self.entered = True

    def leave(self) -> None:
        if self.entered:
            np.copyto(self.ctx, self.host.state)
            self.entered = False

    # ---- the Z80's memory map in the host page tables ---------------------------------------
    def _check_map(self) -> bool:
        """Map the Z80's 64 KiB at linear 0 if 4 KiB pages can (every 256-byte page RAM,
        read and write alike, 16 to a host frame in order); else the model runs."""
        rp, wp = self.zmem[1], self.zmem[2]
        sig = rp.tobytes() + wp.tobytes()
        if sig == self.map_sig:
            return self.mappable
        self.map_sig = sig
        self.zoff = np.repeat(rp, 256) + np.tile(np.arange(256, dtype=np.int64), 256)
        ok = bool(np.array_equal(rp, wp) and (rp >= 0).all())
        if ok:
            chunks = rp.reshape(16, 16)
            ok = bool((chunks[:, 0] % FRAME == 0).all()
                      and (chunks == chunks[:, :1] + 256 * np.arange(16)).all())
        self.mappable = ok
        pt = self.ptv
        pt[:17] = 0
        if ok:
            for i in range(16):
                pt[i] = _pte(int(rp[16 * i]))
            pt[16] = pt[0]
        self.flush_tlb()
        self.flush()                      # other memory: other code
        return ok

    def flush_tlb(self) -> None:
        X = self.X
        st = self.host.state if self.entered else self.ctx
        st[X.TLBT:X.TLBT + X.TLBN] = -1
        self.ctx[X.TLBT:X.TLBT + X.TLBN] = -1

    def read_z80(self, a: int) -> int:
        off = int(self.zmem[1][(a >> 8) & 0xFF])
        return int(self.data[off + (a & 0xFF)]) if off >= 0 else 0xFF

    # ---- the translation cache ---------------------------------------------------------------
    def flush(self) -> None:
        """Empty the cache: every lookup misses, no byte is translated code."""
        self.lookup[:] = L.STUB[L.PORT_MISS]
        self.codemap[:] = 0
        self.cover[:] = 0
        self.cov_idx = None
        self.blocks.clear()
        self.by_page.clear()
        if self.tc_used:
            self.stats["flushes"] += 1
        self.tc_used = 0

    def translate(self, pc: int) -> None:
        code = Gen(self.read_z80, pc, L.TC_LIN + self.tc_used, self.max_insns, self.fast_in)
        out = code.translate()
        if self.tc_used + len(out) > self.tc_size:
            self.flush()                              # full: start afresh
            code = Gen(self.read_z80, pc, L.TC_LIN, self.max_insns, self.fast_in)
            out = code.translate()
            if len(out) > self.tc_size:
                raise BtError(f"{self.owner}: a block of {len(out)} bytes does not fit the "
                              f"translation cache of {self.tc_size}")
        at = self.tc_used
        self.tc[at:at + len(out)] = np.frombuffer(out, np.uint8)
        self.tc_used += len(out)
        size = (code.pc - pc) & 0xFFFF
        b = Block(pc, pc + size, L.TC_LIN + at, len(out), code.n)
        idx = (pc + np.arange(size)) & 0xFFFF
        self.cover[idx] += 1
        self.codemap[idx] = 1
        self.shadow[idx] = self.data[self.zoff[idx]]
        self.cov_idx = None
        for pg in set((idx >> 8).tolist()):
            self.by_page.setdefault(pg, set()).add(pc)
        old = self.blocks.get(pc)
        if old is not None:
            self._drop(old)
        self.blocks[pc] = b
        self.lookup[pc] = b.tc
        self.stats["blocks_translated"] += 1

    def _drop(self, b: Block) -> None:
        idx = (b.start + np.arange(b.end - b.start)) & 0xFFFF
        self.cover[idx] -= 1
        self.codemap[idx] = self.cover[idx] > 0
        self.cov_idx = None
        for pg in set((idx >> 8).tolist()):
            self.by_page.get(pg, set()).discard(b.start)
        if self.blocks.get(b.start) is b:
            del self.blocks[b.start]
            self.lookup[b.start] = L.STUB[L.PORT_MISS]

    def written(self, addr: int, n: int) -> None:
        """Z80 bytes ``addr .. addr + n - 1`` were written: the translations of those
        that changed go (CP/M's warm boot reloads the CCP over itself: nothing goes)."""
        idx = (addr + np.arange(n)) & 0xFFFF
        idx = idx[self.cover[idx] > 0]
        if len(idx):
            self.written_at(idx[self.data[self.zoff[idx]] != self.shadow[idx]])

    def sync_code(self) -> None:
        """Translations whose Z80 bytes changed behind the translated code's back (the
        model's stores, an interrupt's push, a device's DMA, the debugger) go."""
        if self.cov_idx is None:
            self.cov_idx = np.flatnonzero(self.cover)
        ci = self.cov_idx
        if not len(ci):
            return
        changed = ci[self.data[self.zoff[ci]] != self.shadow[ci]]
        if len(changed):
            self.written_at(changed)

    def written_at(self, idx) -> None:
        hit = idx[self.cover[idx] > 0]
        if not len(hit):
            return
        for pg in set((hit >> 8).tolist()):
            for start in list(self.by_page.get(pg, ())):
                b = self.blocks.get(start)
                if b is None:
                    continue
                bidx = (b.start + np.arange(b.end - b.start)) & 0xFFFF
                if np.isin(bidx, hit).any():
                    self._drop(b)
                    self.stats["invalidations"] += 1

    # ---- running -------------------------------------------------------------------------------
    def _to_block(self, st: list) -> None:
        """The register block from the Z80's state (``st``: its slots 0-47 as a list;
        Python lists and a memoryview: numpy calls on a few bytes cost more than the copy)."""
        sp, pc, wz = st[Z.SP], st[Z.PC], st[Z.WZ]
        ext = st + [sp & 0xFF, sp >> 8, pc & 0xFF, pc >> 8, wz & 0xFF, wz >> 8, 0, 4,
                    st[abi.S_IRQ] & 1]
        self.mv[self.regs_f:self.regs_f + 64] = bytes(map(ext.__getitem__, PERM_IN))
        if self.fast_in:
            self.ioflags[:] = self.zmem[3][:256]

    def _from_block(self, rem0: int, cyc0: int) -> None:
        s = self.zs
        b = bytes(self.mv[self.regs_f:self.regs_f + 64])
        vals = list(map(b.__getitem__, PERM_OUT))
        vals[Z.SP - 16] = b[L.SP] | (b[L.SP + 1] << 8)
        vals[Z.PC - 16] = b[L.PC] | (b[L.PC + 1] << 8)
        vals[Z.WZ - 16] = b[L.WZ] | (b[L.WZ + 1] << 8)
        rem, rc, n, _, blocks = struct.unpack_from("<iiiii", b, L.REM)
        r0 = b[L.R]                                   # (LD R,A may have set it)
        vals[Z.R - 16] = (r0 & 0x80) | ((r0 + rc) & 0x7F)
        last = b[L.LAST]
        if not last & 4:                              # an instruction ran: Q, EI, P as it left them
            vals[Z.Q - 16] = b[L.F] if last & 1 else 0
            vals[Z.EI - 16] = 1 if last & 2 else 0
            vals[Z.P - 16] = 1 if last & 8 else 0
        s[16:48] = vals
        s[abi.S_CYCLES] = cyc0 + rem0 - rem
        s[abi.S_INSNS] += n
        st = self.stats
        st["insns_translated_code"] += n
        st["block_exits"] += blocks

    def _model(self, budget: int, may_write: bool = True) -> int:
        self.stats["model_runs"] += 1
        r = int(z80_run(self.zs, self.zmem, budget))
        if self.mappable and may_write:
            self.sync_code()
        return r

    def _writes_memory(self) -> bool:
        """May the instruction at PC, run on the model, store to memory?  (I/O,
        HALT, DAA, IM, LD A,I ... do not; the DD/FD forms, INI/IND/INIR/INDR and
        RRD/RLD may; an interrupt taken first pushes PC.)"""
        s = self.zs
        if s[abi.S_NMI] or (s[abi.S_IRQ] & 1 and s[Z.IFF1] and not s[Z.EI]):
            return True
        pc = int(s[Z.PC])
        op = self.read_z80(pc)
        if op in (0xDD, 0xFD):
            return True
        if op == 0xED:
            return self.read_z80((pc + 1) & 0xFFFF) in (0xA2, 0xAA, 0xB2, 0xBA, 0x67, 0x6F)
        return False

    def run(self, budget: int) -> int:
        """Run the Z80 for ``budget`` cycles (the run ABI's ``run``): an EXIT_* reason."""
        s = self.zs
        end = int(s[abi.S_CYCLES]) + budget
        if not self.entered:
            self.enter()
        X, h, stats = self.X, self.host.state, self.stats
        mappable = self._check_map()      # (the map changes only between runs: a device's doing)
        while True:
            st = s[:48].tolist()
            cyc = st[abi.S_CYCLES]
            left = end - cyc
            if left <= 0:
                return abi.EXIT_BUDGET
            if not mappable or st[Z.HALTED] or st[abi.S_BREAK] >= 0 or s[Z.BREAKS + abi.BT_COUNT]:
                r = self._model(left, mappable)
                if r != abi.EXIT_BUDGET:
                    return r
                continue
            if st[abi.S_NMI] or st[abi.S_PENDING] or (st[abi.S_IRQ] & 1 and st[Z.IFF1] and not st[Z.EI]):
                r = self._model(1, self._writes_memory())
                if r != abi.EXIT_BUDGET:
                    return r
                continue
            rem0 = min(left, REM_MAX)
            self._to_block(st)
            self.regs32[L.REM // 4] = rem0
            h[X.EIP] = L.DISPATCH
            stats["host_entries"] += 1
            while True:
                r = self.host.run(1 << 40)
                if r != abi.EXIT_BUDGET:
                    break
            self._from_block(rem0, cyc)
            port = int(h[abi.S_EXIT_ADDR])
            if r != abi.EXIT_IO_OUT or port not in L.PORT_NAMES:
                raise BtError(self._fault(r))
            stats["callouts"] += 1
            if port == L.PORT_MISS:
                stats["misses"] += 1
                self.translate(int(s[Z.PC]))
            elif port == L.PORT_INTERP:
                stats["interp"] += 1
                pc = int(s[Z.PC])
                op = self.read_z80(pc)
                key = f"{op:02X}" if op not in (0xCB, 0xDD, 0xED, 0xFD) else \
                    f"{op:02X}{self.read_z80((pc + 1) & 0xFFFF):02X}"
                self.interp_ops[key] = self.interp_ops.get(key, 0) + 1
                r = self._model(1, self._writes_memory())
                if r != abi.EXIT_BUDGET:
                    return r
            elif port == L.PORT_SMC:
                stats["smc"] += 1
                self.sync_code()
            elif port == L.PORT_OUT:
                stats["out"] += 1
                r = self._port_out()
                if r != abi.EXIT_BUDGET:
                    return r

    def _port_out(self) -> int:
        """The ``out`` callout: a posted port's write goes to the log (emu.abi
        IOF_POSTED), any other leaves as the core's EXIT_IO_OUT (the instruction done)."""
        s = self.zs
        port, value = struct.unpack_from("<IB", bytes(self.mv[self.regs_f + L.IOPORT:
                                                             self.regs_f + L.IOVAL + 1]))
        port &= 0xFFFF
        if self.zmem[3][port] & abi.IOF_POSTED:
            log, n = self.zmem[4], int(s[abi.S_IOLOG_COUNT])
            log[3 * n], log[3 * n + 1], log[3 * n + 2] = port | (1 << 32), value, int(s[abi.S_CYCLES])
            s[abi.S_IOLOG_COUNT] = n + 1
            return abi.EXIT_IOLOG_FULL if 3 * (n + 2) > len(log) else abi.EXIT_BUDGET
        s[abi.S_EXIT_ADDR], s[abi.S_EXIT_SIZE], s[abi.S_EXIT_DATA] = port, 1, value
        return abi.EXIT_IO_OUT

    def _fault(self, r: int) -> str:
        X, h = self.X, self.host.state
        what = abi.EXIT_NAMES.get(r, str(r))
        if r == abi.EXIT_EXCEPTION:
            what = f"exception {int(h[abi.S_FAULT])}"
        return (f"{self.owner}: translated code stopped the host CPU ({what} at EIP "
                f"{int(h[X.EIP]):#x}, Z80 PC {int(self.zs[Z.PC]):04X})")

    def stats_dict(self) -> dict:
        st = dict(self.stats)
        entries = st["block_exits"] + st["host_entries"]
        st["tc_size"] = self.tc_size
        st["tc_used"] = self.tc_used
        st["blocks_live"] = len(self.blocks)
        st["hit_rate"] = round(1 - st["misses"] / entries, 4) if entries else None
        st["interp_ops"] = dict(sorted(self.interp_ops.items()))
        return st
