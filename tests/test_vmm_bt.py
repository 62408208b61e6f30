"""Mode bt for x86 guests (binary translation, emu/vmm/bt_x86*.py): the project's
unmodified PM OS on the default (non-virtualizable) host x86, its kernel translated
into the translation cache, beside VMs of other modes on the same host CPU.  The
reference for everything it prints is the same commands on a VM under ``emulate``
(the guest's own CPU)."""
import re

import pytest

from emu.vmm.spec import load_vm
from emu.vmm.vmm import VMM

try:
    from cores.x86 import cpu as X
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)

from tests.test_vmm import VMS, command, out, run_cli, wait
from tests.test_vmm_trap import normal

COMMANDS = ["hello world", "ps", "forktest", "filetest t.dat 3000", "fault div", "fault kernel",
            "echo hi > f", "cat f", "bench syscall 50", "bench pte 20", "bench pagefault 10",
            "bench cr3 20", "bench divzero 10", "bench inout 20", "bench callret 20",
            "bench spawn 3", "bench forkexec 3", "bench compute 2"]


@pytest.fixture(scope="module")
def reference():
    vmm = VMM(64 << 20)
    vm = vmm.add(load_vm(VMS / "pmos.yaml", {"name": "ref"}))
    wait(vmm, lambda: out(vm).endswith("$ "), 60, "emulate: prompt")
    got = {c: command(vmm, vm, c, "$ ", 90) for c in COMMANDS}
    vmm.shutdown()
    return got


@pytest.fixture(scope="module")
def spectrum():
    """bt beside emulate (the Z80 CP/M system) and hw on one default host CPU."""
    vmm = VMM(128 << 20, host_order="scatter")
    b = vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "bt", "name": "pmos-bt"}))
    c = vmm.add(load_vm(VMS / "cpm.yaml"))
    h = vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "hw", "name": "pmos-hw"}))
    wait(vmm, lambda: out(b).endswith("$ ") and out(h).endswith("$ ") and "A>" in out(c), 180,
         "bt + cpm + hw: prompts")
    yield vmm, b, c, h
    vmm.shutdown()


def test_the_pm_os_runs_under_bt_on_the_default_host_beside_other_modes(spectrum, reference):
    vmm, b, c, h = spectrum
    assert b.mode.name == "bt" and not vmm.host_cpu().strict
    for cmd in COMMANDS:
        got = command(vmm, b, cmd, "$ ", 120)
        assert normal(got) == normal(reference[cmd]), cmd
    assert "A>" in command(vmm, c, "DIR", "A>", 60)
    assert normal(command(vmm, h, "hello world", "$ ", 60)) == normal(reference["hello world"])
    st = b.mode.stats()
    bt = st["bt"]
    assert st["report"] is None and bt["blocks"] > 100 and bt["callouts"] > 0
    assert bt["chained"] > 0 and 0.5 < bt["hit_rate"] <= 1.0
    assert st["native_insns"] > 0.9 * (st["native_insns"] + st["emulated_insns"])


def test_the_guest_kernel_never_runs_directly(spectrum):
    """Whenever the host CPU runs while the guest is at virtual ring 0 it runs in the
    translation cache (the VMM's code segment, an address of the VMM's area, ring 1),
    never at the guest's own code; at virtual ring 3 it runs the guest's code itself."""
    vmm, b, _, _ = spectrum
    from emu.vmm.shadowpt import VMM_BASE
    m = b.mode
    seen = {0: 0, 3: 0}
    before = m._before_host_run

    def check(cpu):
        before(cpu)
        hs, vc = m.host.state, int(m.vcpu.state[X.CPL])
        if vc == 0:
            assert int(hs[X.SEL + X.CS]) == m.tc_cs and int(hs[X.EIP]) >= VMM_BASE
            assert int(hs[X.CPL]) == 1 and int(hs[X.EIP]) in m.tc.hmap
        else:
            assert int(hs[X.SEL + X.CS]) == int(m.vcpu.state[X.SEL + X.CS]) and int(hs[X.CPL]) == 3
        seen[vc] += 1

    m._before_host_run = check
    try:
        command(vmm, b, "bench syscall 20", "$ ", 60)
    finally:
        del m._before_host_run
    assert seen[0] > 10 and seen[3] > 10, seen


def test_a_tiny_translation_cache_is_flushed_and_refilled_unnoticed(reference, monkeypatch):
    from emu.vmm import bt_x86
    monkeypatch.setattr(bt_x86, "TC_PAGES", 2)           # 8 KiB: full many times over
    vmm = VMM(64 << 20)
    b = vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "bt", "name": "tiny"}))
    wait(vmm, lambda: out(b).endswith("$ "), 120, "bt (tiny cache): prompt")
    for cmd in ("hello world", "forktest", "bench syscall 50", "fault div"):
        assert normal(command(vmm, b, cmd, "$ ", 120)) == normal(reference[cmd]), cmd
    bt = b.mode.stats()["bt"]
    assert bt["tc_size"] == 2 * 4096 and bt["flushes"] > 5, bt
    vmm.shutdown()


def test_cli_bt_stats(tmp_path):
    from tests.test_vmm import run_cli
    r = run_cli("vmm", "run", "machines/vm/pmos.yaml", "--mode", "bt", "--unthrottled",
                "--stats", "--until", "pmos:$ ", "--seconds", "120")
    assert r.returncode == 0, r.stderr
    assert "emu-os shell" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("pmos: bt: "))
    assert re.search(r"\d+ blocks translated, cache \d+ of 1048576 bytes .* hit rate \d+\.\d%, "
                     r"\d+ exits chained, \d+ callouts/s .* \d+ blocks invalidated, \d+ flushes", line), line


def test_cli_runs_both_translators_beside_other_modes_on_the_default_cpu():
    """machines/vm/bt.yaml in one `emu vmm run` on the default (non-virtualizable) host
    CPU: CP/M's Z80 code and the PM OS's kernel, each translated, run programs beside
    CP/M under emulate and the PM OS under hw.  (The PM OS drops what is typed before
    its console driver starts, so the command begins with a space it may lose.)"""
    r = run_cli("vmm", "run", "machines/vm/bt.yaml", "--unthrottled", "--stats", "--console", "none",
                "--type", "cpm-bt:HELLO\\r", "--type", "pmos-bt: echo abc | upper\\r",
                "--until", "cpm-bt:Hello, world", "--until", "pmos-bt:ABC", "--until", "cpm:A>",
                "--until", "pmos-hw:$ ", "--seconds", "240", timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert any(ln.startswith("cpm-bt: bt (Z80 on x86): ") for ln in lines), r.stdout
    assert any(ln.startswith("pmos-bt: bt: ") for ln in lines), r.stdout
    assert not [ln for ln in lines if "first misbehaving" in ln]

