"""GDB remote serial protocol stub for the x86 core (``emu run pc --gdb PORT``).

Listens on 127.0.0.1 only and serves one client at a time.  The machine is stopped
while GDB has control and runs (in this thread) on ``c``/``s``; a 0x03 byte (Ctrl-C in
GDB) stops it between frames.  Registers are GDB's i386 set (eax..edi, eip, eflags,
cs ss ds es fs gs); ``eip`` is the linear PC (CS base + EIP), so in real mode
``break *0x7c00`` is 0000:7C00.  Memory addresses are linear, translated through the
guest's page tables when CR0.PG is set (a page that is not present reads as an error).
Z0/Z1 breakpoints and Z2/Z3/Z4 watchpoints are the debugger's; ``monitor CMD`` runs a
debugger command (``monitor r``, ``monitor bplist``, ``monitor dasm``, ``monitor bpexc e``).
Stops are reported as GDB expects (``stop_reply``): an exception breakpoint as a signal
(a page fault as SIGSEGV), a mode-switch, port or interrupt breakpoint as SIGTRAP.
"""
from __future__ import annotations

import re
import select

from ..chardev import listen_tcp
from ..errors import EmuError
from . import DebugError
from .x86 import GDB_REGS, GDB_SIZES, gdb_read_regs, gdb_write_reg


class GdbError(EmuError):
    pass


# x86 exception vector -> GDB signal, as GDB's own i386 stub (gdb/stubs/i386-stub.c,
# computeSignal) reports them: SIGFPE 8, SIGTRAP 5, SIGURG 16, SIGILL 4, SIGEMT 7, SIGSEGV 11
_EXC_SIGNAL = {0: 8, 1: 5, 3: 5, 4: 16, 5: 16, 6: 4, 7: 8, 8: 7, 9: 11, 10: 11, 11: 11, 12: 11,
               13: 11, 14: 11, 16: 7}


def exception_signal(vector: int) -> int:
    return _EXC_SIGNAL.get(vector, 7)


def _checksum(data: bytes) -> bytes:
    return f"{sum(data) & 0xFF:02x}".encode()


