"""Mode bt for the Z80 CP/M system (emu.vmm.bt_z80): its code translated into x86
code and run by the VMM's host CPU.

* The CP/M system boots and runs its programs under bt beside the same system
  under emulate and an x86 VM of another mode, in one VMM: the consoles of the
  two CP/M VMs are identical (emulate, the VMM's Z80 model, is the reference);
  FILETEST (every BDOS file function) likewise, marked slow.
* Self-modifying code: a store into the block being run, code overwritten by a
  translated LDIR, code changed from outside (a device's DMA), and CP/M loading
  one program over another's translated code.
* A translation cache of one page fills and is flushed over and over while CP/M
  runs its programs, unnoticed: the output is the reference's.
"""
import numpy as np
import pytest

from cores.z80 import Z80
from cores.z80 import cpu as Z
from cores.z80.loop import run as z80_run
from emu import abi
from emu.vmm import bt_z80
from emu.vmm.bt_z80_engine import BtError, Z80Engine
from emu.vmm.hostmem import HostMemory
from emu.vmm.spec import load_scenario, load_vm
from emu.vmm.trap import HostCPU
from emu.vmm.vmm import VMM
from tests.conftest import ROOT
from tests.test_vmm import command, out, wait

VMS = ROOT / "machines" / "vm"
PROGRAMS = (("dir", "FILETEST COM"), ("hello", "Hello, world"), ("args one two", "TAIL=[ ONE TWO]"),
            ("hello", "Hello, world"))
FILETEST = (("filetest", "FILETEST: ALL PASSED"), ("dir", "FILETEST COM"))


def run_programs(vmm, vms, programs=PROGRAMS):
    """Each command in every CP/M VM of ``vms``; their consoles afterwards."""
    for line, expect in programs:
        for vm in vms:
            assert expect in command(vmm, vm, line, "A>", 120)
    return [out(vm) for vm in vms]


def test_cpm_runs_its_programs_under_bt_beside_emulate_and_an_x86_vm():
    vmm = VMM(96 << 20, host_order="scatter")
    try:
        ref = vmm.add(load_vm(VMS / "cpm.yaml", {"name": "cpm-emu"}))
        bt = vmm.add(load_vm(VMS / "cpm.yaml", {"name": "cpm-bt", "mode": "bt"}))
        pm = vmm.add(load_vm(VMS / "pmos.yaml", {"name": "pmos-hw", "mode": "hw"}))
        wait(vmm, lambda: out(ref).endswith("A>") and out(bt).endswith("A>") and out(pm).endswith("$ "),
             180, "prompts")
        a, b = run_programs(vmm, [ref, bt])
        assert a == b
        assert "hello from pmos" in command(vmm, pm, "echo hello from pmos", "$ ", 60)
        st = bt.mode.stats()["bt_z80"]
        # the host CPU ran most instructions from translated code (the model: I/O, HALT)
        assert st["insns_translated_code"] > 0.8 * bt.insns, st
        assert st["blocks_translated"] > 100 and st["hit_rate"] > 0.9, st
        assert st["invalidations"] > 0, st      # programs loaded over translated code
        assert vmm.stats()["switches"] > 10
    finally:
        vmm.shutdown()


def test_a_one_page_translation_cache_is_flushed_and_refilled_unnoticed(monkeypatch):
    monkeypatch.setattr(bt_z80, "TC_SIZE", 4096)
    vmm = VMM(64 << 20)
    try:
        ref = vmm.add(load_vm(VMS / "cpm.yaml", {"name": "cpm-emu"}))
        bt = vmm.add(load_vm(VMS / "cpm.yaml", {"name": "cpm-bt", "mode": "bt"}))
        wait(vmm, lambda: out(ref).endswith("A>") and out(bt).endswith("A>"), 120, "prompts")
        a, b = run_programs(vmm, [ref, bt])
        assert a == b
        st = bt.mode.stats()["bt_z80"]
        assert st["tc_size"] == 4096 and st["flushes"] > 5 and st["tc_used"] <= 4096, st
    finally:
        vmm.shutdown()


@pytest.mark.slow
def test_filetest_under_bt_matches_emulate():
    """FILETEST: every BDOS file function (the disk's DMA, programs' buffers over old code)."""
    vmm = VMM(64 << 20, host_order="scatter")
    try:
        ref = vmm.add(load_vm(VMS / "cpm.yaml", {"name": "cpm-emu"}))
        bt = vmm.add(load_vm(VMS / "cpm.yaml", {"name": "cpm-bt", "mode": "bt"}))
        wait(vmm, lambda: out(ref).endswith("A>") and out(bt).endswith("A>"), 120, "prompts")
        a, b = run_programs(vmm, [ref, bt], PROGRAMS + FILETEST)
        assert a == b
    finally:
        vmm.shutdown()


