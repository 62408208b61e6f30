"""The CB, ED and DD CB / FD CB instructions of the Z80 translator (a mixin of
emu.vmm.bt_z80_gen.Gen, whose helpers they use: ``done``, ``smc``, ``exit_to``,
the flag and store helpers).  Rules: the Z80 core's (cores/z80/cpu.py)."""
from __future__ import annotations

from cores.z80.tables import CYC_ED

from . import bt_z80_layout as L
from .bt_z80_operands import R8, RP, Untranslated, rb, rd_, rw
from .x86asm import byte, dword, word


class Prefixed:
    # ---- CB prefix ----------------------------------------------------------------------------
    def cb(self, op: int) -> None:
        a = self.a
        x, y, z = op >> 6, (op >> 3) & 7, op & 7
        if z == 6:
            self.hl_addr()
            a.mov("al", byte(0, base="edi"))
            t = 12 if x == 1 else 15
        else:
            self.load_r("al", z)
            t = 8
        if x == 1:                                   # BIT y
            a.mov("bl", "al")
            if z == 6:
                a.mov("bl", rb(L.WZ + 1))            # X/Y from WZ's high byte
            a.alu("and", "al", 1 << y)
            a.movzx("esi", "al")
            a.mov("ah", byte(L.SZP_LIN, base="esi"))
            a.alu("and", "ah", 0xC4)                 # S (bit 7 set), Z, P (= Z)
            a.alu("and", "bl", 0x28)
            a.alu("or", "ah", "bl")
            a.mov("cl", rb(L.F))
            a.alu("and", "cl", 1)
            a.alu("or", "ah", "cl")
            a.alu("or", "ah", 0x10)
            a.mov(rb(L.F), "ah")
            self.done(t, True)
            return
        if x == 0:                                   # rotates and shifts
            self.rotate_al(y)
        elif x == 2:
            a.alu("and", "al", ~(1 << y) & 0xFF)
        else:
            a.alu("or", "al", 1 << y)
        if z == 6:
            a.mov(byte(0, base="edi"), "al")
            self.smc("edi", 1)
        else:
            a.mov(rb(R8[z]), "al")
        self.done(t, x == 0)

    def xycb(self) -> None:
        """DD CB d op / FD CB d op on (IX+d): BIT takes X/Y from WZ's high byte (the
        address); the others write the byte back and, for z != 6, into register z too."""
        a = self.a
        self.hl_addr()
        op = self.fetch()                            # (not an opcode fetch: no R increment)
        x, y, z = op >> 6, (op >> 3) & 7, op & 7
        a.mov("al", byte(0, base="edi"))
        if x == 1:
            a.mov("ebx", "edi")
            a.mov("bl", "bh")
            a.alu("and", "al", 1 << y)
            a.movzx("esi", "al")
            a.mov("ah", byte(L.SZP_LIN, base="esi"))
            a.alu("and", "ah", 0xC4)
            a.alu("and", "bl", 0x28)
            a.alu("or", "ah", "bl")
            a.mov("cl", rb(L.F))
            a.alu("and", "cl", 1)
            a.alu("or", "ah", "cl")
            a.alu("or", "ah", 0x10)
            a.mov(rb(L.F), "ah")
            self.done(20, True)
            return
        if x == 0:
            self.rotate_al(y)
        elif x == 2:
            a.alu("and", "al", ~(1 << y) & 0xFF)
        else:
            a.alu("or", "al", 1 << y)
        if z != 6:
            a.mov(rb(R8[z]), "al")                   # (the undocumented copy)
        a.mov(byte(0, base="edi"), "al")
        self.smc("edi", 1)
        self.done(23, x == 0)

    def rotate_al(self, y: int) -> None:
        """RLC RRC RL RR SLA SRA SLL SRL of AL: F = S Z P of the result, X/Y, C out."""
        a = self.a
        if y in (2, 3):
            self.carry_in()
        name = ("rol", "ror", "rcl", "rcr", "shl", "sar", "shl", "shr")[y]
        a.shift(name, "al", 1)
        a.setc("dl")
        if y == 6:
            a.alu("or", "al", 1)                     # SLL: bit 0 set
        a.movzx("esi", "al")
        a.mov("ah", byte(L.SZP_LIN, base="esi"))
        a.alu("or", "ah", "dl")
        a.mov(rb(L.F), "ah")

    # ---- ED prefix -----------------------------------------------------------------------------
    def ed(self, op: int) -> None:
        a = self.a
        cyc = int(CYC_ED[op])
        if op in (0xA0, 0xA8, 0xB0, 0xB8):
            return self.ldi(op)
        if op in (0xA1, 0xA9, 0xB1, 0xB9):
            return self.cpi(op)
        if not 0x40 <= op < 0x80:
            if op >= 0xA0:
                raise Untranslated                   # CPI.. INI.. OUTI..
            self.done(cyc, False)                    # ED 00-3F, 80-9F: an 8-T NOP
            return
        y, z = (op >> 3) & 7, op & 7
        p, q = y >> 1, y & 1
        if z == 2:                                   # SBC/ADC HL,rr
            self.adc16(RP[p], sub=q == 0)
            self.done(cyc, True)
        elif z == 3:                                 # LD (nn),rr / LD rr,(nn)
            nn = self.fetch16()
            if q == 0:
                a.movzx("eax", rw(RP[p]))
                self.st16m(nn, "ax")
                self.smc(nn, 2)
            else:
                a.movzx("eax", word(nn))
                self.st16(RP[p], "ax")
            self.st16(L.WZ, (nn + 1) & 0xFFFF)
            self.done(cyc, False)
        elif z == 4:                                 # NEG
            a.mov("bl", rb(L.A))
            a.alu("xor", "al", "al")
            a.alu("sub", "al", "bl")
            self.flags_arith(True, "bl")
            a.mov(rb(L.A), "al")
            self.done(cyc, True)
        else:
            if z == 6:                               # IM 0/1/2
                a.mov(rb(L.IM), (0, 0, 1, 2, 0, 0, 1, 2)[y])
                self.done(cyc, False)
                return
            if z == 5:                               # RETN / RETI: IFF1 = IFF2
                a.mov("al", rb(L.IFF2))
                a.mov(rb(L.IFF1), "al")
                self.pop_into("ax")
                self.st16(L.WZ, "ax")
                self.end_here(None, cyc, False)
                return
            if z == 7:
                return self.ed_z7(y, cyc)
            if z == 1:                               # OUT (C),r / OUT (C),0: WZ = BC + 1
                a.movzx("ecx", rw(L.BC))
                a.lea("eax", dword(1, base="ecx"))
                self.st16(L.WZ, "ax")
                if y == 6:
                    a.mov("dl", 0)
                else:
                    a.mov("dl", rb(R8[y]))
                return self.out_callout("ecx", "dl", cyc)
            raise Untranslated                       # IN r,(C)

    def ed_z7(self, y: int, cyc: int) -> None:
        """LD I,A  LD R,A  LD A,I  LD A,R  RRD  RLD (ED 77/7F: 8-T NOPs)."""
        a = self.a
        if y == 0:                                   # LD I,A
            a.mov("al", rb(L.A))
            a.mov(rb(L.I), "al")
            self.done(cyc, False)
        elif y == 1:                                 # LD R,A: R counts on from A
            a.mov("al", rb(L.A))
            a.mov(rb(L.R), "al")
            a.mov(rd_(L.RCNT), -(self.r + self.cur_r))
            self.done(cyc, False)
        elif y in (2, 3):                            # LD A,I / LD A,R: P/V = IFF2, P latch
            if y == 2:
                a.mov("al", rb(L.I))
            else:                                    # R as it is now: base + increments so far
                a.mov("eax", rd_(L.RCNT))
                a.alu("add", "eax", self.r + self.cur_r)
                a.alu("add", "al", rb(L.R))
                a.alu("and", "al", 0x7F)
                a.mov("cl", rb(L.R))
                a.alu("and", "cl", 0x80)
                a.alu("or", "al", "cl")
            a.mov(rb(L.A), "al")
            a.movzx("esi", "al")
            a.mov("ah", byte(L.SZ_LIN, base="esi"))   # S Z Y X
            a.mov("cl", rb(L.F))
            a.alu("and", "cl", 1)
            a.alu("or", "ah", "cl")
            a.mov("cl", rb(L.IFF2))
            a.shl("cl", 2)
            a.alu("or", "ah", "cl")
            a.mov(rb(L.F), "ah")
            self.done(cyc, True, p_latch=True)
        elif y in (4, 5):                            # RRD / RLD
            self.hl_addr()
            a.mov("bl", byte(0, base="edi"))         # v
            a.mov("al", rb(L.A))                     # a
            a.mov("cl", "al")
            a.mov("dl", "bl")
            if y == 4:                               # (HL) = a << 4 | v >> 4; A = a & F0 | v & 0F
                a.shl("cl", 4)
                a.shr("dl", 4)
                a.alu("or", "cl", "dl")
                a.alu("and", "bl", 0x0F)
            else:                                    # (HL) = v << 4 | a & 0F; A = a & F0 | v >> 4
                a.shl("dl", 4)
                a.alu("and", "cl", 0x0F)
                a.alu("or", "cl", "dl")
                a.shr("bl", 4)
            a.alu("and", "al", 0xF0)
            a.alu("or", "al", "bl")
            a.mov(rb(L.A), "al")
            a.movzx("esi", "al")
            a.mov("ah", byte(L.SZP_LIN, base="esi"))  # S Z Y X P of the new A
            a.mov("dl", rb(L.F))
            a.alu("and", "dl", 1)
            a.alu("or", "ah", "dl")
            a.mov(rb(L.F), "ah")
            a.lea("eax", dword(1, base="edi"))
            self.st16(L.WZ, "ax")
            a.mov(byte(0, base="edi"), "cl")
            self.smc("edi", 1)
            self.done(cyc, True)
        else:
            self.done(cyc, False)                    # ED 77 / ED 7F

    def cpi(self, op: int) -> None:
        """CPI CPD CPIR CPDR: A - (HL); H from the subtraction, X/Y from A - (HL) - H,
        P = BC != 0, C kept; the repeating forms go back to themselves while BC != 0
        and no match (X/Y then from PC's high byte, WZ = PC + 1)."""
        a = self.a
        step = 1 if op & 8 == 0 else -1
        repeat = op >= 0xB0
        a.movzx("esi", rw(L.HL))
        a.mov("bl", byte(0, base="esi"))
        a.mov("al", rb(L.A))
        a.alu("sub", "al", "bl")                     # r
        a.movzx("ecx", "al")
        a.mov("dh", byte(L.SZ_LIN, base="ecx"))
        a.alu("and", "dh", 0xC0)                     # S Z
        a.mov("cl", rb(L.A))
        a.alu("xor", "cl", "bl")
        a.alu("xor", "cl", "al")
        a.alu("and", "cl", 0x10)                     # H
        a.alu("or", "dh", "cl")
        a.shr("cl", 4)
        a.alu("sub", "al", "cl")                     # n = r - H
        a.mov("dl", "al")
        a.alu("and", "dl", 0x08)
        a.shl("al", 4)
        a.alu("and", "al", 0x20)
        a.alu("or", "dl", "al")
        a.alu("or", "dl", "dh")
        a.lea("eax", dword(step, base="esi"))
        self.st16(L.HL, "ax")
        a.movzx("eax", rw(L.WZ))
        a.lea("eax", dword(step, base="eax"))
        self.st16(L.WZ, "ax")
        a.movzx("eax", rw(L.BC))
        a.dec("eax")
        self.st16(L.BC, "ax")
        a.test("eax", 0xFFFF)
        a.setnz("bl")
        a.shl("bl", 2)
        a.alu("or", "dl", "bl")
        a.mov("cl", rb(L.F))
        a.alu("and", "cl", 1)
        a.alu("or", "dl", "cl")
        a.alu("or", "dl", 2)
        a.mov(rb(L.F), "dl")
        if not repeat:
            self.done(16, True)
            return
        start = self.insn_pc
        no = a.label(bind=False)
        a.test("bl", "bl")
        a.jcc("z", no)                               # BC = 0: done
        a.test("dh", 0x40)
        a.jcc("nz", no)                              # found: done
        a.alu("and", "dl", 0xD7)
        a.alu("or", "dl", (start >> 8) & 0x28)
        a.mov(rb(L.F), "dl")
        self.st16(L.WZ, (start + 1) & 0xFFFF)
        self.exit_to(start, self.t + 21, self.r + 2, self.n + 1, 1)
        a.bind(no)
        self.end_here(self.pc, 16, True)

    def ldi(self, op: int) -> None:
        """LDI LDD LDIR LDDR: one transfer; the repeating forms end the block (back to
        themselves while BC != 0, X/Y from PC's high byte, WZ = PC + 1)."""
        a = self.a
        step = 1 if op & 8 == 0 else -1
        repeat = op >= 0xB0
        a.movzx("esi", rw(L.HL))
        a.movzx("edi", rw(L.DE))
        a.mov("al", byte(0, base="esi"))
        a.mov(byte(0, base="edi"), "al")
        a.lea("ecx", dword(step, base="esi"))
        self.st16(L.HL, "cx")
        a.lea("ecx", dword(step, base="edi"))
        self.st16(L.DE, "cx")
        a.movzx("ecx", rw(L.BC))
        a.dec("ecx")
        self.st16(L.BC, "cx")
        a.test("ecx", 0xFFFF)
        a.setnz("bl")                                # P/V: BC != 0
        a.alu("add", "al", rb(L.A))                  # n = value + A
        a.mov("dl", "al")
        a.alu("and", "dl", 0x08)
        a.shl("al", 4)
        a.alu("and", "al", 0x20)
        a.alu("or", "dl", "al")
        a.shl("bl", 2)
        a.alu("or", "dl", "bl")
        a.mov("cl", rb(L.F))
        a.alu("and", "cl", 0xC1)
        a.alu("or", "dl", "cl")
        a.mov(rb(L.F), "dl")
        if not repeat:
            self.smc("edi", 1)
            self.done(16, True)
            return
        start = self.insn_pc
        no = a.label(bind=False)
        a.test("bl", "bl")
        a.jcc("z", no)
        a.alu("and", "dl", 0xD7)
        a.alu("or", "dl", (start >> 8) & 0x28)
        a.mov(rb(L.F), "dl")
        self.st16(L.WZ, (start + 1) & 0xFFFF)
        self.smc("edi", 1, cont=start)
        lab, addr, _, _, _, _, _ = self.stubs[-1]
        self.stubs[-1] = (lab, addr, start, self.t + 21, self.r + 2, self.n + 1, 1)
        self.exit_to(start, self.t + 21, self.r + 2, self.n + 1, 1)
        a.bind(no)
        self.smc("edi", 1)
        self.end_here(self.pc, 16, True)
