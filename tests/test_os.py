"""The project's protected-mode OS (roms_test/os) on the pc machine: it boots
from the ATA hard disk to its shell, takes commands from the PS/2 keyboard and
from COM1, runs ring-3 programs preemptively, survives their faults, and a
kernel panic shows on both consoles with the CPU halted, interrupts off.  Each
test boots a copy of os.img, never the shipped file."""
import os
import re
import shutil
import subprocess
import time

import pytest

from emu.machine import Machine
from tests.conftest import ROOT

try:
    import cores.x86  # noqa: F401
except ImportError as e:
    pytest.skip(f"cores.x86 is not importable ({e})", allow_module_level=True)

OS = ROOT / "roms_test" / "os"
BANNER = "emu-os 0.1: protected mode, kernel at 1 MiB"
PROMPT = b"$ "


class Session:
    def __init__(self, m):
        self.m = m
        self.com = m.devices["com1"]

    @property
    def out(self):
        return self.com.backend.output.decode("latin1")

    def screen(self):
        return [line.rstrip() for line in self.m.devices["vga"].text_lines()]

    def wait_for(self, text, seconds=10, start=0):
        ok = self.m.run_until(lambda mm: text in self.out[start:], seconds)
        assert ok, f"{text!r} not seen; serial output:\n{self.out[start:]}"

    def command(self, line, via="keyboard", seconds=10):
        """Type a line, wait for the next prompt; the output in between."""
        start = len(self.out)
        if via == "keyboard":
            self.m.type(line + "\r")
        else:
            self.com.backend.feed((line + "\r").encode())
        ok = self.m.run_until(lambda mm: self.out[start:].endswith("\n$ "), seconds)
        assert ok, f"no prompt after {line!r}; serial output:\n{self.out[start:]}"
        text = self.out[start:].replace("\r\n", "\n")
        assert text.startswith(line + "\n"), text          # the shell echoes the line
        return text[len(line) + 1:-2]


@pytest.fixture
def os_session(tmp_path):
    img = tmp_path / "os.img"
    shutil.copyfile(OS / "os.img", img)
    m = Machine.load("pc", {"hdd": img})
    s = Session(m)
    s.wait_for("\n$ ")
    yield s
    m.shutdown()


def test_boots_to_the_shell_on_both_consoles(os_session):
    s = os_session
    assert s.out.startswith(BANNER + "\r\n")
    assert "paging on" in s.out and "emu-os shell, pid 1" in s.out
    screen = s.screen()
    assert screen[0] == BANNER
    assert screen[2] == "fs: 1 files"
    assert screen[3].startswith("emu-os shell, pid 1")
    assert screen[4] == "$"
    crtc = s.m.devices["vga"].crtc                    # the hardware cursor after "$ "
    assert int(crtc[0x0E]) << 8 | int(crtc[0x0F]) == 4 * 80 + 2
    r = s.m.cpus["maincpu"].get_registers()
    assert r["cr0"] & 0x80000001 == 0x80000001        # protected mode and paging
    assert r["tr"] == 0x28 and r["gdtr"][1] == 6 * 8 - 1


def test_keyboard_and_serial_commands(os_session):
    s = os_session
    assert s.command("echo typed on the keyboard") == "typed on the keyboard\n"
    assert s.screen()[5] == "typed on the keyboard"
    crtc = s.m.devices["vga"].crtc
    assert int(crtc[0x0E]) << 8 | int(crtc[0x0F]) == 6 * 80 + 2
    assert s.command("echo sent on COM1", via="serial") == "sent on COM1\n"
    assert "sent on COM1" in s.screen()
    out = s.command("hello world", via="serial")
    assert out == "hello from pid 2 in ring 3, arg 'world'\n"
    assert s.command("no-such-program") == "no-such-program: command not found\n"
    assert "sh hello fault count spin true bench filetest forktest cat echo wc upper" \
        in s.command("help")
    out = s.command("mem")
    assert "0000000000100000 0000000000f00000 type 1" in out      # E820 from the loader


