"""The project's own CP/M 2.2-compatible OS (roms_test/cpm) booted headless on
the `cpm` machine: CCP built-ins, transient programs, the BDOS file functions
(through FILETEST.COM) and exchange of files with Debian's cpmtools."""
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("cores.z80")
from emu.machine import Machine  # noqa: E402

CPM = Path(__file__).resolve().parents[1] / "roms_test" / "cpm"
IMG = CPM / "cpm.img"
SSSD = 77 * 26 * 128
cpmtools = pytest.mark.skipif(shutil.which("cpmcp") is None, reason="needs cpmtools")


def boot(media=None):
    m = Machine.load("cpm", media)
    assert m.console.wait_for("A>", 10), m.console.text
    m.console.take()
    return m


def cmd(m, line, prompt="A>", seconds=30):
    m.type(line + "\r")
    assert m.run_until(lambda mm: mm.console.text.endswith("\r\n" + prompt), seconds), \
        m.console.text
    return m.console.take()


def disk_copy(tmp_path, name="a.img"):
    p = tmp_path / name
    shutil.copy(IMG, p)
    return p


def blank_disk(tmp_path, name):
    p = tmp_path / name
    subprocess.run(["mkfs.cpm", "-f", "ibm-3740", str(p)], check=True, capture_output=True)
    with open(p, "r+b") as f:
        f.truncate(SSSD)
    return p


def test_build_outputs():
    assert len((CPM / "cpmboot.rom").read_bytes()) == 256
    img = IMG.read_bytes()
    assert len(img) == SSSD
    assert img[:6656] == (CPM / "system.bin").read_bytes()


def test_cold_boot_dir_and_hello():
    m = Machine.load("cpm")
    assert m.console.wait_for("A>", 10)
    assert "CP/M 2.2 compatible" in m.console.take()
    out = cmd(m, "DIR")
    assert "A: ARGS     COM : FILETEST COM : HELLO    COM" in out
    assert "Hello, world from CP/M!" in cmd(m, "hello")       # lower case works too


def test_filetest_all_bdos_checks_pass():
    m = boot()
    out = cmd(m, "FILETEST", seconds=60)
    assert "FAIL" not in out, out
    assert out.count("PASS ") >= 30
    assert "FILETEST: ALL PASSED" in out


def test_unknown_command_and_bad_names():
    m = boot()
    assert "NOSUCH?" in cmd(m, "NOSUCH")
    assert "FOO*?" in cmd(m, "FOO*")
    assert "NO FILE" in cmd(m, "TYPE NOSUCH.TXT")
    assert "NO FILE" in cmd(m, "DIR *.XYZ")


def test_save_ren_type_era_user():
    m = boot()
    cmd(m, "SAVE 2 DATA.BIN")
    assert "A: DATA     BIN" in cmd(m, "DIR *.BIN")
    cmd(m, "REN NEW.BIN=DATA.BIN")
    out = cmd(m, "DIR *.BIN")
    assert "NEW      BIN" in out and "DATA" not in out
    cmd(m, "SAVE 1 X.BIN")
    assert "FILE EXISTS" in cmd(m, "REN X.BIN=NEW.BIN")
    assert "NO FILE" in cmd(m, "REN Y.BIN=MISSING.BIN")
    cmd(m, "ERA NEW.BIN")
    assert "NEW" not in cmd(m, "DIR")
    # user areas
    cmd(m, "USER 3")
    assert "NO FILE" in cmd(m, "DIR")
    cmd(m, "SAVE 1 U3.DAT")
    assert "U3       DAT" in cmd(m, "DIR")
    cmd(m, "USER 0")
    assert "U3" not in cmd(m, "DIR")
    assert "USER?" in cmd(m, "USER 99")


