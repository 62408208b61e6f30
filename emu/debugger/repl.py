"""The debugger's terminal prompt (``emu run MACHINE --debug``): readline line editing
and history (~/.emu_debug_history); an empty line repeats a step command; Ctrl-C while
the machine runs stops it; ``quit`` (or Ctrl-D) ends the run.  In the window the
backquote key opens this prompt (emulated time stops) and ``g`` goes back."""
from __future__ import annotations

import os
import sys

from . import DebugError, split_commands

HISTORY = os.path.expanduser("~/.emu_debug_history")


def repl(m, stdin=None, out=None, window=False) -> str:
    """The prompt until ``quit`` ("quit") or the machine stops; ``window``: entered
    from the window's hotkey, where a bare ``g`` goes back to the window ("resume")
    and the machine runs there."""
    out = out or sys.stdout
    interactive = stdin is None and sys.stdin.isatty()
    readline = None
    if interactive:
        try:
            import readline
            try:
                readline.read_history_file(HISTORY)
            except OSError:
                pass
        except ImportError:
            readline = None
    d = m.debugger
    d.GO_LIMIT = float("inf")
    out.write(f"emu debugger: {m.name}, CPU {d.cpu.name} stopped at {d.cpu.pc:X} (help lists the commands)\n")
    out.write(d.cmd_dasm(f"{d.cpu.pc:x},1") + "\n")
    last = ""
    lines = iter(stdin) if stdin is not None else None
    try:
        while True:
            try:
                if lines is not None:
                    line = next(lines, None)
                    if line is None:
                        break
                else:
                    line = input("> ")
            except EOFError:
                break
            except KeyboardInterrupt:
                out.write("\n")
                continue
            line = line.strip()
            if not line and last.split()[:1] and last.split()[0] in ("s", "step", "o", "over"):
                line = last
            if line in ("q", "quit", "exit"):
                break
            if window and line in ("g", "go"):
                out.write("back to the window\n")
                return "resume"
            last = line
            for cmd in split_commands(line):
                try:
                    text = d.command(cmd)
                except DebugError as e:
                    text = f"error: {e}"
                if text:
                    out.write(text + "\n")
                out.flush()
            if m.stop_requested:
                out.write(f"machine stopped: {m.stop_requested}\n")
                if window:                          # (a breakpoint hit: stay at the prompt)
                    m.stop_requested = None
                    continue
                break
    finally:
        if readline is not None:
            try:
                readline.write_history_file(HISTORY)
            except OSError:
                pass
    return "quit"
