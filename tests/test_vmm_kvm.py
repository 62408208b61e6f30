"""Mode kvm (emu/vmm/kvm.py): the guest's CPU on the host processor through Linux KVM,
its exits served by the VM's own device models.

The guest is roms_test/vmm/kvmboot.img booted by the project's BIOS on the ``pc``
board; what it prints on COM1 is checked against the host's own CPU
(/proc/cpuinfo) and against values computed here.  The tests that run a guest
under KVM skip only where the host has no /dev/kvm."""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from emu import abi
from emu.errors import EmuError
from emu.vmm.spec import image_vm, load_vm
from emu.vmm.vmm import VMM
from tests.conftest import ROOT

try:
    import cores.x86  # noqa: F401
    from cores.x86 import cpu as X
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)

from emu.vmm import kvm  # (after emu.vmm.vmm, whose modes import it: not first)
from tests.test_vmm import VMS, out, run_cli, wait

IMAGE = ROOT / "roms_test" / "vmm" / "kvmboot.img"
needs_kvm = pytest.mark.skipif(not os.path.exists("/dev/kvm"),
                               reason="this host has no /dev/kvm: mode kvm needs Linux KVM")
DONE = "KVM-GUEST PM"
# the machine's line for it (KVM reports where it stopped, not the exceptions before #DF)
TRIPLE = r"kvmboot: maincpu: triple fault at 0008:[0-9A-F]{8} \(0F 0B: ud2\): #DF -> triple fault; CPU reset"


def kvm_vm(vmm, name="kvmboot", mode="kvm"):
    spec = image_vm(IMAGE)
    spec.name, spec.mode, spec.console = name, mode, "com1"
    return vmm.add(spec)


def xorshift(n):
    x = 1
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
    return x


def cpuinfo():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if not line.strip():
                break
            info.setdefault(k.strip(), v.strip())
    return info


def signature(eax):
    """(family, model, stepping) of CPUID.1:EAX as Linux shows them (SDM vol. 2A, CPUID)."""
    family, model = (eax >> 8) & 0xF, (eax >> 4) & 0xF
    if family == 0xF:
        family += (eax >> 20) & 0xFF
    if family in (6, 0xF):
        model += ((eax >> 16) & 0xF) << 4
    return family, model, eax & 0xF


def finished(vm):
    o = out(vm)
    return DONE in o and o.endswith("\n")


@needs_kvm
def test_the_guest_boots_through_the_bios_on_the_host_cpu():
    vmm = VMM(64 << 20)
    vm = kvm_vm(vmm)
    try:
        wait(vmm, lambda: finished(vm), 40, "the kvm guest's last line")
        text = out(vm)
        # the first boot triple-faulted (KVM_EXIT_SHUTDOWN): the PC reset the CPU, the BIOS
        # booted the floppy again
        assert text.startswith("KVM-GUEST START 00000001\nKVM-GUEST START 00000002\n"), text
        assert len(vm.machine.log) == 1 and re.fullmatch(TRIPLE, vm.machine.log[0]), vm.machine.log
        m = re.search(r"KVM-GUEST OK (\S+) ([0-9A-F]{8}) ([0-9A-F]{8}) ([0-9A-F]{8})\n", text)
        assert m, text
        info = cpuinfo()
        # CPUID ran on the host processor: its vendor, its family/model/stepping, its brand
        assert m.group(1) == info["vendor_id"]
        fam, model, step = signature(int(m.group(3), 16))
        assert (fam, model) == (int(info["cpu family"]), int(info["model"]))
        if "stepping" in info and info["stepping"].isdigit():
            assert step == int(info["stepping"])
        assert int(m.group(2), 16) > 1                    # (the emulated CPU's highest leaf is 1)
        assert int(m.group(4), 16) == xorshift(10000)     # the loop ran, and ran right
        assert f"KVM-GUEST CPU {info['model name']}\n" in text
        assert "KVM-GUEST HV KVMKVMKVM\n" in text
        # string I/O (REP INSB / REP OUTSB: exits with a count), the timer interrupt waking
        # the guest from HLT, protected mode
        assert "KVM-GUEST REP 40404040\n" in text
        assert "KVM-GUEST REP 40404040\n" in vm.machine.devices["debug"].text
        assert re.search(r"KVM-GUEST TICKS 0000000[3-9]\n", text), text
        assert "KVM-GUEST PM 60000011\n" in text
        st = vm.mode.stats()
        for reason in ("io", "mmio", "hlt", "intr"):
            assert st["exits"].get(reason, 0) > 0, st
        assert st["exits"]["shutdown"] == 1 and vm.exits["shutdown"] == 1
        assert st["injected"] >= 3 and st["kvm_runs"] > 100 and st["slots"] >= 3
        assert vm.exits["io-out"] and vm.exits["io-in"] and vm.exits["hlt"] and vm.exits["irq-ack"]
        # the state array holds the guest where KVM left it: halted in flat 32-bit code
        s = vm.machine.cpu.state
        assert s[X.CR0] & X.PE and s[X.HALTED] == 1 and not s[X.FLAGS] & X.IF
        assert s[X.SEL + X.CS] == 0x08 and s[X.ATTR + X.CS] & 0xCFF == 0xC9B and s[X.CSD] == 1
        assert s[X.SEL + X.SS] == 0x10 and s[X.LIMIT + X.SS] == 0xFFFFFFFF and s[X.SSB] == 1
        assert s[X.CPL] == 0 and s[X.GDTL] == 23 and s[X.ESP] <= 0x7C00
        assert s[abi.S_INSNS] > 0 and vm.guest_time > 0.1
        assert vm.status == "running"
    finally:
        vmm.shutdown()
    assert vmm.memory.free_frames == vmm.memory.nframes