def test_era_all_asks_first():
    """ERA *.* asks "ALL (Y/N)?" and reads a line (BDOS 10, which echoes it):
    N keeps every file and returns to the prompt; Y erases them all."""
    m = boot()
    cmd(m, "SAVE 1 A.TMP")
    m.type("ERA *.*\r")
    assert m.console.wait_for("ALL (Y/N)?", 5)
    out = cmd(m, "N")
    # the echoed reply, then straight back to the prompt (nothing erased, no NO FILE)
    assert out.split("ALL (Y/N)?")[1].rstrip("A>").strip() == "N", repr(out)
    assert "NO FILE" not in out
    listing = cmd(m, "DIR")
    assert "A        TMP" in listing and "FILETEST COM" in listing
    m.type("ERA *.*\r")
    assert m.console.wait_for("ALL (Y/N)?", 5)
    out = cmd(m, "Y")
    assert out.split("ALL (Y/N)?")[1].rstrip("A>").strip() == "Y", repr(out)
    assert "NO FILE" not in out                  # files were there to erase
    assert "NO FILE" in cmd(m, "DIR")


def test_command_tail_and_fcbs():
    """ARGS.COM prints the tail at 80h and the names in the FCBs at 5Ch/6Ch."""
    m = boot()
    out = cmd(m, "ARGS b:foo.txt *.c")
    assert "TAIL=[ B:FOO.TXT *.C]" in out
    assert "FCB1=2,FOO     TXT" in out
    assert "FCB2=0,????????C  " in out
    out = cmd(m, "ARGS")
    assert "TAIL=[]" in out and "FCB1=0,           " in out


def test_program_too_large():
    m = boot()
    cmd(m, "SAVE 230 BIG.COM")           # 58880 bytes: more than the TPA below the CCP
    assert "Program too large" in cmd(m, "BIG")
    assert "Hello" in cmd(m, "HELLO")      # the system is intact


def test_drive_change_and_select_error(tmp_path):
    b = blank_disk(tmp_path, "b.img")
    m = boot({"a": IMG, "b": b})
    cmd(m, "B:", prompt="B>")
    assert "NO FILE" in cmd(m, "DIR", prompt="B>")
    cmd(m, "A:HELLO", prompt="B>")
    cmd(m, "SAVE 1 ON-B.DAT", prompt="B>")
    assert "ON-B     DAT" in cmd(m, "DIR", prompt="B>")
    cmd(m, "A:")
    assert "ON-B     DAT" in cmd(m, "DIR B:")
    # no medium in C:
    m.type("C:\r")
    assert m.console.wait_for("Bdos Err On C: Select", 5)
    out = cmd(m, " ")                       # any key: warm boot to A>
    assert out.endswith("A>")


@cpmtools
def test_files_exchange_with_cpmtools(tmp_path):
    a = disk_copy(tmp_path)
    text = "".join(f"line {i:04d} of a file copied in with cpmcp........\r\n" for i in range(700))
    src = tmp_path / "in.txt"
    src.write_bytes(text.encode() + b"\x1a")
    subprocess.run(["cpmcp", "-f", "ibm-3740", str(a), str(src), "0:IN.TXT"], check=True)
    m = boot({"a": a})
    out = cmd(m, "TYPE IN.TXT", seconds=60)
    assert text in out
    cmd(m, "HELLO")                        # leaves HELLO.COM's image at 0100h
    cmd(m, "SAVE 1 OUT.COM")
    m.shutdown()                            # flush the image
    dst = tmp_path / "out.com"
    subprocess.run(["cpmcp", "-f", "ibm-3740", str(a), "0:OUT.COM", str(dst)], check=True)
    data = dst.read_bytes()
    hello = (CPM / "progs" / "hello.com").read_bytes()
    assert len(data) == 256 and data[:len(hello)] == hello


def test_bad_bdos_function_returns_ff_and_is_reported(capsys):
    m = boot()
    out = cmd(m, "ARGS")
    assert "BAD=FFFF" in out
    # ARGS.COM calls function 99 (roms_test/cpm/progs/args.asm: ld c,99)
    assert m.devices["diag"].unknown_calls == [99]
    err = capsys.readouterr().err
    assert "unknown BDOS function 99 (C=63h; returned A=FFh)" in err


