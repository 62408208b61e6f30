"""Live migration of a running VM between two VMMs over TCP (pre-copy, Clark et al.,
NSDI 2005), in the manner of QEMU's ``-incoming`` and ``migrate``::

    emu vmm run --incoming 4444                      the destination waits on 127.0.0.1:4444
    emu vmm run machines/vm/pmos.yaml                the source
    emu vmm migrate pmos 127.0.0.1:4444              (through the source's control socket)

The source sends the VM's description (the destination builds the same VM, paused,
and checks the machine's fingerprint and memory layout), then all of its memory
while it keeps running, then in rounds the pages it changed meanwhile
(emu.vmm.migrate_dirty: the VM's page tables log the pages written); when a round
is small enough (1 MiB), stops shrinking or 30 rounds have gone, it pauses the VM
and sends the rest: the last changed pages, the page-table entries that changed,
the CPU and device state (emu.savestate's capture, large device arrays as the pages
that changed since the first round), the console's history and unread input.  The
destination applies it and answers READY; the source sends COMMIT; the destination
starts the VM and answers with the time of its first slice, and only then does the
source drop its copy.  Downtime is measured from the source's pause to the start of
that first slice (CLOCK_MONOTONIC, one clock for both processes on one host).

Atomicity: until COMMIT is sent, any failure (a dropped connection, an error, a
peer that speaks something else) resumes the VM on the source as it was and the
destination throws its copy away.  A connection lost after COMMIT but before the
destination's answer leaves the source's VM paused (never lost, never run twice):
``emu vmm resume`` it if the destination does not have it.

Guest time is emulated time (the CPU's cycle count), which travels in the state:
a migrated guest sees no jump, and its output is the same as an unmigrated run's
with the same inputs (tests/test_vmm_migrate.py).

Modes: ``emulate`` and ``hw`` (nested or shadow paging), whose VM state at every
slice end is the machine's own (a save state's); the others (trap: the guest's
registers stay on the host CPU between world switches; kvm, bt, pv) are refused
in one line.
"""
from __future__ import annotations

import json
import math
import socket
import struct
import time

import numpy as np

from ..bus import FRAME
from ..chardev import listen_tcp
from ..errors import EmuError
from .migrate_dirty import DirtyLog, Units

MAGIC = b"EMU-MIGRATE 1\n"
HDR = struct.Struct("!4sQ")
MAX_MESSAGE = 256 << 20
CHUNK = 1024                    # units per PAGE message
STOP_UNITS = 256                # a round this small (1 MiB) goes to stop-and-copy
MAX_ROUNDS = 30
ROUND_GAP = 0.010               # host seconds the VM runs at least between rounds
ACK_WAIT = 0.050                # converged: how long to wait for the last round's acknowledgement
LARGE = 64 << 10                # device arrays from this size travel as page deltas
TIMEOUT = 10.0
MODES = ("emulate", "hw")       # at each slice end the VM's state is the machine's own


class MigrateError(EmuError):
    pass


def supports(vm) -> str | None:
    """Why this VM's mode cannot be migrated live (None: it can)."""
    m = vm.mode
    if m.name in MODES:
        if vm.machine.mem.host is None:
            return "it does not run on host frames"
        return None
    return (f"mode {m.name} keeps guest state outside the machine between slices (on the "
            f"host CPU or in a translator); live migration supports modes {' and '.join(MODES)}")


def parse_addr(text: str, listen: bool = False) -> tuple[str, int]:
    """HOST:PORT or PORT (127.0.0.1); port 0 (to listen on: a free port)."""
    host, sep, port = str(text).rpartition(":")
    if not sep:
        host, port = "127.0.0.1", str(text)
    if not port.isdigit() or not (0 if listen else 1) <= int(port) < 65536:
        raise MigrateError(f"{text!r}: expected HOST:PORT or PORT")
    return host or "127.0.0.1", int(port)


