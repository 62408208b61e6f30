"""Script hooks (Machine.on_exec / on_read / on_write / on_port, on top of the debugger's
breakpoints and watchpoints), x86 exception and mode-switch breakpoints, and 32-bit
disassembly in the debugger.

Facts used: roms_test/cpm/bios.asm (the BIOS jump table at FA00h, CONOUT at FA0Ch:
``ld a,c; out (CONDAT_P=01h),a``), roms_test/cpm/progs/hello.com (``ld de,msg; ld c,9;
call 5; ret`` with msg at 109h, printed by BDOS function 9), roms_test/os (the PM OS:
``fault div`` divides by zero in ring 3, ``fault kernel`` writes to 00100000h, a
supervisor page, and the kernel reports what it was told)."""
import re
import shutil

import pytest

from emu import Machine, abi
from emu.breaks import table_of
from emu.debugger import DebugError
from tests.conftest import ROOT

CPM = ROOT / "roms_test" / "cpm"
HELLO = (CPM / "progs" / "hello.com").read_bytes()
MSG = 0x109                                           # msg: in hello.asm
CONOUT = 0xFA0C                                       # BIOS jump table entry 4


@pytest.fixture(scope="module")
def cpm():
    m = Machine.load("cpm")
    assert m.console.wait_for("A>", 10)
    m.console.take()
    return m


def _run_command(m, line):
    m.type(line + "\r")
    assert m.run_until(lambda mm: mm.console.text.endswith("\r\nA>"), 30), m.console.text
    return m.console.take()


def test_cpm_hooks_see_what_the_guest_does_and_the_machine_goes_on(cpm):
    m = cpm
    starts, chars, ports, reads, writes = [], [], [], [], []
    hooks = [
        m.on_exec(0x100, lambda mm: starts.append(int(mm.cpu.state[abi.S_INSNS]))),
        m.on_exec(CONOUT, lambda mm: chars.append(mm.cpu.get_registers()["c"])),
        m.on_port(1, lambda mm, a: ports.append(a)),
        m.on_read(range(MSG, len(HELLO) + 0x100), lambda mm, a: reads.append(a)),
        m.on_write((MSG, len(HELLO) + 0x100), lambda mm, a: writes.append(a)),
    ]
    assert m.scheduler.cpu_hooks                       # hooks installed the debugger's loop
    out = _run_command(m, "hello")
    assert "Hello, world from CP/M!" in out            # the machine went on
    assert len(starts) == 1                            # the TPA entered once
    text = out.encode()
    assert bytes(chars) == text                        # every character passed CONOUT (C)
    assert bytes(a.value for a in ports if a.kind == "out") == text   # ... and OUT (01h),A
    assert all(a.addr & 0xFF == 1 for a in ports)      # (A15-A8 carry A on the Z80)
    assert "".join(chr(a.value) for a in ports if a.kind == "in") == "hello\r"   # CONIN
    # BDOS 9 read every byte of msg up to and including '$', each with its value
    assert sorted({a.addr for a in reads}) == list(range(MSG, 0x100 + len(HELLO)))
    assert all(a.size == 1 and a.value == HELLO[a.addr - 0x100] for a in reads)
    # loading HELLO.COM wrote the bytes of the file there (a disk DMA: one changed span)
    got = {}
    for a in writes:
        for i in range(a.size):
            got[a.addr + i] = (a.value >> (8 * i)) & 0xFF
    assert all(got[x] == HELLO[x - 0x100] for x in range(MSG, 0x100 + len(HELLO)))
    assert all(h.calls > 0 for h in hooks)
    for h in hooks:
        h.remove()
    assert not m.scheduler.cpu_hooks and m.cpu.state[abi.S_BREAK] == -1
    sp = m.spaces["maincpu"]
    assert not sp.read_traps and not sp.write_traps and not sp.io_hold
    n = len(chars)
    assert "Hello" in _run_command(m, "hello") and len(chars) == n    # removed: not called