@needs_kvm
def test_a_kvm_save_state_goes_on_under_emulate_and_back_under_kvm(tmp_path):
    vmm = VMM(64 << 20)
    a = kvm_vm(vmm)
    try:
        # saved while the guest waits in HLT for its timer ticks (its REP line is out)
        wait(vmm, lambda: "KVM-GUEST REP" in out(a) and out(a).endswith("\n"), 40, "REP line")
        state = tmp_path / "kvm.state"
        a.save(state)
        wait(vmm, lambda: finished(a), 40, "kvm guest done")
        # back into the kvm VM, which had finished: the state is loaded into the vCPU again
        n = out(a).count(DONE)
        a.restore(state)
        wait(vmm, lambda: out(a).count(DONE) == n + 1 and out(a).endswith("\n"), 40, "kvm again")
        assert re.search(r"TICKS 0000000[3-9]\nKVM-GUEST PM 60000011\n$", out(a)), out(a)
        assert len(a.machine.log) == 1 and re.fullmatch(TRIPLE, a.machine.log[0]), a.machine.log
        # (a VM halted for good beside one waiting for its timer: the fair-share scheduler
        # would give every turn to the halted one, whose progress no longer grows)
        vmm.remove(a.name)
        # the same state on the VMM's software x86: it waits for the ticks and goes on
        b = kvm_vm(vmm, "emu", mode="emulate")
        b.restore(state)
        wait(vmm, lambda: finished(b), 60, "the restored state under emulate")
        assert re.search(r"KVM-GUEST TICKS 0000000[3-9]\nKVM-GUEST PM 60000011\n", out(b)), out(b)
        assert "KVM-GUEST OK" not in out(b)                 # (it did not boot again)
        assert not b.machine.log
    finally:
        vmm.shutdown()


@needs_kvm
def test_kvm_beside_cpm_under_emulate_in_one_vmm():
    vmm = VMM(96 << 20, host_order="scatter")           # (frames spread: one KVM slot each)
    cpm = vmm.add(load_vm(VMS / "cpm.yaml"))
    k = kvm_vm(vmm)
    try:
        assert cpm.mode.name == "emulate" and k.mode.name == "kvm"
        wait(vmm, lambda: out(cpm).endswith("A>") and finished(k), 60, "CP/M prompt and kvm guest")
        assert k.mode.stats()["slots"] > 1000           # (15 MiB of scattered extended memory)
        start = len(out(cpm))
        cpm.console.feed(b"dir\r")
        wait(vmm, lambda: out(cpm)[start:].rstrip().endswith("A>") and "HELLO" in out(cpm)[start:],
             30, "CP/M dir")
        # the kvm guest idles in HLT meanwhile; both had many turns on the host CPU
        assert k.machine.cpu.state[X.HALTED] == 1
        st = vmm.stats()
        assert all(v["slices"] > 3 and v["switches"] > 1 for v in st["vms"])
        assert len(k.machine.log) == 1 and re.fullmatch(TRIPLE, k.machine.log[0]), k.machine.log
        assert not cpm.machine.log
    finally:
        vmm.shutdown()
    assert vmm.memory.free_frames == vmm.memory.nframes and not vmm.memory.data.any()