def test_spectrum_scenario_has_the_cpm_system_under_bt():
    sc = load_scenario(VMS / "spectrum.yaml")
    assert {s.name: s.mode for s in sc.vms}["cpm-bt"] == "bt"


# ---- the engine alone: self-modifying code ---------------------------------------------------
class Rig:
    def __init__(self, code: bytes, at: int = 0):
        self.hm = HostMemory(8 << 20, order="scatter")
        self.host = HostCPU(self.hm, False, 25e6)
        self.cpu = Z80(4e6)
        fr = self.hm.alloc(16, "z80")
        rp = np.repeat(fr * 4096, 16) + np.tile(np.arange(16, dtype=np.int64) * 256, 16)
        self.mem = (self.hm.data, rp, rp.copy(), np.zeros(1 << 16, dtype=np.uint16),
                    np.zeros(3 * abi.IOLOG_ENTRIES, dtype=np.int64))
        self.cpu.state[abi.S_BREAK] = -1
        self.cpu.set_registers(pc=at, sp=0xFF00)
        self.poke(at, code)
        self.eng = Z80Engine(self.hm, self.host, self.cpu.state, self.mem, "z80")

    def poke(self, a: int, data: bytes) -> None:
        for i, v in enumerate(data):
            x = (a + i) & 0xFFFF
            self.hm.data[int(self.mem[1][x >> 8]) + (x & 0xFF)] = v

    def run_to_halt(self):
        for _ in range(100):
            r = self.eng.run(10_000)
            if r == abi.EXIT_HLT or self.cpu.state[Z.HALTED]:
                return self.cpu.get_registers()
        raise AssertionError("no HALT")


def reference(code: bytes, at: int = 0):
    """The same program on the Z80 core alone."""
    from emu.core import flat_memory
    cpu, mem = Z80(4e6), flat_memory(16, 8)
    cpu.state[abi.S_BREAK] = -1
    cpu.set_registers(pc=at, sp=0xFF00)
    mem[0][at:at + len(code)] = np.frombuffer(code, np.uint8)
    for _ in range(100):
        if z80_run(cpu.state, mem, 10_000) == abi.EXIT_HLT:
            break
    return cpu.get_registers()


def same(regs, ref):
    return {k: v for k, v in regs.items() if k != "r"} == {k: v for k, v in ref.items() if k != "r"}


def test_a_store_into_the_running_block_takes_effect():
    #  LD A,5 ; LD (0007h),A ; NOP ; LD B,0 (operand patched to 5) ; HALT
    code = bytes.fromhex("3E05 320700 00 0600 76")
    g = Rig(code)
    regs = g.run_to_halt()
    assert regs["b"] == 5 and same(regs, reference(code))
    assert g.eng.stats["smc"] >= 1 and g.eng.stats["invalidations"] >= 1


def test_code_overwritten_by_ldir_runs_anew():
    # 0000: CALL 0100h ; LD HL,0200h ; LD DE,0100h ; LD BC,3 ; LDIR ; CALL 0100h ; HALT
    # 0100: LD B,1 ; RET          (translated, then overwritten by 0200: INC C ; RET)
    code = bytes.fromhex("CD0001 210002 110001 010300 EDB0 CD0001 76")
    g = Rig(code)
    g.poke(0x100, bytes.fromhex("0601C9"))
    g.poke(0x200, bytes.fromhex("0CC900"))
    regs = g.run_to_halt()
    ref_code = bytearray(0x300)
    ref_code[:len(code)] = code
    ref_code[0x100:0x103] = bytes.fromhex("0601C9")
    ref_code[0x200:0x203] = bytes.fromhex("0CC900")
    ref = reference(bytes(ref_code))
    assert regs["c"] == 1 and same(regs, ref), (regs, ref)
    assert g.eng.stats["invalidations"] >= 1


def test_code_changed_from_outside_is_retranslated():
    # a loop: DEC A ; JR NZ,-3 ; HALT  run once, then replaced (as a device's DMA
    # would: straight into memory) by INC B ; NOP ; NOP, and run again
    code = bytes.fromhex("3D 20FD 76")
    g = Rig(code)
    g.cpu.set_registers(a=3)
    g.run_to_halt()
    g.poke(0, bytes.fromhex("040000"))
    g.eng.written(0, 3)                            # (what mode bt's hook on the space's writers says)
    g.cpu.set_registers(pc=0, halted=0, a=0x41)
    regs = g.run_to_halt()
    assert regs["b"] == 1 and regs["a"] == 0x41, regs
    assert g.eng.stats["invalidations"] >= 1