def test_missing_and_truncated_disks_are_refused(tmp_path):
    import subprocess as sp
    import sys
    missing = sp.run([sys.executable, "-m", "emu", "run", "cpm", str(tmp_path / "nope.img"),
                      "--headless", "--frames", "1"], capture_output=True, text=True)
    assert missing.returncode == 2 and "nope.img: file not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    short = tmp_path / "short.img"
    short.write_bytes((CPM / "cpm.img").read_bytes()[:100000])
    r = sp.run([sys.executable, "-m", "emu", "run", "cpm", str(short), "--headless", "--frames", "1"],
               capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "100000 bytes is not a supported floppy size" in r.stderr
    assert "ibm-3740 8in SSSD (77 x 26 x 128) (256256 bytes)" in r.stderr


def test_line_editing_and_ctrl_c():
    m = boot()
    assert "Hello, world" in cmd(m, "HELX\x08LO")              # backspace
    assert "Hello, world" in cmd(m, "XYZ\x15HELLO")            # ^U kills the line
    m.type("\x03")                                             # ^C: warm boot
    assert m.run_until(lambda mm: mm.console.text.endswith("A>"), 5)
    m.console.take()
    assert "A: ARGS" in cmd(m, "DIR")


@cpmtools
def test_large_file_and_user_area_with_cpmtools(tmp_path):
    a = disk_copy(tmp_path)
    src = tmp_path / "u1.txt"
    src.write_bytes(b"in user one\r\n\x1a")
    subprocess.run(["cpmcp", "-f", "ibm-3740", str(a), str(src), "1:U1.TXT"], check=True)
    m = boot({"a": a})
    assert "U1" not in cmd(m, "DIR")
    cmd(m, "USER 1")
    assert "in user one" in cmd(m, "TYPE U1.TXT")
    cmd(m, "USER 0")
    cmd(m, "FILETEST", seconds=60)         # leaves its image at 0100h
    cmd(m, "SAVE 100 BIG.DAT")             # 25600 bytes: two extents
    m.shutdown()
    dst = tmp_path / "big.dat"
    subprocess.run(["cpmcp", "-f", "ibm-3740", str(a), "0:BIG.DAT", str(dst)], check=True)
    ft = (CPM / "progs" / "filetest.com").read_bytes()
    data = dst.read_bytes()
    assert len(data) == 25600 and data[:1024] == ft[:1024]     # its code, not its variables


def test_write_protect_gives_bdos_error():
    m = boot()
    m.type("WPTEST\r")
    assert m.console.wait_for("Bdos Err On A: R/O", 5), m.console.text
    assert "R/O vector bit 0: 1" in m.console.text
    out = cmd(m, " ")                      # a key: warm boot, the drive is writable again
    assert "allowed" not in out
    cmd(m, "SAVE 1 OK.TMP")
    assert "OK       TMP" in cmd(m, "DIR *.TMP")


# ---- the shipped binaries are what build.sh makes ------------------------------------
@pytest.mark.skipif(shutil.which("z80asm") is None or shutil.which("mkfs.cpm") is None,
                    reason="needs z80asm and cpmtools")
def test_rebuild_matches_shipped_binaries(tmp_path):
    import os
    work = tmp_path / "cpm"
    shutil.copytree(CPM, work)
    built = [work / "cpmboot.rom", work / "system.bin", work / "cpm.img"] + \
        sorted((work / "progs").glob("*.com"))
    for f in built:
        f.unlink()
    r = subprocess.run(["sh", str(work / "build.sh")], capture_output=True, text=True,
                       env={**os.environ}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for f in built:
        assert f.read_bytes() == (CPM / f.relative_to(work)).read_bytes(), f.name


def test_console_polling_at_the_prompt_costs_no_exits():
    """The console's status register is published (emu.abi IOF_READ): the CCP
    polling it at A> runs inside the core; only real input and output exit."""
    m = boot()
    from collections import Counter
    exits, inner = Counter(), m.scheduler.dispatch

    def counting(cpu, space, reason):
        exits[reason] += 1
        inner(cpu, space, reason)
    m.scheduler.dispatch = counting
    insns = int(m.cpu.state[11])
    m.run_for(1.0)                                   # one emulated second idle at A>
    assert int(m.cpu.state[11]) - insns > 200_000    # the CCP kept polling ...
    assert sum(exits.values()) < 10, exits           # ... without leaving the core
    out = cmd(m, "DIR")                              # and input still arrives
    assert "HELLO" in out
