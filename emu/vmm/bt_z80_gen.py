"""Z80 -> x86 translation of one basic block (the code the host CPU runs).

A block is the straight-line run of Z80 instructions from an address up to the
first control transfer, an instruction not translated here, or ``MAX_INSNS``.
Each Z80 instruction becomes x86 code on the register block (emu.vmm.bt_z80_layout):
Z80 registers are bytes of it, x86 registers only hold temporaries, and Z80
memory is linear 0-FFFF.  Flags are exact, the undocumented X/Y (bits 3, 5)
included: C and V come from the x86 flags of the same operation (SETC, SETO),
S Z Y X (and P) of a result from the Z80 core's SZ/SZP tables mapped for the
host CPU, H from bit 4 of a ^ v ^ r, X/Y from the operand where the Z80 takes
them from it; the rules are the Z80 core's (cores/z80/cpu.py), MEMPTR (WZ)
updates included.  The code avoids what the host CPU runs off its fast path
(cores/x86/fast32.py): 66h-prefixed 16-bit operations (Z80 words are stored
as byte pairs, computed in 32-bit registers) and LAHF/SAHF.

Every exit of a block adds its T-states, R increments and instruction count to
the counters and records the Q/EI state (``LAST``); an exit to a Z80 address
goes on through the lookup table unless the cycles left ran out (the host CPU
then returns to the VMM, which delivers interrupts there: at block
boundaries).  A store that hits translated code (the code map) ends the block
after the instruction and calls out, so the VMM invalidates what it overwrote.

Instructions not translated here end the block with an ``interp`` callout: the
VMM runs that one instruction on its Z80 model (emu.vmm.bt_z80).  They are
UNTRANSLATED below: IN (but IN A,(n) of a published port), the block I/O
instructions and HALT.  OUT ends the block with the ``out`` callout.  The DD/FD forms are the
unprefixed ones on IX/IY (H/L -> IXH/IXL, (HL) -> (IX+d), WZ = IX+d).
"""
from __future__ import annotations

from cores.z80.tables import CYC_MAIN

from . import bt_z80_layout as L
from .bt_z80_operands import FLAG_OF_CC, R8, RP, RP2, Untranslated, rb, rd_, rw
from .bt_z80_prefixed import Prefixed
from .x86asm import Asm, byte, dword, word

MAX_INSNS = 24
CODEMAP = L.CODEMAP_LIN
HALVES = {"ax": ("al", "ah"), "cx": ("cl", "ch"), "dx": ("dl", "dh"), "bx": ("bl", "bh")}
class Block:
    """One translation: where its code is and which Z80 bytes it came from."""
    __slots__ = ("end", "insns", "size", "start", "tc")

    def __init__(self, start, end, tc, size, insns):
        self.start, self.end, self.tc, self.size, self.insns = start, end, tc, size, insns


