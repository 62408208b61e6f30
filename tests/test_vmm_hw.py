"""Mode hw (VT-x-style hardware assist, emu/vmm/hw.py): the project's PM OS
unmodified at its own ring 0 in the x86 core's VMX non-root operation, with nested
paging and with shadow paging, beside a trap-and-emulate VM and the CP/M system
in one VMM.  What its programs print is compared with the same commands on the
guest's own CPU (mode emulate: the reference fixture of tests/test_vmm_trap.py);
the exits are VT-x's (SDM appendix C) for what each paging mode makes exit."""
import re

import pytest

from emu.errors import ConfigError
from emu.vmm.sensitive import classify, families
from emu.vmm.spec import load_vm
from emu.vmm.vmm import VMM
from tests.test_vmm import VMS, command, out, run_cli, wait
from tests.test_vmm_trap import COMMANDS, normal, reference  # noqa: F401  (a fixture)

try:
    from cores.x86 import cpu as X
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)


@pytest.fixture(scope="module")
def four():
    vmm = VMM(192 << 20, host_cpu="strict", host_order="scatter")
    vms = {"nested": vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "hw", "name": "pmos-n"})),
           "shadow": vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "hw", "paging": "shadow",
                                                          "name": "pmos-s"})),
           "trap": vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "trap", "name": "pmos-t"})),
           "cpm": vmm.add(load_vm(VMS / "cpm.yaml"))}
    wait(vmm, lambda: all(out(v).endswith("$ ") for k, v in vms.items() if k != "cpm")
         and "A>" in out(vms["cpm"]), 180, "four prompts")
    yield vmm, vms
    vmm.shutdown()


@pytest.mark.parametrize("paging", ["nested", "shadow"])
def test_the_pm_os_runs_under_hw_beside_the_other_modes(four, reference, paging):  # noqa: F811
    vmm, vms = four
    vm = vms[paging]
    assert vm.mode.name == "hw" and vm.mode.paging == paging
    for cmd in COMMANDS:
        assert normal(command(vmm, vm, cmd, "$ ", 90)) == normal(reference[cmd]), cmd
    assert "A>" in command(vmm, vms["cpm"], "DIR", "A>", 60)
    ex = vm.mode.stats()["exits"]
    for reason in ("I/O instruction (30)", "HLT (12)", "CPUID (10)", "injection"):
        assert ex.get(reason, 0) > 0, (reason, ex)
    if paging == "nested":
        # EPT: the guest's paging is its own; only device pages (the VGA window before
        # the card maps it directly, the APIC) are EPT violations
        assert ex.get("EPT violation (48)", 0) > 0
        for k in ("pf-hidden", "pt-update", "control-register access (28)", "INVLPG (14)"):
            assert k not in ex, (k, ex)
    else:
        # shadow paging: CR3 loads and stores, INVLPG and page faults exit
        for k in ("control-register access (28)", "INVLPG (14)", "pf-hidden", "pt-update", "pf-guest"):
            assert ex.get(k, 0) > 0, (k, ex)
    st = vm.mode.stats()
    assert st["native_insns"] > 0.99 * (st["native_insns"] + st["emulated_insns"])


def test_the_guest_runs_at_its_own_ring_0_with_its_own_tables(four):
    vmm, vms = four
    from emu.vmm.trap import SGDT_LIN
    vm = vms["shadow"]
    command(vmm, vm, "hello", "$ ", 60)
    mode = vm.mode
    mode.to_host()
    h, v = mode.host.state, mode.vcpu.state
    assert int(h[X.VMX]) == 1 and int(h[X.CPL]) == int(v[X.CPL])
    assert int(h[X.GDTB]) == int(v[X.GDTB]) != SGDT_LIN and int(h[X.IDTB]) == int(v[X.IDTB])
    assert int(h[X.SEL + X.CS]) == int(v[X.SEL + X.CS])         # no ring compression
    assert int(h[X.CR3]) != int(v[X.CR3]) and int(h[X.CR0]) & X.WP   # the VMM's paging
    assert int(h[X.CR0_SHADOW]) == int(v[X.CR0])                 # what the guest reads
    mode.to_vcpu()


def test_a_hw_vm_state_loads_into_an_emulate_vm(four, tmp_path):
    vmm, vms = four
    state = tmp_path / "n.state"
    command(vmm, vms["nested"], "echo nested > h", "$ ", 60)
    vms["nested"].save(state)
    other = VMM(64 << 20)
    try:
        e = other.add(load_vm(VMS / "pmos.yaml", {"name": "copy"}))
        e.restore(state)
        assert int(e.machine.cpu.state[X.VMX]) == 0           # (the slice ended with a VM exit)
        assert "nested" in command(other, e, "cat h", "$ ", 60)
    finally:
        other.shutdown()


def test_the_checker_finds_nothing_sensitive_under_hw():
    rows = classify(mode="hw")
    fam = families(rows)
    assert not [k for k, v in fam.items() if v == "sensitive"], fam
    exits = {r["family"]: r["difference"] for r in rows if r["kind"] == "privileged"}
    assert exits["CPUID"] == "VM exit: CPUID (10)" and exits["HLT"] == "VM exit: HLT (12)"
    assert exits["IN/OUT"] == "VM exit: I/O instruction (30)"
    # the instructions the deprivileged kernel could not run unseen run as on bare ring 0
    assert fam["SGDT"] == fam["PUSHF"] == fam["POPF"] == fam["far JMP"] == "innocuous"


def test_cli_runs_the_whole_spectrum_in_one_vmm_and_refuses_a_bad_paging(tmp_path):
    """machines/vm/spectrum.yaml: CP/M under emulate, the PM OS under trap (the
    scenario's strict host CPU) and under hw with nested and with shadow paging."""
    r = run_cli("vmm", "run", "machines/vm/spectrum.yaml", "--unthrottled", "--stats",
                "--console", "none", "--until", "cpm:A>", "--until", "pmos-trap:$ ",
                "--until", "pmos-ept:$ ", "--until", "pmos-spt:$ ", "--until", "pmos-bt:$ ",
                "--seconds", "150")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for vm, label in (("pmos-trap", "trap"), ("pmos-ept", "hw (nested paging)"),
                      ("pmos-spt", "hw (shadow paging)")):
        line = next(ln for ln in lines if ln.startswith(f"{vm}: {label} exits per second"))
        assert re.search(r"(gp|I/O instruction \(30\)) \d+/s", line), line
    assert not [ln for ln in lines if "first misbehaving" in ln]     # strict: trap is complete
    assert any(ln.startswith("pmos-bt: bt: ") for ln in lines)       # binary translation beside them
    bad = tmp_path / "bad.yaml"
    bad.write_text("vm: bad\nmachine: pc\nmode: hw\npaging: sideways\n")
    with pytest.raises(ConfigError, match="paging: must be nested or shadow"):
        load_vm(bad)
