"""Host ends of the machine's serial ports (QEMU's character devices in spirit).

``open_backend(spec)`` turns an ``emu run --serial`` argument into a backend:

    none                 nothing connected (what the guest sends is kept in memory)
    stdio                the guest's output on stdout, stdin as its input (a terminal
                         is switched to unbuffered, unechoed input; Ctrl-C still quits)
    file:PATH            the guest's output written to PATH (truncated); no input
    tcp:HOST:PORT        listen on HOST:PORT (``tcp:PORT`` = 127.0.0.1) and accept one
                         client at a time; while none is connected the guest runs and
                         its output is dropped.  Port 0 picks a free port.

A backend is host state, not machine state: save states do not hold it.  The
UART pulls input bytes with ``read_byte()`` at the line's character rate
(so a fast sender is paced, never overrun) and pushes output with ``write()``.
"""
from __future__ import annotations

import os
import socket
import sys
from collections import deque

from .errors import EmuError
from .jitcache import guest_output

KEEP = 1 << 20          # bytes of output a memory backend keeps (the most recent)


def listen_tcp(host: str, port: int, what: str, error: type) -> socket.socket:
    """A socket listening on host:port for one client at a time (port 0: a free one),
    or ``error`` raised with one line naming ``what`` (the option) and the reason: the
    serial port's tcp backend, the GDB stub and ``emu vmm run --incoming`` all listen so."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1)
    except OSError as e:
        sock.close()
        raise error(f"{what}: cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


class SerialError(EmuError):
    """A --serial argument that cannot be used."""


class Backend:
    """Nothing connected: output is kept (the last KEEP bytes) in ``output``,
    input comes from ``feed()`` (scripts and tests)."""

    def __init__(self):
        self.output = bytearray()
        self.input = deque()

    def feed(self, data: bytes | str) -> None:
        self.input.extend(data.encode("latin-1") if isinstance(data, str) else bytes(data))

    def write(self, data: bytes) -> None:
        self.output += data
        if len(self.output) > 2 * KEEP:
            del self.output[:-KEEP]

    def poll(self) -> None:
        """Collect host input that has arrived (called once per frame)."""

    def has_input(self) -> bool:
        return bool(self.input)

    def read_byte(self):
        return self.input.popleft() if self.input else None

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "none"


class FileBackend(Backend):
    def __init__(self, path: str):
        super().__init__()
        self.path = path
        try:
            self.f = open(path, "wb")           # noqa: SIM115 (open until stop)
        except OSError as e:
            raise SerialError(f"--serial file:{path}: cannot open: {e.strerror or e}") from None

    def write(self, data):
        self.f.write(data)

    def flush(self):
        self.f.flush()

    def close(self):
        if not self.f.closed:
            self.f.close()

    def describe(self):
        return f"file {self.path}"


class StdioBackend(Backend):
    def __init__(self):
        super().__init__()
        self.out = sys.stdout.buffer
        self.fd = sys.stdin.fileno() if sys.stdin is not None else None
        self.eof = self.fd is None
        self.saved_tty = None
        if self.fd is not None and os.isatty(self.fd):
            import termios
            self.saved_tty = termios.tcgetattr(self.fd)
            mode = termios.tcgetattr(self.fd)
            mode[0] &= ~(termios.ICRNL | termios.IXON)      # Return sends CR, as a terminal's
            mode[3] &= ~(termios.ICANON | termios.ECHO)     # keys at once, unechoed; ISIG kept
            mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self.fd, termios.TCSADRAIN, mode)
            import signal
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                # a kill then unwinds through Machine.shutdown, which restores the terminal
                signal.signal(signal.SIGTERM, _terminate)

    def write(self, data):
        guest_output(data if isinstance(data, str) else data.decode("latin-1"))
        self.out.write(data)

    def flush(self):
        self.out.flush()

    def poll(self):
        import select
        while not self.eof and select.select([self.fd], [], [], 0)[0]:
            data = os.read(self.fd, 4096)
            if not data:
                self.eof = True
            self.input.extend(data)
            if len(data) < 4096:
                break

    def close(self):
        self.flush()
        if self.saved_tty is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved_tty)
            self.saved_tty = None

    def describe(self):
        return "stdio"


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


class TcpBackend(Backend):
    def __init__(self, host: str, port: int, spec: str):
        super().__init__()
        self.client = None
        self.pending = bytearray()          # output the client's socket has not taken yet
        self.server = listen_tcp(host, port, f"--serial {spec}", SerialError)
        self.server.setblocking(False)
        self.host, self.port = self.server.getsockname()[:2]

    def _accept(self):
        if self.client is None:
            try:
                self.client, _ = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            self.client.setblocking(False)
            self.client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _drop(self):
        self.client.close()
        self.client = None
        self.pending.clear()

    def write(self, data):
        if self.client is not None:
            self.pending += data
            if len(self.pending) > KEEP:             # a client that does not read
                del self.pending[:-KEEP]

    def flush(self):
        if self.client is None or not self.pending:
            return
        try:
            n = self.client.send(self.pending)
            del self.pending[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop()

    def poll(self):
        self._accept()
        if self.client is None:
            return
        try:
            data = self.client.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop()                              # disconnected: wait for the next one
        else:
            self.input.extend(data)

    def close(self):
        if self.client is not None:
            self.flush()
            self._drop()
        self.server.close()

    def describe(self):
        return f"tcp {self.host}:{self.port}"


def open_backend(spec: str) -> Backend:
    """The backend an ``emu run --serial`` argument names (SerialError if it cannot be had)."""
    kind, _, rest = spec.partition(":")
    if spec == "none":
        return Backend()
    if spec == "stdio":
        return StdioBackend()
    if kind == "file" and rest:
        return FileBackend(rest)
    if kind == "tcp" and rest:
        host, _, port = rest.rpartition(":")
        host = host or "127.0.0.1"
        if not port.isdigit() or int(port) > 65535:
            raise SerialError(f"--serial {spec}: {port!r} is not a TCP port number")
        return TcpBackend(host, int(port), spec)
    raise SerialError(f"--serial {spec}: expected none, stdio, file:PATH or tcp:HOST:PORT")
