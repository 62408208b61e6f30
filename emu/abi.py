"""The contract between the framework and a CPU core ("the run ABI").

A core is a plugin that owns an int64 ``state`` array and a compiled function

    reason = run(state, mem, budget)

which executes guest instructions until ``budget`` cycles are spent or the core
needs the outside world, then returns one of the EXIT_* reasons below, in the
manner of KVM's ``KVM_RUN`` ioctl: Python handles the exit (a device answers an
I/O read, a timer fires, the VMM emulates a trapped instruction) and calls
``run`` again.

``state`` layout
----------------
Slots 0..15 belong to the framework and mean the same for every core; a core's
own registers start at ``S_CORE`` (each core documents its slots).

``mem`` is a plain tuple of numpy arrays (Numba-friendly, cache-safe)::

    (data, rpage, wpage, ioflags, iolog)

* ``data``   uint8[]: backing store of every RAM/ROM region of the address space.
* ``rpage``  int64[]: for page ``addr >> PAGE_BITS`` the offset in ``data`` of
  the page's first byte, or ``PAGE_MMIO`` (-1): the read leaves the core with
  EXIT_MMIO_READ.
* ``wpage``  int64[]: same for writes; ``PAGE_MMIO`` exits with
  EXIT_MMIO_WRITE, ``PAGE_ROM`` (-2) silently ignores the write.  An entry at or
  below ``PAGE_LOGGED`` (-3) is RAM at offset ``PAGE_LOGGED - entry`` whose writes
  are being logged (live migration's dirty log): the core puts the offset back in
  the table (``unlogged``) and writes, with no exit, as a CPU with EPT
  accessed/dirty bits and page-modification logging (Intel SDM vol. 3, 28.2.6 and
  28.3.6) marks a page dirty on its first write.  The VMM finds the pages written
  since it armed the log as the entries that are offsets again.
* ``ioflags`` uint16[65536]: per I/O port; bit ``IOF_POSTED`` means an OUT to that
  port is *posted*: appended to ``iolog`` without leaving the core (like a PCI
  posted write).  Bit ``IOF_READ`` means a one-byte IN of that port returns bits
  15:8 without leaving the core: a status register that a device keeps current
  (``AddressSpace.set_read_value``), so a guest polling it costs no exit.  Other
  reads exit.
* ``iolog``  int64[3*N]: posted writes, entry i = (port | size << 32, data, cycle).
  ``state[S_IOLOG_COUNT]`` counts entries; when full the core finishes the
  instruction and exits with EXIT_IOLOG_FULL.  The framework drains the log to
  the devices, in order, before it handles any exit.

Reads that exit (EXIT_IO_IN, EXIT_MMIO_READ) are *restartable*: the core leaves
the instruction uncommitted (PC at its first byte), Python puts the value in
``state[S_EXIT_DATA]`` and sets ``state[S_PENDING] = 1``; on re-execution the
core consumes the pending value for that access instead of exiting again.
Writes that exit (EXIT_IO_OUT, EXIT_MMIO_WRITE) are reported after the
instruction completed (PC at the next instruction).

Interrupts are level lines set from Python between runs: ``state[S_IRQ]`` (bit 0
= the CPU's INT pin), ``state[S_IRQ_VECTOR]`` the byte on the data bus during
acknowledge (Z80 IM0/IM2, x86 vector), ``state[S_NMI]`` = 1 for an NMI edge (the
core clears it when taken).  When the core accepts a maskable interrupt it
returns EXIT_IRQ_ACK after entering the handler so an interrupt controller can
move the request into service.

Performance (measured here): compile core functions with
``@njit(cache=True, _nrt=False)``.  With reference counting on, every call of a
helper that takes the ``mem`` tuple and writes ``state`` increfs/decrefs five
arrays — ~90 ns per call, 15x slower than the whole instruction should take —
even with ``inline='always'``.  Core code allocates nothing, so NRT is not needed.

VMM hooks: ``state[S_INTERCEPT]`` is a bitmask of INTERCEPT_* events that leave
the core instead of being handled inside it (trap-and-emulate); the trapped
instruction is left uncommitted and described by S_EXIT_ADDR/SIZE/DATA and
S_FAULT.

What a VMM learns of an exit (the fields VT-x puts in the VMCS exit area):

* ``state[S_EXIT_QUAL]`` the exit qualification.  I/O exits use VT-x's layout
  (SDM vol. 3C, "Exit Qualification for I/O Instructions"): bits 2:0 access
  size - 1, bit 3 direction (1 = IN), bit 4 string instruction, bit 5 REP
  prefix, bit 6 port given as an immediate, bits 31:16 the port.  MMIO exits use
  the EPT-violation bits: bit 0 data read, bit 1 data write, bit 7 the
  guest-linear address is valid.  0: the exit has none.
* A core that fills the rest declares ``exit_info`` (emu.core.Core), the first
  of three state slots: ``+EI_ILEN`` the length in bytes of the instruction
  that exited (I/O exits; 0 where the core does not know it, as VT-x leaves it
  undefined for EPT violations), ``+EI_GLA`` the guest-linear address of the
  access (-1: none, or real addresses), ``+EI_GPA`` its guest-physical address
  (-1: none).  For MMIO exits ``S_EXIT_ADDR`` is the guest-physical address too.

Execution breakpoints
---------------------
The core stops with EXIT_BREAKPOINT *before* an instruction whose address (the PC;
x86: the linear CS base + EIP) is ``state[S_BREAK]`` or is in the core's break
table, leaving it unexecuted (PC at it), on every path of the core (inline fast
paths and general decoder alike).  The first instruction of a ``run`` is never
checked, so a run started at a breakpoint address goes on from it; a caller that
wants that one checked looks at the PC itself before calling ``run`` (the
debugger does).  Instructions reached inside a run after an interrupt or
exception entry are checked like any other.

``S_BREAK`` is one address (-1: none), for single users (the VMM's pv and
lockstep modes).  The *break table* holds up to ``BT_MAX`` more: a core that has
one declares ``break_table`` (emu.core.Core), the first of ``BT_SIZE`` state
slots: ``+BT_COUNT`` how many addresses, ``+BT_LO``/``+BT_HI`` the lowest and
highest of them, ``+BT_ADDRS`` the addresses.  ``Core.set_breakpoints`` fills it
(emu.breaks has the compiled checks the cores share).  Before each run the core
folds S_BREAK and the table into one [lo, hi] range; with none set the range is
empty and the per-instruction cost is the one compare S_BREAK alone had.  A path
that runs a stretch of code without a per-instruction test (the x86 ``run32``) is
given the window of PCs around its start that holds no breakpoint
(``emu.breaks.bp_window``) and returns when it leaves it.
"""

