"""Live migration (emu.vmm.migrate): a PM OS VM moved between two `emu vmm` processes
in the middle of a workload prints what an unmigrated run prints; a destination
killed mid-transfer leaves the source VM running and whole; bad input is one line."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from emu.vmm import migrate
from emu.vmm.control import ControlServer
from emu.vmm.spec import load_any, load_vm
from emu.vmm.vmm import VMM

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "machines" / "vm" / "migrate.yaml"
WORK = "\rcount 20\r"                 # (the first byte typed before the UART is set up is lost)
DONE = "ticks"                         # (the workload's last line ends "done in N ticks")


def _upto_done(lines: list) -> list:
    """The lines up to the workload's last one (what follows, a prompt, depends on
    where the run stopped)."""
    for i, ln in enumerate(lines):
        if DONE in ln:
            return lines[:i + 1]
    return lines


def _lines(text: str) -> list:
    return _upto_done([ln for ln in text.replace("\r", "").split("\n") if ln.strip()])


@pytest.fixture(scope="module")
def reference():
    """The workload's output on an unmigrated VM, the same inputs, the same slicing grid."""
    v = VMM(96 << 20, grid=0.001)
    try:
        vm = v.add(load_any(SCENARIO).vms[0])
        vm.console.feed(WORK.encode())
        assert v.run_until(lambda _: DONE.encode() in vm.console.output, 120)
        return _lines(vm.console.output.decode("latin-1"))
    finally:
        v.shutdown()


def _emu(*args, out, err):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")
    return subprocess.Popen([sys.executable, "-m", "emu", "vmm", *args], cwd=ROOT, env=env,
                            stdout=out, stderr=err, stdin=subprocess.DEVNULL)


def _wait_for(path: Path, pattern: str, seconds: float, proc=None) -> re.Match:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        m = re.search(pattern, path.read_text(errors="replace"))
        if m:
            return m
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not seen in {path.name}: {path.read_text()[-600:]}")


def _console(path: Path, name="pmos") -> list:
    pre = f"{name:>8s} | "
    return [ln[len(pre):] for ln in path.read_text(errors="replace").splitlines()
            if ln.startswith(pre) and ln[len(pre):].strip()]


def _pair(tmp_path, paced=False):
    """A destination waiting on a free port and a source running the workload (paced: at
    the guest's own pace, so that count 20 takes 9 s and a loaded host starting
    `emu vmm migrate` late still finds the workload in its middle)."""
    files = {k: tmp_path / k for k in ("dst.out", "dst.err", "src.out", "src.err")}
    fh = {k: open(p, "w") for k, p in files.items()}
    dst = _emu("run", "--incoming", "0", "--unthrottled", "--deterministic", "--seconds", "150",
               "--until", f"pmos:{DONE}", out=fh["dst.out"], err=fh["dst.err"])
    src = _emu("run", str(SCENARIO), *([] if paced else ["--unthrottled"]), "--deterministic", "--seconds", "150",
               "--type", "pmos:" + WORK.replace("\r", "\\r"), out=fh["src.out"], err=fh["src.err"])
    port = int(_wait_for(files["dst.err"], r"migrated to 127\.0\.0\.1:(\d+)", 60, dst)[1])
    return dst, src, port, files, fh


