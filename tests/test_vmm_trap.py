"""Mode trap (trap-and-emulate, emu/vmm/trap.py): the project's PM OS with its kernel
deprivileged to ring 1 on the host x86.

* On ``--cpu strict`` (the virtualizable x86) it boots to its shell beside the
  CP/M system and runs its programs; what they print is compared with the same
  commands on a VM under ``emulate`` (the guest's own CPU: the reference), and the
  shadow page tables are checked entry by entry against the guest's own tables.
* On the default x86 the VMM reports the first sensitive instruction that does not
  trap and behaves differently: the reference for the difference is the SDM (PUSHF
  pushes the real EFLAGS.IF; at ring 1 with IOPL 0 the host's IF is on while the
  guest kernel believes it turned it off).
"""
import re
import struct

import numpy as np
import pytest

from emu.vmm.spec import load_vm
from emu.vmm.vmm import VMM

try:
    import cores.x86  # noqa: F401
    from cores.x86 import cpu as X
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)

from tests.test_vmm import VMS, command, out, run_cli, wait

COMMANDS = ["hello world", "ps", "forktest", "filetest t.dat 3000", "fault div", "fault kernel",
            "echo hi > f", "cat f", "bench syscall 50", "bench pte 20", "bench pagefault 10",
            "bench cr3 20", "bench divzero 10", "bench inout 20"]


def normal(text):
    """What the programs print, less the timing figures."""
    return re.sub(r"\d+ (us|ns|TSC|each)[^\n]*", "T", text)


@pytest.fixture(scope="module")
def reference():
    """The commands' output on the guest's own CPU (mode emulate)."""
    vmm = VMM(64 << 20)
    vm = vmm.add(load_vm(VMS / "pmos.yaml", {"name": "ref"}))
    wait(vmm, lambda: out(vm).endswith("$ "), 60, "emulate: prompt")
    got = {c: command(vmm, vm, c, "$ ", 60) for c in COMMANDS}
    vmm.shutdown()
    return got


@pytest.fixture(scope="module")
def strict():
    vmm = VMM(128 << 20, host_cpu="strict", host_order="scatter")
    t = vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "trap", "name": "pmos-t"}))
    c = vmm.add(load_vm(VMS / "cpm.yaml"))
    wait(vmm, lambda: out(t).endswith("$ ") and "A>" in out(c), 120, "trap + cpm: prompts")
    yield vmm, t, c
    vmm.shutdown()


def test_strict_host_runs_the_pm_os_under_trap_beside_cpm(strict, reference):
    vmm, t, c = strict
    assert t.mode.name == "trap" and c.mode.name == "emulate"
    for cmd in COMMANDS:
        got = command(vmm, t, cmd, "$ ", 90)
        assert normal(got) == normal(reference[cmd]), cmd
    assert "A>" in command(vmm, c, "DIR", "A>", 60)       # the Z80 guest went on beside it
    st = t.mode.stats()
    ex = st["exits"]
    # the kernel's privileged instructions trapped (#GP), pages were shadowed on hidden
    # faults, page-table writes were caught, interrupts were injected, guest faults
    # (the demand-zero heap, `fault kernel`) were the guest's own
    for k in ("gp", "pf-hidden", "pt-update", "injection", "pf-guest"):
        assert ex.get(k, 0) > 0, (k, ex)
    n, e = st["native_insns"], st["emulated_insns"]
    assert n > 0.9 * (n + e), (n, e)                      # most instructions ran on the host CPU
    assert st["report"] is None


def test_the_host_cpu_holds_the_vmm_structures_not_the_guests(strict):
    vmm, t, _ = strict
    from emu.vmm.shadowpt import VMM_BASE
    from emu.vmm.trap import SGDT_LIN, SIDT_LIN
    command(vmm, t, "hello", "$ ", 60)
    t.mode.to_host()                        # the VM's state as the host CPU runs it
    h, v = t.mode.host.state, t.mode.vcpu.state
    assert int(h[X.CPL]) in (1, 3) and int(v[X.CPL]) in (0, 3)
    assert int(h[X.CPL]) == (1 if int(v[X.CPL]) == 0 else 3)
    assert (int(h[X.GDTB]), int(h[X.IDTB])) == (SGDT_LIN, SIDT_LIN) != (int(v[X.GDTB]), int(v[X.IDTB]))
    assert int(h[X.CR0]) & X.WP and int(h[X.FLAGS]) & X.IOPL == 0
    assert int(h[X.CR3]) != int(v[X.CR3])                 # a shadow directory, in host frames
    owner = vmm.memory.owners[t.name]
    assert vmm.memory.owner[int(h[X.CR3]) >> 12] == owner
    assert int(h[X.LIMIT + X.CS]) < VMM_BASE              # segments end below the VMM's area


def _guest_translate(mode, cr3, la):
    """The guest's own page tables at ``cr3`` for ``la`` (no bits set): (gpa, U, W,
    pte) or None."""
    v = mode.vcpu.state
    pde = mode.gphys32((cr3 & ~0xFFF) | ((la >> 20) & 0xFFC))
    if not pde & 1:
        return None
    if pde & 0x80 and v[X.CR4] & X.PSE:
        return (pde & 0xFFC00000) | (la & 0x3FF000), pde & 4, pde & 2, pde
    pte = mode.gphys32((pde & ~0xFFF) | ((la >> 10) & 0xFFC))
    if not pte & 1:
        return None
    return pte & ~0xFFF, pde & pte & 4, pde & pte & 2, pte


