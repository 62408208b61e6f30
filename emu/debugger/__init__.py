"""The interactive debugger (MAME-style commands): ``m.debugger.command("bp 7c00")``.

Every command takes a string and returns text; a bad one raises DebugError (one line)
and leaves the machine as it was.  ``help`` lists the commands.

How it runs the CPU:

* nothing set: the scheduler runs the cores as always (no hook at all);
* execution breakpoints (conditional or not, and exec hooks): the core's break table
  holds their addresses (emu/abi.py, "Execution breakpoints": up to BT_MAX; a core
  without a table takes one, in ``S_BREAK``) and the core runs whole slices, stopping
  before an instruction at one of them on every path (the x86 inline paths then check
  the range every instruction; the Z80 runs its general decoder); the debugger checks
  the PC itself before each run (the core skips a run's first instruction), then
  evaluates the condition or calls the hook, and a false condition goes on;
* port and interrupt breakpoints: checked on the exits those events make anyway
  (posted ports are un-posted while a port breakpoint is on them), full speed;
* watchpoints, more execution breakpoints than the table holds, ``step``/``over``/
  ``out``, exact mode breakpoints and ``trace``: the debugger single-steps the CPU
  (``run(state, mem, 1)``), checking before every instruction: about 3 µs per
  instruction here, so a few hundred thousand instructions per second.  Read watchpoints mark the watched pages to exit on reads
  (as MMIO pages do, ``AddressSpace.set_traps``): the exit is restartable, the
  debugger notes the access, lifts the traps for that one instruction and sets them
  again.  Write watchpoints mark the pages to exit on writes; the core reports only
  the first MMIO write of an instruction, so the debugger keeps a copy of the state
  array before each step, notes the write, puts the copy back (registers, posted-write
  count) and runs the instruction again with the traps off.  The instruction's other
  memory writes happen twice, with the same values (an instruction that reads back
  what it wrote itself before the watched write would see its own result).  A change
  of the watched bytes is caught as well.

The hook is the scheduler's CPU loop for this CPU (``Scheduler.cpu_hooks``); a machine
whose device drives the frames (sms) runs the frame around it in Python while it is
installed (emu/machines/sms/board.py), so everything here works there too.

Script hooks (``Machine.on_exec/on_read/on_write/on_port``, ``add_hook``) are
breakpoints and watchpoints with a function (``fn``): the checks above call it and
go on; they are not listed or deleted by the commands.  x86 exception breakpoints
(``bpexc``) set their vectors in the core's exception bitmap (INTERCEPT_EXCEPTIONS);
at the exit the event goes into the core's injection slots (INJ_INFO/INJ_ERR, CR2),
which the next run delivers first (alone, with no budget, so the handler's first
instruction is checked like any other).  Mode-switch breakpoints (``bpmode``) compare
CR0.PE / EFLAGS.VM after every run of the core, or after every instruction (exact).
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from .. import abi
from .expr import DebugError, Evaluator

__all__ = ["DebugError", "Debugger"]


@dataclass
class Breakpoint:
    id: int
    kind: str             # exec | port | int
    addr: int
    cond: str | None = None
    temp: bool = False
    enabled: bool = True
    hits: int = 0
    fn: object = field(default=None, repr=False)   # a script hook (Machine.on_exec/on_port)
    exact: bool = False   # mode breakpoints: single-step (precise) instead of checking at exits

    def describe(self) -> str:
        what = _what(self.kind, self.addr)
        return (f"{self.id:3d} {what}{'' if self.enabled else ' (disabled)'}"
                f"{', if ' + self.cond if self.cond else ''}  hits {self.hits}")


@dataclass
class Watchpoint:
    id: int
    start: int
    length: int
    access: str           # r | w | rw
    cond: str | None = None
    hits: int = 0
    last: bytes = field(default=b"", repr=False)
    fn: object = field(default=None, repr=False)   # a script hook (Machine.on_read/on_write)

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    def describe(self) -> str:
        return (f"{self.id:3d} {self.access:2s} {self.start:X}-{self.end:X}"
                f"{', if ' + self.cond if self.cond else ''}  hits {self.hits}")


class Stop(Exception):
    pass


MODES = {"any": "any", "real": "real", "prot": "protected", "protected": "protected",
         "pm": "protected", "v86": "v86", "vm86": "v86"}       # bpmode's names


def _what(kind, addr) -> str:
    if kind == "exc":
        from cores.x86 import EXC_NAMES
        return f"on exception {addr:02X}h ({EXC_NAMES.get(addr, 'vector')})"
    if kind == "mode":
        return f"on mode switch{'' if addr == 'any' else ' to ' + addr}"
    return {"exec": f"at {addr:X}", "port": f"on port {addr:X}",
            "int": f"on interrupt {addr:02X}"}[kind]


@dataclass
class Access:
    """What a script hook's ``fn(machine, access)`` is told (Machine.on_read/on_write/on_port):
    ``kind`` read | write | in | out; ``addr`` the linear address of the access (its first
    byte; it may start before the hooked range) or the port; ``size`` in bytes; ``value``
    the value read or written (little-endian); ``pc`` the PC of the instruction that made it."""
    kind: str
    addr: int
    size: int
    value: int
    pc: int


class Hook:
    """A script hook (Machine.on_exec / on_read / on_write / on_port): ``remove()`` it."""

    def __init__(self, dbg, table, item):
        self._dbg, self._table, self.item = dbg, table, item

    @property
    def id(self) -> int:
        return self.item.id

    @property
    def calls(self) -> int:
        return self.item.hits

    @property
    def active(self) -> bool:
        return self._table.get(self.item.id) is self.item

    def remove(self) -> None:
        if self.active:
            del self._table[self.item.id]
            self._dbg._arm()

    def __repr__(self):
        return f"<hook {self.item.id} {'active' if self.active else 'removed'}>"


HELP = """\
bp ADDR[,COND]          execution breakpoint (x86: linear, SEG:OFF; COND e.g. ax==3)
bpio PORT[,COND]        break on an I/O port access (before IN, after OUT)
bpint VEC               break when the CPU accepts this interrupt vector
bpexc VEC[,COND]        x86: break when the CPU raises exception VEC (0-31, e.g. e = #PF),
                        before it is delivered (EIP at the faulting instruction); going on
                        delivers it to the guest as the CPU would have
bpmode [MODE][,exact]   x86: break when the CPU switches to MODE (real, protected, v86;
                        default any); checked at exits, or every instruction with exact
bpclear [N]             delete breakpoint N (all without N); bpdisable/bpenable N
bplist                  list breakpoints
wp ADDR,LEN[,r|w|rw[,COND]]  watchpoint on reads / writes of a range (default w)
wpclear [N], wplist     delete / list watchpoints
s [N] | step [N]        execute N instructions (default 1)
o | over                step over a call, interrupt or repeated instruction
out                     run until the current subroutine returns
g [ADDR] | go [ADDR]    continue (to ADDR)
r [REG=VAL ...]         show or set registers
d ADDR[,LEN]            dump memory (x86: linear through the page tables; p:ADDR physical)
e ADDR,BYTE[,BYTE...]   edit memory (also "text")
f ADDR,LEN,BYTE[,...]   fill memory with a byte pattern
find ADDR,LEN,BYTE[,...]  search memory (bytes or "text")
dasm [ADDR[,N]]         disassemble (default: around the PC)
trace FILE [ADDR,END] | trace off   log every instruction with registers to FILE
print EXPR | ? EXPR     evaluate an expression
help                    this list"""


class Debugger:
    GO_LIMIT = 30.0       # emulated seconds a `go` may run from the Python API

    def __init__(self, machine, cpu=None):
        self.m = machine
        self.cpu = cpu or machine.cpu
        self.space = machine.spaces[self.cpu.name]
        self.is_x86 = type(self.cpu).__module__.startswith("cores.x86")
        mod = type(self.cpu).__module__
        # the core's "this instruction is abandoned for a read exit" slot (x86, Z80)
        self._xread = 82 if mod.startswith("cores.x86") else 49 if mod.startswith("cores.z80") else None
        self._xinj = None              # the x86 core's event-injection slot (INJ_INFO)
        if self.is_x86:
            from cores.x86 import state as X
            self._xinj = X.INJ_INFO
        self.bps: dict[int, Breakpoint] = {}
        self.wps: dict[int, Watchpoint] = {}
        self._next_id = 1
        self.step_left = 0
        self.out_depth = None          # `out`: call depth while stepping out
        self.trace_file = None
        self.trace_range = None
        self.stop_reason = None
        self.last_watch = None         # (kind, addr) of the last watchpoint hit (GDB stub)
        self._skip = None              # (pc, insns): do not stop again at the resumed-from PC
        self._posted = {}              # port -> ioflags value while a port breakpoint is on it
        self._hooked = False
        self._stepping = False
        self._exec_addrs = set()
        self._hook_pcs = set()         # addresses of exec hooks
        self._hooked_at = None         # (pc, insns) where the exec hooks last ran
        self._port_hooks = False
        self._exc_mine = 0             # exception-bitmap bits the debugger set (x86)
        self._exc_icpt = False         # ... and whether it set INTERCEPT_EXCEPTIONS
        self._mode_bps = []            # enabled mode-switch breakpoints (x86)
        self._last_mode = None
        self.last_exception = None     # (vector, error code, #PF address) of the last exception stop
        self.output = []               # lines printed while running (trace notices)

    # ---- memory (side-effect free: device pages read as None) -----------------
    def read_phys(self, pa: int):
        o = self.space.peek_offset(pa)
        return None if o is None else int(self.m.mem.data[o])

    def _read_phys32(self, pa):
        v = 0
        for i in range(4):
            b = self.read_phys(pa + i)
            if b is None:
                return None
            v |= b << (8 * i)
        return v

    def to_phys(self, addr: int, write: bool = False):
        if not self.is_x86:
            return addr & self.space.addr_mask
        from .x86 import translate
        return translate(self.cpu, self._read_phys32, addr, write)

    def read(self, addr: int, phys: bool = False):
        pa = addr if phys else self.to_phys(addr)
        return None if pa is None else self.read_phys(pa)

    def read_bytes(self, addr: int, n: int, phys: bool = False) -> list:
        return [self.read(addr + i, phys) for i in range(n)]

    def write(self, addr: int, value: int, phys: bool = False) -> bool:
        pa = addr if phys else self.to_phys(addr, write=True)
        if pa is None:
            return False
        o = self.space.peek_offset(pa, write=True)
        if o is None:
            return False
        self.m.mem.data[o] = value & 0xFF
        return True

    def read_value(self, addr: int, n: int) -> int:
        v = 0
        for i, b in enumerate(self.read_bytes(addr, n)):
            if b is None:
                raise DebugError(f"address {addr + i:X} is not readable")
            v |= b << (8 * i)
        return v

    # ---- expressions and addresses ---------------------------------------------
    def registers(self) -> dict:
        r = {k: v for k, v in self.cpu.get_registers().items() if isinstance(v, int)}
        r["pc"] = self.cpu.pc
        return r

    def eval(self, text: str) -> int:
        return Evaluator(self.registers(), self.read_value).eval(text)

    def address(self, text: str):
        """(address, physical) for an address argument: EXPR, SEG:OFF (x86), p:EXPR."""
        text = text.strip()
        phys = False
        if text.lower().startswith("p:"):
            phys, text = True, text[2:]
        if self.is_x86 and ":" in text:
            seg, _, off = text.partition(":")
            seg = seg.strip().lower()
            from .x86 import SEG_INDEX, segment_base
            segv = seg if seg in SEG_INDEX else self.eval(seg)
            base = segment_base(self.cpu, segv, lambda a: self._lin32(a))
            o = self.eval(off)
            return (base + o) & 0xFFFFFFFF, phys
        if ":" in text:
            raise DebugError(f"bad address {text!r}: SEG:OFF is for x86 only")
        return self.eval(text) & self.space.addr_mask if not self.is_x86 else self.eval(text) & 0xFFFFFFFF, phys

    def _lin32(self, a):
        b = self.read_bytes(a, 4)
        if None in b:
            return None
        return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24

    # ---- commands ------------------------------------------------------------------
    def command(self, line: str) -> str:
        """Run one debugger command; returns its text (raises DebugError on bad input)."""
        line = line.strip()
        if not line:
            return ""
        if line.startswith("?"):
            name, rest = "print", line[1:]
        else:
            name, _, rest = line.partition(" ")
        name = name.lower()
        fn = self.COMMANDS.get(name)
        if fn is None:
            raise DebugError(f"unknown command {name!r} (help lists them)")
        return fn(self, rest.strip()) or ""

    def _args(self, rest: str) -> list[str]:
        """Split at commas outside quotes and parentheses."""
        out, cur, depth, quote = [], "", 0, None
        for ch in rest:
            if quote:
                cur += ch
                if ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
                cur += ch
            elif ch == "(":
                depth += 1
                cur += ch
            elif ch == ")":
                depth -= 1
                cur += ch
            elif ch == "," and depth == 0:
                out.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if cur.strip():
            out.append(cur.strip())
        return out

    def _id(self):
        i = self._next_id
        self._next_id += 1
        return i

    def _check_cond(self, cond):
        if cond:
            self.eval(cond)            # a bad condition is refused when it is set

    # breakpoints
    def cmd_bp(self, rest):
        a = self._args(rest)
        if not a:
            raise DebugError("bp: missing address (bp ADDR[,COND])")
        addr, phys = self.address(a[0])
        if phys:
            raise DebugError("bp: breakpoints are on linear (CPU) addresses; drop the p:")
        cond = a[1] if len(a) > 1 else None
        self._check_cond(cond)
        bp = self.add_breakpoint("exec", addr, cond)
        return f"breakpoint {bp.id} at {addr:X}"

    def add_breakpoint(self, kind, addr, cond=None, temp=False) -> Breakpoint:
        bp = Breakpoint(self._id(), kind, addr, cond, temp)
        self.bps[bp.id] = bp
        self._arm()
        return bp

    def cmd_bpio(self, rest):
        a = self._args(rest)
        if not a:
            raise DebugError("bpio: missing port")
        port = self.eval(a[0])
        if not 0 <= port <= 0xFFFF:
            raise DebugError(f"bpio: port {port:X} is out of range")
        cond = a[1] if len(a) > 1 else None
        self._check_cond(cond)
        bp = self.add_breakpoint("port", port, cond)
        return f"breakpoint {bp.id} on port {port:X}"

    def cmd_bpint(self, rest):
        a = self._args(rest)
        if not a:
            raise DebugError("bpint: missing vector")
        vec = self.eval(a[0])
        if not 0 <= vec <= 0xFF:
            raise DebugError(f"bpint: vector {vec:X} is out of range")
        bp = self.add_breakpoint("int", vec, a[1] if len(a) > 1 else None)
        return f"breakpoint {bp.id} on interrupt {vec:02X}"

    def cmd_bpexc(self, rest):
        if not self.is_x86:
            raise DebugError("bpexc: exception breakpoints are for the x86 core")
        a = self._args(rest)
        if not a:
            raise DebugError("bpexc: missing vector (bpexc VEC[,COND], e.g. bpexc e for #PF)")
        vec = self.eval(a[0])
        if not 0 <= vec <= 31:
            raise DebugError(f"bpexc: vector {vec:X} is no exception (0 to 1Fh)")
        if vec in (1, 2, 3, 4, 18):
            raise DebugError(f"bpexc: vector {vec:X} is not a fault the core lets exit "
                             "(#DB, NMI, INT3, INTO, #MC); use bpint")
        cond = a[1] if len(a) > 1 else None
        self._check_cond(cond)
        bp = self.add_breakpoint("exc", vec, cond)
        return f"breakpoint {bp.id} {_what('exc', vec)}"

    def cmd_bpmode(self, rest):
        if not self.is_x86:
            raise DebugError("bpmode: mode-switch breakpoints are for the x86 core")
        a = [x.lower() for x in self._args(rest)]
        exact = "exact" in a
        a = [x for x in a if x != "exact"]
        if len(a) > 1 or (a and a[0] not in MODES):
            raise DebugError(f"bpmode: usage bpmode [real|protected|v86|any][,exact]; got {rest!r}")
        mode = MODES[a[0]] if a else "any"
        bp = Breakpoint(self._id(), "mode", mode, exact=exact)
        self.bps[bp.id] = bp
        self._last_mode = self.cpu_mode()
        self._arm()
        return (f"breakpoint {bp.id} {_what('mode', mode)} ({'every instruction' if exact else 'checked at exits'}; "
                f"now {self._last_mode})")

    def _clear(self, table, rest, what):
        if not rest:                   # (script hooks stay: Hook.remove() ends them)
            mine = [k for k, v in table.items() if v.fn is None]
            for k in mine:
                del table[k]
            self._arm()
            return f"{len(mine)} {what}s deleted"
        i = self.eval(rest)
        if i not in table or table[i].fn is not None:
            raise DebugError(f"no {what} {rest}")
        del table[i]
        self._arm()
        return f"{what} {i} deleted"

    def cmd_bpclear(self, rest):
        return self._clear(self.bps, rest, "breakpoint")

    def _enable(self, rest, on):
        i = self.eval(rest) if rest else None
        if i not in self.bps or self.bps[i].fn is not None:
            raise DebugError(f"no breakpoint {rest}")
        self.bps[i].enabled = on
        self._arm()
        return f"breakpoint {i} {'enabled' if on else 'disabled'}"

    def cmd_bplist(self, rest):
        return "\n".join(b.describe() for b in self.bps.values()
                         if not b.temp and b.fn is None) or "no breakpoints"

    def cmd_wp(self, rest):
        a = self._args(rest)
        if len(a) < 2:
            raise DebugError("wp: usage wp ADDR,LEN[,r|w|rw[,COND]]")
        addr, phys = self.address(a[0])
        if phys:
            raise DebugError("wp: watchpoints are on linear (CPU) addresses; drop the p:")
        n = self.eval(a[1])
        if not 1 <= n <= 0x10000:
            raise DebugError(f"wp: length {a[1]} must be 1 to 10000h")
        access = (a[2] if len(a) > 2 else "w").lower()
        if access not in ("r", "w", "rw", "a"):
            raise DebugError(f"wp: access {access!r} must be r, w or rw")
        cond = a[3] if len(a) > 3 else None
        self._check_cond(cond)
        wp = self.add_watchpoint(addr, n, "rw" if access == "a" else access, cond)
        return f"watchpoint {wp.id} on {access} of {addr:X}-{addr + n - 1:X}"

    def add_watchpoint(self, addr, n, access, cond=None) -> Watchpoint:
        wp = Watchpoint(self._id(), addr, n, access, cond)
        self.wps[wp.id] = wp
        self._arm()
        return wp

    # ---- script hooks (Machine.on_exec / on_read / on_write / on_port) ----------------
    def _hook_addr(self, where) -> int:
        if isinstance(where, str):
            addr, phys = self.address(where)
            if phys:
                raise DebugError("hooks are on linear (CPU) addresses; drop the p:")
            return addr
        if isinstance(where, bool) or not isinstance(where, int):
            raise DebugError(f"bad address {where!r}: an int or an address expression")
        return where & (0xFFFFFFFF if self.is_x86 else self.space.addr_mask)

    def _hook_range(self, where):
        """(start, length) of a hook's range: an int (one byte), range(start, stop),
        (start, stop) like range, or a string "ADDR[,LEN]" (debugger syntax)."""
        if isinstance(where, range):
            if where.step != 1 or len(where) == 0:
                raise DebugError(f"bad range {where!r}: a non-empty range with step 1")
            start, n = self._hook_addr(where.start), len(where)
        elif isinstance(where, tuple):
            if len(where) != 2 or where[1] <= where[0]:
                raise DebugError(f"bad range {where!r}: (start, stop) with stop > start")
            start, n = self._hook_addr(where[0]), where[1] - where[0]
        elif isinstance(where, str):
            a = self._args(where)
            if not a:
                raise DebugError("missing address")
            start, n = self._hook_addr(a[0]), (self.eval(a[1]) if len(a) > 1 else 1)
        else:
            start, n = self._hook_addr(where), 1
        if not 1 <= n <= 0x10000:
            raise DebugError(f"hook range of {n} bytes: 1 to 10000h")
        return start, n

    def add_hook(self, kind: str, where, fn) -> Hook:
        """A script hook: ``fn(machine)`` before the instruction at an address runs
        (exec), ``fn(machine, access)`` after an instruction read (read) or wrote
        (write) a range, or after an IN / OUT of a port (port); the machine goes on."""
        if not callable(fn):
            raise DebugError(f"on_{kind}: {fn!r} is not callable")
        if kind == "exec":
            b = Breakpoint(self._id(), "exec", self._hook_addr(where), fn=fn)
            table, item = self.bps, b
        elif kind == "port":
            port = self.eval(where) if isinstance(where, str) else where
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 0xFFFF:
                raise DebugError(f"on_port: bad port {where!r} (0 to FFFFh)")
            table, item = self.bps, Breakpoint(self._id(), "port", port, fn=fn)
        elif kind in ("read", "write"):
            start, n = self._hook_range(where)
            table, item = self.wps, Watchpoint(self._id(), start, n, kind[0], fn=fn)
        else:
            raise DebugError(f"no hook kind {kind!r} (exec, read, write, port)")
        table[item.id] = item
        self._arm()
        return Hook(self, table, item)

    def _call_exec_hooks(self, pc):
        for b in [b for b in self.bps.values() if b.fn is not None and b.kind == "exec" and b.addr == pc]:
            b.hits += 1
            b.fn(self.m)

    def cmd_wpclear(self, rest):
        return self._clear(self.wps, rest, "watchpoint")

    def cmd_wplist(self, rest):
        return "\n".join(w.describe() for w in self.wps.values() if w.fn is None) or "no watchpoints"

    # running
    def cmd_step(self, rest):
        n = self.eval(rest) if rest else 1
        if n < 1:
            raise DebugError("step: the count must be at least 1")
        self.step_left = n
        return self.resume()

    def cmd_over(self, rest):
        pc = self.cpu.pc
        text, length = self.disasm_at(pc)
        op = text.split()[0].lower() if text.split() else ""
        if op.startswith(("call", "int", "rep", "loop", "rst", "ldir", "lddr", "cpir", "cpdr",
                          "inir", "indr", "otir", "otdr", "djnz")):
            self.add_breakpoint("exec", (pc + length) & 0xFFFFFFFF, temp=True)
            return self.resume()
        return self.cmd_step("")

    def cmd_out(self, rest):
        self.out_depth = 0
        return self.resume()

    def cmd_go(self, rest):
        if rest:
            addr, _ = self.address(rest)
            self.add_breakpoint("exec", addr, temp=True)
        return self.resume()

    # registers
    def cmd_r(self, rest):
        if not rest:
            return self.format_registers()
        for item in re.split(r"[\s,]+(?=[A-Za-z_]+\s*=)", rest):
            name, eq, val = item.partition("=")
            name = name.strip().lower()
            if not eq:
                if name in self.registers():
                    return f"{name}={self.registers()[name]:X}"
                raise DebugError(f"r: usage r [REG=VALUE ...]; {name!r} is no register")
            v = self.eval(val)
            if name == "pc" and self.is_x86:
                from cores.x86 import state as X
                name, v = "eip", v - int(self.cpu.state[X.BASE + X.CS])   # linear PC -> EIP
            try:
                self.cpu.set_registers(**{name: v})
            except KeyError:
                raise DebugError(f"r: no register {name!r}") from None
        return self.format_registers()

    def format_registers(self) -> str:
        r = self.cpu.get_registers()
        text = self.cpu.format_registers()
        if self.is_x86:
            text += f" EIP={r['eip']:08X} EFL={r['eflags']:08X} CR0={r['cr0']:08X} CR3={r['cr3']:08X} CPL={r['cpl']}"
        return f"PC={self.cpu.pc:X}  {text}"

    # memory
    def _bytes(self, items) -> bytes:
        out = bytearray()
        for it in items:
            if len(it) >= 2 and it[0] == it[-1] and it[0] in "\"'":
                out += it[1:-1].encode("latin-1")
            else:
                v = self.eval(it)
                if not 0 <= v <= 0xFF:
                    raise DebugError(f"{it!r} is not a byte")
                out.append(v)
        if not out:
            raise DebugError("missing bytes")
        return bytes(out)

    def cmd_d(self, rest):
        a = self._args(rest)
        if not a:
            a = [f"{self.cpu.pc:x}"]
        addr, phys = self.address(a[0])
        n = self.eval(a[1]) if len(a) > 1 else 0x80
        if not 1 <= n <= 0x10000:
            raise DebugError("d: length must be 1 to 10000h")
        lines = []
        w = 8 if self.is_x86 else 4
        for row in range(addr, addr + n, 16):
            bs = self.read_bytes(row, min(16, addr + n - row), phys)
            hx = " ".join("??" if b is None else f"{b:02X}" for b in bs)
            asc = "".join("." if b is None or not 32 <= b < 127 else chr(b) for b in bs)
            lines.append(f"{'p:' if phys else ''}{row:0{w}X}  {hx:<47s}  {asc}")
        return "\n".join(lines)

    def cmd_e(self, rest):
        a = self._args(rest)
        if len(a) < 2:
            raise DebugError("e: usage e ADDR,BYTE[,BYTE...]")
        addr, phys = self.address(a[0])
        data = self._bytes(a[1:])
        for i, b in enumerate(data):
            if not self.write(addr + i, b, phys):
                raise DebugError(f"e: address {addr + i:X} is not writable memory")
        return f"{len(data)} bytes written at {addr:X}"

    def cmd_f(self, rest):
        a = self._args(rest)
        if len(a) < 3:
            raise DebugError("f: usage f ADDR,LEN,BYTE[,BYTE...]")
        addr, phys = self.address(a[0])
        n = self.eval(a[1])
        if not 1 <= n <= 0x1000000:
            raise DebugError("f: bad length")
        data = self._bytes(a[2:])
        for i in range(n):
            if not self.write(addr + i, data[i % len(data)], phys):
                raise DebugError(f"f: address {addr + i:X} is not writable memory")
        return f"{n} bytes filled at {addr:X}"

    def cmd_find(self, rest):
        a = self._args(rest)
        if len(a) < 3:
            raise DebugError("find: usage find ADDR,LEN,BYTE[,BYTE...] (or \"text\")")
        addr, phys = self.address(a[0])
        n = self.eval(a[1])
        data = self._bytes(a[2:])
        raw = self.read_bytes(addr, n + len(data) - 1, phys)
        hits = []
        for i in range(n):
            if all(raw[i + j] == data[j] for j in range(len(data))):
                hits.append(f"{addr + i:X}")
                if len(hits) >= 64:
                    break
        return ("found at " + " ".join(hits)) if hits else "not found"

    def disasm_at(self, addr):
        def rd(a):
            b = self.read(a)
            return 0 if b is None else b
        try:
            return self.cpu.disassemble(rd, addr)
        except NotImplementedError:
            return f"db {rd(addr):02X}h", 1

    def cmd_dasm(self, rest):
        a = self._args(rest)
        pc = self.cpu.pc
        start, _ = self.address(a[0]) if a else (pc, False)
        n = self.eval(a[1]) if len(a) > 1 else 10
        if not 1 <= n <= 1000:
            raise DebugError("dasm: count must be 1 to 1000")
        lines = []
        addr = start
        w = 8 if self.is_x86 else 4
        for _ in range(n):
            text, length = self.disasm_at(addr)
            raw = " ".join("??" if b is None else f"{b:02X}" for b in self.read_bytes(addr, length))
            mark = ">" if addr == pc else " "
            lines.append(f"{mark}{addr:0{w}X}  {raw:<18s} {text}")
            addr += max(1, length)
        return "\n".join(lines)

    def cmd_trace(self, rest):
        a = self._args(rest)
        if not a:
            raise DebugError("trace: usage trace FILE [,START,END] | trace off")
        if self.trace_file:
            self.trace_file.close()
            self.trace_file = None
        if a[0].lower() == "off":
            self._arm()
            return "trace off"
        try:
            self.trace_file = open(a[0], "w")
        except OSError as e:
            raise DebugError(f"trace: {a[0]}: {e.strerror}") from None
        self.trace_range = (self.address(a[1])[0], self.address(a[2])[0]) if len(a) >= 3 else None
        self._arm()
        return f"tracing to {a[0]}"

    def cmd_print(self, rest):
        v = self.eval(rest)
        return f"{v:X}h ({v})"

    def cmd_help(self, rest):
        return HELP

    COMMANDS = {
        "bp": cmd_bp, "bpset": cmd_bp, "bpio": cmd_bpio, "bpint": cmd_bpint, "bpexc": cmd_bpexc, "bpmode": cmd_bpmode,
        "bpclear": cmd_bpclear, "bc": cmd_bpclear, "bplist": cmd_bplist, "bl": cmd_bplist,
        "bpdisable": lambda self, r: self._enable(r, False), "bpenable": lambda self, r: self._enable(r, True),
        "wp": cmd_wp, "wpset": cmd_wp, "wpclear": cmd_wpclear, "wplist": cmd_wplist,
        "s": cmd_step, "step": cmd_step, "o": cmd_over, "over": cmd_over, "out": cmd_out,
        "g": cmd_go, "go": cmd_go, "r": cmd_r, "d": cmd_d, "dump": cmd_d, "e": cmd_e,
        "f": cmd_f, "fill": cmd_f, "find": cmd_find, "dasm": cmd_dasm, "u": cmd_dasm,
        "trace": cmd_trace, "print": cmd_print, "help": cmd_help,
    }

    # ---- arming: choose how the CPU runs ----------------------------------------------
    def _exec_bps(self):
        return [b for b in self.bps.values() if b.kind == "exec" and b.enabled]

    def _needs_stepping(self) -> bool:
        room = abi.BT_MAX if self.cpu.break_table is not None else 1   # (S_BREAK alone)
        return bool(self.step_left or self.out_depth is not None or self.trace_file or self.wps
                    or len({b.addr for b in self._exec_bps()}) > room
                    or any(b.exact for b in self._mode_bps))

    def _arm(self) -> None:
        """Install or remove the scheduler hook, the break table (or S_BREAK), read traps
        and un-posted ports."""
        sch = self.m.scheduler
        any_set = bool(self.bps or self.wps or self.step_left or self.out_depth is not None
                       or self.trace_file)
        if any_set and not self._hooked:
            sch.cpu_hooks[self.cpu.name] = self._run_cpu
            self._hooked = True
        elif not any_set and self._hooked:
            sch.cpu_hooks.pop(self.cpu.name, None)
            self._hooked = False
        ex = self._exec_bps()
        self._mode_bps = [b for b in self.bps.values() if b.kind == "mode" and b.enabled]
        if self._mode_bps and self._last_mode is None:
            self._last_mode = self.cpu_mode()
        elif not self._mode_bps:
            self._last_mode = None
        self._stepping = self._needs_stepping()
        self._exec_addrs = {b.addr for b in ex}
        self._hook_pcs = {b.addr for b in ex if b.fn is not None}
        self._port_hooks = any(b.kind == "port" and b.fn is not None for b in self.bps.values())
        core_checks = set() if self._stepping else self._exec_addrs
        if not self.cpu.set_breakpoints(core_checks):          # a core without a break table
            self.cpu.state[abi.S_BREAK] = next(iter(core_checks)) if len(core_checks) == 1 else -1
        self._arm_exceptions()
        # watchpoints: the physical pages of the watched ranges exit on reads / writes
        rpages, wpages = set(), set()
        pb = self.space.page_bits
        for w in self.wps.values():
            pages = set()
            for a in range(w.start, w.end + 1, 1 << pb):
                for lin in (a, min(w.end, a | ((1 << pb) - 1))):
                    pa = self.to_phys(lin)
                    if pa is not None:
                        pages.add(pa >> pb)
            if "r" in w.access:
                rpages |= pages
            if "w" in w.access:
                wpages |= pages
                w.last = self._snapshot(w)
        if rpages != self.space.read_traps or wpages != self.space.write_traps:
            self.space.set_traps(rpages, wpages)
        # port breakpoints: posted OUTs to those ports must exit
        pm = self.space.port_mask
        ports = set()
        for b in self.bps.values():
            if b.kind == "port" and b.enabled:
                ports.update(self._aliases(b.addr & pm))
        flags = self.space.ioflags
        self.space.io_hold = set(ports)        # published read values stay off these too
        for p in list(self._posted):
            if p not in ports:
                flags[p] = self._posted.pop(p)
        for p in ports:
            if p not in self._posted and flags[p]:
                self._posted[p] = int(flags[p])
                flags[p] = 0
        self.space.republish()

    def _aliases(self, port):
        """The 16-bit port numbers that reach ``port`` under the space's port mask (the
        Z80 puts A or B on A15-A8; cpm and sms decode A7-A0 only)."""
        pm = self.space.port_mask
        if pm == 0xFFFF:
            return (port,)
        import numpy as np
        return [int(p) for p in np.flatnonzero((np.arange(1 << 16) & pm) == port)]

    def _arm_exceptions(self):
        """x86: the vectors of exception breakpoints exit (the core's exception intercept,
        as a VMM's exception bitmap); bits a VMM set itself are left alone."""
        if not self.is_x86:
            return
        from cores.x86 import cpu as XC
        st = self.cpu.state
        bits = 0
        for b in self.bps.values():
            if b.kind == "exc" and b.enabled:
                bits |= 1 << b.addr
        others = int(st[XC.EXC_BITMAP]) & ~self._exc_mine
        mine = bits & ~others
        st[XC.EXC_BITMAP] = others | mine
        self._exc_mine = mine
        icpt = int(st[abi.S_INTERCEPT])
        if mine and not icpt & abi.INTERCEPT_EXCEPTIONS:
            st[abi.S_INTERCEPT] = icpt | abi.INTERCEPT_EXCEPTIONS
            self._exc_icpt = True
        elif not mine and self._exc_icpt:
            st[abi.S_INTERCEPT] = icpt & ~abi.INTERCEPT_EXCEPTIONS
            self._exc_icpt = False

    def cpu_mode(self) -> str:
        """x86: real, protected or v86 (CR0.PE, EFLAGS.VM); other cores: \"-\"."""
        if not self.is_x86:
            return "-"
        from cores.x86 import state as X
        st = self.cpu.state
        if not int(st[X.CR0]) & X.PE:
            return "real"
        return "v86" if int(st[X.FLAGS]) & X.VM else "protected"

    def _snapshot(self, w) -> bytes:
        return bytes((b or 0) for b in self.read_bytes(w.start, w.length))

    # ---- running ------------------------------------------------------------------
    def resume(self, max_seconds: float | None = None, poll=None) -> str:
        """Run the machine until the debugger stops it (breakpoint, step done...);
        ``poll()`` returning True (an interrupt request: Ctrl-C, GDB's 0x03) stops it
        between frames.  Returns the stop text."""
        m = self.m
        self.stop_reason = None
        self._skip = (self.cpu.pc, int(self.cpu.state[abi.S_INSNS]))
        self._arm()
        limit = self.GO_LIMIT if max_seconds is None else max_seconds
        t_end = m.time + limit
        try:
            while True:
                m.step_frame()
                if m.stop_requested:
                    why = m.stop_requested
                    m.stop_requested = None
                    if self.stop_reason is None:
                        self.stop_reason = why
                    break
                if poll is not None and poll():
                    self.stop_reason = "interrupted"
                    break
                if m.time >= t_end:
                    self.stop_reason = f"still running after {limit:g} s (emulated); stopped"
                    break
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        finally:
            self.step_left = 0
            self.out_depth = None
            for b in [b for b in self.bps.values() if b.temp]:
                del self.bps[b.id]
            self._arm()
        return f"{self.stop_reason}\n{self.cmd_dasm(f'{self.cpu.pc:x},1')}"

    def _stop(self, why: str) -> None:
        self.stop_reason = why
        self.m.stop_requested = why
        self.m.scheduler.hold_time = True

    def _cond(self, obj) -> bool:
        if not obj.cond:
            return True
        try:
            return bool(self.eval(obj.cond))
        except DebugError:
            return True

    def _exec_hit(self, pc, insns):
        if pc not in self._exec_addrs:
            return None
        if pc in self._hook_pcs and self._hooked_at != (pc, insns):
            self._hooked_at = (pc, insns)           # (once per arrival, not per re-check)
            self._call_exec_hooks(pc)
            if self.cpu.pc != pc:
                return None                         # the hook moved the PC
        if self._skip == (pc, insns):
            return None
        for b in self.bps.values():
            if b.kind == "exec" and b.enabled and b.fn is None and b.addr == pc and self._cond(b):
                b.hits += 1
                return b
        return None

    def _hit_text(self, b: Breakpoint) -> str:
        if b.temp:
            return f"stopped at {b.addr:X}"
        return f"breakpoint {b.id} " + _what(b.kind, b.addr)

    def _port_hit(self, reason, state):
        pm = self.space.port_mask
        port = int(state[abi.S_EXIT_ADDR]) & pm
        for b in self.bps.values():
            if (b.kind == "port" and b.enabled and b.fn is None and b.addr & pm == port
                    and self._cond(b)):
                if reason == abi.EXIT_IO_IN and self._skip == (self.cpu.pc, int(state[abi.S_INSNS])):
                    return None
                b.hits += 1
                return b
        return None

    def _int_hit(self, vector):
        for b in self.bps.values():
            if b.kind == "int" and b.enabled and b.addr == vector and self._cond(b):
                b.hits += 1
                return b
        return None

    def _dispatch(self, cpu, reason):
        """Handle one exit; returns a stop text or None."""
        state, space = cpu.state, self.space
        sch = self.m.scheduler
        if reason == abi.EXIT_BREAKPOINT:
            b = self._exec_hit(cpu.pc, int(state[abi.S_INSNS]))
            return self._hit_text(b) if b else None
        stop = None
        if reason in (abi.EXIT_IO_IN, abi.EXIT_IO_OUT):
            b = self._port_hit(reason, state)
            if b is not None:
                if reason == abi.EXIT_IO_IN:            # before the IN (it is restartable)
                    return self._hit_text(b) + " (in)"
                stop = self._hit_text(b) + f" (out {int(state[abi.S_EXIT_DATA]):X})"
        if reason == abi.EXIT_EXCEPTION and (self._exc_mine >> int(state[abi.S_FAULT])) & 1:
            return self._exception_stop(cpu)
        vector = int(state[abi.S_IRQ_VECTOR]) & 0xFF
        sch.dispatch(cpu, space, reason)
        if self._port_hooks and reason in (abi.EXIT_IO_IN, abi.EXIT_IO_OUT):
            self._call_port_hooks(cpu, reason)
        if reason == abi.EXIT_IRQ_ACK:
            b = self._int_hit(vector)
            if b is not None:
                stop = self._hit_text(b)
        return stop

    def _call_port_hooks(self, cpu, reason):
        st = cpu.state
        pm = self.space.port_mask
        port = int(st[abi.S_EXIT_ADDR]) & 0xFFFF
        size = int(st[abi.S_EXIT_SIZE])
        acc = Access("in" if reason == abi.EXIT_IO_IN else "out", port, size,
                     int(st[abi.S_EXIT_DATA]) & ((1 << (8 * size)) - 1), cpu.pc)
        for b in [b for b in self.bps.values() if b.kind == "port" and b.fn is not None]:
            if b.addr & pm == port & pm:
                b.hits += 1
                b.fn(self.m, acc)

    def _exception_stop(self, cpu) -> str:
        """An exception breakpoint's vector exited (the instruction undone, EIP at it):
        note the event so that the next run delivers it as the CPU would have."""
        from cores.x86 import EXC_NAMES, X86
        st = cpu.state
        vec, err = int(st[abi.S_FAULT]), int(st[abi.S_EXIT_DATA])
        addr = int(st[X86.exit_info + abi.EI_GLA]) if vec == 14 else None
        self.last_exception = (vec, err, addr)
        self._inject(vec, err, addr)
        b = next((b for b in self.bps.values() if b.kind == "exc" and b.enabled and b.addr == vec
                  and self._cond(b)), None)
        if b is None:
            return None                              # condition false: delivered on the next run
        b.hits += 1
        text = f"breakpoint {b.id} on exception {vec:02X}h ({EXC_NAMES.get(vec, 'vector')})"
        text += f", error code {err:04X}" if err >= 0 else ", no error code"
        if addr is not None:
            text += f", CR2 will be {addr:08X}"
        return text + f" at {cpu.pc:X}"

    def _inject(self, vec, err, addr):
        """Put the exception in the core's event-injection fields (VT-x entry
        interruption information): the next run() delivers it first, through the
        guest's IDT, as the CPU would have (CR2 set for a page fault)."""
        from cores.x86 import cpu as XC
        st = self.cpu.state
        st[XC.INJ_INFO] = 0x80000000 | vec | (0x800 if err >= 0 else 0)
        st[XC.INJ_ERR] = max(err, 0)
        if addr is not None:
            st[XC.CR2] = st[XC.XLIN] = addr

    def _check_mode(self):
        """Mode-switch breakpoints: the stop text when the mode differs from the last check."""
        now = self.cpu_mode()
        was, self._last_mode = self._last_mode, now
        if was is None or now == was:
            return None
        for b in self._mode_bps:
            if b.addr in ("any", now) and self._cond(b):
                b.hits += 1
                how = "" if b.exact else " (checked at exits: the switch was at most one run slice earlier)"
                return f"breakpoint {b.id} on mode switch: {was} -> {now} at {self.cpu.pc:X}{how}"
        return None

    def _run_cpu(self, cpu) -> None:
        """The scheduler's CPU loop with the debugger's checks (Scheduler.run_cpu)."""
        if cpu is not self.cpu:
            return self.m.scheduler.run_cpu(cpu)
        m, sch, space = self.m, self.m.scheduler, self.space
        state, mem = cpu.state, space.mem
        run = type(cpu).run
        clock = cpu.clock_hz
        sch.running_cpu = cpu
        sch.halted[cpu.name] = False
        if self._exc_mine and not int(state[abi.S_INTERCEPT]) & abi.INTERCEPT_EXCEPTIONS:
            self._exc_mine = 0                       # a CPU reset cleared them: set them again
            self._arm_exceptions()
        try:
            while not m.stop_requested:
                budget = int(sch.slice_end * clock) - int(state[abi.S_CYCLES])
                if budget <= 0:
                    return
                if self._stepping:
                    why = self._step_one(cpu)
                    if why:
                        return self._stop(why)
                    continue
                if self._exec_addrs:
                    pc = cpu.pc
                    b = self._exec_hit(pc, int(state[abi.S_INSNS]))
                    if b is not None:
                        return self._stop(self._hit_text(b))
                    if cpu.pc != pc or m.stop_requested:
                        continue                     # a hook moved the PC or asked to stop
                if self._xinj is not None and int(state[self._xinj]) & 0x80000000:
                    # an exception stop's event: delivered alone (no budget) so that the
                    # handler's first instruction gets the breakpoint checks above
                    why = self._step_injected(cpu)
                    if why:
                        return self._stop(why)
                    continue
                reason = run(state, mem, budget)
                sch.halted[cpu.name] = reason == abi.EXIT_HLT
                if state[abi.S_IOLOG_COUNT]:
                    space.drain_iolog(state)
                if reason:
                    why = self._dispatch(cpu, reason)
                    if why:
                        return self._stop(why)
                if self._mode_bps:
                    why = self._check_mode()
                    if why:
                        return self._stop(why)
        finally:
            sch.running_cpu = None

    def _step_one(self, cpu):
        """Execute one whole instruction (or enter one interrupt handler) with every
        check; returns a stop text or None."""
        state, space, mem = cpu.state, self.space, self.space.mem
        run = type(cpu).run
        sch = self.m.scheduler
        pc, insns0 = cpu.pc, int(state[abi.S_INSNS])
        b = self._exec_hit(pc, insns0)
        if b is not None:
            return self._hit_text(b)
        if cpu.pc != pc or self.m.stop_requested:
            return None                                # a hook moved the PC or asked to stop
        state[abi.S_BREAK] = -1
        if self._xinj is not None and int(state[self._xinj]) & 0x80000000:
            return self._step_injected(cpu)
        text = None
        if self.trace_file or self.out_depth is not None:
            text, _ = self.disasm_at(pc)
        if self.trace_file and (self.trace_range is None or self.trace_range[0] <= pc <= self.trace_range[1]):
            raw = " ".join("??" if x is None else f"{x:02X}" for x in self.read_bytes(pc, self.disasm_at(pc)[1]))
            self.trace_file.write(f"{pc:08X}  {raw:<18s} {text:<30s} {cpu.format_registers()}\n")
        watched_reads = []
        watched_writes = []
        stop = None
        untrapped = False
        end_cycle = int(sch.slice_end * cpu.clock_hz)
        entered = False
        try:
            while True:
                saved = state.copy()
                state[abi.S_EXIT_REASON] = 0
                reason = run(state, mem, 1)
                xaddr = int(state[abi.S_EXIT_ADDR])
                xpage = xaddr >> space.page_bits
                lost_write = int(state[abi.S_EXIT_REASON]) == abi.EXIT_MMIO_WRITE and xpage in space.trapped_w
                # an interrupt or exception delivered inside the core that read a trapped
                # page (the vector table, a TSS) cannot restart: its read came back 0
                lost_read = (reason != abi.EXIT_MMIO_READ and self._xread is not None
                             and int(state[self._xread]) != 0 and xpage in space.trapped)
                if reason == abi.EXIT_IRQ_ACK and space.trapped and not lost_write:
                    # the vector table read of an interrupt entry made in the core does
                    # not restart either: run it again untrapped, note the entry it read
                    lost_read = True
                    xaddr, n = self._vector_entry(cpu, saved)
                    state[abi.S_EXIT_SIZE] = n
                if lost_write or lost_read:
                    # a write to a watched page: the core reports the first MMIO write of
                    # an instruction only (and none when an interrupt entry made it), so
                    # note it, undo the run (registers, posted writes) and run it again
                    # with the traps off
                    (watched_writes if lost_write else watched_reads).append(
                        (xaddr, int(state[abi.S_EXIT_SIZE]), int(state[abi.S_EXIT_DATA])))
                    state[:] = saved
                    space.traps_off(reads=lost_read, writes=lost_write)
                    untrapped = True
                    continue
                if state[abi.S_IOLOG_COUNT]:
                    space.drain_iolog(state)
                if reason == abi.EXIT_MMIO_READ and (int(state[abi.S_EXIT_ADDR]) >> space.page_bits) in space.trapped:
                    watched_reads.append((int(state[abi.S_EXIT_ADDR]), int(state[abi.S_EXIT_SIZE]), 0))
                    space.traps_off(writes=False)
                    untrapped = True
                    continue
                if reason:
                    why = self._dispatch(cpu, reason)
                    if why and stop is None:
                        stop = why
                        if reason in (abi.EXIT_IO_IN, abi.EXIT_EXCEPTION):
                            return stop                # (before it: restartable / not delivered)
                    if reason == abi.EXIT_IRQ_ACK:
                        entered = True
                        break
                    if reason == abi.EXIT_HLT:
                        break
                if int(state[abi.S_INSNS]) != insns0 or self.m.stop_requested:
                    break
                if int(state[abi.S_CYCLES]) >= end_cycle:
                    return stop                        # a long REP: go on in the next slice
        finally:
            if untrapped:
                space.traps_on()
        done = entered or int(state[abi.S_INSNS]) != insns0
        # watchpoints
        for w in list(self.wps.values()):
            if w.fn is not None:
                self._watch_hook(w, pc, watched_reads, watched_writes)
                continue
            if "r" in w.access and stop is None:
                for pa, n, _ in watched_reads:
                    if self._overlaps_phys(w, pa, n) and self._cond(w):
                        w.hits += 1
                        self.last_watch = ("rwatch" if w.access == "r" else "awatch", w.start)
                        stop = f"watchpoint {w.id}: read of {w.start:X}-{w.end:X} at {pc:X}"
                        break
            if "w" in w.access:
                now = self._snapshot(w)
                wrote = any(self._overlaps_phys(w, pa, n) for pa, n, _ in watched_writes)
                if now != w.last or wrote:
                    w.last = now
                    if stop is None and self._cond(w):
                        w.hits += 1
                        self.last_watch = ("watch" if w.access == "w" else "awatch", w.start)
                        stop = f"watchpoint {w.id}: write to {w.start:X}-{w.end:X} at {pc:X}"
        if stop is None and self._mode_bps:
            stop = self._check_mode()
        if stop:
            return stop
        if done and self.out_depth is not None and text is not None:
            op = text.split()[0].lower() if text.split() else ""
            if op.startswith("call") or (op.startswith("int") and op != "into"):
                self.out_depth += 1
            elif op.startswith(("ret", "iret")):
                if self.out_depth == 0:
                    self.out_depth = None
                    return f"returned to {cpu.pc:X}"
                self.out_depth -= 1
        if done and self.step_left:
            self.step_left -= 1
            if self.step_left == 0:
                return "step"
        return None

    def _step_injected(self, cpu):
        """A step from an exception stop: deliver the exception only (run with no
        budget: the core delivers the injected event and executes nothing), so the
        step ends at the handler's first instruction, as a step into an interrupt does."""
        state = cpu.state
        reason = type(cpu).run(state, self.space.mem, 0)
        if state[abi.S_IOLOG_COUNT]:
            self.space.drain_iolog(state)
        if reason:
            why = self._dispatch(cpu, reason)
            if why:
                return why
        if self._mode_bps:
            why = self._check_mode()
            if why:
                return why
        if self.step_left:
            self.step_left -= 1
            if self.step_left == 0:
                return "step"
        return None

    def _watch_hook(self, w, pc, reads, writes):
        """Call a read / write hook for this instruction's accesses of its range (once)."""
        if w.access == "r":
            for pa, n, _ in reads:
                lin = self._lin_of(w, pa, n)
                if lin is not None:
                    val = 0
                    for i in range(n):
                        val |= (self.read_phys(pa + i) or 0) << (8 * i)
                    w.hits += 1
                    w.fn(self.m, Access("read", lin, n, val, pc))
                    return
            return
        now = self._snapshot(w)
        for pa, n, data in writes:
            lin = self._lin_of(w, pa, n)
            if lin is not None:
                w.last = now
                w.hits += 1
                w.fn(self.m, Access("write", lin, n, data & ((1 << (8 * n)) - 1), pc))
                return
        if now != w.last:            # a write the core did not report (the second of an
            diff = [i for i in range(len(now)) if now[i] != w.last[i]]   # instruction's)
            i, j = diff[0], diff[-1]
            w.last = now
            w.hits += 1
            w.fn(self.m, Access("write", w.start + i, j - i + 1,
                                int.from_bytes(now[i:j + 1], "little"), pc))

    def _lin_of(self, w, pa, n):
        """The linear address of physical ``pa`` if [pa, pa+n) meets w's range, else None."""
        mask = (1 << self.space.page_bits) - 1
        a = w.start
        while a <= w.end:
            end = min(w.end, a | mask)
            p = self.to_phys(a)
            if p is not None and p < pa + n and pa <= p + end - a:
                return a + (pa - p)
            a = end + 1
        return None

    def _vector_entry(self, cpu, saved):
        """(physical address, size) of the vector table entry an interrupt entry reads."""
        vec = int(saved[abi.S_IRQ_VECTOR]) & 0xFF
        if self.is_x86:
            from cores.x86 import state as X

            from .x86 import protected
            size = 8 if protected(cpu) else 4
            pa = self.to_phys(int(cpu.state[X.IDTB]) + vec * size)
            return (pa if pa is not None else -1), size
        if type(cpu).__module__.startswith("cores.z80"):
            r = cpu.get_registers()
            return ((r.get("i", 0) << 8) | (vec & 0xFE)), 2
        return -1, 1

    def _overlaps_phys(self, w, pa, n) -> bool:
        for i in range(w.length):
            p = self.to_phys(w.start + i)
            if p is not None and pa <= p < pa + n:
                return True
        return False


def install(machine):
    """The machine's debugger (``m.debugger``), made on first use."""
    d = machine.__dict__.get("_debugger")
    if d is None:
        d = machine.__dict__["_debugger"] = Debugger(machine)
    return d


def split_commands(line: str) -> list[str]:
    """``a; b`` runs two commands (quotes respected)."""
    lex = shlex.shlex(line, posix=False)
    lex.whitespace = ";"
    lex.whitespace_split = True
    return [c.strip() for c in lex if c.strip()]
