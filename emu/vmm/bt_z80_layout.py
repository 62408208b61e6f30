"""Where the Z80 translator's pieces live in the host CPU's linear space.

The host CPU runs translated code at ring 0 in flat 32-bit protected mode with
the VMM's own GDT and page tables (one page table: the first 4 MiB):

  0x00000000  the Z80's 64 KiB: its 16 host frames, then frame 0 again at 0x10000
              (so a word access at FFFF reads FFFF and 0000, as the Z80 wraps)
  0x00020000  the register block: the Z80's registers, the counters the
              translated code keeps (cycles left, R increments, instructions),
              the callout arguments; the GDT at +0x800
  0x00030000  the code map: one byte per Z80 byte, 1 where a translation was
              made from it (a translated store that hits one calls out); 17 pages
              like the Z80's own
  0x00050000  the lookup table: 65536 dwords, the translation of each Z80 address
              (or the miss stub); every block ends in ``jmp [LOOKUP + pc * 4]``
  0x00090000  the runtime stubs (dispatch, the callouts)
  0x00091000  DAA's table: (A | C << 8 | H << 9 | N << 10) -> A' | F' << 8
  0x00092000  the flag tables: SZ (S Z Y X of a byte) at +0, SZP (and P) at +100h
  0x00100000  the translation cache (``tc_size`` bytes, at most 3 MiB)

Nothing else is mapped: a translated instruction that strays faults, and the
fault leaves the host CPU to the VMM.  A Z80 address ``a`` is linear ``a``:
translated code indexes Z80 memory with the 16-bit value itself.
"""
Z80_LIN = 0x00000000
REGS_LIN = 0x00020000
GDT_OFF = 0x800
CODEMAP_LIN = 0x00030000
LOOKUP_LIN = 0x00050000
STUBS_LIN = 0x00090000
DAA_LIN = 0x00091000
SZ_LIN = 0x00092000
SZP_LIN = 0x00092100
TC_LIN = 0x00100000
TC_MAX = 0x00300000

# register block: byte offsets (pairs little-endian: the low register first, so a
# word access reads the Z80 pair)
C, B, E, D, L, H, F, A = range(8)
IXL, IXH, IYL, IYH = 8, 9, 10, 11
SP, WZ = 12, 16
PC = 36            # a dword (the high half 0): exits store it whole
I, IFF1, IFF2, IM, EI, P, Q = 18, 19, 20, 21, 22, 23, 24
LAST = 25          # what the last translated instruction left: bit 0 it wrote F (Q = F),
                   # bit 1 it was EI, bit 3 it set the P latch (LD A,I/R); bit 2: no
                   # instruction ran since entry (Q, EI, P hold)
IRQLINE = 26       # the Z80's INT line at entry (EI's block checks it)
HALTED = 27
C_, B_, E_, D_, L_, H_, F_, A_ = range(28, 36)
REM = 40           # dword: cycles left before the translated code returns
RCNT = 44          # dword: R increments (opcode fetches) since entry
INSN = 48          # dword: instructions since entry
SMCADDR = 52       # dword: the Z80 address a store hit translated code at
BLOCKS = 56        # dword: block exits since entry (lookups through the table)
IOPORT, IOVAL = 64, 68   # the ``out`` callout's port (dword) and byte
IOFLAGS = 0x400    # 256 words: the machine's I/O port flags of ports 0-255 (emu.abi IOF_*:
                   # bit 1 a published status byte in bits 15:8), copied in at each entry
R = 60             # R at entry (LD R,A sets it; RCNT counts on from there)

# Z80 register pair of each register-block pair offset
BC, DE, HL, AF, IX, IY = C, E, L, F, IXL, IYL
ALT = {BC: C_, DE: E_, HL: L_, AF: F_}

# callout ports (OUT imm8, AL from a stub: the host CPU exits with EXIT_IO_OUT)
PORT_BUDGET, PORT_MISS, PORT_INTERP, PORT_SMC, PORT_OUT = 0xE0, 0xE1, 0xE2, 0xE3, 0xE4
PORT_NAMES = {PORT_BUDGET: "budget", PORT_MISS: "miss", PORT_INTERP: "interp", PORT_SMC: "smc",
              PORT_OUT: "out"}

# stub addresses
DISPATCH = STUBS_LIN
STUB = {p: STUBS_LIN + 0x40 * (i + 1) for i, p in enumerate(PORT_NAMES)}


def reg(off: int) -> int:
    """Linear address of register-block slot ``off``."""
    return REGS_LIN + off
