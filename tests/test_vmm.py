"""The VMM framework (emu.vmm) under mode `emulate`: several VMs on one host CPU.

The CP/M system (a Z80: cross-ISA) and two instances of the project's PM OS run
at once to their prompts and through commands; a hostile guest beside a victim
holding canaries cannot reach it; one VM is saved and restored while the others
run on; the fair-share scheduler gives each VM its weight's share of guest
progress; bad input gets a one-line error."""
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from emu.errors import ConfigError, EmuError
from emu.vmm.hostmem import FRAME, HostMemory
from emu.vmm.spec import load_scenario, load_vm
from emu.vmm.vmm import VMM
from tests.conftest import ROOT

try:
    import cores.x86  # noqa: F401
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)

VMS = ROOT / "machines" / "vm"


def wait(vmm, pred, seconds=60, what=""):
    while any(v.slices == 0 for v in vmm.vms):     # the first slices compile the cores:
        vmm.step()                                 # not part of the time allowed
    assert vmm.run_until(lambda v: pred(), seconds), f"timed out: {what}"


def out(vm):
    return vm.console.output.decode("latin-1").replace("\r", "")


def command(vmm, vm, line, prompt, seconds=30):
    start = len(out(vm))
    vm.console.feed((line + "\r").encode())
    wait(vmm, lambda: out(vm)[start:].endswith(prompt) and len(out(vm)) > start + len(line),
         seconds, f"{vm.name}: prompt after {line!r}: {out(vm)[start:]!r}")
    return out(vm)[start:]


@pytest.fixture
def trio():
    sc = load_scenario(VMS / "trio.yaml")
    vmm = VMM(sc.host_ram, host_order="scatter")       # frames spread over the host
    for s in sc.vms:
        vmm.add(s)
    yield vmm
    vmm.shutdown()


def test_cpm_and_two_pm_os_instances_reach_their_prompts_and_run_commands(trio):
    cpm, a, b = (trio.get(n) for n in ("cpm", "pmos-a", "pmos-b"))
    assert cpm.machine.cpu.__class__.__module__.startswith("cores.z80")
    assert a.machine.cpu.__class__.__module__.startswith("cores.x86")
    wait(trio, lambda: out(cpm).endswith("A>") and out(a).endswith("$ ") and out(b).endswith("$ "),
         60, "all three prompts")
    # each guest through a command of its own
    listing = command(trio, cpm, "dir", "A>")
    assert "HELLO    COM" in listing
    assert "hello from pmos-a" in command(trio, a, "echo hello from pmos-a", "$ ")
    ps = command(trio, b, "ps", "$ ")
    assert re.search(r"\b1\b.*sh", ps), ps
    assert "hello from pmos-a" not in out(b)                # consoles are the VMs' own
    assert command(trio, cpm, "hello", "A>").count("Hello") >= 1
    # all three shared the host CPU: each ran many slices, interleaved
    st = trio.stats()
    assert all(v["slices"] > 5 and v["switches"] > 3 for v in st["vms"])
    assert st["switches"] >= sum(v["switches"] for v in st["vms"]) - 1
    # the PM OS instances live in scattered host frames, none shared
    fa = np.concatenate(list(a.machine.mem.frames.values())) // FRAME
    fb = np.concatenate(list(b.machine.mem.frames.values())) // FRAME
    assert not set(fa.tolist()) & set(fb.tolist())
    main = a.machine.mem.frames["ext"] // FRAME
    assert np.any(np.diff(main) != 1), "ext RAM should not be one contiguous block here"


def lines(vm, prefix):
    return [ln for ln in out(vm).split("\n") if ln.startswith(prefix)]


