"""Server consolidation (machines/vm/consolidation.yaml): five VMs of five kinds on one
host CPU with weights; each VM's share of the guest progress follows its weight, and a
guest spinning with interrupts disabled takes its share and no more."""
from __future__ import annotations

from pathlib import Path

import pytest

from emu.vmm.spec import image_vm, load_scenario
from emu.vmm.vmm import VMM

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "machines" / "vm" / "consolidation.yaml"


def _spinner(tmp_path) -> Path:
    """A disk whose boot sector turns interrupts off and jumps to itself (CLI; JMP $):
    the smallest ATA geometry, one cylinder of 16 heads x 63 sectors."""
    img = bytearray(16 * 63 * 512)
    img[0:3] = bytes.fromhex("FA EB FE")
    img[510:512] = b"\x55\xAA"
    p = tmp_path / "clispin.img"
    p.write_bytes(bytes(img))
    return p


def _run(vmm, seconds: float) -> dict:
    base = {v.name: v.insns for v in vmm.vms}
    vmm.run(seconds)
    return {v.name: v.insns - base[v.name] for v in vmm.vms}


@pytest.mark.parametrize("spinner", [False, True], ids=["five", "five+cli-spinner"])
def test_shares_follow_weights(tmp_path, spinner):
    sc = load_scenario(SCENARIO)
    assert len({(s.mode, s.paging, s.isa) for s in sc.vms}) == 5
    vmm = VMM(sc.host_ram, host_cpu=sc.host_cpu)
    try:
        for s in sc.vms:
            vmm.add(s)
        if spinner:
            sp = image_vm(_spinner(tmp_path))
            sp.name, sp.weight = "cli-spin", 2
            vmm.add(sp)
        pm = [v for v in vmm.vms if v.name.startswith("pmos")]
        for v in pm:       # busy once booted: a ring-3 loop, the PIT preempting (typed ahead;
            v.console.feed(b"\rspin\r")                   # the first byte is lost at boot)
        _run(vmm, 3.0)                                    # (booting, costs settling)
        got = _run(vmm, 6.0)
        assert all(b"$ spin" in v.console.output for v in pm)
        assert all(not vmm.sched.idle.get(v) for v in vmm.vms)   # every one busy: shares are weights
        total = sum(got.values())
        wsum = sum(v.weight for v in vmm.vms)
        for v in vmm.vms:
            share, want = got[v.name] / total, v.weight / wsum
            assert abs(share - want) <= 0.1 * want, (v.name, share, want, got)
        if spinner:
            s = vmm.get("cli-spin").machine.cpu.state
            from cores.x86 import state as X
            assert not int(s[X.FLAGS]) & X.IF            # it did spin with interrupts off
    finally:
        vmm.shutdown()