class GdbStub:
    def __init__(self, machine, port: int, host: str = "127.0.0.1"):
        self.m = machine
        self.dbg = machine.debugger
        if not self.dbg.is_x86:
            raise GdbError(f"--gdb: machine {machine.name!r} has no x86 CPU (use --debug: "
                           "Debian's gdb has no target for this core)")
        self.sock = listen_tcp(host, port, f"--gdb {port}", GdbError)
        self.port = self.sock.getsockname()[1]
        self.conn = None
        self.buf = b""
        self.zbps = {}          # (type, addr, kind) -> debugger id
        self.detached = False
        self.killed = False

    # ---- transport ------------------------------------------------------------
    def accept(self, timeout=None):
        self.sock.settimeout(timeout)
        self.conn, _ = self.sock.accept()
        self.conn.settimeout(None)
        self.sock.settimeout(None)

    def close(self):
        for s in (self.conn, self.sock):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        self.conn = None

    def _recv(self) -> bool:
        data = self.conn.recv(4096)
        if not data:
            raise ConnectionError("gdb closed the connection")
        self.buf += data
        return True

    def read_packet(self):
        """The next packet's payload (str), or "\\x03" for an interrupt byte."""
        while True:
            while self.buf[:1] in (b"+", b"-"):
                self.buf = self.buf[1:]
            if self.buf[:1] == b"\x03":
                self.buf = self.buf[1:]
                return "\x03"
            i = self.buf.find(b"$")
            if i >= 0:
                j = self.buf.find(b"#", i)
                if j >= 0 and len(self.buf) >= j + 3:
                    body = self.buf[i + 1:j]
                    ok = self.buf[j + 1:j + 3].lower() == _checksum(body)
                    self.buf = self.buf[j + 3:]
                    self.conn.sendall(b"+" if ok else b"-")
                    if ok:
                        return self._unescape(body).decode("latin-1")
                    continue
            elif self.buf and self.buf[:1] not in (b"+", b"-", b"\x03"):
                self.buf = self.buf[1:]
                continue
            self._recv()

    @staticmethod
    def _unescape(body: bytes) -> bytes:
        out, i = bytearray(), 0
        while i < len(body):
            if body[i] == 0x7D and i + 1 < len(body):
                out.append(body[i + 1] ^ 0x20)
                i += 2
            else:
                out.append(body[i])
                i += 1
        return bytes(out)

    def send(self, payload: str) -> None:
        data = payload.encode("latin-1")
        esc = bytearray()
        for b in data:
            if b in (0x23, 0x24, 0x7D, 0x2A):
                esc += bytes([0x7D, b ^ 0x20])
            else:
                esc.append(b)
        self.conn.sendall(b"$" + bytes(esc) + b"#" + _checksum(bytes(esc)))

    def _interrupt_pending(self) -> bool:
        if self.buf[:1] == b"\x03":
            self.buf = self.buf[1:]
            return True
        r, _, _ = select.select([self.conn], [], [], 0)
        if r:
            data = self.conn.recv(4096)
            if not data:
                self.killed = True
                return True
            if b"\x03" in data:
                return True
            self.buf += data
        return False

    # ---- the session ----------------------------------------------------------------
    def serve(self) -> None:
        """Serve one client until it detaches, kills or disconnects."""
        try:
            while not (self.detached or self.killed):
                pkt = self.read_packet()
                reply = self.handle(pkt)
                if self.log:
                    self.log(f"<- {pkt[:80]!r} -> {reply[:80] if reply else reply!r}")
                if reply is not None:
                    self.send(reply)
        except (ConnectionError, OSError):
            pass
        finally:
            if self.conn is not None:
                try:
                    self.conn.close()
                except OSError:
                    pass
                self.conn = None
            if not self.killed:      # detach: the machine goes on without breakpoints
                for i in list(self.zbps.values()):
                    self.dbg.bps.pop(i, None)
                    self.dbg.wps.pop(i, None)
                self.zbps.clear()
                self.dbg._arm()

    def stop_reply(self) -> str:
        """The stop reply packet (GDB manual, E.4 "Stop Reply Packets"; signal numbers of
        GDB's include/gdb/signals.h): SIGTRAP (05) for a step or a breakpoint, with
        ``swbreak``/``hwbreak`` only for GDB's own Z0/Z1 breakpoints and ``watch``/``rwatch``/
        ``awatch:ADDR`` for its watchpoints; SIGINT (02) for an interrupt; an exception
        breakpoint (``monitor bpexc``) as the signal GDB's i386-stub.c gives the vector."""
        d = self.dbg
        why = d.stop_reason or ""
        if why == "interrupted":
            return "S02"
        if why.startswith("watchpoint") and d.last_watch:
            kind, addr = d.last_watch
            return f"T05{kind}:{addr:x};"
        m = re.match(r"breakpoint (\d+) ", why)
        if m:
            b = d.bps.get(int(m.group(1)))
            if b is not None and b.kind == "exc":
                return f"T{exception_signal(b.addr):02x}"
            ztype = next((k[0] for k, i in self.zbps.items() if i == int(m.group(1))), None)
            if self.swbreak and ztype in (0, 1):
                return "T05swbreak:;" if ztype == 0 else "T05hwbreak:;"
        return "S05"

    swbreak = False
    log = None          # callable(str): packet log (debugging the stub)

    def handle(self, pkt: str):
        d, cpu = self.dbg, self.dbg.cpu
        if pkt == "\x03":
            d.stop_reason = "interrupted"
            return "S02"
        cmd = pkt[:1]
        try:
            if pkt.startswith("qSupported"):
                self.swbreak = "swbreak+" in pkt
                return "PacketSize=4000;swbreak+;hwbreak+"
            if pkt == "?":
                return "S05"
            if cmd == "g":
                return "".join(v.to_bytes(4, "little").hex() for v in gdb_read_regs(cpu))
            if cmd == "G":
                data = bytes.fromhex(pkt[1:])
                for n in range(min(len(GDB_REGS), len(data) // 4)):
                    v = int.from_bytes(data[4 * n:4 * n + 4], "little")
                    if gdb_read_regs(cpu)[n] != v:
                        gdb_write_reg(cpu, n, v)
                return "OK"
            if cmd == "p":
                n = int(pkt[1:], 16)
                if n < len(GDB_REGS):
                    return gdb_read_regs(cpu)[n].to_bytes(4, "little").hex()
                if n < len(GDB_SIZES):
                    return "xx" * GDB_SIZES[n]
                return "E45"
            if cmd == "P":
                reg, _, val = pkt[1:].partition("=")
                n = int(reg, 16)
                if n >= len(GDB_REGS):
                    return "E45"
                gdb_write_reg(cpu, n, int.from_bytes(bytes.fromhex(val), "little"))
                return "OK"
            if cmd == "m":
                addr, _, n = pkt[1:].partition(",")
                addr, n = int(addr, 16), int(n, 16)
                out = d.read_bytes(addr, min(n, 0x1000))
                if out and out[0] is None:
                    return "E14"
                good = []
                for b in out:
                    if b is None:
                        break
                    good.append(b)
                return bytes(good).hex()
            if cmd == "M":
                head, _, data = pkt[1:].partition(":")
                addr, _, n = head.partition(",")
                addr = int(addr, 16)
                for i, b in enumerate(bytes.fromhex(data)):
                    if not d.write(addr + i, b):
                        return "E14"
                return "OK"
            if cmd in ("Z", "z"):
                t, addr, kind = pkt[1:].split(",")[:3]
                t, addr, kind = int(t), int(addr, 16), int(kind.split(";")[0], 16)
                key = (t, addr, kind)
                if cmd == "Z":
                    if key in self.zbps:
                        return "OK"
                    if t in (0, 1):
                        self.zbps[key] = d.add_breakpoint("exec", addr).id
                    elif t in (2, 3, 4):
                        self.zbps[key] = d.add_watchpoint(addr, max(1, kind), {2: "w", 3: "r", 4: "rw"}[t]).id
                    else:
                        return ""
                    return "OK"
                i = self.zbps.pop(key, None)
                if i is not None:
                    d.bps.pop(i, None)
                    d.wps.pop(i, None)
                    d._arm()
                return "OK"
            if cmd in ("c", "s", "C", "S"):
                # C/S SIG[;ADDR]: continue / step "with a signal": the guest's exception
                # was injected at the stop already (it is delivered as the CPU would),
                # so the signal adds nothing
                arg = pkt[1:].partition(";")[2] if cmd in "CS" else pkt[1:]
                if arg:
                    cpu.set_registers(eip=int(arg, 16) - cpu.pc + cpu.get_registers()["eip"])
                if cmd in "sS":
                    d.step_left = 1
                d.resume(max_seconds=float("inf"), poll=self._interrupt_pending)
                if self.killed:
                    return None
                return self.stop_reply()
            if cmd == "D":
                self.detached = True
                self.send("OK")
                return None
            if cmd == "k":
                self.killed = True
                self.m.stop_requested = "killed by gdb"
                return None
            if cmd == "H" or pkt.startswith("qSymbol"):
                return "OK"
            if pkt == "qAttached":
                return "1"
            if pkt == "qC":
                return "QC1"
            if pkt == "qfThreadInfo":
                return "m1"
            if pkt == "qsThreadInfo":
                return "l"
            if cmd == "T":
                return "OK"
            if pkt.startswith("qRcmd,"):
                line = bytes.fromhex(pkt[6:]).decode("latin-1")
                try:
                    text = d.command(line)
                except DebugError as e:
                    text = f"error: {e}"
                if text:
                    self.send("O" + (text + "\n").encode("latin-1").hex())
                return "OK"
            return ""
        except DebugError:
            return "E01"
        except (ValueError, IndexError, KeyError):
            return "E01"


def serve_gdb(machine, port: int, announce=None) -> GdbStub:
    """Listen, wait for GDB, serve it until it detaches or kills (the machine is stopped
    meanwhile except while GDB continues or steps)."""
    stub = GdbStub(machine, port)
    if announce:
        announce(f"emu: gdb: listening on 127.0.0.1:{stub.port} (target remote :{stub.port})")
    try:
        stub.accept()
        stub.serve()
    finally:
        stub.close()
    return stub
