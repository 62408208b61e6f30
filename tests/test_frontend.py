"""The pygame window frontend driven under SDL's dummy video driver: input
map, hotkeys (F12 screenshot, F5/F7 state) and frame presentation."""
import argparse
from pathlib import Path

import numpy as np
import pytest

from emu.machine import Machine
from tests.conftest import bios_font

YAML = """
name: winboard
cpus: {maincpu: {core: toy8, clock: 1MHz}}
memory:
  maincpu:
    - {start: 0x0000, end: 0xFFFF, ram: main}
devices: {vga: {type: vga}}
screen: {width: 640, height: 400, refresh: 60, device: vga, scale: 1}
inputs: {fire: {key: space}}
"""


def args(**kw):
    base = dict(frames=3, seconds=None, scale=1, state=None, unthrottled=True)
    base.update(kw)
    return argparse.Namespace(**base)


def test_window_keys_and_screenshot(tmp_path, monkeypatch):
    pygame = pytest.importorskip("pygame")
    from emu.frontend import run_window
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "w.yaml"
    f.write_text(YAML)
    m = Machine.load(str(f), headless=False)
    m.memory[0] = 0x09
    vga = m.devices["vga"]
    vga.planes[0][0], vga.planes[1][0] = ord("#"), 0x4F        # text cell 0 (mode 03h at power-on)
    vga.planes[2][ord("#") * 32:ord("#") * 32 + 16] = bios_font()[ord("#")]
    seen = []
    real_press = m.press
    m.press = lambda name: (seen.append(name), real_press(name))
    pygame.init()
    pygame.display.set_mode((10, 10))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" ", scancode=44))
    run_window(m, args(frames=2))
    # F12 saves the frame on display
    pygame.init()
    pygame.display.set_mode((10, 10))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_F12, mod=0, unicode="", scancode=69))
    run_window(m, args(frames=1))
    assert seen == ["fire"] and m.pressed("fire")
    # read back with pygame's own PNG decoder (SDL_image), not the project's writer's twin
    shot = pygame.surfarray.array3d(pygame.image.load(str(tmp_path / "winboard-001.png")))
    shot = shot.transpose(1, 0, 2)
    assert shot.shape == (400, 720, 3)                         # 80 x 9-dot columns
    assert np.array_equal(shot, m.screen.rgb())
    # top-left cell: white '#' glyph pixels on red background
    colours = {tuple(c) for c in shot[:16, :9].reshape(-1, 3)}
    assert colours == {(0xAA, 0, 0), (0xFF, 0xFF, 0xFF)}


def test_window_draws_the_lines_that_changed(tmp_path, monkeypatch):
    """After the first picture the window sends the display only the band of lines
    that changed (here the blinking cursor's text row), and what it shows is then
    still the whole frame, scaled."""
    pygame = pytest.importorskip("pygame")
    from emu.frontend import run_window
    f = tmp_path / "w.yaml"
    f.write_text(YAML)
    m = Machine.load(str(f), headless=False)
    vga = m.devices["vga"]
    vga.planes[0][:80], vga.planes[1][:80] = ord("#"), 0x1F
    vga.planes[2][ord("#") * 32:ord("#") * 32 + 16] = bios_font()[ord("#")]
    vga.crtc[0x0A], vga.crtc[0x0B], vga.crtc[0x0F] = 13, 15, 5        # cursor under cell 5
    rects = []
    real_update = pygame.display.update
    monkeypatch.setattr(pygame.display, "update", lambda r=None: (rects.append(pygame.Rect(r)), real_update(r)))
    monkeypatch.setattr(pygame, "quit", lambda: None)                  # keep the window to read
    run_window(m, args(frames=20, scale=2))
    win = pygame.display.get_surface()
    shown = pygame.surfarray.array2d(win).T & 0xFFFFFF
    want = np.repeat(np.repeat(m.screen.framebuffer, 2, axis=0), 2, axis=1)
    assert np.array_equal(shown, want)
    assert rects[0] == pygame.Rect(0, 0, 1440, 800)                    # the first picture whole
    assert len(rects) >= 3                                             # the cursor went off and on
    assert all(r.h <= 32 and 0 < r.y < 64 for r in rects[1:]), rects   # then one row of 16 lines
    pygame.display.quit()


