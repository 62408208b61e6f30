"""Mode pv (paravirtualization, emu/vmm/pv.py; docs/pv-abi.md): the PM OS built with
its privileged-operations layer replaced by hypercalls (roms_test/os/os-pv.img).

* It boots to its shell and runs its programs and nanobenchmarks beside a VM of the
  native build under ``emulate`` in the same VMM; what they print is compared with
  that VM's (the guest's own CPU: the reference), less the timing figures.
* Hostile hypercalls: the kernel's own self-test makes fourteen that must fail with
  their errno (its boot line says so), and the VMM's hypercall entry is fed bad
  numbers and arguments: it answers with errnos, never raises, and nothing outside
  the VM's own memory changes (another VM's frames, the free host frames).
* Ring devices: the console ring carries the shell's input and output with far fewer
  exits than bytes; the block ring serves whole files in batches (one notification
  per eight sectors) and the written sectors land in the machine's disk image.
* The image rebuilds to the same bytes with no privileged instruction in it, and a
  PV image under another mode (or a native one under pv) is a one-line error.
"""
import hashlib
import random
import re
import subprocess

import numpy as np
import pytest

from emu.vmm import pv_abi as P
from emu.vmm.spec import load_vm
from emu.vmm.vmm import VMM
from tests.conftest import ROOT

try:
    import cores.x86  # noqa: F401
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)

from tests.test_os import SENSITIVE, needs_toolchain
from tests.test_vmm import VMS, command, out, run_cli, wait

COMMANDS = ["hello world", "ps", "forktest", "filetest t.dat 3000", "fault div", "fault kernel",
            "fault cli", "fault args", "echo hi > f", "cat f", "cat readme | wc", "bench syscall 50",
            "bench inout 20", "bench cr3 20", "bench pte 20", "bench pagefault 10", "bench divzero 10",
            "bench callret 200", "bench spawn 3", "bench forkexec 3", "bench compute 200"]


def normal(text):
    """What the programs print, less the timing figures."""
    return re.sub(r"\d+ (us|ns|TSC|each)[^\n]*", "T", text)


@pytest.fixture(scope="module")
def pair():
    """The PV build under pv beside the native build under emulate, one VMM, on
    scattered host frames (the strict host CPU of the spectrum: pv sets its own)."""
    vmm = VMM(96 << 20, host_cpu="strict", host_order="scatter")
    ref = vmm.add(load_vm(VMS / "pmos.yaml", {"name": "ref"}))
    pv = vmm.add(load_vm(VMS / "pmos-pv.yaml"))
    wait(vmm, lambda: out(pv).endswith("$ ") and out(ref).endswith("$ "), 120, "prompts")
    yield vmm, pv, ref
    vmm.shutdown()


def test_the_pv_build_runs_its_programs_as_the_native_build_does(pair):
    vmm, pv, ref = pair
    assert pv.mode.name == "pv" and ref.mode.name == "emulate"
    boot = out(pv)
    assert "pv: ring 1 on emu's VMM, ABI 1; 14 hostile hypercalls refused" in boot, boot
    for cmd in COMMANDS:
        want = command(vmm, ref, cmd, "$ ", 120)
        got = command(vmm, pv, cmd, "$ ", 120)
        assert normal(got) == normal(want), cmd
    st = pv.mode.stats()
    # nothing was emulated; only hypercalls and page faults left the guest, no port I/O
    assert st["emulated_insns"] == 0 and st["native_insns"] > 0
    assert set(st["exits"]) <= {"hypercall", "pf-hidden", "pf-guest"}, st["exits"]
    hc = st["hypercalls"]
    for k in ("mmu_update", "sched_op", "evtchn_send", "set_trap_table", "stack_switch", "port_io"):
        assert hc.get(k, 0) > 0, (k, hc)
    assert st["events"]["timer"] > 0 and st["events"]["console"] > 0


