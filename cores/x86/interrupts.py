"""Interrupt and exception entry through the real-mode vector table."""

from numba import njit

from .state import CS, EIP, FLAGS, IDTB, IF, J, MODEL, SEL, SWINT, TF
from .memory import rd16
from .segments import load_seg
from .stack import push


@njit(**J)
def do_int(s, dm, vec, ret_ip):
    """Enter interrupt handler ``vec`` through the real-mode IVT."""
    a = s[IDTB] + vec * 4
    ip = rd16(s, dm, a)
    cs = rd16(s, dm, a + 2)
    push(s, dm, s[FLAGS] & 0xFFFF, 2)
    push(s, dm, s[SEL + CS], 2)
    push(s, dm, ret_ip, 2)
    s[FLAGS] &= ~(IF | TF)
    load_seg(s, CS, cs)
    s[EIP] = ip
    s[SWINT] = 1
    return 51


@njit(**J)
def fault(s, dm, vec, start):
    """Exception with the faulting instruction's address (386) or the next one (8086)."""
    if s[MODEL] == 0:
        return do_int(s, dm, vec, s[EIP])
    return do_int(s, dm, vec, start)


@njit(**J)
def ud(s, dm, start):
    """Invalid opcode: #UD (INT 6) on the 386."""
    return do_int(s, dm, 6, start)
