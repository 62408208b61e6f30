"""The control socket of a running VMM (like QEMU's QMP, one JSON object a line).

``emu vmm run`` listens on a Unix socket in the user's runtime folder
(``$XDG_RUNTIME_DIR/emu``, else ``/tmp/emu-<uid>``), named after its process id.
``emu vmm ps`` asks every VMM found there for its VMs; ``emu vmm pause|resume|
reset|save|restore`` act on one VM.  Requests::

    {"cmd": "ps"}                          -> {"ok": true, "stats": {...}}
    {"cmd": "pause", "vm": "pmos-a"}       -> {"ok": true}
    {"cmd": "save", "vm": "cpm", "path": "cpm.state"}
    {"cmd": "type", "vm": "cpm", "text": "dir\\r"}
    {"cmd": "migrate", "vm": "pmos", "to": "127.0.0.1:4444"}   (emu.vmm.migrate)
    {"cmd": "migrate-status", "vm": "pmos"} -> {"ok": true, "status": {...}}

Errors come back as ``{"ok": false, "error": "one line"}``.  The VMM serves the
socket between slices, so a command acts between two guest instructions of
the VM it names and the others keep running.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from ..errors import EmuError


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    d = Path(base) / "emu" if base and os.path.isdir(base) else Path(f"/tmp/emu-{os.getuid()}")
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


class ControlServer:
    def __init__(self, vmm, path: Path | None = None):
        self.vmm = vmm
        self.path = Path(path) if path else runtime_dir() / f"vmm-{os.getpid()}.sock"
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.clients = {}           # socket -> bytes received so far

    def poll(self) -> None:
        try:
            while True:
                c, _ = self.sock.accept()
                c.setblocking(False)
                self.clients[c] = b""
        except (BlockingIOError, InterruptedError):
            pass
        for c in list(self.clients):
            try:
                data = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                self._drop(c)
                continue
            buf = self.clients[c] + data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                reply = self.handle(line)
                try:
                    c.setblocking(True)
                    c.sendall(json.dumps(reply).encode() + b"\n")
                    c.setblocking(False)
                except OSError:
                    self._drop(c)
                    break
            if c in self.clients:
                self.clients[c] = buf

    def _drop(self, c):
        self.clients.pop(c, None)
        c.close()

    def handle(self, line: bytes) -> dict:
        try:
            req = json.loads(line)
        except ValueError:
            req = None
        if not isinstance(req, dict):
            return {"ok": False, "error": "not a JSON object"}
        cmd = req.get("cmd")
        try:
            if cmd == "ps":
                return {"ok": True, "pid": os.getpid(), "stats": self.vmm.stats()}
            if cmd == "migrate-status":
                m = self.vmm.migrations.get(str(req.get("vm")))
                if m is None:
                    return {"ok": False, "error": f"no migration of {req.get('vm')!r} was started here"}
                if m.state in ("done", "failed", "unknown"):
                    m.reported = True
                return {"ok": True, "status": m.status()}
            vm = self.vmm.get(str(req.get("vm")))
            if cmd == "migrate":
                from .migrate import Outgoing
                old = self.vmm.migrations.get(vm.name)
                if old is not None and old.state in ("precopy", "committing"):
                    return {"ok": False, "error": f"{vm.name} is being migrated already"}
                m = Outgoing(self.vmm, vm, str(req.get("to", "")))
                m.start()
                self.vmm.migrations[vm.name] = m
                self.vmm.on_slice.append(m)
                return {"ok": True}
            if cmd in ("pause", "resume", "reset"):
                getattr(vm, cmd)()
            elif cmd in ("save", "restore"):
                if not req.get("path"):
                    return {"ok": False, "error": f"{cmd}: a path is required"}
                getattr(vm, cmd)(str(req["path"]))
            elif cmd == "type":
                vm.console.feed(str(req.get("text", "")).encode("latin-1", "replace"))
            else:
                return {"ok": False, "error": f"unknown command {cmd!r} (ps, pause, resume, "
                        "reset, save, restore, type, migrate, migrate-status)"}
            return {"ok": True}
        except EmuError as e:
            return {"ok": False, "error": str(e)}

    def close(self) -> None:
        for c in list(self.clients):
            self._drop(c)
        self.sock.close()
        try:
            self.path.unlink()
        except OSError:
            pass


def request(path: Path, req: dict, timeout: float = 5.0) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def running() -> list[Path]:
    """The control sockets of VMMs running now (stale sockets are removed)."""
    out = []
    for p in sorted(runtime_dir().glob("vmm-*.sock")):
        try:
            pid = int(p.stem.split("-")[1])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            try:
                p.unlink()
            except OSError:
                pass
            continue
        except PermissionError:
            pass
        out.append(p)
    return out