def test_the_kernel_runs_at_ring_1_on_the_vmms_tables(pair):
    vmm, pv, _ = pair
    from cores.x86 import cpu as X
    from emu.vmm.trap import SGDT_LIN, SIDT_LIN
    command(vmm, pv, "hello", "$ ", 60)
    v = pv.mode.vcpu.state                         # (between slices: the host view)
    assert int(v[X.CPL]) in (1, 3) and int(v[X.SEL + X.CS]) & 3 == int(v[X.CPL])
    assert (int(v[X.GDTB]), int(v[X.IDTB])) == (SGDT_LIN, SIDT_LIN)
    assert int(v[X.FLAGS]) & X.IOPL == 0 and int(v[X.CR0]) & X.WP
    owner = vmm.memory.owners[pv.name]
    assert vmm.memory.owner[int(v[X.CR3]) >> 12] == owner          # a shadow directory
    # the guest's own directory holds guest-physical frames: RAM of its own map
    pd = pv.mode.gcr3
    assert pd and pv.mode.ram(pd) is not None and pd < 16 << 20


def test_ring_devices_batch_their_notifications(pair):
    vmm, pv, _ = pair
    m = pv.mode
    hc0, n0, req0 = sum(m.hc.values()), dict(m.notify), m.block.requests
    text = command(vmm, pv, "cat readme", "$ ", 60)
    assert "Welcome to emu-os" in text
    sent = sum(m.hc.values()) - hc0
    assert sent < len(text) / 4, (sent, len(text))            # not an exit per byte
    # writing then reading a 3000-byte file: its sectors in batches of eight a notification
    n1, req1 = m.notify.get(P.PORT_BLOCK, 0), m.block.requests
    assert "wrote and read back 3000 bytes" in command(vmm, pv, "filetest ring.dat 3000", "$ ", 60)
    reqs, notes = m.block.requests - req1, m.notify.get(P.PORT_BLOCK, 0) - n1
    assert reqs >= 2 * 6 and notes * 2 <= reqs, (reqs, notes)
    # the sectors are in the machine's disk image, where the file system keeps them
    data = bytes(m.block.drive.data)
    assert b"ring.dat" in data[1025 * 512:1027 * 512]
    assert req0 >= 0 and n0 is not None


def _owned(vmm, name):
    mem = vmm.memory
    own = mem.owners[name]
    return np.flatnonzero(mem.owner[:mem.nframes] == own)