def test_typeahead_several_lines_at_once(os_session):
    """Lines sent in one burst are all run: none of the bytes after a newline are lost."""
    s = os_session
    start = len(s.out)
    s.com.backend.feed(b"".join(b"echo line %d\r" % i for i in range(8)) + b"hello ahead\r")
    s.wait_for("arg 'ahead'\r\n$ ", start=start)
    out = s.out[start:].replace("\r\n", "\n")
    assert [f"line {i}" for i in range(8)] == re.findall(r"^line \d$", out, re.MULTILINE)


def test_vga_console_scrolls(os_session):
    s = os_session
    start = len(s.out)
    s.com.backend.feed(b"".join(b"echo row %d\r" % i for i in range(20)))
    s.wait_for("row 19\r\n$ ", start=start)
    screen = s.screen()
    assert screen[24] == "$" and screen[23] == "row 19" and screen[22] == "$ echo row 19"
    assert screen[0] != BANNER
    crtc = s.m.devices["vga"].crtc
    assert int(crtc[0x0E]) << 8 | int(crtc[0x0F]) == 24 * 80 + 2


def test_backspace_edits_the_line(os_session):
    s = os_session
    start = len(s.out)
    s.m.type("echo abX")
    s.wait_for("echo abX", start=start)
    s.m.key_event("backspace", True)
    s.m.step_frame(1)
    s.m.key_event("backspace", False)
    s.m.type("c\r")
    s.wait_for("\nabc\r\n$ ", start=start)


def test_user_faults_end_the_process_not_the_kernel(os_session):
    s = os_session
    for arg, what in (("", r"page fault at eip 4000[0-9a-f]{4}, address 00000000"),
                      ("kernel", r"page fault at eip 4000[0-9a-f]{4}, address 00100000"),
                      ("div", r"divide error at eip 4000[0-9a-f]{4}"),
                      ("cli", r"general protection at eip 4000[0-9a-f]{4}")):
        out = s.command(f"fault {arg}".strip())
        assert re.search(r"fault\[\d+\]: segmentation fault \(" + what + r"\)\n\[exit 139\]\n$",
                         out), out
        assert "still alive" not in out
    assert s.command("fault args") == ("fault: args\n"
                                       "write -1 read -1 spawn -1 resume -1 sbrk -1 unknown -1\n")
    assert s.command("echo still here") == "still here\n"
    assert "fault" not in s.command("ps")                       # the slots are free again


def test_preemptive_scheduling_and_kill(os_session):
    s = os_session
    spinners = [int(re.fullmatch(r"\[(\d+)\]\n", s.command("spin &")).group(1))
                for _ in range(4)]                              # loop, never yield
    out = s.command("ps")                                       # the shell still runs
    for pid in spinners:
        assert re.search(rf"^\s+{pid}\s+1 run\s+spin$", out, re.MULTILINE), out
    for pid in spinners[1:]:
        assert s.command(f"kill {pid}") == f"[{pid}] done, exit 137\n"
    pid = spinners[0]
    more = [s.command("spin &") for _ in range(15)]             # 16 process slots in all
    assert more.count("spin: too many processes\n") == 1, more
    for line in more[:-1]:
        assert s.command(f"kill {line[1:-2]}").endswith(" done, exit 137\n")
    out = s.command("count 2")
    assert re.search(r"count\[\d+\]: done in \d+ ticks", out), out
    assert s.command(f"kill {pid}") == f"[{pid}] done, exit 137\n"     # reaped at the prompt
    assert f" {pid} " not in s.command("ps")
    assert s.command(f"kill {pid}") == f"kill: no process {pid}\n"
    assert s.command("kill bogus") == "kill: no process bogus\n"


def test_files_survive_a_reboot(tmp_path):
    img = tmp_path / "os.img"
    shutil.copyfile(OS / "os.img", img)
    m = Machine.load("pc", {"hdd": img})
    s = Session(m)
    s.wait_for("\n$ ")
    assert "fs: 1 files" in s.out
    assert s.command("cat readme").startswith("Welcome to emu-os.")
    assert s.command("echo first line > note") == ""
    assert s.command("echo second line >> note", via="serial") == ""
    assert s.command("cat note") == "first line\nsecond line\n"
    assert s.command("filetest") == "filetest: wrote and read back 5000 bytes of filetest.dat\n"
    assert s.command("filetest big 99999") == "filetest: size 0 to 14336\n[exit 1]\n"
    assert s.command("cat nosuch") == "cat: nosuch: no such file\n"
    assert s.command("echo x >") == "echo: cannot write there\n"
    assert s.command("rm readme") == "" and s.command("rm readme") == "rm: readme: no such file\n"
    m.shutdown()                                    # the disk is written back here
    assert img.read_bytes() != (OS / "os.img").read_bytes()
    m = Machine.load("pc", {"hdd": img})            # the same copy, booted again
    s = Session(m)
    s.wait_for("\n$ ")
    assert "fs: 2 files" in s.out
    assert s.command("ls") == "    23 note\n  5000 filetest.dat\n"
    assert s.command("cat note") == "first line\nsecond line\n"
    m.shutdown()


