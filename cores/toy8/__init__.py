"""toy8 — the smallest complete core plugin: a reference for adding an ISA.

An 8-bit accumulator CPU with a 16-bit address bus, made up for this project
to show (and test) every part of the run ABI in ~150 lines: page-table memory
access, restartable MMIO/port reads, posted and exiting writes, HLT, a
maskable interrupt with acknowledge, breakpoints and faults.

Instruction set (cycles in brackets):
    00        NOP                 [1]     09        HLT                 [1]
    01 n      LDI  A,n            [2]     0A        EI                  [1]
    02 lo hi  LD   A,[a]          [3]     0B        DI                  [1]
    03 lo hi  ST   [a],A          [3]     0C        RETI                [2]
    04 n      ADD  A,n  (Z flag)  [2]     0D lo hi  INC  [a]  (Z flag)  [4]
    05 lo hi  JMP  a              [3]     0E n      CMP  A,n  (Z flag)  [2]
    06 lo hi  JNZ  a              [3]     0F lo hi  JZ   a              [3]
    07 n      OUT  (n),A          [3]
    08 n      IN   A,(n)          [3]     anything else: undefined -> EXIT_FAULT
Interrupt: when enabled and INT is high, PC is saved in SAVED_PC, interrupts
are disabled and execution continues at 0x0008; RETI restores both.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from emu import abi
from emu.breaks import bp_hit, bp_range
from emu.core import Core

A, PC, HALTED, IE, Z, SAVED_PC = range(abi.S_CORE, abi.S_CORE + 6)
BREAKS = abi.S_CORE + 8            # the break table (emu.abi BT_*)
CYCLES = np.array([1, 2, 3, 3, 2, 3, 3, 3, 3, 1, 1, 1, 2, 4, 2, 3], dtype=np.int64)
LENGTH = np.array([1, 2, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1, 3, 2, 3], dtype=np.int64)
NAMES = ("NOP", "LDI A,{n}", "LD A,[{a}]", "ST [{a}],A", "ADD A,{n}", "JMP {a}", "JNZ {a}",
         "OUT ({n}),A", "IN A,({n})", "HLT", "EI", "DI", "RETI", "INC [{a}]", "CMP A,{n}", "JZ {a}")


@njit(cache=True, _nrt=False)
def _read(state, mem, addr):
    """Returns the byte, or -1 after arranging an MMIO read exit."""
    off = mem[1][addr >> 8]
    if off >= 0:
        return int(mem[0][off + (addr & 0xFF)])
    if state[abi.S_PENDING] == 1 and state[abi.S_EXIT_ADDR] == addr:
        state[abi.S_PENDING] = 0
        return int(state[abi.S_EXIT_DATA]) & 0xFF
    state[abi.S_EXIT_REASON] = abi.EXIT_MMIO_READ
    state[abi.S_EXIT_ADDR] = addr
    state[abi.S_EXIT_SIZE] = 1
    return -1


@njit(cache=True, _nrt=False)
def _write(state, mem, addr, value):
    """Returns True when the write must leave the core (MMIO)."""
    off = mem[2][addr >> 8]
    if off <= abi.PAGE_LOGGED:                 # dirty-logged RAM (emu.abi): RAM again
        off = abi.PAGE_LOGGED - off
        mem[2][addr >> 8] = off
    if off >= 0:
        mem[0][off + (addr & 0xFF)] = value
        return False
    if off == abi.PAGE_MMIO:
        state[abi.S_EXIT_REASON] = abi.EXIT_MMIO_WRITE
        state[abi.S_EXIT_ADDR] = addr
        state[abi.S_EXIT_SIZE] = 1
        state[abi.S_EXIT_DATA] = value
        return True
    return False


@njit(cache=True, _nrt=False)
def run(state, mem, budget):
    start = state[abi.S_CYCLES]
    first = True
    blo, bhi = bp_range(state, BREAKS)
    while state[abi.S_CYCLES] - start < budget:
        pc = state[PC]
        if blo <= pc <= bhi and not first and bp_hit(state, BREAKS, pc):
            return abi.EXIT_BREAKPOINT             # (before an interrupt taken here too)
        first = False
        if state[abi.S_IRQ] & 1 and state[IE]:
            state[SAVED_PC] = pc
            state[IE] = 0
            state[HALTED] = 0
            state[PC] = 8
            state[abi.S_CYCLES] += 2
            return abi.EXIT_IRQ_ACK
        if state[HALTED]:
            return abi.EXIT_HLT
        op = _read(state, mem, pc)
        if op < 0:
            return abi.EXIT_MMIO_READ
        if op > 0x0F:
            state[abi.S_FAULT] = op
            return abi.EXIT_FAULT
        b1 = _read(state, mem, (pc + 1) & 0xFFFF) if LENGTH[op] > 1 else 0
        b2 = _read(state, mem, (pc + 2) & 0xFFFF) if LENGTH[op] > 2 else 0
        if b1 < 0 or b2 < 0:
            return abi.EXIT_MMIO_READ
        addr = b1 | (b2 << 8)
        npc = (pc + LENGTH[op]) & 0xFFFF
        exit_now = False
        if op == 1:
            state[A] = b1
        elif op == 2:
            v = _read(state, mem, addr)
            if v < 0:
                return abi.EXIT_MMIO_READ
            state[A] = v
        elif op == 3:
            exit_now = _write(state, mem, addr, state[A])
        elif op == 4:
            state[A] = (state[A] + b1) & 0xFF
            state[Z] = state[A] == 0
        elif op == 5:
            npc = addr
        elif op == 6:
            if not state[Z]:
                npc = addr
        elif op == 7:
            port = b1
            if mem[3][port] & abi.IOF_POSTED:
                n = state[abi.S_IOLOG_COUNT]
                mem[4][3 * n] = port | (1 << 32)
                mem[4][3 * n + 1] = state[A]
                mem[4][3 * n + 2] = state[abi.S_CYCLES]
                state[abi.S_IOLOG_COUNT] = n + 1
                if 3 * (n + 2) > len(mem[4]):
                    state[abi.S_EXIT_REASON] = abi.EXIT_IOLOG_FULL
                    exit_now = True
            else:
                state[abi.S_EXIT_REASON] = abi.EXIT_IO_OUT
                state[abi.S_EXIT_ADDR] = port
                state[abi.S_EXIT_SIZE] = 1
                state[abi.S_EXIT_DATA] = state[A]
                exit_now = True
        elif op == 8:
            if state[abi.S_PENDING] == 1 and state[abi.S_EXIT_ADDR] == b1:
                state[abi.S_PENDING] = 0
                state[A] = state[abi.S_EXIT_DATA] & 0xFF
            else:
                state[abi.S_EXIT_ADDR] = b1
                state[abi.S_EXIT_SIZE] = 1
                return abi.EXIT_IO_IN
        elif op == 9:
            state[HALTED] = 1
        elif op == 10:
            state[IE] = 1
        elif op == 11:
            state[IE] = 0
        elif op == 12:
            npc = state[SAVED_PC]
            state[IE] = 1
        elif op == 13:
            v = _read(state, mem, addr)
            if v < 0:
                return abi.EXIT_MMIO_READ
            v = (v + 1) & 0xFF
            state[Z] = v == 0
            exit_now = _write(state, mem, addr, v)
        elif op == 14:
            state[Z] = state[A] == b1
        elif op == 15:
            if state[Z]:
                npc = addr
        state[PC] = npc
        state[abi.S_CYCLES] += CYCLES[op]
        state[abi.S_INSNS] += 1
        if exit_now:
            return state[abi.S_EXIT_REASON]
    return abi.EXIT_BUDGET


class Toy8(Core):
    name = "toy8"
    description = "8-bit teaching CPU: the reference core plugin"
    address_bits, page_bits, io_bits = 16, 8, 8
    state_size = BREAKS + abi.BT_SIZE
    break_table = BREAKS
    registers = ("a", "pc", "z", "ie")
    run = run

    def get_registers(self):
        s = self.state
        return {"a": int(s[A]), "pc": int(s[PC]), "z": int(s[Z]), "ie": int(s[IE]),
                "halted": int(s[HALTED])}

    def set_registers(self, **regs):
        for k, v in regs.items():
            self.state[{"a": A, "pc": PC, "z": Z, "ie": IE, "halted": HALTED}[k]] = v

    def format_registers(self):
        r = self.get_registers()
        return f"A={r['a']:02X} Z={r['z']} IE={r['ie']}"

    def disassemble(self, read, addr):
        op = read(addr)
        if op > 0x0F:
            return f"DB {op:02X}h", 1
        n = read(addr + 1) if LENGTH[op] > 1 else 0
        a = n | (read(addr + 2) << 8) if LENGTH[op] > 2 else 0
        return NAMES[op].format(n=f"{n:02X}h", a=f"{a:04X}h"), int(LENGTH[op])


CORE = Toy8