def test_one_exec_hook_runs_whole_slices_and_a_hook_can_stop(cpm):
    m = cpm
    seen = []

    def fn(mm):
        seen.append(mm.cpu.pc)
        if len(seen) == 3:
            mm.stop_requested = "third character"
    h = m.on_exec(CONOUT, fn)
    d = m.debugger
    # the core's break table holds it: whole slices, no stepping
    assert not d._stepping and table_of(m.cpu.state, m.cpu.break_table) == [CONOUT]
    m.type("dir\r")
    for _ in range(200):
        m.step_frame()
        if m.stop_requested:
            break
    assert m.stop_requested == "third character" and seen == [CONOUT] * 3
    m.stop_requested = None
    h.remove()
    h.remove()                                         # twice: harmless
    assert "HELLO" in m.console.take() + _wait_prompt(m)


def _wait_prompt(m):
    assert m.run_until(lambda mm: mm.console.text.endswith("A>"), 30)
    return m.console.take()


def test_hooks_and_breakpoints_together(cpm):
    m = cpm
    calls = []
    h = m.on_exec(0x100, lambda mm: calls.append(1))
    d = m.debugger
    d.command("bp 100")
    m.type("hello\r")
    out = d.resume(max_seconds=10)
    assert out.startswith("breakpoint") and m.cpu.pc == 0x100 and calls == [1]
    assert d.command("bplist").count("at 100") == 1    # the hook is not listed
    d.command("bpclear")                               # ... nor deleted
    assert h.active
    d.resume(max_seconds=0.5)
    assert calls == [1]                                # not called again at the same arrival
    h.remove()
    _wait_prompt(m)


@pytest.mark.parametrize("call,msg", [
    (lambda m: m.on_exec("zz", print), "bad expression"),
    (lambda m: m.on_exec(0x100, 5), "not callable"),
    (lambda m: m.on_read(range(5, 5), print), "bad range"),
    (lambda m: m.on_write((10, 2), print), "bad range"),
    (lambda m: m.on_port(0x10000, print), "bad port"),
    (lambda m: m.on_read(range(0x20000), print), "hook range"),
])
def test_bad_hooks_are_refused_in_one_line(cpm, call, msg):
    with pytest.raises(DebugError) as e:
        call(cpm)
    assert msg in str(e.value) and "\n" not in str(e.value)
    assert not cpm.scheduler.cpu_hooks


# ---- x86: exception breakpoints --------------------------------------------------------
def test_x86_real_mode_exception_breakpoint_delivers_as_the_cpu_would():
    """A tiny real-mode program on the pc machine: MOV AX,1; XOR CX,CX; DIV CX at 0600h,
    the #DE handler at 0700h (IVT entry 0).  The stop is before the DIV; going on, the
    handler sees the frame a 286+ pushes for a fault: IP of the DIV, CS, FLAGS."""
    m = Machine.load("pc")
    d = m.debugger
    d.GO_LIMIT = 5.0
    d.command("bp 7c00")
    assert d.resume().startswith("breakpoint")
    d.command("bpclear")
    prog = bytes.fromhex("B8 0100 31C9 F7F1 90")
    m.memory[0x600:0x600 + len(prog)] = prog
    m.memory[0x700:0x705] = bytes.fromhex("BB 5500 EBFE")          # mov bx,55h; jmp $
    m.memory[0:4] = bytes([0x00, 0x07, 0x00, 0x00])               # IVT 0 -> 0000:0700
    m.cpu.set_registers(cs=0, ip=0x600, ss=0, sp=0x7000, bx=0, flags=0x0002)
    assert d.command("bpexc 0") == "breakpoint 2 on exception 00h (#DE)"
    out = d.resume()
    assert out.startswith("breakpoint 2 on exception 00h (#DE), no error code at 605")
    r = m.cpu.get_registers()
    assert m.cpu.pc == 0x605 and r["ax"] == 1 and r["sp"] == 0x7000   # DIV not done
    assert "div cx" in d.command("dasm").lower()
    d.command("bpclear")
    d.command("bp 700")
    d.resume()
    r = m.cpu.get_registers()
    assert m.cpu.pc == 0x700 and r["sp"] == 0x7000 - 6
    frame = m.memory[0x7000 - 6:0x7000]
    assert frame[0] | frame[1] << 8 == 0x605 and frame[2:4] == b"\0\0"   # IP of the DIV, CS 0
    assert frame[4] | frame[5] << 8 == 0x0046              # FLAGS after XOR CX,CX: ZF PF (+ bit 1)
    d.command("bpclear")
    assert d._exc_mine == 0 and not m.cpu.state[abi.S_INTERCEPT]         # intercept lifted