# ---- state slots shared by every core --------------------------------------
S_EXIT_REASON = 0   # last exit reason
S_EXIT_ADDR = 1     # port or address of the access that exited
S_EXIT_SIZE = 2     # access size in bytes
S_EXIT_DATA = 3     # value written (OUT / MMIO write) or supplied (IN / MMIO read)
S_CYCLES = 4        # total cycles executed since reset (monotonic)
S_IRQ = 5           # interrupt request lines, bit 0 = INT
S_NMI = 6           # 1 = NMI edge pending
S_IRQ_VECTOR = 7    # data-bus byte / vector delivered on acknowledge
S_PENDING = 8       # 1 = S_EXIT_DATA holds the answer to the exited read
S_INTERCEPT = 9     # VMM intercept mask (INTERCEPT_*)
S_IOLOG_COUNT = 10  # number of posted writes in iolog
S_INSNS = 11        # instructions retired since reset (for MIPS figures)
S_FAULT = 12        # fault / exception number for EXIT_FAULT, EXIT_EXCEPTION
S_BREAK = 13        # one breakpoint address, -1 for none (more: the break table, above)
S_STOP = 14         # set to 1 by a core-side device to end the run early
S_EXIT_QUAL = 15    # exit qualification (below), 0 for none
S_CORE = 16         # first core-specific slot