@needs_kvm
def test_a_map_needing_more_slots_than_kvm_has_stops_the_vm_with_one_line():
    vmm = VMM(64 << 20, host_order="scatter")
    vm = kvm_vm(vmm)
    try:
        vm.mode.k.max_slots = 16
        vm.mode.invalidate()
        vmm.step()
        assert vm.status == "stopped"
        line = vm.machine.log[-1]
        assert re.fullmatch(r"kvmboot: kvmboot: mode 'kvm': its memory map needs \d+ KVM memory "
                            r"slots, this KVM has 16 \(host frames too scattered\)", line), line
    finally:
        vmm.shutdown()


def test_a_z80_guest_under_kvm_is_refused_in_one_line():
    vmm = VMM(64 << 20)
    with pytest.raises(EmuError, match=r"^cpm: mode 'kvm' runs x86 guests; this VM's CPU is z80 "
                                       r"\(use --mode emulate\)$"):
        vmm.add(load_vm(VMS / "cpm.yaml", {"mode": "kvm"}))
    assert not vmm.vms and vmm.memory.free_frames == vmm.memory.nframes
    vmm.shutdown()


def test_no_kvm_on_the_host_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(kvm, "KVM_DEVICE", str(tmp_path / "kvm"))
    vmm = VMM(64 << 20)
    with pytest.raises(EmuError, match=r"^kvmboot: mode 'kvm' needs .*/kvm \(this host has no KVM"):
        kvm_vm(vmm)
    assert not vmm.vms and vmm.memory.free_frames == vmm.memory.nframes
    vmm.shutdown()


def test_memory_slots_are_runs_contiguous_in_guest_and_host():
    P = 4096
    rp = np.full(64, abi.PAGE_MMIO, dtype=np.int64)
    wp = rp.copy()
    rp[0:4] = wp[0:4] = np.arange(4) * P + 10 * P          # RAM, one run
    rp[4:6] = wp[4:6] = np.array([20, 21]) * P              # RAM, contiguous in the guest only
    rp[8:10] = np.array([30, 31]) * P                       # ROM
    wp[8:10] = abi.PAGE_ROM
    rp[10:12] = wp[10:12] = np.array([32, 33]) * P          # RAM after the ROM: its own slot
    rp[12:16] = 50 * P                                      # the open-bus page, many times
    wp[12:16] = abi.PAGE_ROM
    assert kvm.slot_runs(rp, wp, (50 * P,)) == [
        (0, 4, 10 * P, False), (4, 2, 20 * P, False), (8, 2, 30 * P, True), (10, 2, 32 * P, False)]
    assert len(kvm.slot_runs(rp, wp)) == 8                  # (open bus not skipped: 4 more)


@needs_kvm
@pytest.mark.parametrize("mode", [["--mode", "kvm"], ["--mode", "hw", "--accel", "kvm"]])
def test_cli_runs_a_disk_image_under_mode_kvm(mode):
    r = run_cli("vmm", "run", str(IMAGE.relative_to(ROOT)), *mode, "--unthrottled", "--stats",
                "--until", f"kvmboot:{DONE}", "--seconds", "60", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "kvmboot | KVM-GUEST HV KVMKVMKVM" in r.stdout and f"kvmboot | {DONE}" in r.stdout
    assert re.search(r"^kvmboot +pc +kvm ", r.stdout, re.MULTILINE), r.stdout       # the VM's mode
    assert "kvmboot: kvm exits per second: io " in r.stdout


@pytest.mark.skipif(shutil.which("nasm") is None, reason="needs nasm")
def test_the_shipped_image_is_what_its_source_assembles_to(tmp_path):
    img = tmp_path / "kvmboot.img"
    r = subprocess.run(["nasm", "-I", str(ROOT / "roms_test" / "x86") + "/", "-f", "bin", "-o", str(img),
                        str(ROOT / "roms_test" / "vmm" / "kvmboot.asm")], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    code = img.read_bytes()
    data = IMAGE.read_bytes()
    assert len(data) == 1474560 and data[510:512] == b"\x55\xaa"
    assert data[:len(code)] == code and not any(data[len(code):])