# ---- the wire ----------------------------------------------------------------------
def _npz(arrays: dict, meta=None) -> bytes:
    """Arrays (and a JSON-able ``meta``) as one message: a JSON index, then the raw
    bytes of each array (no pickles; quicker than .npz at stop-and-copy)."""
    index, parts, off = {}, [], 0
    for k, v in arrays.items():
        v = np.ascontiguousarray(v)
        index[k] = [v.dtype.str, list(v.shape), off, v.nbytes]
        parts.append(v.tobytes())
        off += v.nbytes
    head = json.dumps({"arrays": index, "meta": meta}).encode()
    return struct.pack("!I", len(head)) + head + b"".join(parts)


def _unnpz(payload) -> tuple[dict, dict | None]:
    try:
        n, = struct.unpack_from("!I", payload)
        head = json.loads(bytes(payload[4:4 + n]))
        body = memoryview(payload)[4 + n:]
        arrays = {}
        for k, (dt, shape, off, nbytes) in head["arrays"].items():
            dt = np.dtype(dt)
            if dt.hasobject or off < 0 or off + nbytes > len(body) or \
                    int(np.prod(shape, dtype=np.int64)) * dt.itemsize != nbytes:
                raise ValueError(k)
            arrays[k] = np.frombuffer(body[off:off + nbytes], dtype=dt).reshape(shape).copy()
        meta = head.get("meta")
    except (ValueError, TypeError, KeyError, struct.error, AttributeError) as e:
        raise MigrateError(f"damaged state message ({e.__class__.__name__})") from None
    return arrays, meta


def _pages(units, data: bytes) -> bytes:
    u = np.asarray(units, dtype=np.uint32)
    return struct.pack("!I", len(u)) + u.astype(">u4").tobytes() + data


def _unpages(payload) -> tuple[np.ndarray, memoryview]:
    if len(payload) < 4:
        raise MigrateError("damaged page message")
    n, = struct.unpack_from("!I", payload)
    if len(payload) != 4 + 4 * n + n * FRAME:
        raise MigrateError("damaged page message (wrong length)")
    u = np.frombuffer(payload, dtype=">u4", count=n, offset=4).astype(np.int64)
    return u, memoryview(payload)[4 + 4 * n:]


