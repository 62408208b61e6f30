"""A guest triple fault resets the CPU as a PC's chipset does, with one log line
naming the instruction (CS:EIP, its bytes read through the guest's paging, the
mnemonic) and the exception chain.

The guest (tests/x86_triple_fault.asm, assembled here with nasm) runs at linear
400000h, mapped to physical 200000h, ``mov ds,ax`` with AX = 28h beyond its GDT
limit, and its #GP, #NP and #DF gates all name a not-present code segment.  What
the chip does, by the SDM: MOV DS raises #GP(0028) (vol. 2, MOV: "segment selector
index is outside the descriptor table limits"); the #GP gate's segment is not
present: #NP(0019), the selector with EXT set (vol. 3, 6.13); two contributory
faults make #DF (table 6-5); #NP(0019) again while delivering #DF is a triple
fault (vol. 3, 6.15 interrupt 8), and the PC resets the CPU (vol. 3, 9.1.1 for
the reset state).
"""
import shutil
import subprocess

import numpy as np
import pytest

from cores.x86 import cpu
from emu import abi
from tests.conftest import ROOT
from tests.test_x86_fuzz import (
    GDT,
    HANDLERS,
    IDT,
    KSTACK,
    PT,
    Fuzzer,
    desc,
    gate,
    quiet_pm0pg,
)

YAML = """
name: tftest
description: a P6 whose BIOS triple-faults once
cpus:
  maincpu: {core: x86, clock: 200MHz, params: {model: p6}}
roms:
  bios: {file: tf.rom, size: 65536}
memory:
  maincpu:
    - {start: 0x000000, end: 0x3FFFFF, ram: main}
    - {start: 0x0F0000, end: 0x0FFFFF, rom: bios, overlay: true}
    - {start: 0xFFFF0000, end: 0xFFFFFFFF, rom: bios}
ports:
  maincpu:
    - {start: 0x80, device: post}
devices:
  post: {type: debug_port}
"""


@pytest.mark.skipif(shutil.which("nasm") is None, reason="needs nasm")
def test_triple_fault_line_and_reset(tmp_path, capsys):
    from emu.machine import Machine
    r = subprocess.run(["nasm", "-f", "bin", "-o", str(tmp_path / "tf.rom"),
                        str(ROOT / "tests" / "x86_triple_fault.asm")], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    (tmp_path / "tftest.yaml").write_text(YAML)
    m = Machine.load(tmp_path / "tftest.yaml")
    post = m.devices["post"]
    after = []                                         # the CPU right after the reset
    shutdown = m.cpu_shutdown

    def spy(c):
        shutdown(c)
        after.append((c.get_registers(), int(c.state[cpu.BASE + cpu.CS])))
    m.cpu_shutdown = spy
    assert m.run_until(lambda mm: "\x02" in post.text, 2.0), f"POST codes {post.text!r}, log {m.log}"
    assert post.text == "\x01\x02"                   # one pass, the reset, the second boot
    assert m.log == [("tftest: maincpu: triple fault at 0008:00400004 (8E D8: mov ds,ax): "
                      "#GP(0028) -> #NP(0019) -> #DF -> #NP(0019) -> triple fault; CPU reset")]
    assert m.log[0] in capsys.readouterr().err
    # the reset state (SDM vol. 3, table 9-1): the first fetch at FFFFFFF0h, real mode
    assert len(after) == 1
    r, cs_base = after[0]
    assert (r["cs"], cs_base, r["eip"]) == (0xF000, 0xFFFF0000, 0xFFF0)
    assert r["cr0"] == 0x60000010 and r["cr3"] == 0 and r["cr4"] == 0 and r["cpl"] == 0
    assert r["idtr"] == (0, 0xFFFF) and r["gdtr"] == (0, 0xFFFF)
    assert r["eflags"] == 2 and r["esp"] == 0 and (r["edx"] >> 8) & 0xF == 6   # family 6
    assert not r["halted"]


def test_double_fault_after_a_serial_page_fault():
    """The longest chain that is not yet a triple fault (SDM vol. 3, tables 6-4 and
    6-5): #UD (benign) whose gate names a not-present code segment raises #NP
    (handled serially); pushing #NP's frame onto a not-present stack page raises
    #PF (contributory then page fault: serially); pushing #PF's frame faults again
    (page fault then page fault): #DF, which a task gate delivers on a fresh stack.
    The core used to give up after three deliveries and shut down instead."""
    f = Fuzzer()
    s = quiet_pm0pg(f)
    d = f.mem[0]

    def put(a, b):
        d[a:a + len(b)] = np.frombuffer(b, dtype=np.uint8)
    put(GDT + 0x68, desc(0, 0xFFFFF, 0x1B, 0xC))       # 68: code, not present
    put(IDT + 6 * 8, gate(0, 0x68, 0xE))               # #UD -> 68:0
    put(IDT + 8 * 8, gate(0, 0x30, 0x5))               # #DF -> task gate, TSS 30h
    for v in (11, 14):
        put(IDT + v * 8, gate(HANDLERS + 16 * v, 0x08, 0xE))
    stack = 0x200000                                   # a not-present page under ESP
    put(PT + 4 * (stack >> 12), (stack | 6).to_bytes(4, "little"))
    s[cpu.ESP] = stack + 0x1000
    put(s[cpu.EIP], bytes.fromhex("0F 0B"))            # UD2
    r = type(f.cpu).run(s, f.mem, 2000)
    assert abi.EXIT_NAMES[r] == "hlt", f.cpu.exception_chain()
    assert int(s[cpu.TR]) == 0x30 and int(s[cpu.EIP]) == HANDLERS + 16 * 255 + 1   # the #DF task
    assert int(s[cpu.CR2]) == stack + 0xFFC            # the first push of #PF's frame
    esp = int(s[cpu.ESP])
    assert esp == KSTACK - 0x800 - 4 and d[esp:esp + 4].view("<u4")[0] == 0         # #DF's error code

