"""The debugger (emu.debugger): every command family on the toy machine (its ROM is
roms_test/toy/demo.asm: 'loop:' at 42h, the tick handler at 8, the tick counter at
8000h, port 10h acknowledges the timer), then the x86 specifics on the pc machine
(SEG:OFF, interrupt vectors, watchpoints across interrupt entry) and the CLI prompt."""
import subprocess
import sys

import pytest

from emu import Machine, abi
from emu.debugger import DebugError
from emu.debugger.expr import Evaluator

LOOP, HANDLER, TICKS = 0x42, 0x08, 0x8000


@pytest.fixture
def toy():
    m = Machine.load("toy")
    m.debugger.GO_LIMIT = 3.0
    return m


def test_expressions():
    ev = Evaluator({"a": 5, "pc": 0x42}, lambda a, n: 0x1234 if n == 2 else 0x34)
    assert ev.eval("7c00") == 0x7C00
    assert ev.eval("0x10 + #10") == 26
    assert ev.eval("a*2") == 10                      # a register wins over hex A
    assert ev.eval("(pc+1) << 4") == 0x430
    assert ev.eval("a==5 && pc!=0") == 1
    assert ev.eval("w@100") == 0x1234 and ev.eval("b@100") == 0x34
    for bad in ("zz", "1+", "(1", "4/0", "$"):
        with pytest.raises(DebugError):
            ev.eval(bad)


def test_breakpoint_step_and_registers(toy):
    d = toy.debugger
    assert d.command("bp 42") == "breakpoint 1 at 42"
    out = d.command("g")
    assert out.startswith("breakpoint 1 at 42") and toy.cpu.pc == LOOP
    assert toy.console.text.startswith("HELLO")     # the program ran up to the loop
    assert "1 at 42  hits 1" in d.command("bplist")
    assert d.command("s").startswith("step") and toy.cpu.pc == 0x45
    d.command("s 2")
    assert toy.cpu.pc not in (LOOP, 0x45)
    assert "PC=" in d.command("r")
    d.command("r a=7E")
    assert toy.cpu.get_registers()["a"] == 0x7E
    d.command("bpclear 1")
    assert d.command("bplist") == "no breakpoints"
    assert toy.cpu.state[abi.S_BREAK] == -1            # nothing set: no hook, no break slot
    assert not toy.scheduler.cpu_hooks


def test_two_breakpoints_and_conditions(toy):
    d = toy.debugger
    d.command("bp 42")
    d.command("bp 50")                                # 'ticks:'
    assert d.command("g").startswith("breakpoint 1")
    assert d.command("g").startswith("breakpoint 2") and toy.cpu.pc == 0x50
    d.command("bpclear")
    d.command(f"bp {HANDLER:x},b@8000==3")             # the fourth tick
    d.command("g")
    assert toy.cpu.pc == HANDLER and toy.memory[TICKS] == 3


def test_breakpoint_hit_at_start_of_a_run(toy):
    """A breakpoint at an interrupt handler's first instruction: the core's S_BREAK does
    not fire on the first instruction of a run (after the IRQ exit); the debugger does."""
    d = toy.debugger
    d.command(f"bp {HANDLER:x}")
    d.command("g")
    assert toy.cpu.pc == HANDLER
    ticks = toy.memory[TICKS]
    d.command("g")                                    # the next tick
    assert toy.cpu.pc == HANDLER and toy.memory[TICKS] == ticks + 1


def test_go_to_over_and_out(toy):
    d = toy.debugger
    assert d.command("g 42").startswith("stopped at 42") and toy.cpu.pc == LOOP
    assert d.command("bplist") == "no breakpoints"    # the temporary one is gone
    d.command(f"bp {HANDLER:x}")
    d.command("g")
    d.command("bpclear")
    assert d.command("out").startswith("returned to")  # RETI leaves the handler
    assert toy.cpu.pc != HANDLER
    d.command("o")                                     # no call here: a step


def test_port_and_interrupt_breakpoints(toy):
    d = toy.debugger
    d.command("bpio 10")
    out = d.command("g")
    assert "on port 10 (in)" in out and toy.cpu.pc == 0x0B   # before IN A,(10h)
    d.command("bpclear")
    d.command("bpio 20")                               # a posted port: un-posted meanwhile
    assert toy.spaces["maincpu"].ioflags[0x20] == 0
    toy.reset()
    assert "on port 20 (out 50)" in d.command("g")
    d.command("bpclear")
    assert toy.spaces["maincpu"].ioflags[0x20] == abi.IOF_POSTED
    d.command("bpint ff")                              # the timer device drives FFh
    d.command("g")
    assert toy.cpu.pc == HANDLER