@pytest.fixture
def pmos(tmp_path):
    img = tmp_path / "os.img"
    shutil.copyfile(ROOT / "roms_test" / "os" / "os.img", img)
    m = Machine.load("pc", {"hdd": img})
    m.debugger.GO_LIMIT = 10.0
    yield m
    m.shutdown()


def _serial(m):
    return m.devices["com1"].backend.output.decode("latin1")


def _boot_shell(m):
    assert m.run_until(lambda mm: "\n$ " in _serial(mm), 30), _serial(m)


def _until_prompt(m, start):
    assert m.run_until(lambda mm: _serial(mm)[start:].endswith("\n$ "), 15), _serial(m)[start:]
    return _serial(m)[start:].replace("\r\n", "\n")


def test_pm_os_divide_error_and_page_fault_breakpoints(pmos):
    m = pmos
    d = m.debugger
    _boot_shell(m)
    d.command("bpexc 0")
    start = len(_serial(m))
    m.type("fault div\r")
    out = d.resume()
    stop = re.match(r"breakpoint 1 on exception 00h \(#DE\), no error code at ([0-9A-F]+)", out)
    assert stop, out
    eip = int(stop.group(1), 16)
    r = m.cpu.get_registers()
    assert r["cpl"] == 3 and r["eip"] == eip and m.cpu.pc == eip       # ring 3, flat CS
    assert " div " in d.command("dasm eip,1").lower()                  # fault.c's divl
    d.command("bpclear")
    text = _until_prompt(m, start)                                     # delivered: the kernel
    assert f"(divide error at eip {eip:08x})" in text                  # saw the same fault

    # #PF: demand-zero faults of the program come first; the write to 00100000h (a
    # supervisor page: present, write, user = error code 7) is the one that kills it
    d.command("bpexc e")
    start = len(_serial(m))
    m.type("fault kernel\r")
    for _ in range(50):
        out = d.resume()
        assert "exception 0Eh (#PF), error code" in out, out
        if "CR2 will be 00100000" in out:
            break
    stop = re.match(r"breakpoint 2 on exception 0Eh \(#PF\), error code 0007, "
                    r"CR2 will be 00100000 at ([0-9A-F]+)", out)
    assert stop, out
    eip = int(stop.group(1), 16)
    assert d.last_exception == (14, 7, 0x100000)
    # a step delivers it: the CPU is at the handler of the IDT (priv.asm stub_14: push 14)
    idt = int(m.cpu.state[62])                                         # IDTB
    gate = d.read_bytes(idt + 14 * 8, 8)
    handler = gate[0] | gate[1] << 8 | gate[6] << 16 | gate[7] << 24
    assert d.command("s").startswith("step") and m.cpu.pc == handler
    assert m.cpu.get_registers()["cpl"] == 0
    assert int(m.cpu.state[80]) == 0x100000                            # CR2
    assert "push 0eh" in d.command("dasm pc,1").lower()
    d.command("bpclear")
    text = _until_prompt(m, start)
    assert f"(page fault at eip {eip:08x}, address 00100000)" in text
    assert "[exit 139]" in text