def _stop(*procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_migrated_guest_prints_what_an_unmigrated_one_does(tmp_path, reference):
    dst, src, port, files, fh = _pair(tmp_path, paced=True)
    try:
        _wait_for(files["src.out"], r"round 3\n", 90, src)
        r = subprocess.run([sys.executable, "-m", "emu", "vmm", "migrate", "pmos", f"127.0.0.1:{port}",
                            "--pid", str(src.pid)], check=False, cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
        assert r.returncode == 0, r.stderr + "\ndestination: " + files["dst.err"].read_text()[-2000:]
        assert re.search(r"round 0 +\d+ pages", r.stdout) and "stop-and-copy" in r.stdout
        m = re.search(r"downtime ([\d.]+) ms", r.stdout)
        assert m and float(m[1]) > 0, r.stdout
        assert dst.wait(120) == 0                       # --until: the workload finished there
        assert src.wait(30) == 0                        # the source ends once its VM has left
        before, after = _console(files["src.out"]), _console(files["dst.out"])
        assert any(DONE in ln for ln in after)
        assert not any(DONE in ln for ln in before)     # (migrated in the middle of it)
        assert _upto_done(before + after) == reference
        assert "pmos arrived from" in files["dst.err"].read_text()
    finally:
        _stop(dst, src)
        for f in fh.values():
            f.close()


def test_a_guest_at_its_prompt_migrates_though_the_destination_is_done_at_once(tmp_path, reference):
    """The destination's --until text is already in the state that arrives: it still
    tells the source that the VM runs there before it ends (else the source would
    keep its copy paused and report the commit lost)."""
    dst, src, port, files, fh = _pair(tmp_path)
    try:
        _wait_for(files["src.out"], DONE, 90, src)
        r = subprocess.run([sys.executable, "-m", "emu", "vmm", "migrate", "pmos", f"127.0.0.1:{port}",
                            "--pid", str(src.pid)], check=False, cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
        assert r.returncode == 0, r.stderr + "\ndestination: " + files["dst.err"].read_text()[-2000:]
        assert dst.wait(60) == 0 and src.wait(30) == 0
        assert "pmos arrived from" in files["dst.err"].read_text()
    finally:
        _stop(dst, src)
        for f in fh.values():
            f.close()


def test_destination_killed_mid_transfer_leaves_the_source_running(tmp_path, reference):
    dst, src, port, files, fh = _pair(tmp_path)
    try:
        _wait_for(files["src.out"], r"round 2\n", 90, src)
        cli = subprocess.Popen([sys.executable, "-m", "emu", "vmm", "migrate", "pmos", f"127.0.0.1:{port}",
                                "--pid", str(src.pid)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        _wait_for(files["dst.err"], "pmos arriving from", 60, dst)
        dst.send_signal(signal.SIGKILL)                 # in the first round's 32 MiB
        _, err = cli.communicate(timeout=60)
        assert cli.returncode != 0
        assert err.startswith("emu: error: migrate pmos: ") and err.count("\n") == 1, err
        _wait_for(files["src.out"], DONE, 120, src)     # the source's VM went on ...
        assert _upto_done(_console(files["src.out"])) == reference  # ... whole
    finally:
        _stop(dst, src)
        for f in fh.values():
            f.close()


# ---- in one process: bad input, the dirty log, hw nested ----------------------------
@pytest.fixture
def source():
    v = VMM(64 << 20)
    vm = v.add(load_vm(ROOT / "machines" / "vm" / "pmos.yaml"))
    assert v.run_until(lambda _: vm.console.output.endswith(b"$ "), 60)
    yield v, vm
    v.shutdown()


def test_bad_input_is_one_line(source):
    v, vm = source
    ctl = ControlServer(v, Path(f"/tmp/emu-test-mig-{os.getpid()}.sock"))
    try:
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(migrate.MigrateError, match="cannot listen") as e:
            migrate.Incoming(VMM(16 << 20), str(busy.getsockname()[1]))
        assert "\n" not in str(e.value)
        r = ctl.handle(b'{"cmd": "migrate", "vm": "nosuch", "to": "127.0.0.1:9"}')
        assert not r["ok"] and "no VM named 'nosuch'" in r["error"]
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        free.close()
        r = ctl.handle(f'{{"cmd": "migrate", "vm": "pmos", "to": "127.0.0.1:{port}"}}'.encode())
        assert not r["ok"] and "cannot reach" in r["error"] and "\n" not in r["error"]
        r = ctl.handle(b'{"cmd": "migrate", "vm": "pmos", "to": "here"}')
        assert not r["ok"] and "HOST:PORT" in r["error"]

        # a peer that answers garbage: one line, the VM runs on as it was
        wpage = vm.machine.spaces["maincpu"].wpage.copy()

        def junk():
            c, _ = busy.accept()
            c.recv(1 << 16)
            c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            c.close()
        t = threading.Thread(target=junk)
        t.start()
        r = ctl.handle(f'{{"cmd": "migrate", "vm": "pmos", "to": "127.0.0.1:{busy.getsockname()[1]}"}}'.encode())
        t.join()
        assert not r["ok"] and "\n" not in r["error"], r
        assert vm.status == vm.RUNNING and vm in v.vms
        assert np.array_equal(vm.machine.spaces["maincpu"].wpage, wpage)
        i0 = vm.insns
        v.run(0.05)
        assert vm.insns > i0
        busy.close()
    finally:
        ctl.close()


def test_incoming_refuses_garbage_and_keeps_listening():
    v = VMM(16 << 20)
    err = []

    class Out:
        def write(self, s):
            err.append(s)

        def flush(self):
            pass
    inc = migrate.Incoming(v, "0", out=Out())
    try:
        for junk in (b"GET / HTTP/1.0\r\n\r\n", migrate.MAGIC + b"XXXX" + b"\xff" * 8):
            c = socket.create_connection(("127.0.0.1", inc.port))
            c.sendall(junk)
            end = time.monotonic() + 5
            while not err and time.monotonic() < end:
                inc(v, None)
                time.sleep(0.01)
            c.close()
            assert len(err) == 1 and err[0].count("\n") == 1 and "failed" in err.pop()
            assert not v.vms and not inc.busy
    finally:
        inc.close()
        v.shutdown()


def test_modes_keeping_state_outside_the_machine_are_refused():
    v = VMM(64 << 20, host_cpu="strict")
    try:
        vm = v.add(load_vm(ROOT / "machines" / "vm" / "pmos.yaml", {"mode": "trap"}))
        with pytest.raises(migrate.MigrateError, match="supports modes emulate and hw") as e:
            migrate.Outgoing(v, vm, "127.0.0.1:9")
        assert "\n" not in str(e.value)
    finally:
        v.shutdown()


@pytest.mark.parametrize("mode", ["emulate", "hw-nested", "hw-shadow"])
def test_dirty_log_finds_every_written_page(mode):
    """The page-table dirty log (emu.vmm.migrate_dirty.DirtyLog) reports every page
    whose bytes changed (checked against a full copy of memory after every slice),
    writes from Python (DMA, the debugger) included, and not much else; once stopped,
    the page tables are what they were."""
    from emu.vmm.migrate_dirty import DirtyLog, Units
    name, _, paging = mode.partition("-")
    v = VMM(64 << 20)
    try:
        vm = v.add(load_vm(ROOT / "machines" / "vm" / "pmos.yaml",
                           {"mode": name, **({"paging": paging} if paging else {})}))
        assert v.run_until(lambda _: vm.console.output.endswith(b"$ "), 60)
        spaces = vm.machine.spaces
        tables = {n: sp.wpage.copy() for n, sp in spaces.items()}
        units = Units(vm.machine.mem)
        log = DirtyLog(vm, units)
        assert len(log.collect()) == units.count
        logged = sum(int((sp.wpage <= -3).sum()) for sp in spaces.values())
        assert logged > 1000                                   # (the PC's RAM)
        vm.console.feed(b"bench pagefault 1000\r")
        seen = set()
        old = np.frombuffer(units.read(np.arange(units.count)), np.uint8).reshape(-1, 4096).copy()
        missed = set()
        rounds = 0
        while b"bench pagefault:" not in vm.console.output:
            assert rounds < 2000, vm.console.output[-200:]
            v.run(0.01)
            got = set(log.collect().tolist())
            now = np.frombuffer(units.read(np.arange(units.count)), np.uint8).reshape(-1, 4096)
            changed = set(np.flatnonzero((now != old).any(axis=1)).tolist())
            missed |= changed - got
            seen |= got
            old = now.copy()
            rounds += 1
        assert not missed, sorted(missed)[:20]
        assert len(seen) > 300 and rounds >= 2                   # the benchmark's pages, its tables
        assert len(seen) < units.count // 2
        space = vm.machine.spaces[next(iter(spaces))]
        hi = 0x800000                                            # (8 MiB: RAM the OS leaves alone)
        space.write_block(hi, b"dma!")                          # a device's DMA
        vm.machine.debugger.command(f"f p:{hi + 0x3000:x},4,5a")      # the debugger's
        got = set(log.collect().tolist())
        h2u = units.h2u
        for a in (hi, hi + 0x3000):
            assert h2u[int(space.rpage[a >> 12]) // 4096] in got
        log.stop()
        for n, sp in spaces.items():
            assert np.array_equal(sp.wpage, tables[n]), n
    finally:
        v.shutdown()


@pytest.mark.parametrize("mode", ["emulate", "hw-nested", "hw-shadow"])
def test_dirty_log_leaves_the_guest_its_time(mode):
    """Logging costs the guest nothing it can see: on the 1 ms grid of emulated time
    (--deterministic), a benchmark that writes a page per iteration reads the same
    TSC cycles with the log armed and collected after every 1 ms slice as without it.
    The command is typed at a point of the guest's time (the first 1 ms tick that
    finds the prompt), not when a host-sized slice happens to end: where the bench
    starts against the 100 Hz timer changes how many ticks it counts."""
    from emu.vmm.migrate_dirty import DirtyLog, Units
    name, _, paging = mode.partition("-")

    def one(logging: bool) -> bytes:
        v = VMM(64 << 20, grid=0.001)
        try:
            vm = v.add(load_vm(ROOT / "machines" / "vm" / "pmos.yaml",
                               {"mode": name, **({"paging": paging} if paging else {})}))
            typed = []

            def type_at_prompt():
                if not typed and vm.console.output.endswith(b"$ "):
                    vm.console.feed(b"bench pagefault 400\r")
                    typed.append(vm.guest_time)
                    tick.stop()
            tick = vm.machine.scheduler.periodic(type_at_prompt, 0.001)
            assert v.run_until(lambda _: typed, 60)
            log = DirtyLog(vm, Units(vm.machine.mem)) if logging else None
            n = 0
            while b"bench pagefault:" not in vm.console.output or not vm.console.output.endswith(b"$ "):
                assert n < 20000 and b"fault at" not in vm.console.output, vm.console.output[-200:]
                vm.mode.run(0.001)                   # (1 ms of guest time: a log collected
                if log is not None:                 # this often once broke hw shadow, the
                    log.collect()                   # VMM taking an INT's stack push for
                n += 1                              # a user access)
            return vm.console.output.split(b"bench pagefault:")[1].split(b"\r")[0]
        finally:
            v.shutdown()

    plain, logged = one(False), one(True)
    assert b"TSC cycles" in plain and logged == plain


@pytest.mark.parametrize("paging", ["nested", "shadow"])
def test_hw_migrates_in_process_with_memory_intact(paging):
    """Mode hw, a guest dirtying pages as fast as it can: source and destination in one
    process (the destination's loop in a thread), the destination's memory and CPU state
    when it takes over equal the source's when it paused."""
    from emu import savestate
    src, dst = VMM(96 << 20), VMM(96 << 20)
    inc = migrate.Incoming(dst, "0")
    dst.on_slice.append(inc)
    got = {}
    inc.on_applied = lambda vm: got.update(state=savestate.capture(vm.machine))
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            dst.run(0.02)
    th = threading.Thread(target=loop, daemon=True)
    th.start()
    try:
        vm = src.add(load_vm(ROOT / "machines" / "vm" / "pmos.yaml", {"mode": "hw", "paging": paging}))
        vm.console.feed(b"\rbench pagefault 2000\r")
        src.run_until(lambda _: b"$ bench" in vm.console.output, 60)
        src.run(0.2)
        out = migrate.Outgoing(src, vm, f"127.0.0.1:{inc.port}")
        paused = {}
        real_pause = vm.pause

        def pause():
            real_pause()
            paused["state"] = savestate.capture(vm.machine)
        vm.pause = pause
        out.start()
        src.on_slice.append(out)
        assert src.run_until(lambda _: out.state not in ("precopy", "committing"), 60)
        assert out.state == "done", out.error
        assert len(out.rounds) >= 2 and out.downtime > 0
        (m0, a0), (m1, a1) = paused["state"], got["state"]
        bad = np.flatnonzero(a0["memory"] != a1["memory"])
        assert not len(bad), (len(bad), bad[:8], sorted(set((bad // 4096).tolist()))[:20], out.rounds)
        from cores.x86 import state as X
        d = set(np.flatnonzero(a0["cpu.maincpu"] != a1["cpu.maincpu"]).tolist())
        assert d <= {X.CR0_MASK}, d          # (a restore re-arms the read shadows at the next entry)
        assert m0["time"] == m1["time"] and m0["devices"] == m1["devices"]
        assert not src.vms
        stop.set()
        th.join()
        arrived = dst.get("pmos")
        assert arrived.mode.name == "hw" and arrived.mode.paging == paging
        assert dst.run_until(lambda _: b"bench pagefault:" in arrived.console.output, 60)
    finally:
        stop.set()
        th.join()
        inc.close()
        src.shutdown()
        dst.shutdown()