# ---- exit reasons ------------------------------------------------------------
EXIT_BUDGET = 0       # cycle budget spent
EXIT_IO_IN = 1        # port read: addr=port, size
EXIT_IO_OUT = 2       # port write: addr=port, size, data
EXIT_MMIO_READ = 3    # memory read of a PAGE_MMIO page
EXIT_MMIO_WRITE = 4   # memory write to a PAGE_MMIO page
EXIT_HLT = 5          # HALT executed with no interrupt able to wake the CPU now
EXIT_BREAKPOINT = 6   # PC reached state[S_BREAK] or an address of the break table
EXIT_FAULT = 7        # unrecoverable: undefined opcode, triple fault (S_FAULT says)
EXIT_IRQ_ACK = 8      # a maskable interrupt was accepted
EXIT_IOLOG_FULL = 9   # posted-write log full
EXIT_PRIVILEGED = 10  # intercepted privileged instruction (VMM)
EXIT_EXCEPTION = 11   # intercepted guest exception (VMM)
EXIT_STOP = 12        # state[S_STOP] was set
EXIT_SHUTDOWN = 13    # the CPU shut down (x86 triple fault) until reset; a PC resets
EXIT_VMEXIT = 14      # a VM exit of a core's guest mode (x86: VMX non-root operation); the
                      # basic exit reason in the core's VMX_REASON slot, S_EXIT_QUAL, EI_ILEN

EXIT_NAMES = {
    EXIT_BUDGET: "budget", EXIT_IO_IN: "io-in", EXIT_IO_OUT: "io-out",
    EXIT_MMIO_READ: "mmio-read", EXIT_MMIO_WRITE: "mmio-write", EXIT_HLT: "hlt",
    EXIT_BREAKPOINT: "breakpoint", EXIT_FAULT: "fault", EXIT_IRQ_ACK: "irq-ack",
    EXIT_IOLOG_FULL: "iolog-full", EXIT_PRIVILEGED: "privileged",
    EXIT_EXCEPTION: "exception", EXIT_STOP: "stop", EXIT_SHUTDOWN: "shutdown",
    EXIT_VMEXIT: "vmexit",
}

# ---- the break table (execution breakpoints; above) -----------------------------
BT_COUNT, BT_LO, BT_HI, BT_ADDRS = 0, 1, 2, 3     # offsets from a core's ``break_table`` slot
BT_MAX = 64                                       # addresses it holds
BT_SIZE = BT_ADDRS + BT_MAX                       # state slots it takes

# ---- exit qualification bits and the exit-info block (VMM) ---------------------------
Q_IO_IN, Q_IO_STRING, Q_IO_REP, Q_IO_IMM = 0x8, 0x10, 0x20, 0x40
Q_MEM_READ, Q_MEM_WRITE, Q_MEM_GLA = 0x1, 0x2, 0x80
EI_ILEN, EI_GLA, EI_GPA = 0, 1, 2   # offsets from a core's ``exit_info`` slot

# ---- intercept mask bits (VMM) ------------------------------------------------
INTERCEPT_PRIVILEGED = 1   # privileged / sensitive instructions exit
INTERCEPT_EXCEPTIONS = 2   # guest exceptions exit instead of being delivered (x86: the vectors
                           # set in its EXC_BITMAP slot; S_FAULT vector, S_EXIT_DATA error code)
INTERCEPT_HLT = 4          # reserved for cores that otherwise idle internally

# ---- page table entries -------------------------------------------------------
PAGE_MMIO = -1
PAGE_ROM = -2
PAGE_LOGGED = -3     # and below: dirty-logged RAM (see ``wpage`` above)


def logged(offset):
    """The wpage entry that logs the next write to RAM at ``offset`` (arrays too)."""
    return PAGE_LOGGED - offset


def unlogged(entry):
    """The RAM offset a logged wpage entry stands for (its own inverse: ``logged``)."""
    return PAGE_LOGGED - entry

# ---- I/O port flags ------------------------------------------------------------
IOF_POSTED = 1
IOF_READ = 2        # byte reads answered from bits 15:8 (a published status register)

# mem tuple indices
M_DATA, M_RPAGE, M_WPAGE, M_IOFLAGS, M_IOLOG = 0, 1, 2, 3, 4
IOLOG_ENTRIES = 4096