def test_shadow_page_tables_agree_with_the_guests_own(strict):
    """Every present shadow entry of every cached address space maps what the guest's
    tables map, to this VM's frame, with no more rights than the guest gives; it is
    there only because the guest's entry is marked accessed, and is writable only
    if dirty and not a page table the VMM write-protects."""
    vmm, t, _ = strict
    command(vmm, t, "forktest", "$ ", 60)
    mode = t.mode
    mmu, space = mode.mmu, mode.space
    owner = vmm.memory.owners[t.name]
    checked = 0
    for gfn, root in mmu.spaces.items():
        if gfn == "phys":                                   # (paging off: the boot loader)
            continue
        pd = mmu._table(root)
        for pdi in np.flatnonzero(pd & 1):
            if pdi == 1023:
                continue
            pt = mmu._table(int(pd[pdi]) >> 12)
            for i in np.flatnonzero(pt & 1):
                la = (int(pdi) << 22) | (int(i) << 12)
                e = int(pt[i])
                g = _guest_translate(mode, gfn << 12, la)
                assert g is not None, hex(la)
                gpa, gu, gw, gpte = g
                assert (e & ~0xFFF) == int(space.rpage[gpa >> 12]), hex(la)
                assert vmm.memory.owner[e >> 12] == owner
                assert gpte & 0x20, hex(la)                 # accessed, as the guest sees it
                assert not (e & 4) or gu, hex(la)
                if e & 2:
                    assert gw and gpte & 0x40, hex(la)      # dirty in the guest's entry
                    assert (gpa >> 12) not in mmu.tracked, hex(la)
                checked += 1
    assert checked > 200
    for gfn in mmu.spaces:                                  # the tables themselves are tracked
        if gfn != "phys":
            assert gfn in mmu.tracked


def test_a_trap_vm_saves_and_restores(strict, tmp_path):
    vmm, t, _ = strict
    state = tmp_path / "t.state"
    command(vmm, t, "echo before > g", "$ ", 60)
    t.save(state)
    command(vmm, t, "echo after > g", "$ ", 60)
    t.restore(state)
    assert "before" in command(vmm, t, "cat g", "$ ", 60)


def test_default_host_reports_the_first_sensitive_instruction_that_misbehaves():
    vmm = VMM(64 << 20)
    t = vmm.add(load_vm(VMS / "pmos.yaml", {"mode": "trap"}))
    wait(vmm, lambda: t.status == "stopped", 120, "the lockstep report")
    r = t.mode.report
    assert r is not None, t.machine.log
    # the kernel's IF save (PUSHFD; POP EAX; CLI) in its privileged-operations layer
    code = t.mode.glin(r["eip"], 1)
    assert code == b"\x9c" and r["instruction"].startswith("pushf")
    m = re.fullmatch(r"dword at ([0-9A-F]+) ([0-9A-F]{8}) vs ([0-9A-F]{8})", r["difference"])
    assert m, r["difference"]
    own, dep = int(m[2], 16), int(m[3], 16)
    assert own ^ dep == 0x200 and not own & 0x200           # IF: off for the guest, on at ring 1
    assert f"pushfd at 0008:{r['eip']:08X}" in t.machine.log[-1]
    assert t.mode.stats()["exits"]["lockstep"] > 1000      # it ran in lockstep to get there
    vmm.shutdown()


def test_cli_trap_default_and_strict():
    r = run_cli("vmm", "run", "machines/vm/pmos.yaml", "--mode", "trap", "--unthrottled",
                "--stats", "--seconds", "120")
    assert r.returncode == 0, r.stderr
    assert "pmos: stopped (sensitive instruction pushfd at 0008:" in r.stderr
    assert "first misbehaving sensitive instruction: pushfd" in r.stdout
    # (a ring-3 loop the PIT preempts: timer interrupts are injected whatever the boot's length)
    r = run_cli("vmm", "run", "machines/vm/pmos.yaml", "--mode", "trap", "--cpu", "strict",
                "--unthrottled", "--stats", "--type", "pmos:\\rcount 2\\r", "--until", "pmos:done in",
                "--seconds", "120")
    assert r.returncode == 0, r.stderr
    assert "emu-os shell" in r.stdout
    rates = next(ln for ln in r.stdout.splitlines() if ln.startswith("pmos: trap exits per second"))
    for k in ("gp", "pf-hidden", "injection"):
        assert re.search(rf"\b{k} \d+/s", rates), rates


def test_operand_address_decodes_modrm():
    from emu.vmm.lockstep import operand_address
    regs = [0x10, 0x20, 0x30, 0x1000, 0x8000, 0x9000, 0x40, 0x50]    # EAX..EDI
    bases = {0: 0x100000, 2: 0x200000, 3: 0x300000}

    def base(i):
        return bases.get(i, 0)
    assert operand_address(b"\x0f\x01\x03", regs, True, base) == 0x301000          # sgdt [ebx]
    assert operand_address(b"\x89\x45\x08", regs, True, base) == 0x209008          # mov [ebp+8], eax: SS
    assert operand_address(b"\x26\x89\x04\x8b", regs, True, base) == 0x100000 + 0x1000 + 4 * 0x20
    assert operand_address(b"\xa3\x00\x10\x00\x00", regs, True, base) is None      # moffs: no ModRM
    assert operand_address(b"\x89\x05" + struct.pack("<I", 0x1234), regs, True, base) == 0x301234
    assert operand_address(b"\x01\xc8", regs, True, base) is None                  # register form