def test_benchmarks_print_count_and_time(os_session):
    """bench: system call, IN, CR3 switch, PTE rewrite, demand-zero page faults,
    divide errors resumed by the program's own handler, call/ret, spawn+wait, compute."""
    s = os_session
    free = re.search(r"free pages: (\d+)", s.command("mem")).group(1)
    out = s.command("bench", seconds=30)
    names = re.findall(r"^bench (\w+): (\d+) in (\d+) us, (\d+) ns each, \d+ TSC cycles, \d+ each$",
                       out, re.MULTILINE)
    assert [n[0] for n in names] == ["syscall", "inout", "cr3", "pte", "pagefault", "divzero",
                                     "callret", "spawn", "forkexec", "compute"], out
    assert all(int(us) > 0 for _, _, us, _ in names)
    assert "CPU: invlpg cpuid tsc" in s.out                   # the pc is a P6: RDTSC times too
    assert s.command("bench divzero 3").startswith("bench divzero: 3 in ")
    assert s.command("bench nosuch") == "bench: no benchmark nosuch\n[exit 1]\n"
    assert re.search(r"free pages: (\d+)", s.command("mem")).group(1) == free    # no leak


def test_fork_copy_on_write_and_exec(os_session):
    s = os_session
    free = re.search(r"free pages: (\d+)", s.command("mem")).group(1)
    out = s.command("forktest")
    assert out == ("forktest child 0: shared=101\n"
                   "forktest child 1: shared=102\n"
                   "forktest child 2: shared=103\n"
                   "forktest child 2: buf='Welcome'\n"        # the kernel wrote its copy
                   "forktest child 3: shared=104\n"
                   "hello from pid 6 in ring 3, arg 'from exec'\n"
                   "forktest parent: shared=100 buf='parent's buffer' exit codes 1230\n"), out
    assert re.search(r"free pages: (\d+)", s.command("mem")).group(1) == free    # no leak


def test_pipes_and_redirection(os_session):
    s = os_session
    assert s.command("echo hello world | upper") == "HELLO WORLD\n"
    assert s.command("cat readme | upper | wc") == "1 15 84\n"
    assert s.command("count 2 | upper", via="serial").startswith("COUNT[")
    assert s.command("hello x > out") == ""
    assert s.command("hello y >> out") == ""
    assert re.fullmatch(r"hello from pid (\d+) in ring 3, arg 'x'\n"
                        r"hello from pid (\d+) in ring 3, arg 'y'\n", s.command("cat out"))
    assert s.command("cat out | wc > count") == "" and re.fullmatch(r"2 18 7\d\n", s.command("cat count"))
    assert s.command("hello z > out") == "" and re.fullmatch(r"1 9 3\d\n", s.command("cat out | wc"))
    assert s.command("ps | wc") == "4 16 94\n"           # header, sh, ps, wc
    assert s.command("ls > files") == ""
    assert re.fullmatch(r"    84 readme\n +\d+ out\n +\d+ count\n     0 files\n",
                        s.command("cat files"))
    # bad pipelines: messages, never a hang or a leaked pipe
    assert s.command("echo a | nosuch") == "nosuch: command not found\n"
    assert s.command("| x") == "sh: empty command in a pipeline\n"
    assert s.command("hello >") == "sh: one file name after > or >>\n"
    assert s.command("a | b | c | d | e") == "sh: at most 4 programs in a pipeline\n"
    assert "segmentation fault" in s.command("fault | wc")
    for _ in range(10):                             # more pipelines than pipes: all freed
        assert s.command("echo x | wc") == "1 1 2\n"