def test_watchpoints(toy):
    d = toy.debugger
    d.command("wp 8000,1,w")
    out = d.command("g")
    assert out.startswith("watchpoint 1: write to 8000-8000 at 8")   # INC [8000h]
    assert toy.cpu.pc == 0x0B                          # stopped after the instruction
    assert "hits 1" in d.command("wplist")
    d.command("wpclear")
    d.command("g 42")
    d.command("wp 8000,1,r")                           # 'ticks:' reads the counter
    out = d.command("g")
    assert out.startswith("watchpoint 3: read of 8000-8000 at 50")  # (the temporary bp was 2)
    d.command("wpclear")
    assert not toy.spaces["maincpu"].read_traps and not toy.spaces["maincpu"].trapped


def test_memory_commands(toy):
    d = toy.debugger
    assert d.command('e 8100,1,2,"AB"') == "4 bytes written at 8100"
    assert toy.memory[0x8100:0x8104] == b"\x01\x02AB"
    assert d.command("d 8100,4").split()[1:5] == ["01", "02", "41", "42"]
    d.command("f 8200,8,aa,55")
    assert toy.memory[0x8200:0x8208] == b"\xaa\x55" * 4
    assert d.command("find 8000,400,aa,55") == "found at 8200 8202 8204 8206"
    assert d.command('find 8000,400,"AB"') == "found at 8102"
    assert d.command("find 8000,10,99") == "not found"
    assert "F0" in d.command("d f000,2")               # MMIO console: not read (no side effect)
    assert "??" in d.command("d f000,2")
    assert "JMP 000Eh" in d.command("dasm 0,1")
    assert d.command("dasm").startswith(">0000")
    assert d.command("? 10+#10") == "1Ah (26)"


def test_trace_to_file(toy, tmp_path):
    d = toy.debugger
    f = tmp_path / "t.log"
    d.command(f"trace {f}")
    d.command("s 5")
    d.command("trace off")
    lines = f.read_text().splitlines()
    assert len(lines) == 5 and lines[0].startswith("00000000") and "JMP 000Eh" in lines[0]


@pytest.mark.parametrize("line,msg", [
    ("frobnicate", "unknown command 'frobnicate'"),
    ("bp zz", "bad expression 'zz'"),
    ("bp", "missing address"),
    ("wp 8000", "usage wp"),
    ("wp 8000,1,x", "must be r, w or rw"),
    ("bpclear 77", "no breakpoint 77"),
    ("d 0,0", "length"),
    ("e 8000", "usage e"),
    ("bp 0:100", "SEG:OFF is for x86 only"),
    ("s 0", "at least 1"),
    ("r q=1", "no register"),
])
def test_bad_input_is_one_line_and_the_machine_runs_on(toy, line, msg):
    with pytest.raises(DebugError) as e:
        toy.debugger.command(line)
    assert msg in str(e.value) and "\n" not in str(e.value)
    toy.step_frame(70)
    assert toy.console.text.startswith("HELLO") and "T" in toy.console.text[7:]


def test_no_hook_without_breakpoints(toy):
    toy.step_frame(5)
    assert not toy.scheduler.cpu_hooks and toy.cpu.state[abi.S_BREAK] == -1


