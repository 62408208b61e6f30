"""The ``emu`` command as users type it (README "Command line"), run in a
subprocess against this checkout: list, info, bench, and run with piped input,
in a terminal (pty: Ctrl-] quits), --screenshot, --wav, --save-state/--state,
--type and --trace."""
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
import wave

import numpy as np
import pytest
import yaml

from emu.machine import Machine
from tests.conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy",
       "SDL_AUDIODRIVER": "dummy"}
EMU = [sys.executable, "-m", "emu"]


def emu(*args, input=None, timeout=300):
    r = subprocess.run(EMU + [str(a) for a in args], capture_output=True, text=True, cwd=ROOT,
                       env=ENV, input=input, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def machine_yaml(name):
    return yaml.safe_load((ROOT / "machines" / f"{name}.yaml").read_text())


def test_list_shows_every_machine_with_its_description():
    r = emu("list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    files = sorted((ROOT / "machines").glob("*.yaml"))
    assert len(lines) == len(files)
    for f, line in zip(files, lines):
        name, _, desc = line.partition(" ")
        assert name == f.stem
        assert desc.strip() == machine_yaml(f.stem)["description"].strip().splitlines()[0]


def test_info_shows_cores_map_ports_devices_and_media():
    y = machine_yaml("cpm")
    r = emu("info", "cpm")
    assert r.returncode == 0
    out = r.stdout.splitlines()
    assert out[0] == f"cpm: {y['description'].strip()}"
    assert "cpu maincpu: core z80 (cores.z80.Z80), 4 MHz, 16-bit address space" in out
    assert "  0000-FFFF rw RAM main" in out
    for e in y["ports"]["maincpu"]:
        assert f"  port {e['start']:04X}-{e.get('end', e['start']):04X} device {e['device']}" in out
    for name, d in y["devices"].items():
        assert any(line.startswith(f"device {name}: {d['type']}") for line in out), name
    assert "device disk: block (base=16, drives=4, sector_size=128)" in out
    assert "rom boot: 256 bytes from " in "\n".join(out)
    for slot, m in y["media"].items():
        assert any(line.startswith(f"media {slot}: {m['kind']}") for line in out)
    assert emu("info", "nosuch").returncode == 2


def test_bench_reports_a_core_and_a_machine():
    r = emu("bench", "--seconds", "0.2", "--only", "toy8,toy", timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    core = [line.split() for line in lines if line.strip().startswith("toy8")]
    assert core and float(core[0][1]) > 0 and core[0][2:4] == ["guest", "MIPS"]
    mach = [line for line in lines if line.strip().startswith("toy ")]
    assert mach and "failed" not in mach[0], r.stdout
    f = mach[0].split()
    assert float(f[1]) > 0 and f[2] == "fps" and "cold start " in mach[0] and "(first tier; compiled code after" in mach[0]
    assert f[-1].endswith("s") and float(f[-1][:-1]) > 0        # warm start, seconds


def test_run_cpm_with_piped_input():
    """README's headline `emu run cpm`, fed from a pipe: the commands run, then it stops."""
    r = emu("run", "cpm", input="HELLO\nDIR\n", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Hello, world from CP/M!" in r.stdout
    assert "A: ARGS     COM : FILETEST COM : HELLO    COM" in r.stdout


def read_until(fd, needle, seconds=120):
    buf, end = b"", time.time() + seconds
    while needle not in buf:
        assert time.time() < end, f"timed out waiting for {needle!r}: {buf[-300:]!r}"
        if select.select([fd], [], [], 0.5)[0]:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
    return buf


def test_run_cpm_in_a_terminal_and_ctrl_bracket_quits():
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen(EMU + ["run", "cpm"], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                         cwd=ROOT, env=ENV)
    try:
        read_until(master, b"A>")
        os.write(master, b"HELLO\r")            # raw mode: the guest gets CR as typed
        read_until(master, b"Hello, world from CP/M!")
        os.write(master, b"\x1d")               # Ctrl-]
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
        err = p.stderr.read().decode()
        p.stderr.close()
    assert "Traceback" not in err, err
    assert termios.tcgetattr(slave) == before   # the terminal is left as it was
    os.close(master)
    os.close(slave)


def test_screenshot_is_the_last_frame(tmp_path):
    pygame = pytest.importorskip("pygame")
    shot = tmp_path / "out.png"
    r = emu("run", "sms", "--headless", "--frames", 30, "--screenshot", shot)
    assert r.returncode == 0, r.stderr
    m = Machine.load("sms")
    m.step_frame(30)
    got = pygame.surfarray.array3d(pygame.image.load(str(shot))).transpose(1, 0, 2)
    assert np.array_equal(got, m.screen.rgb())
    assert len(np.unique(got.reshape(-1, 3), axis=0)) > 2    # a picture, not a blank frame


def test_wav_records_the_sound(tmp_path):
    out = tmp_path / "out.wav"
    cart = ROOT / "roms_test" / "sms" / "sound.sms"
    r = emu("run", "sms", cart, "--headless", "--frames", 30, "--wav", out)
    assert r.returncode == 0, r.stderr
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 44100)
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    m = Machine.load("sms", [cart])
    m.audio.recording = []
    m.step_frame(30)
    assert np.array_equal(data, np.concatenate(m.audio.recording))
    assert np.count_nonzero(data) > len(data) // 4
    assert not (tmp_path / "out.wav.tmp").exists()


def test_save_state_then_state_continues_with_the_disk_written(tmp_path):
    """--type, --save-state, --state: a file SAVEd on the bundled (snapshot) disk in
    the first run is in the state, so the second run's DIR lists it."""
    state = tmp_path / "cpm.state"
    r = emu("run", "cpm", "--headless", "--seconds", 1, "--type", "SAVE 1 MINE.COM\\r",
            "--save-state", state)
    assert r.returncode == 0, r.stderr
    assert state.exists() and not (tmp_path / "cpm.state.tmp").exists()
    r = emu("run", "cpm", "--headless", "--seconds", 1, "--state", state, "--type", "DIR\\r")
    assert r.returncode == 0, r.stderr
    assert "MINE     COM" in r.stdout
    assert "CP/M 2.2 compatible" not in r.stdout        # resumed, not booted again
    r = emu("run", "cpm", "--headless", "--frames", 2, "--type", "DIR\\r")
    assert "MINE" not in r.stdout                        # the bundled disk is unchanged
    r = emu("run", "toy", "--headless", "--frames", 1, "--state", state)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "this state is for machine 'cpm', not 'toy'" in r.stderr


def test_trace_prints_the_first_instructions():
    r = emu("run", "toy", "--headless", "--frames", 1, "--trace", 3)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # roms_test/toy/demo.asm: jmp start (0Eh); ldi a,'H'; st [F001h],a
    assert lines[0].split()[:4] == ["000000", "05", "0E", "00"] and "JMP 000Eh" in lines[0]
    assert lines[1].startswith("00000E") and "LDI A,48h" in lines[1]
    assert lines[2].startswith("000010") and "ST [F001h],A" in lines[2]
    assert "HELLO" in r.stdout                           # and then it ran on


# ---- --serial: the PC's COM ports on host files, the terminal and TCP ----------------
SERIAL_IMG = ROOT / "roms_test" / "x86" / "serial.img"
SERIAL_BANNER = b"SERIAL OK COM1=03F8 COM2=02F8 EQUIP=0421\r\n"


def test_serial_file_receives_com1_and_com2(tmp_path):
    """serial.img sends a banner on COM1 (with the BDA's port list) and one on COM2;
    two --serial options connect COM1 then COM2."""
    a, b = tmp_path / "com1.txt", tmp_path / "com2.txt"
    r = emu("run", "pc", SERIAL_IMG, "--headless", "--seconds", "1",
            "--serial", f"file:{a}", "--serial", f"file:{b}")
    assert r.returncode == 0, r.stderr
    assert a.read_bytes() == SERIAL_BANNER
    assert b.read_bytes() == b"COM2 OK\r\n"


def test_serial_stdio_prints_the_guest_output():
    r = subprocess.run(EMU + ["run", "pc", str(SERIAL_IMG), "--headless", "--seconds", "1",
                              "--serial", "stdio"], capture_output=True, cwd=ROOT, env=ENV,
                       stdin=subprocess.DEVNULL, timeout=300, check=False)
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr
    assert r.stdout == SERIAL_BANNER              # raw bytes, nothing else on stdout


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_serial_stdio_in_a_terminal_sends_keys_at_once(sig, code):
    """A terminal on stdio: keys reach COM1 unbuffered and unechoed, Return as CR
    (the guest echoes CR LF; output post-processing stays on, as with QEMU, so
    the terminal shows CR CR LF); Ctrl-C or a kill quits and the terminal's mode
    is restored."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen(EMU + ["run", "pc", str(SERIAL_IMG), "--headless", "--seconds", "100000",
                                "--serial", "stdio"],
                         stdin=slave, stdout=slave, stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
    try:
        read_until(p.stderr.fileno(), b"SERIAL READY")
        read_until(master, b"EQUIP=0421")
        os.write(master, b"ok\r")              # no newline: a cooked terminal would hold it
        got = read_until(master, b"OK\r")
        assert b"ok" not in got                 # not echoed by the terminal
    finally:
        p.send_signal(sig)
        assert p.wait(timeout=30) == code
        err = p.stderr.read().decode()
        p.stderr.close()
    assert "Traceback" not in err, err
    assert termios.tcgetattr(slave) == before
    os.close(master)
    os.close(slave)


def test_serial_tcp_echoes_through_irq4():
    """tcp:127.0.0.1:0 listens on a free port (named on stderr) and the guest runs
    without a client; once one connects, what it sends reaches the guest through
    the RX FIFO and IRQ 4, and the guest's answer comes back."""
    import re
    import socket
    p = subprocess.Popen(EMU + ["run", "pc", str(SERIAL_IMG), "--headless", "--seconds", "100000",
                                "--serial", "tcp:127.0.0.1:0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=ROOT, env=ENV)
    try:
        err = read_until(p.stderr.fileno(), b"SERIAL READY")
        port = int(re.search(rb"com1: listening on 127\.0\.0\.1:(\d+)", err).group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(b"ping\r")
            got = b""
            while b"PING\r\n" not in got:
                chunk = s.recv(100)
                assert chunk, got
                got += chunk
        assert got == b"PING\r\n"              # the banner went out before anyone listened
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()


@pytest.mark.parametrize("args,message", [
    (["--serial", "file:/nonexistent-dir/com1.txt"],
     "--serial file:/nonexistent-dir/com1.txt: cannot open: No such file or directory"),
    (["--serial", "serial0"], "--serial serial0: expected none, stdio, file:PATH or tcp:HOST:PORT"),
    (["--serial", "tcp:127.0.0.1:http"], "--serial tcp:127.0.0.1:http: 'http' is not a TCP port number"),
    (["--serial", "none", "--serial", "none", "--serial", "none"],
     "machine 'pc' has 2 serial ports; 3 --serial given"),
    (["--serial", "stdio", "--serial", "stdio"],
     "--serial stdio: only one serial port can use the terminal"),
])
def test_serial_bad_arguments_give_one_line(args, message):
    r = emu("run", "pc", "--headless", "--frames", "1", *args)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"emu: error: {message}"]


def test_serial_tcp_port_in_use_gives_one_line():
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = emu("run", "pc", "--headless", "--frames", "1", "--serial", f"tcp:127.0.0.1:{port}")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        (f"emu: error: --serial tcp:127.0.0.1:{port}: cannot listen on 127.0.0.1:{port}: "
         "Address already in use")]


def test_serial_on_a_machine_without_uart():
    r = emu("run", "cpm", "--serial", "stdio", input="")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "emu: error: machine 'cpm' has no serial ports; 1 --serial given"]


def test_a_machine_name_never_resolves_to_a_folder(tmp_path):
    (tmp_path / "sms").mkdir()                     # where one keeps one's ROMs
    r = subprocess.run(EMU + ["info", "sms"], capture_output=True, text=True, cwd=tmp_path,
                       env=ENV, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("sms: "), r.stderr
    for path in ("./sms", "sms/"):
        r = subprocess.run(EMU + ["info", path], capture_output=True, text=True, cwd=tmp_path,
                           env=ENV, timeout=120)
        err = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(err) == 1 and "is a folder, not a machine file" in err[0], r.stderr