def test_ctrl_c_ends_the_foreground_program_and_the_shell_comes_back(os_session):
    s = os_session
    start = len(s.out)
    s.com.backend.feed(b"spin\r")
    s.m.run_for(0.3)
    s.com.backend.feed(b"\x03")                     # Ctrl-C on the serial line
    s.wait_for("^C\r\n[exit 130]\r\n$ ", start=start)
    start = len(s.out)
    s.m.type("spin\r")
    s.wait_for("spin\r\n", start=start)
    kbc = s.m.devices["kbc"]
    for key, down in (("left ctrl", True), ("c", True), ("c", False), ("left ctrl", False)):
        kbc.key_event(key, down)
        s.m.step_frame(1)
    s.wait_for("^C\r\n[exit 130]\r\n$ ", start=start)
    assert s.command("echo alive") == "alive\n"
    out = s.command("exit")                          # the first shell's end starts another
    assert re.fullmatch(r"sh\[1\] ended \(0\): starting a new shell\n"
                        r"emu-os shell, pid \d+; type help\n", out), out
    assert s.command("echo again") == "again\n"


def test_kernel_panic_shows_everywhere_and_halts(os_session):
    s = os_session
    s.m.type("kfault\r")
    s.wait_for("System halted.")
    out = s.out[s.out.index("KERNEL PANIC"):]
    assert out.startswith("KERNEL PANIC: page fault in the kernel\r\n")
    # CR0: PG PE ET, and CD NW as the P6 leaves them after reset (SDM vol. 3, table 9-1)
    assert re.search(r"CR0=e0000011 CR2=fffff000 CR3=[0-9a-f]{8} vector=14 error=00000000", out)
    screen = "\n".join(s.screen())
    assert "KERNEL PANIC: page fault in the kernel" in screen and "EIP=" in screen
    s.m.run_for(0.3)
    r = s.m.cpus["maincpu"].get_registers()
    assert r["halted"] and not r["eflags"] & 0x200          # HLT with IF clear: inspectable
    assert s.out.endswith("System halted.\r\n")


# ---- the image, its source and its privileged-operations layer ------------------------
def _have_toolchain():
    if not (shutil.which("nasm") and shutil.which("gcc") and shutil.which("ld")
            and shutil.which("objdump")):
        return False
    r = subprocess.run(["gcc", "-m32", "-ffreestanding", "-c", "-x", "c", "-", "-o", "/dev/null"],
                       input="int x;", capture_output=True, text=True, check=False)
    return r.returncode == 0


needs_toolchain = pytest.mark.skipif(not _have_toolchain(),
                                     reason="needs nasm, gcc -m32 and binutils")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("osbuild")
    src = d / "os"
    shutil.copytree(OS, src)
    (src / "os.img").unlink()
    r = subprocess.run(["sh", str(src / "build.sh")], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "OS_KEEP": str(d / "objs")}, check=False)
    assert r.returncode == 0, r.stderr
    return src / "os.img", d / "objs"


@needs_toolchain
def test_rebuild_matches_the_shipped_image(built):
    img, _ = built
    assert img.read_bytes() == (OS / "os.img").read_bytes()
    assert len(img.read_bytes()) % (16 * 63 * 512) == 0       # whole cylinders


# Robin & Irvine's sensitive instructions and the privileged ones
SENSITIVE = re.compile(
    r"\t(cli|sti|hlt|in|out|ins[bwl]?|outs[bwl]?|lgdt|lidt|lldt|ltr|lmsw|clts|invlpg|invd|"
    r"wbinvd|iret[dw]?|pushf[lw]?|popf[lw]?|sgdt|sidt|sldt|str|smsw|lar|lsl|verr|verw|"
    r"lcall|ljmp|lret|int3?|into|rdmsr|wrmsr)\b|"
    r"\t(mov|push|pop)[lw]?\s.*%(cr\d|dr\d|[cdefgs]s)\b")