def test_cli_debug_prompt():
    script = "bp 42\ng\nr\ns\n\nfoo\nbpclear; wp 8000,1\ng\nquit\n"
    r = subprocess.run([sys.executable, "-m", "emu", "run", "toy", "--debug"], input=script,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "breakpoint 1 at 42" in out and "PC=42" in out
    assert out.count("step") >= 2                      # an empty line repeats the step
    assert "error: unknown command 'foo'" in out
    assert "watchpoint 2: write to 8000-8000" in out


# ---- x86 (pc machine, roms_test/x86/hello.asm at 0000:7C00) ---------------------------
@pytest.fixture(scope="module")
def pc():
    m = Machine.load("pc")
    m.debugger.GO_LIMIT = 3.0
    return m


def test_x86_segment_offset_breakpoint_and_registers(pc):
    d = pc.debugger
    out = d.command("bp 07c0:0")                        # = 0000:7C00 (linear 7C00)
    assert out == "breakpoint 1 at 7C00"
    assert d.command("g").startswith("breakpoint 1 at 7C00")
    assert "cli" in d.command("dasm cs:ip,1")
    d.command("s 5")                                   # cli; xor; mov ds, es, ss
    assert pc.cpu.pc == 0x7C09
    d.command("s")                                     # mov sp, 7C00h
    assert pc.cpu.get_registers()["sp"] == 0x7C00 and pc.cpu.pc == 0x7C0C
    d.command("bpclear")
    assert d.command("d ds:7dfe,2").split()[1:3] == ["55", "AA"]
    assert d.command("d p:7dfe,2").split()[1:3] == ["55", "AA"]
    d.command("r ax=1234")
    assert pc.cpu.get_registers()["eax"] & 0xFFFF == 0x1234
    d.command("r ax=0")


def test_x86_interrupt_breakpoint_and_watch_through_interrupt_entry(pc):
    d = pc.debugger
    d.command("bpint 8")                               # IRQ 0 (timer) through the 8259
    out = d.command("g")
    assert "on interrupt 08" in out
    ivt = pc.memory[0x20] | pc.memory[0x21] << 8 | pc.memory[0x22] << 16 | pc.memory[0x23] << 24
    assert pc.cpu.pc == (ivt >> 16) * 16 + (ivt & 0xFFFF)
    d.command("bpclear")
    # the IVT entry (read by the entry the core makes) and the stack (written by it)
    d.command("wp 20,4,r")
    assert "watchpoint" in d.command("g") and "read of 20-23" in d.stop_reason
    d.command("wpclear")
    sp = pc.cpu.get_registers()["sp"]
    d.command(f"wp ss:{sp - 2:x},2,w")
    d.command("g")
    assert d.stop_reason.startswith("watchpoint") and "write to" in d.stop_reason
    d.command("wpclear")
    pc.step_frame(30)                                  # the guest is still sound
    assert pc.cpu.pc >= 0x7C00


def test_x86_page_walk_without_side_effects(pc):
    from cores.x86 import state as X
    from emu.debugger.x86 import translate
    s = pc.cpu.state
    saved = s.copy()
    ram = bytearray(0x4000)
    # page directory at 0x1000: PDE 0 -> page table at 0x2000; PTE 5 -> 0x3000
    ram[0x1000:0x1004] = (0x2000 | 3).to_bytes(4, "little")
    ram[0x2000 + 5 * 4:0x2000 + 5 * 4 + 4] = (0x3000 | 1).to_bytes(4, "little")
    ram[0x1004:0x1008] = (0x400000 | 0x83).to_bytes(4, "little")   # a 4 MiB page

    def rd32(pa):
        return int.from_bytes(ram[pa:pa + 4], "little") if pa + 4 <= len(ram) else None
    try:
        s[X.CR0] |= X.PG | X.PE
        s[X.CR3] = 0x1000
        s[X.CR4] |= X.PSE
        assert translate(pc.cpu, rd32, 0x5123) == 0x3123
        assert translate(pc.cpu, rd32, 0x6000) is None                  # not present
        assert translate(pc.cpu, rd32, 0x5123, write=True) == 0x3123    # CPL 0, no WP
        s[X.CR0] |= X.WP
        assert translate(pc.cpu, rd32, 0x5123, write=True) is None      # read-only page
        assert translate(pc.cpu, rd32, 0x412345) == 0x412345
        assert ram[0x1000] == 0x03                                     # no A bit set
    finally:
        s[:] = saved


def test_the_window_hotkey_prompt_goes_back_with_g_and_quits_with_quit():
    """The backquote key's prompt (emu/frontend.py): ``g`` hands the machine back to the
    window loop, which runs it; commands before it act on the stopped machine."""
    import io

    from emu.debugger.repl import repl
    m = Machine.load("cpm")
    try:
        m.run_for(0.1)
        out = io.StringIO()
        pc = m.cpu.pc
        assert repl(m, stdin=["s", "g", "r"], out=out, window=True) == "resume"
        assert m.cpu.pc != pc                          # the step ran; "r" was not read
        assert "back to the window" in out.getvalue()
        assert repl(m, stdin=["quit"], out=io.StringIO(), window=True) == "quit"
    finally:
        m.shutdown()
