"""Frontends: pygame window, terminal (for console-only machines) and headless.

Window hotkeys: Esc quit, ` (backquote) the debugger, F1 pause, F2 (hold) rewind, Tab (hold)
fast-forward, F5 save state,
F7 load state, F12 screenshot (PNG in the current folder).
Terminal: host keys go to the serial console; Ctrl-] quits.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from .errors import EmuError
from .jitcache import compile_notice
from .machine import Machine


def run(args) -> int:
    headless = args.headless
    m = Machine.load(args.machine, args.media or None, ram_size=getattr(args, "ram", None),
                     headless=headless, echo_console=True)
    if args.wav:
        m.audio.recording = []
    state_file = args.state
    if state_file and Path(state_file).exists():
        m.load_state(state_file)
    if (getattr(args, "rewind", None) or 0) < 0:
        raise EmuError(f"--rewind {args.rewind}: seconds to keep, 0 for none")
    if getattr(args, "rewind", None) and (headless or m.screen is None):
        m.enable_rewind(span=args.rewind)           # (the window turns it on itself)
    recorder = None
    try:
        if getattr(args, "serial", None):
            m.connect_serial(args.serial)
        if getattr(args, "record", None) and getattr(args, "replay", None):
            raise EmuError("--record and --replay: one at a time")
        if getattr(args, "record", None):
            from .record import Recorder
            recorder = Recorder(m, args.record, state=state_file if state_file and Path(state_file).exists()
                                else None)
        elif getattr(args, "replay", None):
            from .record import Replayer
            m.replayer = Replayer(m, args.replay, state=state_file if state_file and Path(state_file).exists()
                                  else None)
            args.frames, args.seconds, args.type = m.replayer.frames, None, None
        if not headless:                  # a first start runs the first tier (emu.tier)
            from . import tier
            m.tier = tier.start(m, {"machine": args.machine, "media": [str(p) for p in args.media or ()],
                                    "ram_size": getattr(args, "ram", None)})
        with compile_notice(lambda: m.frame > 0 or m.cpu.cycles > 0):
            if args.type:
                m.type(args.type.encode().decode("unicode_escape"))
            if args.trace:
                trace(m, args.trace, sys.stdout)
            if getattr(args, "gdb", None) is not None:
                from .debugger.gdbstub import serve_gdb
                stub = serve_gdb(m, args.gdb, announce=lambda t: print(t, file=sys.stderr, flush=True))
                if stub.killed:
                    return 0
            if getattr(args, "debug", False):
                from .debugger.repl import repl
                repl(m)
            elif headless:
                run_headless(m, args)
            elif m.screen is None:
                run_terminal(m, args)
            else:
                run_window(m, args)
    finally:
        m.shutdown()
        if m.tier is not None:
            m.tier.stop()
        if args.wav:
            m.audio.save_wav(args.wav)
        if recorder is not None:
            recorder.finish()
    return 0


# ---------------------------------------------------------------------------
def trace(m: Machine, n: int, out) -> None:
    """Single-step ``n`` instructions of the main CPU, printing each one."""
    from . import abi
    cpu, space = m.cpu, m.spaces[m.cpu.name]
    run_fn = type(cpu).run
    for _ in range(n):
        pc = cpu.pc
        text, length = cpu.disassemble(space.read8, pc)
        raw = " ".join(f"{space.read8(pc + i):02X}" for i in range(length))
        out.write(f"{pc:06X}  {raw:<15s} {text:<28s} {cpu.format_registers()}\n")
        while True:
            reason = run_fn(cpu.state, space.mem, 1)
            if cpu.state[abi.S_IOLOG_COUNT]:
                space.drain_iolog(cpu.state)
            if reason == abi.EXIT_BUDGET:
                break
            m.scheduler.running_cpu = cpu
            m.scheduler.slice_end = cpu.cycles / cpu.clock_hz
            m.scheduler.dispatch(cpu, space, reason)
            m.scheduler.running_cpu = None
            if reason not in (abi.EXIT_IO_IN, abi.EXIT_MMIO_READ):
                break
    m.scheduler.time = cpu.cycles / cpu.clock_hz
    m.frame = int(m.scheduler.time / m.frame_period)


def run_headless(m: Machine, args) -> None:
    if args.frames:
        frames = args.frames
    else:
        frames = max(1, round((args.seconds or 1.0) / m.frame_period))
    t0 = time.perf_counter()
    last = t0
    tty = sys.stderr.isatty()
    for i in range(frames):
        m.step_frame()
        if m.stop_requested:
            print(f"emu: stopped: {m.stop_requested}", file=sys.stderr)
            break
        now = time.perf_counter()
        if now - last > 1.0:          # long runs show progress
            last = now
            msg = f"frame {i + 1}/{frames} ({(i + 1) / (now - t0):.0f} fps)"
            print(("\r" + msg) if tty else msg, end="" if tty else "\n", file=sys.stderr, flush=True)
    if tty and time.perf_counter() - t0 > 1.0:
        print(file=sys.stderr)
    if args.screenshot:
        if m.screen is None:
            raise EmuError(f"machine {m.name!r} has no screen to take a screenshot of")
        m.screen.save_png(args.screenshot)
    if args.save_state:
        m.save_state(args.save_state)


def run_terminal(m: Machine, args) -> None:
    """Console machines (no screen): host terminal <-> serial console, paced to real time."""
    import select
    console = m.console
    fd = sys.stdin.fileno() if sys.stdin.isatty() else None
    old = None
    if fd is not None:
        import termios
        import tty
        old = termios.tcgetattr(fd)
        tty.setraw(fd)
    console.out = sys.stdout      # raw mode: the guest sends its own CR LF
    m.echo_console = True
    try:
        period = m.frame_period
        next_t = time.perf_counter()
        stdin_open = True
        while not m.stop_requested:
            if stdin_open and select.select([sys.stdin], [], [], 0)[0]:
                data = os.read(sys.stdin.fileno(), 256)
                if not data:
                    stdin_open = False
                elif b"\x1d" in data:          # Ctrl-]
                    break
                else:
                    console.feed(data.replace(b"\n", b"\r") if fd is None else data)
            m.step_frame()
            next_t += period
            delay = next_t - time.perf_counter()
            if delay > 0 and not args.unthrottled:
                time.sleep(delay)
            elif delay < -0.5:
                next_t = time.perf_counter()
            if not stdin_open and not console.input and fd is None:
                # piped input consumed: give the guest a moment to answer, then stop
                m.run_for(1.0)
                break
    finally:
        if old is not None:
            import termios
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        print()


def run_window(m: Machine, args) -> None:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from .keys import canonical

    pygame.mixer.pre_init(m.audio.sample_rate, -16, 1, 1024)
    pygame.init()
    scr = m.screen
    scale = args.scale or scr.scale
    win = pygame.display.set_mode((scr.width * scale, scr.height * scale))
    pygame.display.set_caption(f"emu — {m.name}")
    keymap = {}
    for name, key in m.spec.inputs.items():
        try:
            keymap.setdefault(pygame.key.key_code(canonical(key)), []).append(name)
        except ValueError:
            pass
    _start_audio(m)
    state_file = args.state or f"{m.name}.state"
    clock = pygame.time.Clock()
    paused = fast = back = False
    if getattr(args, "rewind", None) != 0:      # the window keeps the last 30 s by default
        m.enable_rewind(span=getattr(args, "rewind", None) or 30.0)
    shot = 0
    running = True
    limit = args.frames or (round(args.seconds / m.frame_period) if args.seconds else None)
    shown = 0
    surf = drawn = None               # the window's picture: redrawn only when the screen changed
    on_window = None                  # the frame the window shows
    idle = False                      # the last frame: guest halted, picture unchanged
    exposed = getattr(pygame, "WINDOWEXPOSED", pygame.VIDEOEXPOSE)
    while running and not m.stop_requested and (limit is None or shown < limit):
        for ev in pygame.event.get():
            if ev.type == pygame.QUIT:
                running = False
            elif ev.type in (exposed, pygame.VIDEOEXPOSE):
                drawn = on_window = None
            elif ev.type in (pygame.KEYDOWN, pygame.KEYUP):
                down = ev.type == pygame.KEYDOWN
                if down and ev.key == pygame.K_ESCAPE:
                    running = False
                elif ev.key == pygame.K_BACKQUOTE:         # the debugger (MAME's key)
                    if down:
                        from .debugger.repl import repl
                        print("emu: the debugger (g goes back to the window)", file=sys.stderr)
                        if repl(m, window=True) == "quit":
                            running = False
                    continue
                elif down and ev.key == pygame.K_F1:
                    paused = not paused
                elif ev.key == pygame.K_TAB:
                    fast = down
                elif ev.key == pygame.K_F2:               # (hold) run time backwards
                    back = down and m.rewinder is not None
                elif down and ev.key == pygame.K_F5:
                    try:
                        m.save_state(state_file)
                        print(f"state saved to {state_file}", file=sys.stderr)
                    except EmuError as e:
                        print(f"emu: {e}", file=sys.stderr)
                elif down and ev.key == pygame.K_F7:
                    try:
                        m.load_state(state_file)
                    except EmuError as e:
                        print(f"emu: {e}", file=sys.stderr)
                elif down and ev.key == pygame.K_F12:
                    shot += 1
                    name = f"{m.name}-{shot:03d}.png"
                    scr.save_png(name)
                    print(f"screenshot {name}", file=sys.stderr)
                for inp in keymap.get(ev.key, ()):
                    m.press(inp) if down else m.release(inp)
                m.key_event(pygame.key.name(ev.key), down)
        # a halted guest whose screen did not change runs two frames per wake-up (at
        # most 1/30 s of input latency more): the host wakes half as often
        batch = 4 if fast else (2 if idle and scr.refresh >= 60 else 1)
        if limit is not None:
            batch = min(batch, limit - shown)
        shown += batch
        if back:
            m.rewinder.step_back()
        elif not paused:
            m.step_frame(batch)
        if (scr.width, scr.height) != (win.get_width() // scale, win.get_height() // scale):
            win = pygame.display.set_mode((scr.width * scale, scr.height * scale))
            drawn = on_window = None
        fb = scr.framebuffer
        idle = m.halted and not paused and not back
        if drawn is None or (drawn != scr.version if scr.tracked else
                             drawn.shape != fb.shape or not np.array_equal(drawn, fb)):
            idle = False
            if surf is None or surf.get_size() != (scr.width, scr.height):
                surf = pygame.Surface((scr.width, scr.height), depth=32)
                on_window = None
            # only the band of lines that changed since the last picture is drawn (a
            # blinking cursor is one text row): converted, scaled and sent to the display
            rows = (0, fb.shape[0])
            if on_window is not None and on_window.shape == fb.shape:
                ch = np.flatnonzero((fb != on_window).any(axis=1))
                rows = (int(ch[0]), int(ch[-1]) + 1) if len(ch) else None
            if rows is not None:
                y0, y1 = rows
                band = pygame.Rect(0, y0, scr.width, y1 - y0)
                out = pygame.Rect(0, y0 * scale, win.get_width(), (y1 - y0) * scale)
                pygame.surfarray.blit_array(surf.subsurface(band), fb[y0:y1].T)
                pygame.transform.scale(surf.subsurface(band), out.size, win.subsurface(out))
                pygame.display.update(out)
                on_window = fb.copy()
            drawn = scr.version if scr.tracked else on_window
        if not (fast or args.unthrottled):
            clock.tick(scr.refresh / (batch if batch < 4 else 1))
    pygame.quit()


def _start_audio(m: Machine) -> None:
    """Stream the machine's mono int16 samples to pygame's mixer.  pygame.init()
    may already have opened the mixer with its own defaults (often stereo), so
    the sink adapts to whatever format the mixer really has."""
    import pygame
    try:
        if not pygame.mixer.get_init():
            pygame.mixer.init(frequency=m.audio.sample_rate, size=-16, channels=1, buffer=1024)
        freq, _, channels = pygame.mixer.get_init()
    except (pygame.error, TypeError):
        return                      # no audio device: run silently
    chan = pygame.mixer.Channel(0)
    rate = m.audio.sample_rate

    def sink(samples):
        if not len(samples) or chan.get_queue() is not None:
            return                  # queue full: drop rather than add latency
        if freq != rate:            # nearest-sample resampling to the mixer's rate
            idx = (np.arange(int(len(samples) * freq / rate)) * rate // freq).astype(np.int64)
            samples = samples[idx]
        if channels > 1:
            samples = np.repeat(samples[:, None], channels, axis=1)
        snd = pygame.sndarray.make_sound(np.ascontiguousarray(samples, dtype=np.int16))
        if chan.get_busy():
            chan.queue(snd)
        else:
            chan.play(snd)
    m.audio.sink = sink