def test_a_cache_too_small_is_a_one_line_error():
    g = Rig(b"\x76")
    with pytest.raises(BtError):
        Z80Engine(g.hm, g.host, g.cpu.state, g.mem, "z80x", tc_size=1000)


# ---- interrupts at block boundaries ------------------------------------------------------------
IM1 = bytes.fromhex("ED56 FB 0601 0602 76")                   # IM 1 ; EI ; LD B,1 ; LD B,2 ; HALT
IM2 = bytes.fromhex("3E12 ED47 ED5E FB 0601 0602 76")          # LD A,12h ; LD I,A ; IM 2 ; EI ; ...
WAKE = bytes.fromhex("ED56 FB 76 1607 76")                     # IM 1 ; EI ; HALT ; LD D,7 ; HALT


def image(code, extra):
    img = bytearray(0x1300)
    img[:len(code)] = code
    for at, data in extra.items():
        img[at:at + len(data)] = data
    return bytes(img)


def drive(run, state, irq_at_halt=False, steps=200):
    """Run to the final HALT: the INT line up from the start (or once the CPU halts),
    acknowledged (lowered) when the CPU takes it, as an interrupt controller would."""
    state[abi.S_IRQ] = 0 if irq_at_halt else 1
    state[abi.S_IRQ_VECTOR] = 0x34
    taken = 0
    for _ in range(steps):
        r = run(3000)
        if r == abi.EXIT_IRQ_ACK:
            state[abi.S_IRQ] = 0
            taken += 1
            continue
        if state[Z.HALTED]:
            if irq_at_halt and not taken and not state[abi.S_IRQ]:
                state[abi.S_IRQ] = 1
                continue
            if taken:
                return taken
    raise AssertionError("did not finish")


@pytest.mark.parametrize("code,extra,at_halt", [
    (IM1, {0x38: bytes.fromhex("48 76")}, False),                          # LD C,B ; HALT
    (IM2, {0x1234: bytes.fromhex("4000"), 0x40: bytes.fromhex("48 76")}, False),
    (WAKE, {0x38: bytes.fromhex("0E05 FB C9")}, True),                     # LD C,5 ; EI ; RET
], ids=["im1-ei-delay", "im2", "halt-woken"])
def test_interrupts_are_taken_where_the_z80_takes_them(code, extra, at_halt):
    img = image(code, extra)
    g = Rig(img)
    taken = drive(g.eng.run, g.cpu.state, at_halt)
    from emu.core import flat_memory
    ref, mem = Z80(4e6), flat_memory(16, 8)
    ref.state[abi.S_BREAK] = -1
    ref.set_registers(pc=0, sp=0xFF00)
    mem[0][:len(img)] = np.frombuffer(img, np.uint8)
    assert taken == drive(lambda b: z80_run(ref.state, mem, b), ref.state, at_halt) == 1
    got, want = g.cpu.get_registers(), ref.get_registers()
    assert got == want, (got, want)
    for k in (abi.S_CYCLES, abi.S_INSNS):
        assert g.cpu.state[k] == ref.state[k]
    sp = want["sp"]
    stack = [int(g.hm.data[int(g.mem[1][a >> 8]) + (a & 0xFF)]) for a in (sp, sp + 1)]
    assert stack == [int(mem[0][sp]), int(mem[0][sp + 1])]
    assert g.eng.stats["insns_translated_code"] > 0


def test_out_to_a_posted_port_is_logged_without_an_exit():
    # LD A,5Ah ; OUT (30h),A ; LD A,7 ; OUT (31h),A ; HALT   port 30h posted, 31h not
    g = Rig(bytes.fromhex("3E5A D330 3E07 D331 76"))
    g.mem[3][0x5A30] = abi.IOF_POSTED
    r = g.eng.run(10_000)
    s = g.cpu.state
    assert r == abi.EXIT_IO_OUT and s[abi.S_EXIT_ADDR] == 0x0731 and s[abi.S_EXIT_DATA] == 7
    assert s[abi.S_IOLOG_COUNT] == 1 and list(g.mem[4][:2]) == [0x5A30 | (1 << 32), 0x5A]
    assert g.eng.stats["out"] == 2 and g.eng.stats["interp"] == 0
