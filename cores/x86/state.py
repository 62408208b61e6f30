"""x86 state-array layout: register slots, flag bits, internal codes (run ABI: emu/abi.py).

General registers are kept as 32-bit values (AX is the low half of EAX); every
segment register has its selector *and* its hidden base and limit in the state.
"""

J = dict(cache=True, _nrt=False)
JI = dict(cache=True, _nrt=False, inline="always")   # small hot helpers

# ---- state slots ------------------------------------------------------------------
REG = 16                                       # EAX ECX EDX EBX ESP EBP ESI EDI
EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(16, 24)
EIP = 24
FLAGS = 25
SEL = 26                                       # selectors  ES CS SS DS FS GS
BASE = 32                                      # hidden bases
LIMIT = 38                                     # hidden limits
ES, CS, SS, DS, FS, GS = range(6)
CR0, CR2, CR3 = 44, 45, 46
MODEL = 47
HALTED = 48
INHIBIT = 49                                   # interrupt shadow (STI, MOV/POP SS)
XREAD = 50                                     # an MMIO read needs an exit
A20 = 51                                       # model's linear address mask
IDTB, IDTL, GDTB, GDTL = 52, 53, 54, 55        # IDTR (real mode IVT base) / GDTR
AMASK = 56                                     # A20 & size of the page tables (run sets it)
END = 57                                       # cycle count where run stops (REP checks it)
PARTIAL = 58                                   # the instruction did not finish (REP interrupted)
EAC = 59                                       # effective-address cycles of this instruction
SWINT = 60                                     # the instruction entered a handler (no trap)
PTN = 61                                       # pages of RPT/WPT copied by run (rest: MMIO)
SNAP = 64                                      # snapshot of slots 16..56 for restartable reads
NREG = 41
MAXPAGES = 1 << (24 - 12)
REAL_PAGES = 0x110000 >> 12                    # pages real mode can address (A20 on)
RPT = 128                                      # copy of the bus read page table (run fills it)
WPT = RPT + MAXPAGES                           # ... and of the write page table
STATE_SIZE = WPT + MAXPAGES

CF, PF, AF, ZF, SF, TF, IF, DF, OF = 0x1, 0x4, 0x10, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800
ARITH = 0x8D5                                  # OF SF ZF AF PF CF

PB = 12                                        # page bits of the bus tables
PM = (1 << PB) - 1

# execute() results below zero
X_IN = -1          # IN needs the outside world (nothing changed but EIP)
X_MMIO = -2        # MMIO read: restore the snapshot
X_SREAD = -3       # string iteration read exit: state already consistent (EIP = start)
X_SIN = -4         # string iteration IN exit: state consistent
X_FAULT = -5       # unrecoverable (S_FAULT says why)
