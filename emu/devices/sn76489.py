"""SN76489 PSG as in the Sega Master System (the VDP-integrated Sega variant).

Three square-wave tone channels and one noise channel, each with a 4-bit
attenuator (2 dB per step, 15 = off).  The chip divides its clock by 16; a
channel's 10-bit counter reloads from its register N and flips the output, so a
tone is clock / (32 N) Hz.  Noise: control bits 1-0 select a reload of 0x10,
0x20, 0x40 or tone channel 2's N; bit 2 selects white (1) or periodic (0)
noise.  The 16-bit LFSR (reset to 0x8000 on every noise register write) shifts
right on each rising edge of the noise counter's flip-flop; the new bit 15 is
bit0 XOR bit3 (white, the SMS taps 0x0009) or bit 0 (periodic: a 16-step
pattern); the output is bit 0.  N = 0 behaves as N = 1 (Sega).

Byte protocol (port 0x7E/0x7F writes): ``1 cc t dddd`` latches channel cc and
type t (1 = attenuation) and writes the low 4 bits; ``0 x dddddd`` writes the
high 6 bits of a latched tone register, or the low 4 bits of a latched
attenuation / noise register.

``psg_render`` produces int16 mono samples for one frame from the state and a
log of (cycle within the frame, byte) writes, applying each write before the
first sample at or after its time; each sample is the mean of the chip's
internal ticks that fall in it (a box filter).

``ps`` int64 state slots: 0-7 registers (tone0, vol0, tone1, vol1, tone2, vol2,
noise, vol3), then the PSG_* slots below.
"""
from __future__ import annotations

import numpy as np
from numba import njit

PSG_LATCH = 8          # latched register 0..7
PSG_CNT = 9            # 9..12 channel counters
PSG_OUT = 13           # 13..16 channel flip-flops
PSG_LFSR = 17
PSG_ACC = 18           # tick accumulator (units of 1 / (16 * rate))
PSG_CLOCK = 19
PSG_RATE = 20
PSG_SIZE = 24

# peak amplitude of one channel per attenuation step: 2 dB per step, 15 = silent
VOLUME = np.array([int(round(8191 * 10 ** (-2 * a / 20))) if a < 15 else 0 for a in range(16)],
                  dtype=np.int64)


@njit(cache=True, _nrt=False)
def psg_reset(ps, clock=3579545, rate=44100):
    ps[:] = 0
    for ch in range(4):
        ps[2 * ch + 1] = 15
        ps[PSG_CNT + ch] = 1
    ps[PSG_LFSR] = 0x8000
    ps[PSG_CLOCK] = clock
    ps[PSG_RATE] = rate


@njit(cache=True, _nrt=False)
def psg_write(ps, value):
    value = np.int64(value) & 0xFF
    if value & 0x80:
        r = (value >> 4) & 7
        ps[PSG_LATCH] = r
        if (r & 1) or r == 6:
            ps[r] = value & 0x0F
        else:
            ps[r] = (ps[r] & 0x3F0) | (value & 0x0F)
    else:
        r = ps[PSG_LATCH]
        if (r & 1) or r == 6:
            ps[r] = value & 0x0F
        else:
            ps[r] = (ps[r] & 0x0F) | ((value & 0x3F) << 4)
    if r == 6:
        ps[PSG_LFSR] = 0x8000


@njit(cache=True, _nrt=False)
def psg_tick(ps, n, vol):
    """Advance ``n`` internal ticks (clock / 16); returns the summed output over them."""
    total = 0
    for _ in range(n):
        s = 0
        for ch in range(3):
            c = ps[PSG_CNT + ch] - 1
            if c <= 0:
                per = ps[2 * ch]
                c = per if per > 0 else 1
                ps[PSG_OUT + ch] ^= 1
            ps[PSG_CNT + ch] = c
            v = vol[ps[2 * ch + 1]]
            if ps[2 * ch] <= 1:
                s += v
            else:
                s += v if ps[PSG_OUT + ch] else -v
        c = ps[PSG_CNT + 3] - 1
        if c <= 0:
            nz = ps[6]
            m = nz & 3
            per = (0x10 << m) if m != 3 else ps[4]
            c = per if per > 0 else 1
            ps[PSG_OUT + 3] ^= 1
            if ps[PSG_OUT + 3]:
                lf = ps[PSG_LFSR]
                if nz & 4:
                    fb = (lf ^ (lf >> 3)) & 1
                else:
                    fb = lf & 1
                ps[PSG_LFSR] = (lf >> 1) | (fb << 15)
        ps[PSG_CNT + 3] = c
        v = vol[ps[7]]
        s += v if (ps[PSG_LFSR] & 1) else -v
        total += s
    return total


@njit(cache=True, _nrt=False)
def psg_render(ps, log, nlog, frame_cycles, out, nsamples, vol):
    """Render ``nsamples`` samples into ``out`` for a frame of ``frame_cycles`` CPU
    cycles; ``log[2*i], log[2*i+1]`` = (cycle within the frame, byte written)."""
    clock = ps[PSG_CLOCK]
    rate16 = 16 * ps[PSG_RATE]
    k = 0
    for s in range(nsamples):
        while k < nlog and log[2 * k] * nsamples <= s * frame_cycles:
            psg_write(ps, log[2 * k + 1])
            k += 1
        acc = ps[PSG_ACC] + clock
        n = acc // rate16
        ps[PSG_ACC] = acc - n * rate16
        if n > 0:
            v = psg_tick(ps, n, vol) // n
        else:
            v = 0
        if v > 32767:
            v = 32767
        elif v < -32768:
            v = -32768
        out[s] = v
    while k < nlog:
        psg_write(ps, log[2 * k + 1])
        k += 1


class Psg:
    """Python convenience wrapper (tests, tools)."""

    def __init__(self, clock=3579545, rate=44100):
        self.ps = np.zeros(PSG_SIZE, dtype=np.int64)
        psg_reset(self.ps, clock, rate)
        self.rate = rate
        self.clock = clock

    def write(self, *values):
        for v in values:
            psg_write(self.ps, v)

    def render(self, nsamples, writes=(), frame_cycles=None):
        """``writes``: [(cycle, byte)] within this block of ``frame_cycles`` cycles."""
        if frame_cycles is None:
            frame_cycles = max(1, nsamples * self.clock // self.rate)
        log = np.zeros(2 * max(1, len(writes)), dtype=np.int64)
        for i, (c, v) in enumerate(writes):
            log[2 * i], log[2 * i + 1] = c, v
        out = np.zeros(nsamples, dtype=np.int16)
        psg_render(self.ps, log, len(writes), frame_cycles, out, nsamples, VOLUME)
        return out

    def tone(self, ch, n, att=0):
        self.write(0x80 | (ch << 5) | (n & 0xF), (n >> 4) & 0x3F, 0x90 | (ch << 5) | (att & 0xF))