def test_pm_os_32_bit_disassembly_in_the_kernel(pmos, tmp_path):
    """priv.asm's trap_common, reached from stub_14 (push 14; jmp trap_common), decoded as
    32-bit code: pushad, push ds/es/fs/gs, mov ax,0x10 (66 B8 10 00: four bytes with the
    operand-size prefix in a 32-bit segment), ..., call trap (E8 and a 32-bit offset)."""
    m = pmos
    d = m.debugger
    _boot_shell(m)
    d.command("bpexc e")
    m.type("fault\r")
    assert "#PF" in d.resume()
    d.command("bpclear")
    d.command("s")                                     # into stub_14
    d.command("s 2")                                   # push 14; jmp trap_common
    lines = d.command("dasm pc,11").lower().splitlines()
    ops = [ln.split(None, 1)[1] for ln in lines]
    assert ops[0].endswith("pushad") and "push ds" in ops[1] and "push gs" in ops[4]
    assert ops[5].startswith("66 b8 10 00") and "mov ax,0010h" in ops[5]
    assert ops[10].startswith("e8 ") and len(ops[10].split("call")[0].split()) == 5
    target = int(ops[10].split("call")[1].strip().rstrip("h"), 16)
    pc10 = int(lines[10].split()[0].lstrip(">"), 16)
    rel = int.from_bytes(bytes(d.read_bytes(pc10 + 1, 4)), "little", signed=True)
    assert target == (pc10 + 5 + rel) & 0xFFFFFFFF                     # rel32, not rel16
    trace = tmp_path / "trace.log"                     # trace decodes 32-bit code too
    d.command(f"trace {trace}")
    d.command("s 6")
    d.command("trace off")
    got = [ln.split(None, 1)[1].lower() for ln in trace.read_text().splitlines()]
    assert len(got) == 6 and "pushad" in got[0] and got[5].startswith("66 b8 10 00")
    d.command("g")
    _until_prompt(m, 0)


def test_bad_exception_and_mode_breakpoints_are_one_line(pmos, cpm):
    d = pmos.debugger
    for line, msg in (("bpexc 40", "no exception"), ("bpexc 3", "use bpint"),
                      ("bpexc", "missing vector"), ("bpexc e,zz", "bad expression"),
                      ("bpmode foo", "usage bpmode"), ("bpmode real,v86", "usage bpmode")):
        with pytest.raises(DebugError) as e:
            d.command(line)
        assert msg in str(e.value) and "\n" not in str(e.value)
    for line in ("bpexc 0", "bpmode"):
        with pytest.raises(DebugError) as e:
            cpm.debugger.command(line)
        assert "x86" in str(e.value)
    assert not pmos.debugger.bps
    _boot_shell(pmos)                                  # the machine runs on


# ---- x86: mode-switch breakpoints -----------------------------------------------------------
def test_mode_switch_breakpoint_exact_and_at_exits(tmp_path):
    """The OS loader (roms_test/os/boot/loader.asm): ``mov cr0, eax`` (PE set) then
    ``jmp 0x08:pm``.  exact stops right after the MOV; the check at exits stops later,
    in protected mode, never before."""
    img = tmp_path / "os.img"
    shutil.copyfile(ROOT / "roms_test" / "os" / "os.img", img)
    m = Machine.load("pc", {"hdd": img})
    d = m.debugger
    assert "every instruction; now real" in d.command("bpmode protected,exact")
    out = d.resume(max_seconds=10)
    assert re.match(r"breakpoint 1 on mode switch: real -> protected at [0-9A-F]+\n", out), out
    pc = m.cpu.pc
    assert bytes(d.read_bytes(pc - 3, 3)) == bytes.fromhex("0F 22 C0")   # mov cr0, eax
    assert d.read(pc) == 0xEA and "jmp far 0008h:" in d.command("dasm pc,1").lower()
    exact_insns = int(m.cpu.state[abi.S_INSNS])
    d.command("bpclear")
    assert d.command("bpmode real") .endswith("now protected)")
    assert d.resume(max_seconds=1).startswith("still running")        # no switch back
    d.command("bpclear")
    assert not m.scheduler.cpu_hooks
    m.shutdown()

    m = Machine.load("pc", {"hdd": img})
    d = m.debugger
    d.command("bpmode")
    out = d.resume(max_seconds=10)
    assert "real -> protected" in out and "at most one run slice" in out
    assert d.cpu_mode() == "protected"
    assert int(m.cpu.state[abi.S_INSNS]) >= exact_insns
    d.command("bpclear")
    m.shutdown()