@needs_toolchain
def test_privileged_instructions_only_in_the_priv_layer(built):
    _, objs = built
    elf = objs / "kernel.elf"
    syms = {}
    for line in subprocess.run(["nm", str(elf)], capture_output=True, text=True, check=True).stdout.split("\n"):
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    lo, hi = syms["_priv_start"], syms["_priv_end"]
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(elf)],
                         capture_output=True, text=True, check=True).stdout
    inside, outside = [], []
    for line in dis.split("\n"):
        m = re.match(r"\s+([0-9a-f]+):(\t.*)", line)
        if m and SENSITIVE.search(m.group(2)):
            (inside if lo <= int(m.group(1), 16) < hi else outside).append(line.strip())
    assert not outside, "\n".join(outside)
    assert len(inside) > 30                                    # the check sees the layer


# ---- the same image on real-hardware models -----------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("qemu-system-i386") is None, reason="needs qemu-system-i386")
def test_boots_under_qemu(tmp_path):
    img = tmp_path / "os.img"
    shutil.copyfile(OS / "os.img", img)
    p = subprocess.Popen(["qemu-system-i386", "-drive", f"file={img},format=raw,if=ide",
                          "-serial", "stdio", "-display", "none", "-monitor", "none",
                          "-no-reboot"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    os.set_blocking(p.stdout.fileno(), False)
    out = b""

    def until(text, seconds=30):
        nonlocal out
        end = time.time() + seconds
        while text not in out and time.time() < end:
            out += p.stdout.read() or b""
            time.sleep(0.05)
        return text in out
    try:
        assert until(b"\n$ "), out
        assert out.startswith(BANNER.encode() + b"\r\n")
        p.stdin.write(b"hello qemu\r")
        p.stdin.flush()
        assert until(b"arg 'qemu'\r\n$ "), out
        assert b"hello from pid 2 in ring 3" in out
        assert b"fs: 1 files" in out                      # ATA PIO on QEMU's IDE
        p.stdin.write(b"filetest\r")
        p.stdin.flush()
        assert until(b"filetest: wrote and read back 5000 bytes of filetest.dat\r\n$ "), out
        assert b"CPU: invlpg cpuid tsc" in out                # QEMU's CPU has them
        p.stdin.write(b"bench callret 1000\r")
        p.stdin.flush()
        assert until(b" TSC cycles, "), out                   # RDTSC time where there is one
    finally:
        p.kill()
        p.wait()


def test_emu_bench_boots_the_os_and_runs_its_compute_benchmark():
    from emu.bench import bench_os
    r = bench_os()
    assert r["compute_n"] == 200000 and r["compute_guest_us"] > 0
    assert 0 < r["boot_guest_s"] < 5 and r["boot_s"] > 0


BOCHSRC = """megs: 32
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=disk, path=os.img, mode=flat, cylinders=2, heads=16, spt=63
boot: disk
cpu: ips=20000000
com1: enabled=1, mode=file, dev=com1.log
display_library: term
speaker: enabled=0
log: bochs.log
panic: action=fatal
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bochs") is None or not os.path.exists(
    "/usr/share/bochs/BIOS-bochs-latest"), reason="needs Debian's bochs, bochsbios, bochs-term")
def test_boots_under_bochs(tmp_path):
    """Bochs's BIOS and ATA model: the same banner, the file system read, the prompt
    (Debian's bochs is a debugger build: "-rc" feeds it "c"; term display in a pty)."""
    import select
    import signal
    shutil.copyfile(OS / "os.img", tmp_path / "os.img")
    (tmp_path / "bochsrc.txt").write_text(BOCHSRC)
    (tmp_path / "rc").write_text("c\n")
    log = tmp_path / "com1.log"
    master, slave = os.openpty()
    p = subprocess.Popen(["bochs", "-q", "-f", "bochsrc.txt", "-rc", "rc"], cwd=tmp_path,
                         stdin=slave, stdout=slave, stderr=slave,
                         env={**os.environ, "TERM": "xterm"}, start_new_session=True)
    os.close(slave)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and not (log.exists() and b"\n$ " in log.read_bytes()):
            if select.select([master], [], [], 0.2)[0]:
                try:
                    os.read(master, 65536)               # keep the terminal drained
                except OSError:
                    break
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        os.close(master)
    text = log.read_bytes().decode("latin1") if log.exists() else ""
    assert text.startswith(BANNER + "\r\n"), text
    assert "fs: 1 files" in text and "emu-os shell, pid 1" in text and text.endswith("$ ")