class Gen(Prefixed):
    def __init__(self, read, pc: int, origin: int, max_insns: int = MAX_INSNS, fast_in: bool = False):
        self.read = read                 # Z80 byte at an address (the code being translated)
        self.start = pc
        self.pc = pc                     # the next byte to decode
        self.a = Asm(origin)
        self.max_insns = max_insns
        self.t = 0                       # T-states of the instructions done so far
        self.r = 0                       # their opcode fetches (R increments)
        self.n = 0                       # and their count
        self.wrote_f = None              # did the last one write F (None: nothing yet)
        self.last = 0                    # LAST after the instructions so far
        self.after_ei = False            # the last instruction was EI
        self.ei_check = False            # an EI in this block: check the INT line at its end
        self.stubs = []                  # (label, smc address operand, continuation, t, r, n, last)
        self.side = []                   # (label, pc, t, r, n, last): interp exits inside the block
        self.fast_in = fast_in           # IN A,(n) of a published port in x86 code (port mask FF)
        self.ended = False

    # ---- decoding -------------------------------------------------------------------
    def fetch(self) -> int:
        v = self.read(self.pc & 0xFFFF)
        self.pc = (self.pc + 1) & 0xFFFF
        return v

    def fetch16(self) -> int:
        lo = self.fetch()
        return lo | (self.fetch() << 8)

    def disp(self) -> int:
        d = self.fetch()
        return d - 256 if d >= 128 else d

    # ---- block exits ------------------------------------------------------------------
    def _last(self, wrote_f: bool, ei: bool = False, p_latch: bool = False) -> int:
        return (1 if wrote_f else 0) | (2 if ei else 0) | (8 if p_latch else 0)

    def _counters(self, t, r, n, last) -> None:
        a = self.a
        a.inc(rd_(L.BLOCKS))
        a.add(rd_(L.RCNT), r)
        a.add(rd_(L.INSN), n)
        a.mov(rb(L.LAST), last)
        a.sub(rd_(L.REM), t)

    def exit_to(self, target, t, r, n, last) -> None:
        """Leave to Z80 address ``target`` (an int, or None: it is in EAX)."""
        a = self.a
        if target is None:
            a.mov(rd_(L.PC), "eax")
        else:
            a.mov(rd_(L.PC), target & 0xFFFF)
        self._counters(t, r, n, last)
        a.jcc("le", L.STUB[L.PORT_BUDGET])
        if self.ei_check:
            a.test(rb(L.IRQLINE), 1)
            a.jcc("nz", L.STUB[L.PORT_BUDGET])
        if target is None:
            a.jmp(dword(L.LOOKUP_LIN, index="eax", scale=4))
        else:
            a.jmp(dword(L.LOOKUP_LIN + 4 * (target & 0xFFFF)))

    def interp_exit(self, pc) -> None:
        """End the block before the instruction at ``pc``: the VMM runs it."""
        a = self.a
        a.mov(rd_(L.PC), pc)
        if self.n:
            self._counters(self.t, self.r, self.n, self.last)
        a.jmp(L.STUB[L.PORT_INTERP])

    def smc(self, addr, size: int, cont: int | None = None, t=None, r=None, n=None, last=None) -> None:
        """After a store of ``size`` bytes at ``addr`` (an x86 register holding the Z80
        address, or a constant): call out if that hits translated code.  The block's
        counters then include this instruction (``t``, ``r``, ``n`` default to the
        instruction being finished: see ``insn_done``)."""
        a = self.a
        mask = 1 if size == 1 else 0x0101
        op = (byte if size == 1 else word)(CODEMAP + addr) if isinstance(addr, int) else \
            (byte if size == 1 else word)(CODEMAP, base=addr)
        a.test(op, mask)
        lab = a.label(bind=False)
        a.jcc("nz", lab)
        self.stubs.append((lab, addr, cont, t, r, n, last))

    def _emit_stubs(self) -> None:
        a = self.a
        for lab, pc, t, r, n, last in self.side:
            a.bind(lab)
            a.mov(rd_(L.PC), pc)
            if n:
                self._counters(t, r, n, last)
            a.jmp(L.STUB[L.PORT_INTERP])
        for lab, addr, cont, t, r, n, last in self.stubs:
            a.bind(lab)
            if isinstance(addr, int):
                a.mov(rd_(L.SMCADDR), addr & 0xFFFF)
            else:
                a.mov(rd_(L.SMCADDR), addr)
            a.mov(rd_(L.PC), cont & 0xFFFF)
            self._counters(t, r, n, last)
            a.jmp(L.STUB[L.PORT_SMC])

    # ---- the block ----------------------------------------------------------------------
    def translate(self) -> bytes:
        while not self.ended:
            pc0 = self.pc
            if self.n >= self.max_insns:
                self.exit_to(pc0, self.t, self.r, self.n, self.last)
                break
            mark = len(self.a.buf), len(self.stubs), len(self.side)
            try:
                self.insn()
            except Untranslated:
                del self.a.buf[mark[0]:]
                del self.stubs[mark[1]:]
                del self.side[mark[2]:]
                self.a.fixups = [f for f in self.a.fixups if f[0] < mark[0]]
                self.pc = pc0
                self.interp_exit(pc0)
                break
        self._emit_stubs()
        return self.a.code()

    # per-instruction bookkeeping: ``begin`` fixes this instruction's fetch count; its
    # handlers call ``done`` with its T-states (or exit on their own)
    def done(self, t: int, wrote_f: bool, ei: bool = False, p_latch: bool = False) -> None:
        self.t += t
        self.r += self.cur_r
        self.n += 1
        self.wrote_f = wrote_f
        self.last = self._last(wrote_f, ei, p_latch)
        self.after_ei = ei
        for i, st in enumerate(self.stubs):          # stubs of this instruction: its counts
            if st[3] is None:
                self.stubs[i] = st[:2] + ((self.pc if st[2] is None else st[2]), self.t, self.r,
                                           self.n, self.last)

    def end_here(self, target, t, wrote_f) -> None:
        """An unconditional exit to ``target`` (None: EAX) after this instruction."""
        self.done(t, wrote_f)
        self.exit_to(target, self.t, self.r, self.n, self._last(wrote_f))
        self.ended = True

    def branch(self, cc_y: int, target: int, t_taken: int, t_not: int, prep=None) -> None:
        """Conditional exit on flag condition ``cc_y`` (NZ Z NC C PO PE P M)."""
        a = self.a
        a.test(rb(L.F), FLAG_OF_CC[cc_y])
        no = a.label(bind=False)
        a.jcc("z" if cc_y & 1 else "nz", no)          # condition false -> fall through
        self._taken(target, t_taken, prep)
        a.bind(no)
        self.end_here(self.pc, t_not, False)

    def _taken(self, target, t, prep=None) -> None:
        if prep is not None:
            prep()
        self.exit_to(target, self.t + t, self.r + self.cur_r, self.n + 1, 0)

    def insn(self) -> None:
        self.insn_pc = self.pc
        after_ei = self.after_ei
        op = self.fetch()
        self.cur_r = 1
        self.xi = 0
        if op in (0xDD, 0xFD):
            nxt = self.read(self.pc)
            if nxt in (0xDD, 0xFD, 0xED):            # the prefix alone: a 4-T NOP
                self.done(4, False)
                self._after(after_ei)
                return
            self.pc = (self.pc + 1) & 0xFFFF
            self.cur_r = 2
            self.xi = 1 if op == 0xDD else 2
            if nxt == 0xCB:
                self.xycb()
            else:
                self.main(nxt)
        elif op == 0xCB:
            self.cur_r = 2
            self.cb(self.fetch())
        elif op == 0xED:
            self.cur_r = 2
            self.ed(self.fetch())
        else:
            self.main(op)
        self._after(after_ei)

    def _after(self, after_ei: bool) -> None:
        if after_ei and not self.ended and not self.after_ei:
            # the instruction after EI ran: the interrupt may come now (block boundary)
            self.exit_to(self.pc, self.t, self.r, self.n, self.last)
            self.ended = True

    # ---- flag helpers (x86 flags live from the operation; result in AL) -----------------------
    def flags_arith(self, n_flag: bool, a_op, v_op=None, xy_from=None, keep_c=False) -> None:
        """F after an 8-bit ADD/ADC/SUB/SBC/CP (INC/DEC: ``keep_c``) left its result in
        AL: C and V from the x86 flags (SETC, SETO), S Z Y X from the SZ table (X/Y from
        ``xy_from`` for CP), H = bit 4 of a ^ v ^ r (``a_op``, ``v_op``), N."""
        a = self.a
        if not keep_c:
            a.setc("ch")
        a.seto("bh")
        a.movzx("esi", "al")
        a.mov("cl", byte(L.SZ_LIN, base="esi"))
        if xy_from is not None:
            a.alu("and", "cl", 0xD7)
            a.mov("dl", xy_from)
            a.alu("and", "dl", 0x28)
            a.alu("or", "cl", "dl")
        a.mov("dl", a_op)
        if v_op is not None:
            a.alu("xor", "dl", v_op)
        a.alu("xor", "dl", "al")
        a.alu("and", "dl", 0x10)
        a.alu("or", "cl", "dl")
        a.shl("bh", 2)
        a.alu("or", "cl", "bh")
        if keep_c:
            a.mov("ch", rb(L.F))
            a.alu("and", "ch", 1)
        a.alu("or", "cl", "ch")
        if n_flag:
            a.alu("or", "cl", 2)
        a.mov(rb(L.F), "cl")

    def flags_logic(self, h: bool) -> None:
        """F after AND/XOR/OR: S Z Y X P from the SZP table, H for AND."""
        a = self.a
        a.movzx("esi", "al")
        a.mov("cl", byte(L.SZP_LIN, base="esi"))
        if h:
            a.alu("or", "cl", 0x10)
        a.mov(rb(L.F), "cl")

    def carry_in(self, reg: str = "ah") -> None:
        """x86 CF = the Z80's C (SHR of F's copy; SAHF is slow on the host CPU)."""
        self.a.mov(reg, rb(L.F))
        self.a.shr(reg, 1)

    def alu_al(self, y: int, src) -> None:
        """ALU op y (ADD ADC SUB SBC AND XOR OR CP) of A with ``src`` (a register
        holding the operand: BL)."""
        a = self.a
        a.mov("al", rb(L.A))
        if y in (1, 3):
            self.carry_in()
        name = ("add", "adc", "sub", "sbb", "and", "xor", "or", "cmp")[y]
        if y == 7:
            a.alu("sub", "al", src)
            self.flags_arith(True, rb(L.A), src, xy_from=src)
            return
        a.alu(name, "al", src)
        if y < 4:
            self.flags_arith(y >= 2, rb(L.A), src)
        else:
            self.flags_logic(y == 4)
        a.mov(rb(L.A), "al")

    # ---- 16-bit stores as byte pairs (the host CPU's 66h-prefixed forms are slow) ----------
    def st16(self, off: int, src) -> None:
        """Register-block word ``off`` = ``src`` (an int, or AX/CX/DX/BX)."""
        a = self.a
        if isinstance(src, int):
            a.mov(rb(off), src & 0xFF)
            a.mov(rb(off + 1), (src >> 8) & 0xFF)
        else:
            lo, hi = HALVES[src]
            a.mov(rb(off), lo)
            a.mov(rb(off + 1), hi)

    def st16m(self, addr, src: str) -> None:
        """Z80 memory word at ``addr`` (a constant or a register holding it) = ``src``
        (at FFFF the second byte lands in the alias of page 0: the Z80's wrap)."""
        lo, hi = HALVES[src]
        if isinstance(addr, int):
            self.a.mov(byte(addr), lo)
            self.a.mov(byte(addr + 1), hi)
        else:
            self.a.mov(byte(0, base=addr), lo)
            self.a.mov(byte(1, base=addr), hi)

    # ---- operands -----------------------------------------------------------------------------
    def r8(self, r: int) -> int:
        """Block offset of register r, IXH/IXL (IYH/IYL) for H/L under a DD (FD) prefix."""
        if self.xi and r in (4, 5):
            return (L.IXH, L.IXL, L.IYH, L.IYL)[2 * (self.xi - 1) + r - 4]
        return R8[r]

    def hlp(self) -> int:
        """HL, or IX/IY under a prefix."""
        return (L.HL, L.IX, L.IY)[self.xi]

    def rp(self, p: int) -> int:
        return self.hlp() if p == 2 else RP[p]

    def rp2(self, p: int) -> int:
        return self.hlp() if p == 2 else RP2[p]

    def load_r(self, dst: str, r: int, real: bool = False) -> None:
        """x86 byte register ``dst`` = Z80 register r (r != 6)."""
        self.a.mov(dst, rb(R8[r] if real else self.r8(r)))

    def hl_addr(self, dst="edi") -> None:
        """EDI = the address of (HL), or of (IX+d)/(IY+d) (fetching d; WZ = it)."""
        if not self.xi:
            self.a.movzx(dst, rw(L.HL))
            return
        d = self.disp()
        self.a.movzx(dst, rw(self.hlp()))
        if d:
            self.a.alu("add", dst, d)
            self.a.alu("and", dst, 0xFFFF)             # (wraps as the Z80)
        self.a.mov("eax", dst)
        self.st16(L.WZ, "ax")

    # ---- unprefixed --------------------------------------------------------------------------
    def main(self, op: int) -> None:
        a = self.a
        x, y, z = op >> 6, (op >> 3) & 7, op & 7
        p, q = y >> 1, y & 1
        cyc = int(CYC_MAIN[op]) + (4 if self.xi else 0)
        ix8 = 8 if self.xi else 0                    # (IX+d) forms: 8 T-states more
        if x == 1:
            if op == 0x76:
                raise Untranslated                   # HALT: the VMM's model idles
            if z == 6:                               # LD r,(HL) (r the real one)
                self.hl_addr()
                a.mov("al", byte(0, base="edi"))
                a.mov(rb(R8[y]), "al")
                cyc += ix8
            elif y == 6:                             # LD (HL),r
                self.hl_addr()
                self.load_r("al", z, real=True)
                a.mov(byte(0, base="edi"), "al")
                self.smc("edi", 1)
                cyc += ix8
            elif y != z:
                self.load_r("al", z)
                a.mov(rb(self.r8(y)), "al")
            self.done(cyc, False)
            return
        if x == 2:                                   # ALU r / (HL)
            if z == 6:
                self.hl_addr()
                a.mov("bl", byte(0, base="edi"))
                cyc += ix8
            else:
                self.load_r("bl", z)
            self.alu_al(y, "bl")
            self.done(cyc, True)
            return
        if x == 0:
            return self.main_x0(op, x, y, z, p, q, cyc)
        return self.main_x3(op, y, z, p, q, cyc)

    def main_x0(self, op, x, y, z, p, q, cyc) -> None:
        a = self.a
        ix8 = 8 if self.xi else 0
        if z == 0:
            if y == 0:                               # NOP
                self.done(cyc, False)
            elif y == 1:                             # EX AF,AF'
                a.movzx("eax", rw(L.AF))
                a.movzx("ecx", rw(L.F_))
                self.st16(L.AF, "cx")
                self.st16(L.F_, "ax")
                self.done(cyc, False)
            elif y == 2:                             # DJNZ
                d = self.disp()
                target = (self.pc + d) & 0xFFFF
                a.dec(rb(L.B))
                no = a.label(bind=False)
                a.jcc("z", no)
                self._taken(target, cyc + 5, lambda: self.st16(L.WZ, target))
                a.bind(no)
                self.end_here(self.pc, cyc, False)
            else:                                    # JR / JR cc
                d = self.disp()
                target = (self.pc + d) & 0xFFFF
                if y == 3:
                    self.st16(L.WZ, target)
                    self.end_here(target, cyc, False)
                else:
                    self.branch(y - 4, target, cyc + 5, cyc, lambda: self.st16(L.WZ, target))
            return
        if z == 1:
            if q == 0:                               # LD rp,nn
                self.st16(self.rp(p), self.fetch16())
                self.done(cyc, False)
            else:                                    # ADD HL,rp
                self.add16(self.hlp(), self.rp(p))
                self.done(cyc, True)
            return
        if z == 2:
            if y < 4:                                # LD (BC)/(DE),A / LD A,(BC)/(DE)
                rp = (L.BC, L.BC, L.DE, L.DE)[y]
                a.movzx("edi", rw(rp))
                if q == 0:
                    a.mov("al", rb(L.A))
                    a.mov(byte(0, base="edi"), "al")
                    a.lea("ecx", dword(1, base="edi"))
                    a.mov("ch", "al")
                    self.st16(L.WZ, "cx")
                    self.smc("edi", 1)
                else:
                    a.mov("al", byte(0, base="edi"))
                    a.mov(rb(L.A), "al")
                    a.lea("eax", dword(1, base="edi"))
                    self.st16(L.WZ, "ax")
                self.done(cyc, False)
                return
            nn = self.fetch16()
            wz = (nn + 1) & 0xFFFF
            if y == 4:                               # LD (nn),HL
                a.movzx("eax", rw(self.hlp()))
                self.st16m(nn, "ax")
                self.st16(L.WZ, wz)
                self.smc(nn, 2)
            elif y == 5:                             # LD HL,(nn)
                a.movzx("eax", word(nn))
                self.st16(self.hlp(), "ax")
                self.st16(L.WZ, wz)
            elif y == 6:                             # LD (nn),A
                a.mov("al", rb(L.A))
                a.mov(byte(nn), "al")
                a.mov("ah", "al")
                a.mov("al", wz & 0xFF)
                self.st16(L.WZ, "ax")
                self.smc(nn, 1)
            else:                                    # LD A,(nn)
                a.mov("al", byte(nn))
                a.mov(rb(L.A), "al")
                self.st16(L.WZ, wz)
            self.done(cyc, False)
            return
        if z == 3:                                   # INC/DEC rp
            a.movzx("eax", rw(self.rp(p)))
            (a.inc if q == 0 else a.dec)("eax")
            self.st16(self.rp(p), "ax")
            self.done(cyc, False)
            return
        if z in (4, 5):                              # INC/DEC r / (HL)
            if y == 6:
                self.hl_addr()
                a.mov("al", byte(0, base="edi"))
                cyc += ix8
            else:
                self.load_r("al", y)
            a.mov("dh", "al")
            (a.inc if z == 4 else a.dec)("al")
            self.flags_arith(z == 5, "dh", keep_c=True)
            if y == 6:
                a.mov(byte(0, base="edi"), "al")
                self.smc("edi", 1)
            else:
                a.mov(rb(self.r8(y)), "al")
            self.done(cyc, True)
            return
        if z == 6:                                   # LD r,n / LD (HL),n
            if y == 6:
                self.hl_addr()                       # (d comes before n)
                a.mov(byte(0, base="edi"), self.fetch())
                self.smc("edi", 1)
                cyc += 5 if self.xi else 0
            else:
                a.mov(rb(self.r8(y)), self.fetch())
            self.done(cyc, False)
            return
        self.acc(y, cyc)                             # z == 7

    def acc(self, y: int, cyc: int) -> None:
        """RLCA RRCA RLA RRA DAA CPL SCF CCF."""
        a = self.a
        if y == 4:                                   # DAA: from the table (C H N A -> A F)
            a.movzx("eax", rb(L.A))
            a.movzx("ecx", rb(L.F))
            a.mov("edx", "ecx")
            a.alu("and", "edx", 1)
            a.shl("edx", 8)
            a.alu("or", "eax", "edx")
            a.mov("edx", "ecx")
            a.alu("and", "edx", 0x10)
            a.shl("edx", 5)
            a.alu("or", "eax", "edx")
            a.alu("and", "ecx", 2)
            a.shl("ecx", 9)
            a.alu("or", "eax", "ecx")
            a.movzx("eax", word(L.DAA_LIN, index="eax", scale=2))
            a.mov(rb(L.A), "al")
            a.mov(rb(L.F), "ah")
            self.done(cyc, True)
            return
        a.mov("al", rb(L.A))
        a.mov("cl", rb(L.F))
        if y < 4:
            if y in (2, 3):
                a.mov("ah", "cl")
                a.shr("ah", 1)
            a.shift(("rol", "ror", "rcl", "rcr")[y], "al", 1)
            a.setc("dl")
            a.alu("and", "cl", 0xC4)
            a.alu("or", "cl", "dl")
        elif y == 5:                                 # CPL
            a.unary("not", "al")
            a.alu("and", "cl", 0xC5)
            a.alu("or", "cl", 0x12)
        else:                                        # SCF / CCF: X/Y = ((Q ^ F) | A)
            self.q_into("dl")
            a.alu("xor", "dl", "cl")
            a.alu("or", "dl", "al")
            a.alu("and", "dl", 0x28)
            if y == 6:
                a.alu("and", "cl", 0xC4)
                a.alu("or", "cl", 1)
            else:
                a.mov("dh", "cl")
                a.alu("and", "dh", 1)
                a.shl("dh", 4)                       # H = old C
                a.alu("and", "cl", 0xC5)
                a.alu("xor", "cl", 1)
                a.alu("or", "cl", "dh")
            a.alu("or", "cl", "dl")
            a.mov(rb(L.F), "cl")
            self.done(cyc, True)
            return
        a.mov("dl", "al")
        a.alu("and", "dl", 0x28)
        a.alu("or", "cl", "dl")
        a.mov(rb(L.F), "cl")
        a.mov(rb(L.A), "al")
        self.done(cyc, True)

    def q_into(self, dst: str) -> None:
        """x86 byte register ``dst`` = the Z80's Q latch before this instruction."""
        a = self.a
        if self.wrote_f is not None:                 # known: an instruction of this block
            if self.wrote_f:
                a.mov(dst, rb(L.F))
            else:
                a.mov(dst, 0)
            return
        # the block's first instruction: from LAST (bit 0: Q = F; bit 2: Q as entered)
        done = a.label(bind=False)
        a.mov(dst, rb(L.F))
        a.test(rb(L.LAST), 1)
        a.jcc("nz", done)
        a.mov(dst, rb(L.Q))
        a.test(rb(L.LAST), 4)
        a.jcc("nz", done)
        a.mov(dst, 0)
        a.bind(done)

    def add16(self, dst: int, src: int) -> None:
        """ADD HL,rr: H from bit 11, C, X/Y from the high byte; S Z P kept; WZ = HL + 1."""
        a = self.a
        a.movzx("eax", rw(dst))
        a.movzx("ecx", rw(src))
        a.lea("edx", dword(0, base="eax", index="ecx"))
        a.lea("ebx", dword(1, base="eax"))
        self.st16(L.WZ, "bx")
        self.st16(dst, "dx")
        a.alu("xor", "eax", "ecx")
        a.alu("xor", "eax", "edx")
        a.shr("eax", 8)
        a.alu("and", "eax", 0x10)
        a.mov("ecx", "edx")
        a.shr("ecx", 16)
        a.alu("or", "eax", "ecx")
        a.shr("edx", 8)
        a.alu("and", "edx", 0x28)
        a.alu("or", "eax", "edx")
        a.mov("cl", rb(L.F))
        a.alu("and", "cl", 0xC4)
        a.alu("or", "al", "cl")
        a.mov(rb(L.F), "al")

    def adc16(self, src: int, sub: bool) -> None:
        """ADC/SBC HL,rr in 32-bit arithmetic: S X Y from bits 15 11 13, Z of the low 16
        bits, H from bit 12 of a ^ b ^ r, V from the signs, C from bit 16; WZ = HL + 1."""
        a = self.a
        a.movzx("ecx", rw(src))                      # b
        a.movzx("edx", rw(L.HL))                     # a
        a.lea("ebx", dword(1, base="edx"))
        self.st16(L.WZ, "bx")
        a.movzx("eax", rb(L.F))
        a.alu("and", "eax", 1)                       # carry in
        if sub:
            a.mov("esi", "edx")
            a.alu("sub", "esi", "ecx")
            a.alu("sub", "esi", "eax")
        else:
            a.lea("esi", dword(0, base="edx", index="ecx"))
            a.alu("add", "esi", "eax")               # r
        a.mov("eax", "edx")
        a.alu("xor", "eax", "ecx")
        a.alu("xor", "eax", "esi")
        a.shr("eax", 8)
        a.alu("and", "eax", 0x10)                    # H
        a.mov("ebx", "esi")
        a.shr("ebx", 16)
        a.alu("and", "ebx", 1)
        a.alu("or", "eax", "ebx")                    # C
        a.mov("ebx", "esi")
        a.shr("ebx", 8)
        a.alu("and", "ebx", 0xA8)
        a.alu("or", "eax", "ebx")                    # S Y X
        a.mov("ebx", "edx")
        a.alu("xor", "ebx", "ecx")
        if not sub:
            a.unary("not", "ebx")
        a.mov("ecx", "edx")
        a.alu("xor", "ecx", "esi")
        a.alu("and", "ebx", "ecx")
        a.shr("ebx", 13)
        a.alu("and", "ebx", 4)
        a.alu("or", "eax", "ebx")                    # V
        a.test("esi", 0xFFFF)
        a.setz("bl")
        a.shl("bl", 6)
        a.alu("or", "al", "bl")                      # Z
        if sub:
            a.alu("or", "al", 2)
        a.mov(rb(L.F), "al")
        a.mov("eax", "esi")
        self.st16(L.HL, "ax")

    def push_word(self, src: str, cont=None, t=None) -> None:
        """PUSH the 16-bit x86 register ``src`` (not AX/EDI); the store is checked."""
        a = self.a
        a.movzx("edi", rw(L.SP))
        a.alu("sub", "edi", 2)
        a.alu("and", "edi", 0xFFFF)
        a.mov("eax", "edi")
        self.st16(L.SP, "ax")
        self.st16m("edi", src)
        self.smc("edi", 2, cont)

    def main_x3(self, op, y, z, p, q, cyc) -> None:
        a = self.a
        if z == 0:                                   # RET cc
            def ret():
                self.pop_into("ax")
                self.st16(L.WZ, "ax")
            a.test(rb(L.F), FLAG_OF_CC[y])
            no = a.label(bind=False)
            a.jcc("z" if y & 1 else "nz", no)
            ret()
            self.exit_to(None, self.t + cyc + 6, self.r + self.cur_r, self.n + 1, 0)
            a.bind(no)
            self.end_here(self.pc, cyc, False)
            return
        if z == 1:
            if q == 0:                               # POP rp2
                self.pop_into("ax")
                self.st16(self.rp2(p), "ax")
                self.done(cyc, False)
            elif y == 1:                             # RET
                self.pop_into("ax")
                self.st16(L.WZ, "ax")
                self.end_here(None, cyc, False)
            elif y == 3:                             # EXX
                a.mov("eax", rd_(L.BC))
                a.xchg(rd_(L.C_), "eax")
                a.mov(rd_(L.BC), "eax")
                a.movzx("eax", rw(L.HL))
                a.movzx("ecx", rw(L.L_))
                self.st16(L.HL, "cx")
                self.st16(L.L_, "ax")
                self.done(cyc, False)
            elif y == 5:                             # JP (HL)
                a.movzx("eax", rw(self.hlp()))
                self.end_here(None, cyc, False)
            else:                                    # LD SP,HL
                a.movzx("eax", rw(self.hlp()))
                self.st16(L.SP, "ax")
                self.done(cyc, False)
            return
        if z == 2:                                   # JP cc,nn
            nn = self.fetch16()
            self.st16(L.WZ, nn)
            self.branch(y, nn, cyc, cyc)
            return
        if z == 3:
            if y == 0:                               # JP nn
                nn = self.fetch16()
                self.st16(L.WZ, nn)
                self.end_here(nn, cyc, False)
            elif y == 1:
                raise AssertionError("CB handled by insn")
            elif y == 3 and self.fast_in:
                self.in_a_n(self.fetch(), cyc)
            elif y == 2:                             # OUT (n),A: WZ = (n + 1) | A << 8
                n = self.fetch()
                a.movzx("eax", rb(L.A))
                a.mov("ecx", "eax")
                a.shl("ecx", 8)
                a.mov(rb(L.WZ), (n + 1) & 0xFF)
                a.mov(rb(L.WZ + 1), "al")
                a.alu("or", "ecx", n)
                self.out_callout("ecx", "al", cyc)
            elif y == 3:
                raise Untranslated                   # IN A,(n) of a device
            elif y == 4:                             # EX (SP),HL
                a.movzx("edi", rw(L.SP))
                a.movzx("eax", word(0, base="edi"))
                a.movzx("ecx", rw(self.hlp()))
                self.st16m("edi", "cx")
                self.st16(self.hlp(), "ax")
                self.st16(L.WZ, "ax")
                self.smc("edi", 2)
                self.done(cyc, False)
            elif y == 5:                             # EX DE,HL
                a.movzx("eax", rw(L.DE))
                a.movzx("ecx", rw(L.HL))
                self.st16(L.DE, "cx")
                self.st16(L.HL, "ax")
                self.done(cyc, False)
            elif y == 6:                             # DI
                self.st16(L.IFF1, 0)
                self.done(cyc, False)
            else:                                    # EI (the next instruction runs first)
                self.st16(L.IFF1, 0x0101)
                self.ei_check = True
                self.done(cyc, False, ei=True)
            return
        if z == 4:                                   # CALL cc,nn
            nn = self.fetch16()
            self.st16(L.WZ, nn)
            a.test(rb(L.F), FLAG_OF_CC[y])
            no = a.label(bind=False)
            a.jcc("z" if y & 1 else "nz", no)
            self.call_to(nn, cyc + 7)
            a.bind(no)
            self.end_here(self.pc, cyc, False)
            return
        if z == 5:
            if q == 0:                               # PUSH rp2
                a.movzx("ecx", rw(self.rp2(p)))
                self.push_word("cx")
                self.done(cyc, False)
            elif y == 1:                             # CALL nn
                nn = self.fetch16()
                self.st16(L.WZ, nn)
                self.call_to(nn, cyc)
                self.ended = True
            else:
                raise AssertionError("prefixes handled by insn")
            return
        if z == 6:                                   # ALU n
            a.mov("bl", self.fetch())
            self.alu_al(y, "bl")
            self.done(cyc, True)
            return
        target = y * 8                               # RST
        self.st16(L.WZ, target)
        self.call_to(target, cyc)
        self.ended = True

    def in_a_n(self, n: int, cyc: int) -> None:
        """IN A,(n) of a port whose status the device publishes (emu.abi IOF_READ): the
        byte from the flags the engine copies in; any other port: the VMM's model does
        it (a side exit before the instruction).  WZ = port + 1."""
        a = self.a
        a.movzx("eax", word(L.reg(L.IOFLAGS) + 2 * n))
        a.test("al", 2)
        lab = a.label(bind=False)
        a.jcc("z", lab)
        self.side.append((lab, self.insn_pc, self.t, self.r, self.n, self.last))
        a.movzx("ecx", rb(L.A))
        a.shl("ecx", 8)
        a.alu("or", "ecx", n)
        a.inc("ecx")
        self.st16(L.WZ, "cx")
        a.mov(rb(L.A), "ah")
        self.done(cyc, False)

    def out_callout(self, port: str, value: str, cyc: int) -> None:
        """OUT: the port (a 32-bit register) and the byte (a byte register) to the
        register block, then the block ends with the ``out`` callout after this
        instruction: the VMM hands the write to the machine's device (or posts it)."""
        a = self.a
        a.mov(rd_(L.IOPORT), port)
        a.mov(rb(L.IOVAL), value)
        self.done(cyc, False)
        a.mov(rd_(L.PC), self.pc)
        self._counters(self.t, self.r, self.n, self.last)
        a.jmp(L.STUB[L.PORT_OUT])
        self.ended = True

    def call_to(self, target: int, t: int) -> None:
        """Push the return address and leave to ``target`` (this instruction taken, t)."""
        a = self.a
        a.mov("ecx", self.pc)
        self.push_word("cx", cont=target, t=None)
        # the check's stub counts this instruction with its taken T-states
        lab, addr, _, _, _, _, _ = self.stubs[-1]
        self.stubs[-1] = (lab, addr, target, self.t + t, self.r + self.cur_r, self.n + 1, 0)
        self.exit_to(target, self.t + t, self.r + self.cur_r, self.n + 1, 0)

    def pop_into(self, dst16: str) -> None:
        a = self.a
        a.movzx("esi", rw(L.SP))
        a.movzx("e" + dst16, word(0, base="esi"))
        a.lea("ecx", dword(2, base="esi"))
        self.st16(L.SP, "cx")
