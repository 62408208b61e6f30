"""Z80 speed on a mixed workload with no exits (assembled by hand; listing below).

        ld   sp,0F000h
outer:  ld   ix,2000h
        ld   b,64
fill:   ld   a,b          ; arithmetic + IX-indexed stores
        add  a,a
        xor  55h
        ld   (ix+0),a
        inc  ix
        djnz fill
        ld   hl,2000h     ; block copy
        ld   de,3000h
        ld   bc,64
        ldir
        ld   hl,3000h     ; checksum with bit tests and a call per byte
        ld   b,64
        ld   de,0
sum:    ld   a,(hl)
        call addde
        bit  0,a
        jr   z,even
        rrca
even:   inc  hl
        djnz sum
        jp   outer
addde:  add  a,e
        ld   e,a
        ret  nc
        inc  d
        ret
"""
from __future__ import annotations

import time

import numpy as np

from emu import abi
from emu.core import flat_memory

from . import Z80, cpu

PROGRAM = bytes([
    0x31, 0x00, 0xF0,                    # ld sp,F000h
    0xDD, 0x21, 0x00, 0x20,              # outer: ld ix,2000h
    0x06, 0x40,                          # ld b,64
    0x78,                                # fill: ld a,b
    0x87,                                # add a,a
    0xEE, 0x55,                          # xor 55h
    0xDD, 0x77, 0x00,                    # ld (ix+0),a
    0xDD, 0x23,                          # inc ix
    0x10, 0xF5,                          # djnz fill
    0x21, 0x00, 0x20,                    # ld hl,2000h
    0x11, 0x00, 0x30,                    # ld de,3000h
    0x01, 0x40, 0x00,                    # ld bc,64
    0xED, 0xB0,                          # ldir
    0x21, 0x00, 0x30,                    # ld hl,3000h
    0x06, 0x40,                          # ld b,64
    0x11, 0x00, 0x00,                    # ld de,0
    0x7E,                                # sum: ld a,(hl)
    0xCD, 0x36, 0x00,                    # call addde
    0xCB, 0x47,                          # bit 0,a
    0x28, 0x01,                          # jr z,even
    0x0F,                                # rrca
    0x23,                                # even: inc hl
    0x10, 0xF5,                          # djnz sum
    0xC3, 0x03, 0x00,                    # jp outer
    0x83,                                # addde: add a,e
    0x5F,                                # ld e,a
    0xD0,                                # ret nc
    0x14,                                # inc d
    0xC9,                                # ret
])
assert PROGRAM[0x36] == 0x83, "addde must sit at 0036h"


def bench(seconds: float = 2.0) -> dict:
    t0 = time.perf_counter()
    z = Z80(4e6)
    mem = flat_memory(16, 8)
    mem[0][:len(PROGRAM)] = np.frombuffer(PROGRAM, dtype=np.uint8)
    z.state[cpu.PC] = 0
    z.execute(mem, 100)
    first = time.perf_counter() - t0
    n0, t = z.state[abi.S_INSNS], time.perf_counter()
    while time.perf_counter() - t < seconds:
        z.execute(mem, 20_000_000)
    dt = time.perf_counter() - t
    return {"mips": (z.state[abi.S_INSNS] - n0) / dt / 1e6, "first_run_s": first}