def test_hostile_hypercalls_get_errors_and_touch_nothing_outside_the_vm():
    """Random and crafted hypercalls straight into the VMM's entry, against a booted
    PV VM: only errnos or results come back, and a victim VM's frames and the free
    host frames are as they were."""
    vmm = VMM(96 << 20, host_order="scatter")
    pv = vmm.add(load_vm(VMS / "pmos-pv.yaml"))
    victim = vmm.add(load_vm(VMS / "pmos.yaml", {"name": "victim"}))
    wait(vmm, lambda: out(pv).endswith("$ ") and out(victim).endswith("$ "), 120, "prompts")
    mem = vmm.memory
    vf = _owned(vmm, "victim")

    def digest(frames):
        return hashlib.sha256(b"".join(mem.data[int(f) * 4096:(int(f) + 1) * 4096].tobytes()
                                       for f in frames)).hexdigest()
    before = digest(vf)
    pages = mem.data.reshape(-1, 4096)
    m = pv.mode
    # crafted: each must give its errno
    assert m.call(len(P.HC_NAMES)) == -P.ENOSYS and m.call(0xFFFFFFFF) == -P.ENOSYS
    assert m.call(P.HC_MMU_UPDATE, 0xFFC00000, 1) == -P.EFAULT          # list in the VMM's area
    assert m.call(P.HC_MMU_UPDATE, 0x1000, 5000) == -P.EINVAL
    assert m.call(P.HC_SET_SHARED, 0xFEE00000) == -P.EFAULT              # the local APIC
    assert m.call(P.HC_SET_RING, P.PORT_BLOCK, 0x40000000) == -P.EFAULT  # not its RAM
    assert m.call(P.HC_SET_TRAP_TABLE, 0xFFFFF000) == -P.EFAULT
    assert m.call(P.HC_UPDATE_DESC, 0, P.GUEST_GDT, 0xFFFF, 0x00CFB200) == -P.EINVAL  # a VMM slot
    assert m.call(P.HC_UPDATE_DESC, 0, 1, 0xFFFF, 0x00CF9A00) == -P.EINVAL           # DPL 0
    assert m.call(P.HC_UPDATE_DESC, 1, 3, 0xFFFF, 0x00CFB600) == -P.EINVAL           # expand-down
    assert m.call(P.HC_EVTCHN_SEND, 7) == -P.EINVAL
    assert m.call(P.HC_PORT_IO, 0x64, 0x101, 0xFE) == -P.EPERM          # the 8042's reset
    assert m.call(P.HC_SCHED_OP, 99) == -P.EINVAL
    # random: numbers, and arguments aimed at the VMM's area, past RAM, at host frames
    rng = random.Random(17)
    picks = [0, 1, 0xFFC00000, 0xFFFFFFFF, 0x7FFFFFFF, 16 << 20, vmm.memory.nframes * 4096,
             int(vf[0]) * 4096, 0x1000, 0xB8000]
    for _ in range(3000):
        nr = rng.choice([rng.randrange(0, 16), rng.randrange(1 << 32)])
        if nr == P.HC_SCHED_OP:
            continue                          # (would park the kernel: tested by the boot)
        r = m.call(nr, *(rng.choice(picks + [rng.randrange(1 << 32)]) for _ in range(4)))
        assert isinstance(r, int) and -P.ENOSYS <= r, (nr, r)
    assert digest(vf) == before                                   # the victim is untouched
    assert not pages[np.flatnonzero(mem.owner < 0)].any()          # free frames stay zero
    # the VMM goes on: the victim still answers, whatever became of the PV guest
    assert "hello from pid" in command(vmm, victim, "hello", "$ ", 60)
    vmm.shutdown()


def test_pv_and_native_images_refuse_the_wrong_mode():
    r = run_cli("vmm", "run", "machines/vm/pmos.yaml", "--mode", "pv", "--seconds", "1")
    assert r.returncode != 0 and "no PV note" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("vmm", "run", "roms_test/os/os-pv.img", "--seconds", "1")
    assert r.returncode != 0 and "only under mode 'pv'" in r.stderr and "Traceback" not in r.stderr


PRIVILEGED = re.compile(r"\t(cli|sti|hlt|in|out|ins[bwl]?|outs[bwl]?|lgdt|lidt|lldt|ltr|lmsw|clts|invlpg|"
                        r"invd|wbinvd|rdmsr|wrmsr)\b|\tmov[lw]?\s.*%(cr\d|dr\d)\b")


@needs_toolchain
def test_the_pv_image_rebuilds_from_source_with_no_privileged_instruction(tmp_path):
    """The shipped os-pv.img is its source's build; its kernel holds none of the
    privileged instructions (the native layer's 30-odd are hypercalls here), and
    the sensitive ones it still has (segment loads, IRET to ring 3, far JMP, INT)
    only in the PV layer."""
    img, objs = tmp_path / "pv.img", tmp_path / "objs"
    r = subprocess.run(["sh", str(ROOT / "roms_test" / "os" / "build.sh"), str(img)], check=False,
                       capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "OS_LAYER": "kernel/pv", "OS_KEEP": str(objs)})
    assert r.returncode == 0, r.stderr
    assert img.read_bytes() == (ROOT / "roms_test" / "os" / "os-pv.img").read_bytes()
    elf = objs / "kernel.elf"
    syms = {ln.split()[2]: int(ln.split()[0], 16) for ln in subprocess.run(
        ["nm", str(elf)], capture_output=True, text=True, check=True).stdout.splitlines() if len(ln.split()) == 3}
    lo, hi = syms["_priv_start"], syms["_priv_end"]
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    privileged, sensitive_outside, hypercalls = [], [], 0
    for line in dis.splitlines():
        m = re.match(r"\s+([0-9a-f]+):(\t.*)", line)
        if not m:
            continue
        if PRIVILEGED.search(m.group(2)):
            privileged.append(line.strip())
        elif SENSITIVE.search(m.group(2)) and not lo <= int(m.group(1), 16) < hi:
            sensitive_outside.append(line.strip())
        hypercalls += "int    $0x82" in m.group(2)
    assert not privileged, "\n".join(privileged)
    assert not sensitive_outside, "\n".join(sensitive_outside)
    assert hypercalls == 1                                   # pv_hypercall, the one entry