def test_window_streams_sound_to_the_mixer(monkeypatch):
    """A sound machine in the window: the PSG's mono samples reach pygame's mixer
    in whatever format pygame.init() opened it (stereo here), without errors."""
    pygame = pytest.importorskip("pygame")
    pytest.importorskip("cores.z80")
    from emu.frontend import run_window
    made = []
    real = pygame.sndarray.make_sound
    monkeypatch.setattr(pygame.sndarray, "make_sound",
                        lambda a: (made.append((a.copy(), pygame.mixer.get_init())), real(a))[1])
    pygame.mixer.quit()
    pygame.mixer.pre_init(44100, -16, 2, 1024)   # a stereo mixer, as on many desktops
    pygame.init()
    m = Machine.load("sms", [str(Path(__file__).parents[1] / "roms_test/sms/sound.sms")],
                     headless=False)
    m.step_frame(15)                             # the ROM's tone starts at frame 11
    run_window(m, args(frames=20))
    assert made and all(a.shape[1:] == (mix[2],) and mix[2] == 2 for a, mix in made)
    assert all(mix[0] == m.audio.sample_rate for _, mix in made)  # no resampling here
    # what reached the mixer is the machine's own sound, in both channels, and not silence
    pushed = m.audio.recent().tobytes()
    for a, _ in made:
        assert np.array_equal(a[:, 0], a[:, 1])
        assert np.ascontiguousarray(a[:, 0]).tobytes() in pushed
    played = np.concatenate([a[:, 0] for a, _ in made])
    assert np.count_nonzero(played) > len(played) // 4


def test_compile_notice_reports_a_slow_first_start():
    """A first start that compiles for long says so, then how long it took."""
    import io
    import threading

    from emu.jitcache import compile_notice
    out, done = io.StringIO(), threading.Event()
    with compile_notice(done.is_set, delay=0.1, every=0.3, out=out):
        threading.Event().wait(0.8)              # "compiling"
        done.set()
        threading.Event().wait(0.5)              # the machine runs
    text = out.getvalue()
    assert text.startswith("emu: compiling the emulator's code")
    assert "emu: still compiling" in text
    assert text.rstrip().endswith("s") and "emu: compiled in" in text


def test_compile_notice_is_silent_when_the_cache_is_warm():
    import io

    from emu.jitcache import compile_notice
    out = io.StringIO()
    with compile_notice(lambda: True, delay=0.05, out=out):
        pass
    with compile_notice(lambda: False, delay=5.0, out=out):
        pass                                     # finished before the delay
    assert out.getvalue() == ""


def test_compile_notice_reports_the_end_when_the_run_stops_right_after():
    import io
    import threading

    from emu.jitcache import compile_notice
    out, done = io.StringIO(), threading.Event()
    with compile_notice(done.is_set, delay=0.1, out=out):
        threading.Event().wait(0.4)
        done.set()                               # the first frame ends the run
    assert "emu: compiled in" in out.getvalue()


def test_compile_notice_closes_on_its_own_line_before_the_guest_prints():
    import io
    import threading

    from emu import jitcache
    out, done = io.StringIO(), threading.Event()
    with jitcache.compile_notice(done.is_set, delay=0.1, out=out):
        threading.Event().wait(0.4)              # compiling: the notice is up
        jitcache.guest_output()                  # the guest's first byte is about to be echoed
        out.write("A>")
        done.set()
        threading.Event().wait(0.4)
    text = out.getvalue()
    assert text.count("emu: compiled in") == 1
    assert text.endswith(" s\r\nA>"), repr(text)  # "A>" after the notice, never "A>emu: ..."
