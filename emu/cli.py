"""The ``emu`` command: list, info, check, run, bench."""
from __future__ import annotations

import argparse
import sys
import warnings

from .errors import EmuError

USAGE_EXAMPLES = """examples:
  emu list                                  machines and what they are
  emu run cpm                               boot the bundled CP/M-compatible OS in the terminal
  emu run sms roms_test/sms/game.sms        play a cartridge in a window
  emu run pc --headless --seconds 5 --screenshot out.png
  emu run pc --serial tcp:127.0.0.1:4555    COM1 on a TCP port (telnet/nc 127.0.0.1 4555)
  emu check machines/mymachine.yaml         validate a machine file
  emu bench                                 guest MIPS, frames per second, start-up times
  emu vmm run machines/vm/trio.yaml --stats CP/M and two protected-mode OS VMs on one host CPU
  emu vmm ps                                the VMs of running VMMs
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="emu", description="Multi-architecture emulator framework",
                                epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list machines")
    s = sub.add_parser("info", help="show a machine's cores, memory map and devices")
    s.add_argument("machine")
    s = sub.add_parser("check", help="validate a machine YAML file (and its ROMs)")
    s.add_argument("file", nargs="+")
    s = sub.add_parser("run", help="run a machine")
    s.add_argument("machine")
    s.add_argument("media", nargs="*", help="cartridge / disk image(s); default: the machine's bundled medium")
    s.add_argument("--headless", action="store_true", help="no window: run for --frames/--seconds")
    s.add_argument("--frames", type=int, help="frames to run (headless)")
    s.add_argument("--seconds", type=float, help="emulated seconds to run (headless)")
    s.add_argument("--screenshot", metavar="PNG", help="save the last frame as PNG (headless)")
    s.add_argument("--wav", metavar="WAV", help="record the sound to a WAV file")
    s.add_argument("--trace", type=int, metavar="N", help="print the first N instructions executed")
    s.add_argument("--state", metavar="FILE", help="load this save state at start (F5/F7 save/load it)")
    s.add_argument("--save-state", metavar="FILE", help="save a state at the end (headless)")
    s.add_argument("--type", metavar="TEXT", help="type TEXT on the console (\\r for Return)")
    s.add_argument("--scale", type=int, help="window scale factor")
    s.add_argument("--ram", metavar="SIZE", help="installed RAM, e.g. 64M or 256M (machines "
                   "with a ram_size key, such as pc)")
    s.add_argument("--unthrottled", action="store_true", help="run as fast as possible")
    s.add_argument("--record", metavar="FILE", help="record everything the host puts into the run "
                   "(inputs, serial input, the RTC's start, media hashes) to FILE")
    s.add_argument("--replay", metavar="FILE", help="replay a recording: the same run, bit for bit "
                   "(host input is ignored; it ends at the recorded frame)")
    s.add_argument("--rewind", type=float, metavar="SECONDS",
                   help="keep the last SECONDS for rewinding (hold F2 in the window; default 30 "
                        "there, off headless; 0: off)")
    s.add_argument("--serial", action="append", default=[], metavar="HOST",
                   help="connect the next serial port (COM1, then COM2): none, stdio, "
                        "file:PATH or tcp:HOST:PORT (listens; one client)")
    s.add_argument("--debug", action="store_true", help="start in the debugger (a prompt in "
                   "the terminal; `help` lists the commands, `g` runs, Ctrl-C stops)")
    s.add_argument("--gdb", type=int, metavar="PORT", help="GDB remote stub on 127.0.0.1:PORT "
                   "(x86): the machine waits for `target remote :PORT`")
    from .vmm.cli import add_parser as add_vmm
    add_vmm(sub)
    s = sub.add_parser("bench", help="speed of every core and machine")
    s.add_argument("--seconds", type=float, default=2.0, help="measuring time per figure")
    s.add_argument("--only", help="comma-separated subset (e.g. z80,x86,sms,os,exits,idle,vmm; "
                   "vmm only when named)")
    s.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    args = p.parse_args(argv)
    warnings.showwarning = lambda msg, *a, **k: print(f"emu: warning: {msg}", file=sys.stderr)
    try:
        return COMMANDS[args.cmd](args)
    except EmuError as e:
        print(f"emu: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_list(args) -> int:
    from .config import list_machines, load_spec
    for f in list_machines():
        try:
            spec = load_spec(f)
            print(f"{f.stem:12s} {spec.description.strip().splitlines()[0] if spec.description else ''}")
        except EmuError as e:
            print(f"{f.stem:12s} (invalid: {e})")
    return 0


def cmd_info(args) -> int:
    from .config import load_spec
    spec = load_spec(args.machine)
    print(f"{spec.name}: {spec.description.strip()}")
    print(f"file: {spec.file}")
    for c in spec.cpus.values():
        print(f"cpu {c.name}: core {c.core} ({c.core_class.__module__}.{c.core_class.__name__}), "
              f"{c.clock / 1e6:g} MHz, {c.core_class.address_bits}-bit address space")
        w = (c.core_class.address_bits + 3) // 4
        for e in spec.memory.get(c.name, []):
            what = f"mirror of {e.mirror:X}" if e.kind == "mirror" else \
                f"{ {'ram': 'RAM', 'rom': 'ROM'}.get(e.kind, e.kind)} {e.target}"
            print(f"  {e.start:0{w}X}-{e.end:0{w}X} {e.access:2s} {what}{' (overlay)' if e.overlay else ''}")
        for e in spec.ports.get(c.name, []):
            print(f"  port {e.start:04X}-{e.end:04X} device {e.target}{' (posted)' if e.posted else ''}")
    for name, (t, cls, params) in spec.devices.items():
        extra = ", ".join(f"{k}={v}" for k, v in params.items())
        print(f"device {name}: {t}{' (' + extra + ')' if extra else ''}")
    for name, r in spec.roms.items():
        print(f"rom {name}: {r.size} bytes{' from ' + str(r.file) if r.file else ''}")
    if spec.screen:
        s = spec.screen
        print(f"screen: {s.width}x{s.height} @ {s.refresh:g} Hz")
    for name, m in spec.media.items():
        print(f"media {name}: {m.kind}{' default ' + str(m.default) if m.default else ''}")
    if spec.inputs:
        print("inputs: " + ", ".join(f"{k}={v}" for k, v in spec.inputs.items()))
    return 0


def cmd_check(args) -> int:
    from .config import load_rom, load_spec
    bad = 0
    for f in args.file:
        try:
            spec = load_spec(f)
            for r in spec.roms.values():
                if r.file:
                    load_rom(spec, r)
            print(f"{f}: ok ({spec.name})")
        except EmuError as e:
            print(f"emu: error: {e}", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def cmd_run(args) -> int:
    from .frontend import run
    return run(args)


def cmd_bench(args) -> int:
    from .bench import main as bench_main
    return bench_main(args)


def cmd_vmm(args) -> int:
    from .vmm.cli import main
    return main(args)


COMMANDS = {"list": cmd_list, "info": cmd_info, "check": cmd_check, "run": cmd_run, "bench": cmd_bench,
            "vmm": cmd_vmm}

if __name__ == "__main__":
    sys.exit(main())
