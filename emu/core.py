"""CPU core plugin base class and core lookup.

A core plugin is a subclass of :class:`Core` living in ``cores/<name>/`` (or any
importable module) and registered either by entry point (group ``emu.cores``)
or by a ``module:Class`` path in the machine YAML.  See :mod:`emu.abi` for the
run ABI shared by every core.
"""
from __future__ import annotations

import importlib
from importlib import metadata

import numpy as np

from . import abi


class Core:
    """One CPU.  Subclasses set the class attributes and implement ``run``."""

    name = "core"             # short name used in YAML (``core: z80``)
    description = ""
    address_bits = 16         # width of the program address space
    page_bits = 8             # granularity of the bus page tables
    io_bits = 16              # width of the I/O port space (0: no port space)
    state_size = 64           # length of the int64 state array
    exit_info = None          # first slot of the VMM exit-info block (emu.abi EI_*), or None
    break_table = None        # first slot of the break table (emu.abi BT_*), or None: S_BREAK only
    registers: tuple = ()     # register names shown by trace / info / debugger

    # njit(cache=True) function run(state, mem, budget) -> exit reason.
    run = None

    def __init__(self, clock_hz: float = 1_000_000, **params):
        self.clock_hz = float(clock_hz)
        self.params = params
        self.state = np.zeros(self.state_size, dtype=np.int64)
        # the same slots as a memoryview: Python ints, about 3x cheaper per element
        # than numpy scalars, for the Python side of an exit (the scheduler's dispatch)
        self.sv = self.state.data
        self.reset()

    # ---- lifecycle -------------------------------------------------------
    def reset(self) -> None:
        """Power-on / reset state.  Subclasses call super().reset() first."""
        keep_cycles = self.state[abi.S_CYCLES]
        bt = self.break_table
        keep_breaks = self.state[bt:bt + abi.BT_SIZE].copy() if bt is not None else None
        self.state[:] = 0
        self.state[abi.S_BREAK] = -1
        self.state[abi.S_CYCLES] = keep_cycles
        if bt is not None:                       # the debugger's, not the CPU's: kept
            self.state[bt:bt + abi.BT_SIZE] = keep_breaks

    def set_breakpoints(self, addrs) -> bool:
        """Put execution breakpoints in the core's break table (emu/abi.py); False when
        the core has none or they do not fit (the caller then checks them itself)."""
        from .breaks import write_table
        addrs = set(addrs)
        if self.break_table is None or len(addrs) > abi.BT_MAX:
            if self.break_table is not None:
                write_table(self.state, self.break_table, ())
            return False
        write_table(self.state, self.break_table, addrs)
        return True

    def execute(self, mem, budget: int) -> int:
        """Run until the budget is spent or an exit; returns the exit reason."""
        return int(type(self).run(self.state, mem, int(budget)))

    # ---- introspection (trace, debugger, tests) --------------------------
    def get_registers(self) -> dict:
        raise NotImplementedError

    def set_registers(self, **regs) -> None:
        raise NotImplementedError

    @property
    def pc(self) -> int:
        return self.get_registers()["pc"]

    def disassemble(self, read, addr: int) -> tuple[str, int]:
        """Return (text, length) of the instruction at ``addr``; ``read(a)`` gives a byte."""
        raise NotImplementedError

    def format_registers(self) -> str:
        regs = self.get_registers()
        return " ".join(f"{k}={v:04X}" for k, v in regs.items())

    # ---- interrupts (set between runs) ------------------------------------
    def set_irq(self, level: bool, vector: int | None = None) -> None:
        if vector is not None:
            self.state[abi.S_IRQ_VECTOR] = vector
        if level:
            self.state[abi.S_IRQ] |= 1
        else:
            self.state[abi.S_IRQ] &= ~1

    def nmi(self) -> None:
        self.state[abi.S_NMI] = 1

    @property
    def cycles(self) -> int:
        return int(self.state[abi.S_CYCLES])

    def warm_up(self) -> None:
        """Compile ``run`` (cheap when Numba's cache is warm)."""
        mem = flat_memory(self.address_bits if self.address_bits <= 20 else 20,
                          self.page_bits, space_bits=self.address_bits)
        saved = self.state.copy()
        self.execute(mem, 1)
        self.state[:] = saved


def compiled_entry(fn, *args):
    """The machine-code entry point of the Numba function ``fn`` for the types of
    ``args`` once it is compiled for them, else ``fn``.  Calling the entry point
    skips the dispatcher's per-call typing of every argument (the ``mem`` tuple's
    five arrays): half the host cost of a ``run()`` call, measured by ``emu bench``."""
    sigs = getattr(fn, "signatures", None)
    if not sigs:
        return fn
    from numba import typeof
    key = tuple(typeof(a) for a in args)
    for sig in sigs:
        if tuple(sig) == key:
            return getattr(fn.overloads[sig], "entry_point", fn)
    return fn


class CompiledCall:
    """``run(state, mem, budget)`` of a core, called through its compiled entry point
    (``compiled_entry``) from the second call on: the first compiles it (or loads it
    from the cache) for the argument types, which later calls must keep."""

    def __init__(self, fn):
        self.fn, self.entry = fn, None

    def __call__(self, state, mem, budget):
        if self.entry is None:
            r = self.fn(state, mem, budget)
            self.entry = compiled_entry(self.fn, state, mem, 1)
            return r
        return self.entry(state, mem, budget)


def flat_memory(size_bits: int, page_bits: int, space_bits: int | None = None):
    """A mem tuple with ``2**size_bits`` bytes of RAM mapped from address 0 and
    the rest of a ``2**space_bits`` space unmapped (MMIO).  For tests and tools."""
    space_bits = size_bits if space_bits is None else space_bits
    npages = 1 << (space_bits - page_bits)
    data = np.zeros(1 << size_bits, dtype=np.uint8)
    rpage = np.full(npages, abi.PAGE_MMIO, dtype=np.int64)
    mapped = 1 << (size_bits - page_bits)
    rpage[:mapped] = np.arange(mapped, dtype=np.int64) << page_bits
    wpage = rpage.copy()
    ioflags = np.zeros(1 << 16, dtype=np.uint16)
    iolog = np.zeros(3 * abi.IOLOG_ENTRIES, dtype=np.int64)
    return (data, rpage, wpage, ioflags, iolog)


class CoreError(Exception):
    pass


def find_core(name: str) -> type[Core]:
    """Resolve ``name`` as an ``emu.cores`` entry point or ``module:Class``."""
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise CoreError(f"cannot load core {name!r}: {e}") from None
    else:
        eps = {ep.name: ep for ep in metadata.entry_points(group="emu.cores")}
        if name in eps:
            cls = eps[name].load()
        else:
            # fall back to the in-tree plugin package cores.<name>
            try:
                mod = importlib.import_module(f"cores.{name}")
            except ImportError:
                known = sorted(set(eps) | set(available_cores()))
                raise CoreError(f"unknown core {name!r} (known: {', '.join(known) or 'none'})") from None
            cls = getattr(mod, "CORE", None)
            if cls is None:
                raise CoreError(f"module cores.{name} defines no CORE class")
    if not (isinstance(cls, type) and issubclass(cls, Core)):
        raise CoreError(f"{name!r} is not an emu.core.Core subclass")
    return cls


def available_cores() -> list[str]:
    names = {ep.name for ep in metadata.entry_points(group="emu.cores")}
    try:
        import cores
        import pkgutil
        names |= {m.name for m in pkgutil.iter_modules(cores.__path__) if not m.name.startswith("_")}
    except ImportError:
        pass
    return sorted(names)
