"""The cheat finder (emu/cheat.py): a Z80 program counts "lives" down at 3000h;
narrowing by how the value changes finds that address, and poking it holds it."""
import pytest

from emu.errors import EmuError
from emu.machine import Machine

LIVES = 0x3000
# ld a,9; ld (3000h),a; again: ld bc,0; wait: dec bc; ld a,b; or c; jr nz,wait;
# ld a,(3000h); dec a; ld (3000h),a; jr nz,again; jr $
PROGRAM = bytes.fromhex("3E09 320030 010000 0B 78 B1 20FB 3A0030 3D 320030 20EF 18FE")


def test_the_finder_narrows_down_to_the_counter_and_pokes_it():
    m = Machine.load("cpm")
    try:
        m.run_for(0.2)
        sp = m.spaces[m.cpu.name]
        for i, b in enumerate(PROGRAM):
            sp.write8(0x100 + i, b)
        m.cpu.set_registers(pc=0x100)
        m.run_for(0.01)
        s = m.search()
        n0 = s.keep("equal", 9)
        assert n0 > 1                                   # 9 is not rare in RAM
        for _ in range(3):                              # each life lost: the value went down
            before = sp.read8(LIVES)
            while sp.read8(LIVES) == before:
                m.run_for(0.05)
            s.keep("decreased")
            m.run_for(0.02)
            s.keep("same")
        assert [a for a, _ in s.candidates] == [LIVES]
        assert s.candidates[0][1] == sp.read8(LIVES)
        s.poke(9)
        assert sp.read8(LIVES) == 9
    finally:
        m.shutdown()


def test_bad_searches_are_one_line_errors():
    m = Machine.load("cpm")
    try:
        with pytest.raises(EmuError, match="size 3"):
            m.search(3)
        with pytest.raises(EmuError, match="unknown test 'bigger'"):
            m.search().keep("bigger")
        with pytest.raises(EmuError, match="equal needs a value"):
            m.search().keep("equal")
    finally:
        m.shutdown()
