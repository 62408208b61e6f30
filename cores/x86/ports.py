"""Port I/O: IN is restartable (exits to Python), OUT is posted or exits after the instruction.

Once the instruction is abandoned (``state[XREAD]``: an exception, or an MMIO read
of its own bytes or operands needing an exit), IN reads 0 and OUT does nothing,
as memory accesses do: the port is touched only by the run that completes it."""

import numpy as np
from numba import njit

from emu import abi

from .state import EIP, MMLOG_W, REG, SNAP, J, XREAD
from .regs import wmask
from .memory import exit_info, write_exit


# ---- I/O ------------------------------------------------------------------------------
@njit(**J)
def io_qual(s, port, size, q):
    """VT-x's I/O exit qualification (emu.abi): ``q`` has the string/REP/immediate bits."""
    return (port << 16) | q | (size - 1)


@njit(**J)
def ilen(s):
    """Bytes of the current instruction decoded so far (all of an IN's or OUT's)."""
    return (s[EIP] - s[SNAP + EIP - REG]) & 0xFFFF


@njit(**J)
def port_in(s, mem, port, size, q):
    """Value of a pending IN for ``port``, or -1 after arranging the exit.  ``q``:
    the exit qualification's string, REP and immediate bits (emu.abi Q_IO_*)."""
    if s[XREAD]:
        return 0
    if size == 1:
        f = np.int64(mem[3][port])
        if f & abi.IOF_READ:                   # a published status register: no exit
            return (f >> 8) & 0xFF
    if s[abi.S_PENDING] == 1 and s[abi.S_EXIT_ADDR] == port and s[abi.S_EXIT_SIZE] == size:
        s[abi.S_PENDING] = 0
        return s[abi.S_EXIT_DATA] & wmask(size)
    s[abi.S_EXIT_ADDR] = port
    s[abi.S_EXIT_SIZE] = size
    s[MMLOG_W] = -1                            # (the answer will be a port's, not MMIO's)
    exit_info(s, io_qual(s, port, size, q | abi.Q_IO_IN), ilen(s), -1, -1)
    return -1


@njit(**J)
def port_out(s, mem, port, v, size, q):
    if s[XREAD]:
        return
    v &= wmask(size)
    if mem[3][port] & abi.IOF_POSTED:
        n = s[abi.S_IOLOG_COUNT]
        log = mem[4]
        log[3 * n] = port | (size << 32)
        log[3 * n + 1] = v
        log[3 * n + 2] = s[abi.S_CYCLES]
        s[abi.S_IOLOG_COUNT] = n + 1
        if 3 * (n + 2) > len(log) and s[abi.S_EXIT_REASON] == 0:
            s[abi.S_EXIT_REASON] = abi.EXIT_IOLOG_FULL
    else:
        write_exit(s, abi.EXIT_IO_OUT, port, size, v, io_qual(s, port, size, q), ilen(s), -1, -1)
