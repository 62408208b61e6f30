"""x86 interpreter (8086 and 386 real mode), compiled with Numba (run ABI: emu/abi.py).

The core is split by concept, as Bochs splits its CPU (a rule is written once and
used by every instruction that needs it):

    state       state-array slots, flag bits, internal result codes
    regs        general registers by ModRM number and width
    memory      linear reads/writes through the bus page tables, instruction fetch
    segments    segment register loads
    stack       PUSH / POP
    alu         arithmetic, logic, conditions, shifts, FLAGS writes
    interrupts  interrupt and exception entry
    ports       IN / OUT
    modrm       effective addresses
    ops_alu     00-3F    ops_regs  40-6F    ops_mov  80-AF    ops_ctrl  C0-EF
    ops_misc    F0-FF    ops_0f    0F xx    ops_string  string instructions
    execute     the general path: prefixes and dispatch by opcode row
    fast        tables and helpers of the inline fast path
    run         the run loop

Model (``state[MODEL]``): 0 = 8086/8088, 3 = 386 (real mode).  8086
differences: PUSH SP pushes the decremented value, shift counts are not
masked, FLAGS bits 12-15 read as 1, 0x60-0x6F alias Jcc, 0x0F is POP CS,
C0/C1/C8/C9 alias RET/RETF, 8F/C6/C7/FE/FF ignore or alias unused ModRM.reg
values, SALC (D6), SETMO/SETMOC (D0-D3 /6), REP negates the IMUL/IDIV result,
divide errors push the address of the next instruction, the IDIV quotient
-128/-32768 faults, AAA/AAS adjust AL and AH separately.

This module gathers the names the plugin (``__init__``), the benchmarks and the
tests use: the state slots and flags, ``execute`` and ``run``.
"""
from .state import *  # noqa: F401,F403
from .execute import execute  # noqa: F401
from .run import run  # noqa: F401