def test_cli_runs_pv_in_the_spectrum_with_its_stats():
    """machines/vm/spectrum.yaml: the PV build beside the CP/M system and the native
    build under trap and hw, in one `emu vmm run`; --stats gives its hypercalls per
    second by number and its ring notifications."""
    r = run_cli("vmm", "run", "machines/vm/spectrum.yaml", "--unthrottled", "--stats", "--console", "none",
                "--until", "pmos-pv:$ ", "--until", "pmos-trap:$ ", "--seconds", "150")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    row = next(ln for ln in lines if ln.startswith("pmos-pv "))
    assert " pv " in row and "running" in row, row
    hc = next(ln for ln in lines if ln.startswith("pmos-pv: hypercalls per second by number"))
    assert re.search(r"1 mmu_update \d+/s", hc) and re.search(r"6 sched_op \d+/s", hc), hc
    ring = next(ln for ln in lines if ln.startswith("pmos-pv: ring notifications"))
    assert re.search(r"block \d+/s", ring) and re.search(r"timer \d+/s", ring), ring


def test_a_state_saved_while_the_pv_kernel_ran_stops_the_vm_on_restore(tmp_path):
    """The VMM-side PV state is not in save states (docs/vmm.md): restoring one stops the
    VM with a line saying so, and a reset boots the PV kernel again."""
    vmm = VMM(64 << 20)
    v = vmm.add(load_vm(VMS / "pmos-pv.yaml", {"name": "pv-save"}))
    try:
        wait(vmm, lambda: out(v).endswith("$ "), 120, "pv-save: prompt")
        v.save(tmp_path / "pv.state")
        v.restore(tmp_path / "pv.state")
        vmm.run_until(lambda _: v.status != v.RUNNING, 10)
        assert v.status == "stopped"
        assert any("saved while the PV kernel ran" in ln for ln in v.machine.log), v.machine.log[-3:]
        n = len(out(v))
        v.reset()
        v.resume()
        v.status = v.RUNNING
        wait(vmm, lambda: out(v)[n:].endswith("$ "), 120, "pv-save: prompt after the reset")
        assert "14 hostile hypercalls refused" in out(v)[n:]
    finally:
        vmm.shutdown()


def test_a_pv_guest_moves_to_another_vmm_with_its_pv_state(tmp_path):
    """What live migration needs of mode pv: the machine's save state (guest memory,
    devices, registers) and Pv.export_state() (the VMM's side, no host frame in it)
    start the guest in a VM of another VMM, on other host frames, where its shell goes on."""
    import json
    a_vmm, b_vmm = VMM(64 << 20), VMM(96 << 20, host_order="scatter")
    try:
        a = a_vmm.add(load_vm(VMS / "pmos-pv.yaml", {"name": "pv-a"}))
        wait(a_vmm, lambda: out(a).endswith("$ "), 120, "pv-a: prompt")
        ticks = int(command(a_vmm, a, "ticks", "$ ", 60).split()[1])
        a.save(tmp_path / "a.state")
        st = json.loads(json.dumps(a.mode.export_state()))
        b = b_vmm.add(load_vm(VMS / "pmos-pv.yaml", {"name": "pv-b"}))
        b.restore(tmp_path / "a.state")
        b.mode.import_state(st)
        assert "hello from pid" in command(b_vmm, b, "hello moved", "$ ", 60)
        assert int(command(b_vmm, b, "ticks", "$ ", 60).split()[1]) >= ticks    # its own time went on
    finally:
        a_vmm.shutdown()
        b_vmm.shutdown()
