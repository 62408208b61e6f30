"""The GDB remote stub (emu.debugger.gdbstub) driven by Debian's gdb in batch mode
against the pc machine booting roms_test/x86/hello.img (hello.asm: the boot sector at
0000:7C00 starts with BOOT_SETUP = cli / xor ax,ax / mov ds,ax ...; `mov [boot_drive],
dl` at 7C0Eh writes boot_drive at 7D1Ah, the value already there: an access watchpoint,
since gdb ignores a `watch` hit that did not change the value), plus a raw-socket session for Ctrl-C,
monitor commands, detach and the port-in-use error."""
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from emu import Machine
from emu.debugger.gdbstub import GdbError, GdbStub
from tests.conftest import ROOT

GDB = shutil.which("gdb")


def _serve(m):
    stub = GdbStub(m, 0)
    t = threading.Thread(target=lambda: (stub.accept(timeout=120), stub.serve(), stub.close()),
                         daemon=True)
    t.start()
    return stub, t


@pytest.fixture(scope="module")
def pc():
    m = Machine.load("pc")
    m.step_frame(1)             # compile the core before gdb's clock runs
    m.reset()
    return m


@pytest.mark.skipif(GDB is None, reason="gdb is not installed (.ci/run installs it)")
def test_gdb_batch_session(pc):
    stub, t = _serve(pc)
    cmds = ["set architecture i8086", f"target remote :{stub.port}",
            "break *0x7c00", "continue",
            "p/x $eip", "p/x $cs", "x/4xb 0x7c00",
            "stepi", "stepi", "p/x $eip",
            "set var $ebx=0x1234", "p/x $ebx",
            "set *(unsigned char*)0x600=0x5a", "x/1xb 0x600",
            "monitor r",
            "delete 1", "awatch *(unsigned char*)0x7d1a", "continue", "p/x $eip",
            "detach"]
    r = subprocess.run([GDB, "-nx", "-batch"] + sum([["-ex", c] for c in cmds], []),
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    t.join(30)
    assert not t.is_alive(), out
    vals = [line.split("=")[-1].strip() for line in r.stdout.splitlines() if line.startswith("$")]
    assert vals[0] == "0x7c00" and vals[1] == "0x0", out            # at the boot sector
    assert "0xfa\t0x31\t0xc0\t0x8e" in out, out                      # cli; xor ax,ax; mov ds,ax
    assert vals[2] == "0x7c03", out                                  # two instructions on
    assert vals[3] == "0x1234", out
    assert "0x600:\t0x5a" in out, out
    assert "PC=7C03" in out, out                                     # monitor -> debugger
    assert "watchpoint" in out.lower() and vals[4] == "0x7c12", out  # after mov [7D1Ah],dl
    assert pc.memory[0x600] == 0x5A
    assert not pc.debugger.bps and not pc.debugger.wps               # detach removed them
    pc.step_frame(5)                                                 # and the machine runs on
    assert pc.cpu.pc != 0x7C12


def _packet(s, text):
    body = text.encode()
    s.sendall(b"$" + body + b"#" + f"{sum(body) & 0xFF:02x}".encode())


_pending = {}


def _reply(s):
    buf = _pending.pop(s.fileno(), b"")
    while True:
        i = buf.find(b"$")
        j = buf.find(b"#", i)
        if i >= 0 and j >= 0 and len(buf) >= j + 3:
            s.sendall(b"+")
            _pending[s.fileno()] = buf[j + 3:]
            return buf[i + 1:j].decode()
        buf += s.recv(4096)


def test_raw_session_interrupt_monitor_and_detach(pc):
    stub, t = _serve(pc)
    s = socket.create_connection(("127.0.0.1", stub.port), timeout=60)
    try:
        _packet(s, "qSupported:swbreak+")
        assert "PacketSize" in _reply(s)
        _packet(s, "?")
        assert _reply(s) == "S05"
        _packet(s, "g")
        assert len(_reply(s)) == 16 * 8
        _packet(s, "p10")                                 # st0 (16): unavailable
        assert _reply(s) == "xx" * 10
        _packet(s, "mffffffff,4")                         # beyond the bus: open bus, readable
        _reply(s)
        _packet(s, "qRcmd," + b"frob".hex())              # a bad monitor command
        out = _reply(s)
        assert out.startswith("O") and b"unknown command" in bytes.fromhex(out[1:])
        assert _reply(s) == "OK"
        _packet(s, "c")
        time.sleep(1.0)
        s.sendall(b"\x03")                                # Ctrl-C
        assert _reply(s) == "S02"
        _packet(s, "Zx,0,0")                              # malformed
        assert _reply(s) == "E01"
        _packet(s, "D")
        assert _reply(s) == "OK"
    finally:
        s.close()
    t.join(30)
    assert not t.is_alive()
    pc.step_frame(2)


def test_port_in_use_is_one_line(pc):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        with pytest.raises(GdbError) as e:
            GdbStub(pc, port)
        assert f"--gdb {port}" in str(e.value) and "\n" not in str(e.value)
        r = subprocess.run([sys.executable, "-m", "emu", "run", "pc", "--headless", "--gdb", str(port)],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 2 and r.stderr.strip().startswith("emu: error: --gdb") \
            and len(r.stderr.strip().splitlines()) == 1, r.stderr
    finally:
        busy.close()


def test_gdb_refuses_a_machine_without_x86():
    with pytest.raises(GdbError, match="no x86 CPU"):
        GdbStub(Machine.load("toy"), 0)


@pytest.fixture
def pmos(tmp_path):
    img = tmp_path / "os.img"
    shutil.copyfile(ROOT / "roms_test" / "os" / "os.img", img)
    m = Machine.load("pc", {"hdd": img})
    yield m
    m.shutdown()


def _serial(m):
    return m.devices["com1"].backend.output.decode("latin1")


@pytest.mark.skipif(GDB is None, reason="gdb is not installed (.ci/run installs it)")
def test_gdb_exception_breakpoint_is_a_signal(pmos):
    """The PM OS's `fault div` divides by zero in ring 3: with `monitor bpexc 0` gdb stops
    with SIGFPE (GDB's i386 stub's signal for #DE) at the DIV; continuing with the
    signal delivers the exception to the guest, whose kernel reports that EIP."""
    m = pmos
    assert m.run_until(lambda mm: "\n$ " in _serial(mm), 30), _serial(m)
    start = len(_serial(m))
    m.type("fault div\r")
    stub, t = _serve(m)
    cmds = [f"target remote :{stub.port}", "monitor bpexc 0", "continue", "p/x $eip",
            "x/2xb $eip", "monitor bpclear", "detach"]
    r = subprocess.run([GDB, "-nx", "-batch"] + sum([["-ex", c] for c in cmds], []),
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    t.join(30)
    assert not t.is_alive(), out
    assert "Program received signal SIGFPE" in out, out
    eip = int([ln for ln in r.stdout.splitlines() if ln.startswith("$1")][0].split("=")[1], 16)
    assert eip == m.cpu.pc and m.debugger.last_exception[0] == 0
    assert m.run_until(lambda mm: _serial(mm)[start:].endswith("\n$ "), 15), _serial(m)[start:]
    assert f"(divide error at eip {eip:08x})" in _serial(m)[start:]


def _monitor(s, line):
    """``monitor LINE``: its output packets, then OK."""
    _packet(s, "qRcmd," + line.encode().hex())
    while (r := _reply(s)) != "OK":
        assert r.startswith("O"), r


def test_stop_replies_for_mode_page_fault_and_gdb_breakpoints(pmos):
    """Raw packets from power-on: a mode-switch breakpoint is a plain SIGTRAP (S05, not
    swbreak: no breakpoint of gdb's is there), a page-fault breakpoint SIGSEGV (T0b),
    a Z0 breakpoint swbreak, a Z1 hwbreak; `C0b` goes on with the signal."""
    m = pmos
    stub, t = _serve(m)
    s = socket.create_connection(("127.0.0.1", stub.port), timeout=120)
    try:
        _packet(s, "qSupported:swbreak+;hwbreak+")
        assert "swbreak+" in _reply(s)
        _monitor(s, "bpmode prot")
        _packet(s, "c")
        assert _reply(s) == "S05"                              # real -> protected
        assert m.debugger.cpu_mode() == "protected"
        _monitor(s, "bpclear")
        _packet(s, "c")                                        # boot to the shell, Ctrl-C
        deadline = time.time() + 60
        while "\n$ " not in _serial(m) and time.time() < deadline:
            time.sleep(0.2)
        s.sendall(b"\x03")
        assert _reply(s) == "S02" and "\n$ " in _serial(m)
        m.type("fault kernel\r")                              # its demand-zero faults first
        _monitor(s, "bpexc e")
        _packet(s, "c")
        assert _reply(s) == "T0b"                              # #PF: SIGSEGV
        _monitor(s, "bpclear")
        pc0 = m.cpu.pc
        eip = m.cpu.get_registers()["eip"]
        _packet(s, f"Z1,{pc0:x},1")
        assert _reply(s) == "OK"
        _packet(s, "C0b")                                      # delivers the #PF; the
        assert _reply(s) == "T05hwbreak:;" and m.cpu.pc == pc0  # handler returns to it
        assert m.cpu.get_registers()["eip"] == eip
        _packet(s, f"z1,{pc0:x},1")
        assert _reply(s) == "OK"
        _packet(s, "D")
        assert _reply(s) == "OK"
    finally:
        s.close()
    t.join(30)
    assert not t.is_alive()