class Wire:
    """Length-prefixed messages (4-byte kind, 8-byte length) after MAGIC."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.magic_ok = False

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        self.sock.settimeout(TIMEOUT)
        self.sock.sendall(HDR.pack(kind, len(payload)))
        if payload:
            self.sock.sendall(payload)

    def send_json(self, kind: bytes, obj) -> None:
        self.send(kind, json.dumps(obj).encode())

    def _take(self):
        if not self.magic_ok:
            if len(self.buf) < len(MAGIC):
                if not MAGIC.startswith(bytes(self.buf)):
                    raise MigrateError("the peer does not speak the migration protocol")
                return None
            if bytes(self.buf[:len(MAGIC)]) != MAGIC:
                raise MigrateError("the peer does not speak the migration protocol")
            del self.buf[:len(MAGIC)]
            self.magic_ok = True
        if len(self.buf) < HDR.size:
            return None
        kind, n = HDR.unpack_from(self.buf)
        if not kind.isalpha() or n > MAX_MESSAGE:
            raise MigrateError("garbled message from the peer")
        if len(self.buf) < HDR.size + n:
            return None
        payload = bytes(self.buf[HDR.size:HDR.size + n])
        del self.buf[:HDR.size + n]
        return kind, payload

    def poll(self):
        """The whole messages that arrived (non-blocking), one at a time: a handler that
        takes the next ones itself (``recv``) keeps them in order."""
        closed = False
        self.sock.setblocking(False)
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                closed = True
                break
            self.buf += data
        while (m := self._take()) is not None:
            yield m
        if closed:
            raise MigrateError("the connection was closed")

    def recv(self, timeout: float = TIMEOUT):
        """The next message, waiting for it (blocking)."""
        end = time.monotonic() + timeout
        while True:
            m = self._take()
            if m is not None:
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise MigrateError("the peer did not answer in time")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                raise MigrateError("the peer did not answer in time") from None
            if not data:
                raise MigrateError("the connection was closed")
            self.buf += data

    def expect(self, want: bytes, timeout: float = TIMEOUT):
        kind, payload = self.recv(timeout)
        while kind == b"SYNC" and want != b"SYNC":      # (a round's late acknowledgement)
            kind, payload = self.recv(timeout)
        if kind == b"FAIL":
            raise MigrateError(f"the destination refused: {_json(payload).get('error', '?')}")
        if kind != want:
            raise MigrateError(f"unexpected {kind.decode('latin-1')!r} message (wanted {want.decode()})")
        return payload


def _json(payload) -> dict:
    try:
        obj = json.loads(payload)
    except ValueError:
        raise MigrateError("garbled message from the peer (not JSON)") from None
    if not isinstance(obj, dict):
        raise MigrateError("garbled message from the peer (not a JSON object)")
    return obj


def _describe(vm) -> dict:
    """What the destination needs to build the same VM."""
    s = vm.spec
    if s.file is None:
        src = {"image": str(next(iter(s.media.values())))}
    else:
        src = {"file": str(s.file)}
    return {**src, "name": vm.name, "mode": vm.mode.name, "paging": getattr(vm.mode, "paging", None),
            "ram": s.machine.ram_size, "weight": vm.weight, "cap": vm.cap}


def _serial(vm):
    d = vm.console.dev
    return d.backend if d is not None and d.SERIAL_PORT else None


def _delta(old: np.ndarray, new: np.ndarray):
    """(indexes of the FRAME-sized pages of ``new`` that differ from ``old``, those pages)."""
    a, b = old.reshape(-1).view(np.uint8), new.reshape(-1).view(np.uint8)
    if np.array_equal(a, b):
        return np.zeros(0, np.int64), np.zeros((0, FRAME), np.uint8)
    n = -(-len(b) // FRAME)
    pad = n * FRAME - len(b)
    a2 = np.concatenate([a, np.zeros(pad, np.uint8)]).reshape(n, FRAME)
    b2 = np.concatenate([b, np.zeros(pad, np.uint8)]).reshape(n, FRAME)
    idx = np.flatnonzero((a2 != b2).any(axis=1))
    return idx, b2[idx]


def _undelta(base: np.ndarray, idx, pages) -> np.ndarray:
    b = base.reshape(-1).view(np.uint8).copy()
    n = len(b)
    for i, k in enumerate(idx):
        lo = int(k) * FRAME
        hi = min(n, lo + FRAME)
        b[lo:hi] = pages[i][:hi - lo]
    return b.view(base.dtype).reshape(base.shape)


# ---- the source ---------------------------------------------------------------------
class Outgoing:
    """One VM leaving this VMM.  ``start()`` connects and sends the first round;
    afterwards the VMM calls it after every slice (``on_slice``) until it is done."""

    def __init__(self, vmm, vm, addr: str):
        why = supports(vm)
        if why:
            raise MigrateError(f"{vm.name}: cannot migrate live: {why}")
        if vm.spec.persist:
            raise MigrateError(f"{vm.name}: cannot migrate live: its disk writes go to the image "
                               f"file (persist: true)")
        if vm.status != vm.RUNNING and vm.status != vm.PAUSED:
            raise MigrateError(f"{vm.name}: cannot migrate a VM that is {vm.status}")
        self.vmm, self.vm, self.addr = vmm, vm, addr
        self.host, self.port = parse_addr(addr)
        self.state = "connecting"      # precopy, done, failed, unknown
        self.error = None
        self.rounds = []               # [units sent, host seconds] per round
        self.t0 = time.monotonic()
        self.total = self.downtime = None
        self.phases = {}               # what the downtime went to (seconds from the pause)
        self.cpu = {}                  # CPU seconds each side spent on it (a loaded host's wall
                                       # time shows other work too)
        self.dirty_rate = None         # bytes per host second the guest dirtied after round 0
        self.diff = self.wire = None
        self.last_round = 0.0
        self.acked = -1                # the last round the destination has applied
        self.converged = False         # the rounds stopped shrinking: stop-and-copy next
        self.slices_at_round = 0
        self.was_running = vm.status == vm.RUNNING
        self.finished = math.inf        # when it ended (monotonic)
        self.reported = False           # its end was told to a client (emu vmm migrate)

    def status(self) -> dict:
        return {"vm": self.vm.name, "to": f"{self.host}:{self.port}", "state": self.state,
                "error": self.error, "rounds": self.rounds, "total": self.total,
                "downtime": self.downtime, "phases": self.phases, "cpu": self.cpu,
                "dirty_rate": self.dirty_rate,
                "ram": self.units.count * FRAME if self.diff is not None else 0}

    def start(self) -> None:
        try:
            s = socket.create_connection((self.host, self.port), timeout=TIMEOUT)
        except OSError as e:
            raise MigrateError(f"migrate {self.vm.name}: cannot reach {self.host}:{self.port} "
                               f"({e.strerror or e})") from None
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.wire = Wire(s)
        self.wire.magic_ok = True           # (the destination sends none)
        try:
            from ..savestate import fingerprint
            self.units = Units(self.vm.machine.mem)
            s.sendall(MAGIC)
            self.wire.send_json(b"HELO", {"vm": _describe(self.vm), "layout": self.units.layout(),
                                          "fingerprint": fingerprint(self.vm.machine)})
            self.wire.expect(b"OKAY", 60.0)
            self.diff = DirtyLog(self.vm, self.units)
            self._first_round()
        except (OSError, EmuError) as e:
            self._fail(e)
            raise MigrateError(f"migrate {self.vm.name}: {self.error}") from None
        self.state = "precopy"

    # -- rounds
    def _send_units(self, units) -> None:
        for i in range(0, len(units), CHUNK):
            part = units[i:i + CHUNK]
            self.wire.send(b"PAGE", _pages(part, self.units.read(part)))

    def _first_round(self) -> None:
        from ..savestate import capture
        t = time.perf_counter()
        m = self.vm.machine
        self.tables = {n: (sp.rpage.copy(), sp.wpage.copy()) for n, sp in m.spaces.items()}
        self.tables_gen = {n: sp.generation for n, sp in m.spaces.items()}
        self._send_units(self.diff.collect())
        _, arrays = capture(m, memory=False, tables=False)
        self.base = {k: v for k, v in arrays.items() if v.nbytes >= LARGE}
        tabs = {f"{t}page.{n}": m.mem.to_logical(tab) for n, (r, w) in self.tables.items()
                for t, tab in (("r", r), ("w", w))}
        self.wire.send(b"BASE", _npz({**tabs, **self.base}))
        self.wire.send_json(b"SYNC", {"round": 0})
        self.rounds.append([self.units.count, time.perf_counter() - t])
        self.last_round = self.first_done = time.monotonic()
        self.slices_at_round = self.vm.slices

    def __call__(self, vmm, vm) -> None:
        if self.state != "precopy":
            return
        try:
            self._check_peer()
            if self.converged:
                if self.acked == len(self.rounds) - 1:
                    return self._stop_and_copy()     # (the destination has taken every round)
                if time.monotonic() - self.last_round < ACK_WAIT:
                    return                           # (else it lags: one more round meanwhile)
            if self.vm.slices == self.slices_at_round or time.monotonic() - self.last_round < ROUND_GAP:
                return
            t = time.perf_counter()
            dirty = self.diff.collect()
            self._send_units(dirty)
            n = len(dirty)
            prev = self.rounds[-1][0]
            self.converged = n <= STOP_UNITS or len(self.rounds) + 1 >= MAX_ROUNDS or \
                (len(self.rounds) > 3 and n > 0.9 * prev)
            # (the last round's SYNC tells the destination that stop-and-copy follows)
            self.wire.send_json(b"SYNC", {"round": len(self.rounds), "last": self.converged})
            self.rounds.append([int(n), time.perf_counter() - t])
            self.last_round = time.monotonic()
            self.slices_at_round = self.vm.slices
        except (OSError, EmuError) as e:
            self._fail(e)

    def _check_peer(self) -> None:
        """A FAIL or a closed connection from the destination during the rounds."""
        for kind, payload in self.wire.poll():
            if kind == b"SYNC":
                self.acked = int(_json(payload).get("round", -1))
                continue
            if kind == b"FAIL":
                raise MigrateError(f"the destination gave up: {_json(payload).get('error', '?')}")
            raise MigrateError(f"unexpected {kind.decode('latin-1')!r} message during the rounds")

    def _stop_and_copy(self) -> None:
        from ..savestate import capture
        vm, m = self.vm, self.vm.machine
        t_pause, c_pause = time.monotonic(), time.process_time()
        vm.pause()
        dirty = self.diff.collect()
        self.diff.stop()                         # (the tables as they are without the log)
        # what the guest dirtied while the rounds went on: rounds 1.. and the last set
        dirtied = sum(n for n, _ in self.rounds[1:]) + len(dirty)
        self.dirty_rate = dirtied * FRAME / max(1e-9, t_pause - self.first_done)
        self._send_units(dirty)
        self.rounds.append([len(dirty), time.monotonic() - t_pause])
        meta, arrays = capture(m, memory=False, tables=False)
        small, deltas = {}, {}
        for k, v in arrays.items():
            b = self.base.get(k)
            if b is not None and b.shape == v.shape and b.dtype == v.dtype:
                idx, pages = _delta(b, v)
                deltas[f"didx.{k}"], deltas[f"dpag.{k}"] = idx, pages
            else:
                small[k] = v
        for n, sp in m.spaces.items():           # the page tables: the entries that changed
            for t, old, new in (("r", self.tables[n][0], sp.rpage), ("w", self.tables[n][1], sp.wpage)):
                # (none unless the map changed: AddressSpace.generation counts the changes)
                idx = np.flatnonzero(old != new) if sp.generation != self.tables_gen[n] \
                    else np.zeros(0, np.int64)
                deltas[f"tidx.{t}page.{n}"] = idx
                deltas[f"tval.{t}page.{n}"] = self.units.to_logical(new[idx])
        ser = _serial(vm)
        extra = {"output": np.frombuffer(bytes(ser.output), np.uint8) if ser else np.zeros(0, np.uint8),
                 "input": np.frombuffer(bytes(ser.input), np.uint8) if ser else np.zeros(0, np.uint8)}
        meta["migration"] = {"paused_at": t_pause, "serial": ser is not None}
        self.phases = {"dirty pages": time.monotonic() - t_pause}
        payload = _npz({**small, **deltas, **extra}, meta)
        self.phases["state"] = time.monotonic() - t_pause
        self.wire.send(b"FINL", payload)
        self.phases["sent"] = time.monotonic() - t_pause
        self.cpu["source"] = time.process_time() - c_pause
        self.wire.expect(b"REDY")
        self.phases["ready"] = time.monotonic() - t_pause
        self.state = "committing"
        self.wire.send(b"CMIT")
        try:
            st = _json(self.wire.expect(b"STRT"))
        except (OSError, EmuError) as e:
            self.state, self.finished = "unknown", time.monotonic()
            self.error = (f"the connection was lost after the commit ({e}): {vm.name} stays paused "
                          f"here; resume it if the destination does not have it")
            return
        self.downtime = float(st.get("first_slice", time.monotonic())) - t_pause
        for k, v in (st.get("phases") or {}).items():
            if k == "cpu":
                self.cpu["destination"] = float(v)
            else:
                self.phases[f"destination {k}"] = float(v) - t_pause
        self.total = time.monotonic() - self.t0
        self.state, self.finished = "done", time.monotonic()
        self.wire.sock.close()
        self.vmm.remove(vm.name)

    def _fail(self, e) -> None:
        """Before the commit: the VM goes on here as it was."""
        if self.state in ("committing", "unknown"):
            return
        self.finished = time.monotonic()
        self.state, self.error = "failed", str(e.strerror if isinstance(e, OSError) and e.strerror else e)
        if self.diff is not None:
            self.diff.stop()
        if self.was_running:
            self.vm.resume()
        if self.wire is not None:
            try:
                self.wire.send_json(b"FAIL", {"error": self.error})
            except OSError:
                pass
            self.wire.sock.close()


# ---- the destination -------------------------------------------------------------------
class Incoming:
    """``emu vmm run --incoming PORT``: accept VMs migrated to this VMM (one at a time),
    polled after every slice like the control socket."""

    def __init__(self, vmm, addr: str, out=None):
        import sys
        self.vmm = vmm
        self.out = out or sys.stderr
        host, port = parse_addr(addr, listen=True)
        self.sock = listen_tcp(host, port, f"--incoming {addr}", MigrateError)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.conn = self.wire = self.vm = None
        self.received = 0           # units received
        self.arrived = 0            # VMs that arrived
        self.starting = 0           # of those, the ones whose source still waits for STRT
        self.on_applied = None      # callable(vm) once a VM's state is in, before it runs (tests)

    @property
    def busy(self) -> bool:
        return self.conn is not None

    def __call__(self, vmm, vm) -> None:
        if self.conn is None:
            try:
                c, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn, self.wire, self.peer = c, Wire(c), peer
            self.units = self.vm = None
        try:
            for kind, payload in self.wire.poll():
                self._message(kind, payload)
                if self.conn is None:
                    return
        except (OSError, EmuError) as e:
            self._fail(e)

    def _message(self, kind, payload) -> None:
        if kind == b"FAIL":
            raise MigrateError(f"the source gave up: {_json(payload).get('error', '?')}")
        if self.vm is None:
            if kind != b"HELO":
                raise MigrateError("the peer does not speak the migration protocol")
            return self._hello(_json(payload))
        if kind == b"PAGE":
            u, data = _unpages(payload)
            if len(u) and (u.min() < 0 or u.max() >= self.units.count):
                raise MigrateError("a page message names memory the VM does not have")
            self.units.write(u, data)
            self.received += len(u)
        elif kind == b"BASE":
            self.base, _ = _unnpz(payload)
            mem = self.vm.machine.mem
            self.tables = {}
            for n in self.vm.machine.spaces:
                r, w = self.base.pop(f"rpage.{n}", None), self.base.pop(f"wpage.{n}", None)
                if r is None or w is None:
                    raise MigrateError("the state message lacks the page tables")
                self.tables[n] = (mem.from_logical(r), mem.from_logical(w))
        elif kind == b"SYNC":                  # a round is in: tell the source
            self.wire.send(b"SYNC", payload)
            if _json(payload).get("last"):      # stop-and-copy next: wait for it here
                kind, payload = self.wire.recv()
                self._message(kind, payload)
        elif kind == b"FINL":
            self._final(payload)
        else:
            raise MigrateError(f"unexpected {kind.decode('latin-1')!r} message")

    def _hello(self, req) -> None:
        from ..savestate import fingerprint
        from .spec import image_vm, load_vm
        d = req.get("vm")
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise MigrateError("the peer does not speak the migration protocol")
        if d.get("image"):
            spec = image_vm(d["image"], d.get("ram"))
        else:
            over = {"name": d["name"]}
            if d.get("ram"):
                over["ram"] = int(d["ram"])
            spec = load_vm(str(d.get("file")), over)
        spec.name, spec.mode, spec.paging = d["name"], str(d.get("mode")), d.get("paging")
        spec.weight, spec.cap = int(d.get("weight", 1)), float(d.get("cap", 0.0))
        override, self.vmm.mode_override = self.vmm.mode_override, None
        try:
            vm = self.vmm.add(spec)
        finally:
            self.vmm.mode_override = override
        vm.pause()
        vm.status = "incoming"
        self.out.write(f"emu: vmm: {vm.name} arriving from {self.peer[0]}:{self.peer[1]}\n")
        self.out.flush()
        self.vm = vm
        self.units = Units(vm.machine.mem)
        if req.get("layout") != self.units.layout() or req.get("fingerprint") != fingerprint(vm.machine):
            raise MigrateError(f"{vm.name}: the VM built here is not the source's (another machine "
                               f"file, ROM or media set, or memory layout)")
        self.wire.send_json(b"OKAY", {"vm": vm.name})

    def _final(self, payload) -> None:
        from ..savestate import apply
        phases, c0 = {"received": time.monotonic()}, time.process_time()
        arrays, meta = _unnpz(payload)
        m, vm = self.vm.machine, self.vm
        if meta is None or "migration" not in meta:
            raise MigrateError("damaged state message")
        info = meta.pop("migration")
        st = {}
        for k, v in list(arrays.items()):
            if k.startswith("didx."):
                name = k[5:]
                if name not in self.base:
                    raise MigrateError("a state delta names no array of the first round")
                st[name] = _undelta(self.base[name], v, arrays[f"dpag.{name}"])
            elif not k.startswith(("dpag.", "tidx.", "tval.")) and k not in ("output", "input"):
                st[k] = v
        tables = {}
        for n, (r, w) in self.tables.items():
            for t, tab in (("r", r), ("w", w)):
                idx = arrays.get(f"tidx.{t}page.{n}")
                if idx is None:
                    raise MigrateError("the state message lacks the page tables")
                if len(idx) and (idx.min() < 0 or idx.max() >= len(tab)):
                    raise MigrateError("a page-table delta is out of range")
                tab[idx] = m.mem.from_logical(arrays[f"tval.{t}page.{n}"])
            tables[n] = (r, w)
        try:
            apply(m, meta, st, tables=tables)
        except (KeyError, ValueError, TypeError) as e:
            raise MigrateError(f"the state does not fit this VM ({e.__class__.__name__}: {e})") from None
        vm.mode.invalidate()
        ser = _serial(vm)
        if ser is not None and info.get("serial"):
            out = bytes(arrays.get("output", b""))
            ser.output[:] = out
            ser.input.clear()
            ser.input.extend(bytes(arrays.get("input", b"")))
            vm.console._seen = out.rfind(b"\n") + 1        # (the source printed whole lines)
        phases["applied"] = time.monotonic()
        if self.on_applied is not None:
            self.on_applied(vm)
        self.wire.send(b"REDY")
        self.wire.expect(b"CMIT")
        phases["commit"] = time.monotonic()
        # the VM is this VMM's now: its accounting starts here, its clock goes on
        vm.insns_base = vm.insns_raw()
        vm.started = time.monotonic() - vm.guest_time
        vm.paused_for, vm._paused_at = 0.0, None
        vm.status = vm.RUNNING
        run, wire, conn = vm.mode.run, self.wire, self.conn

        def first_slice(seconds):
            t = time.monotonic()
            phases["cpu"] = time.process_time() - c0
            vm.mode.run = run
            self.starting -= 1
            try:
                wire.send_json(b"STRT", {"first_slice": t, "phases": phases})
            except OSError:
                pass
            conn.close()
            run(seconds)
        vm.mode.run = first_slice
        self.out.write(f"emu: vmm: {vm.name} arrived from {self.peer[0]}:{self.peer[1]} "
                       f"({self.received} pages)\n")
        self.arrived += 1
        self.starting += 1
        self.conn = self.wire = self.vm = None
        self.received = 0

    def _fail(self, e) -> None:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        name = self.vm.name if self.vm is not None else "a VM"
        self.out.write(f"emu: vmm: incoming migration of {name} failed: {why}\n")
        if self.wire is not None:
            try:
                self.wire.send_json(b"FAIL", {"error": why})
            except OSError:
                pass
        if self.conn is not None:
            self.conn.close()
        if self.vm is not None and self.vm in self.vmm.vms:
            self.vmm.remove(self.vm.name)
        self.conn = self.wire = self.vm = None
        self.received = 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.sock.close()


def fmt_status(st: dict) -> str:
    rounds = st["rounds"]
    lines = []
    for i, (n, sec) in enumerate(rounds):
        what = "stop-and-copy" if i == len(rounds) - 1 and st["state"] == "done" else f"round {i}"
        lines.append(f"  {what:14s} {n:6d} pages ({n * FRAME / (1 << 20):6.2f} MiB) in {sec * 1e3:7.1f} ms")
    return "\n".join(lines)