def test_hostile_guest_cannot_reach_the_victim_and_its_triple_fault_resets_it_alone():
    vmm = VMM(96 << 20, host_order="scatter")
    victim = vmm.add(load_vm(VMS / "victim.yaml"))
    hostile = vmm.add(load_vm(VMS / "hostile.yaml"))
    try:
        wait(vmm, lambda: len(lines(victim, "VICTIM OK")) >= 1, 60, "victim's first round")
        # the canary records are in host frames the victim owns
        canary = b"VICTIM-CANARY-42"
        data = vmm.memory.data
        hits = [i for i in range(0, len(data), FRAME) if bytes(data[i:i + 16]) == canary]
        assert len(hits) == 0xE00
        vid = vmm.memory.owners["victim"]
        assert all(vmm.memory.owner[i // FRAME] == vid for i in hits)
        wait(vmm, lambda: any(ln.startswith("HOSTILE START 02") for ln in lines(hostile, "HOSTILE")),
             120, "the hostile guest's second boot")
        rounds_then = len(lines(victim, "VICTIM OK"))
        wait(vmm, lambda: len(lines(victim, "VICTIM OK")) >= rounds_then + 2, 60, "victim rounds after")
        h = lines(hostile, "HOSTILE")
        assert any(ln.startswith("HOSTILE SCAN 00100000 FOUND 00000000") for ln in h), h
        assert any(ln.startswith("HOSTILE WROTE") for ln in h) and "HOSTILE TRIPLE" in h
        assert not lines(victim, "VICTIM BAD"), out(victim)[-400:]
        # every canary intact, in the victim's own memory
        for addr in range(0x200000, 16 << 20, 0x40000):
            rec = victim.machine.memory[addr:addr + 20]
            assert rec[:16] == canary and int.from_bytes(rec[16:], "little") == addr
        # the junk it wrote is only in its own frames; free host frames stay zero
        hid = vmm.memory.owners["hostile"]
        junk = [i for i in range(0, len(data), FRAME) if bytes(data[i:i + 4]) == b"\xef\xbe\xad\xde"]
        assert junk and all(vmm.memory.owner[i // FRAME] == hid for i in junk)
        free = vmm.memory.owner < 0
        assert not data.reshape(-1, FRAME)[free].any()
        # its triple fault reset its own CPU only
        assert any("triple fault" in ln for ln in hostile.machine.log)
        assert not victim.machine.log and victim.status == "running"
    finally:
        vmm.shutdown()
    assert vmm.memory.free_frames == vmm.memory.nframes and not vmm.memory.data.any()


def test_save_and_restore_one_vm_while_the_others_run(trio, tmp_path):
    cpm, a, b = (trio.get(n) for n in ("cpm", "pmos-a", "pmos-b"))
    wait(trio, lambda: out(cpm).endswith("A>") and out(a).endswith("$ ") and out(b).endswith("$ "),
         60, "prompts")
    command(trio, a, "echo before", "$ ")
    screen = lambda vm: [ln.rstrip() for ln in vm.machine.devices["vga"].text_lines()]
    state = tmp_path / "a.state"
    a.save(state)
    saved_screen, saved_insns = screen(a), a.insns
    command(trio, a, "echo after-the-save", "$ ")
    assert "after-the-save" in screen(a)
    b_insns, cpm_insns = b.insns, cpm.insns
    a.restore(state)
    # the guest is back where it was (its screen, its instruction count); what the host
    # terminal (COM1's backend) showed meanwhile stays, as it would on a real terminal
    assert screen(a) == saved_screen and a.insns == saved_insns
    assert b.insns >= b_insns and cpm.insns >= cpm_insns      # untouched by the restore
    # a goes on from the saved point; the others never stopped
    assert "again" in command(trio, a, "echo again", "$ ")
    assert "after-the-save" not in screen(a) and "again" in screen(a)
    assert "still here" in command(trio, b, "echo still here", "$ ")
    assert "HELLO" in command(trio, cpm, "dir", "A>")
    assert cpm.insns > cpm_insns and b.insns > b_insns
    # the state is the machine's own: it loads into pmos-b too (same machine file, disk size)
    b.restore(state)
    assert screen(b) == saved_screen


def test_shares_of_guest_progress_follow_the_weights():
    vmm = VMM(96 << 20)
    vms = [vmm.add(load_vm(VMS / "victim.yaml", {"name": f"v{w}", "weight": w})) for w in (1, 2, 3)]
    try:
        wait(vmm, lambda: all(lines(v, "VICTIM OK") for v in vms), 60, "victims running")
        base = {v.name: v.insns for v in vms}
        vmm.run(6.0)
        got = {v.name: v.insns - base[v.name] for v in vms}
        total = sum(got.values())
        for v in vms:
            want = v.weight / 6
            share = got[v.name] / total
            assert abs(share - want) <= 0.1 * want, (v.name, share, want, got)
    finally:
        vmm.shutdown()


def test_a_capped_vm_takes_no_more_host_time_than_its_cap():
    vmm = VMM(64 << 20)
    capped = vmm.add(load_vm(VMS / "victim.yaml", {"name": "capped", "cap": 20}))
    vmm.add(load_vm(VMS / "victim.yaml", {"name": "free"}))
    try:
        wait(vmm, lambda: True)
        capped.started = vmm.get("free").started = time.monotonic()   # from here on
        capped.host_time = 0.0
        vmm.run(4.0)
        share = capped.host_time / capped.wall_time()
        assert share <= 0.2 * 1.1, share
        assert vmm.get("free").host_time > 2 * capped.host_time
    finally:
        vmm.shutdown()


def test_pause_stops_one_vm_and_resume_goes_on():
    vmm = VMM(64 << 20)
    x = vmm.add(load_vm(VMS / "victim.yaml", {"name": "x"}))
    y = vmm.add(load_vm(VMS / "victim.yaml", {"name": "y"}))
    try:
        wait(vmm, lambda: True)
        vmm.run(1.0)
        x.pause()
        n, m = x.insns, y.insns
        vmm.run(1.0)
        assert x.insns == n and y.insns > m
        x.resume()
        vmm.run(1.0)
        assert x.insns > n
        x.reset()
        assert x.resets == 1 and x.insns < n
    finally:
        vmm.shutdown()


# ---- host memory ---------------------------------------------------------------------------
def test_host_frames_are_owned_once_and_scrubbed_when_freed():
    h = HostMemory(1 << 20, order="scatter")
    b = h.alloc(50, "b", contiguous=True)
    a = h.alloc(100, "a")
    assert len(set(a.tolist()) | set(b.tolist())) == 150 and np.all(np.diff(b) == 1)
    h.data[a[0] * FRAME] = 7
    h.free(a)
    assert h.free_frames == 256 - 50 and not h.data.any()
    with pytest.raises(EmuError, match="host memory is full"):
        h.alloc(300, "c")


# ---- bad input ---------------------------------------------------------------------------
def test_bad_input_gets_one_line_errors(tmp_path):
    vmm = VMM(64 << 20)
    with pytest.raises(EmuError, match="unknown mode 'warp'"):
        vmm.add(load_vm(VMS / "cpm.yaml", {"mode": "warp"}))
    bad = tmp_path / "overlap.yaml"
    bad.write_text("vm: x\nmachine: cpm\nmemory:\n  maincpu:\n"
                   "    - {start: 0x0000, end: 0x7FFF, ram: main}\n"
                   "    - {start: 0x4000, end: 0xFFFF, ram: main}\n")
    with pytest.raises(ConfigError) as e:
        load_vm(bad)
    assert str(bad) in str(e.value) and "overlaps" in str(e.value)
    missing = tmp_path / "missing.yaml"
    missing.write_text("vm: x\nmachine: pc\nmedia: {hdd: nothere.img}\n")
    with pytest.raises(ConfigError, match=r"media\.hdd: nothere.img: no such image file"):
        load_vm(missing)
    with pytest.raises(ConfigError, match="no such VM description or disk image"):
        from emu.vmm.spec import load_any
        load_any(tmp_path / "nothere.img")
    big = tmp_path / "big.yaml"
    big.write_text("vm: big\nmachine: pc\nram: 512M\n")
    with pytest.raises(EmuError, match="host memory is full"):
        vmm.add(load_vm(big))
    assert vmm.memory.free_frames == vmm.memory.nframes       # nothing leaked
    vmm.shutdown()


def test_a_guest_needing_what_the_mode_lacks_is_refused():
    vmm = VMM(64 << 20)
    with pytest.raises(EmuError, match="mode 'trap' runs x86 guests; this VM's CPU is z80"):
        vmm.add(load_vm(VMS / "cpm.yaml", {"mode": "trap"}))
    assert vmm.memory.free_frames == vmm.memory.nframes
    vmm.shutdown()


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "emu", *args], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_runs_the_trio_and_prints_stats():
    r = run_cli("vmm", "run", "machines/vm/trio.yaml", "--unthrottled", "--stats",
                "--until", "cpm:A>", "--until", "pmos-a:$ ", "--until", "pmos-b:$ ", "--seconds", "120")
    assert r.returncode == 0, r.stderr
    assert "     cpm | A>" in r.stdout and "  pmos-b | emu-os shell" in r.stdout
    table = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.split() and
             ln.split()[0] in ("cpm", "pmos-a", "pmos-b")}
    assert set(table) == {"cpm", "pmos-a", "pmos-b"}
    assert "io-in" in table["cpm"] and "hlt" in table["pmos-a"]
    assert re.search(r"\d+ world switches \([\d.]+ us each\)", r.stdout)


@pytest.mark.parametrize("args, msg", [
    (["vmm", "run", "machines/vm/cpm.yaml", "--mode", "warp"], "unknown mode 'warp'"),
    (["vmm", "run", "nothere.img"], "nothere.img: no such VM description or disk image"),
    (["vmm", "run", "machines/vm/cpm.yaml", "--weight", "cpm=0"], "a weight is a whole number"),
    (["vmm", "pause", "nosuchvm"], ""),
])
def test_cli_errors_are_one_line(args, msg):
    r = run_cli(*args, timeout=60)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("emu: error:") and msg in err[0], r.stderr


def test_ps_lists_a_running_vmm_and_controls_its_vms(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "emu", "vmm", "run", "machines/vm/victim.yaml",
                          "--unthrottled", "--console", "none", "--seconds", "120"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 200
        while time.time() < deadline:
            r = run_cli("vmm", "ps", timeout=30)
            if "victim" in r.stdout:
                break
            time.sleep(0.5)
        assert f"VMM pid {p.pid}" in r.stdout and "victim" in r.stdout, r.stdout + r.stderr

        def insns():
            r = run_cli("vmm", "ps", timeout=30)
            row = next(ln for ln in r.stdout.splitlines() if ln.startswith("victim"))
            return float(row.split()[7])
        assert run_cli("vmm", "pause", "victim").returncode == 0
        n = insns()
        time.sleep(0.5)
        assert insns() == n
        assert run_cli("vmm", "resume", "victim").returncode == 0
        time.sleep(1.0)
        assert insns() > n
        state = tmp_path / "v.state"
        assert run_cli("vmm", "save", "victim", str(state)).returncode == 0
        assert state.stat().st_size > 0
    finally:
        p.terminate()
        p.wait(30)


def test_when_every_vm_idles_the_clock_furthest_behind_runs():
    """A VM halted for good (least progress) must not starve another idle VM that
    waits for its own timer: the one whose clock lags runs next."""
    from emu.vmm.sched import FairShare

    class Fake:
        RUNNING, status, cap, host_time, weight = "running", "running", 0, 0.0, 1

        def __init__(self, insns, guest_time):
            self.insns, self.guest_time = insns, guest_time

        def wall_time(self):
            return 100.0
    fs = FairShare()
    dead, waiting = Fake(10, 5.0), Fake(1000, 1.0)
    fs.idle = {dead: True, waiting: True}
    picks = []
    for _ in range(6):
        vm, _ = fs.pick([dead, waiting])
        picks.append(vm)
        vm.guest_time += 1.0                       # its slice advanced its clock
    assert waiting in picks[:4] and dead in picks
