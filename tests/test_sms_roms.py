"""The project's SMS test ROMs (roms_test/sms) on machines/sms.yaml (the compiled
frame loop); expected pictures and sounds come from each ROM's documented pattern
(roms_test/sms/README.md and the .asm headers), not from the emulator."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cores.z80")
from emu.machine import Machine  # noqa: E402

ROMS = Path(__file__).resolve().parents[1] / "roms_test" / "sms"
LEVEL = (0x00, 0x55, 0xAA, 0xFF)
CLOCK = 3579545


def rgb(c):
    return (LEVEL[c & 3] << 16) | (LEVEL[(c >> 2) & 3] << 8) | LEVEL[(c >> 4) & 3]


def console(name):
    m = Machine.load("sms", [str(ROMS / name)])
    m.audio.recording = []
    return m


def run_frame(m):
    """One frame; returns its audio samples."""
    m.step_frame(1)
    return m.audio.recording[-1]


def boot(m, limit=30):
    """Run frames until the ROM turns the display on (VDP register 1 bit 6).
    common.inc clears the 16 KiB VRAM first with a 41-cycle loop: 16384 * 41
    cycles is about 11 frames of 59,736 cycles.  Returns the frames' audio."""
    audio = []
    while not m.devices["board"].vdp.vs[1] & 0x40:
        assert len(audio) < limit, "the ROM never turned the display on"
        audio.append(run_frame(m))
    return audio


def test_headers_and_checksums():
    for name in ("vdptest.sms", "input.sms", "sound.sms", "game.sms"):
        rom = (ROMS / name).read_bytes()
        assert len(rom) == 0x8000
        assert rom[0x7FF0:0x7FF8] == b"TMR SEGA"
        assert int.from_bytes(rom[0x7FFA:0x7FFC], "little") == sum(rom[:0x7FF0]) & 0xFFFF
        assert rom[0x7FFF] == 0x4C


VDPTEST_PAL = [0x00, 0x03, 0x0C, 0x30, 0x0F, 0x33, 0x3C, 0x3F, 0x01, 0x04, 0x10, 0x05, 0x11,
               0x14, 0x15, 0x2A, 0x00, 0x02, 0x08, 0x20, 0x0A, 0x22, 0x28, 0x2A, 0x07, 0x0D,
               0x31, 0x1F, 0x37, 0x3D, 0x06, 0x19]


def vdptest_reference():
    bg = [rgb(c) for c in VDPTEST_PAL[:16]]
    spr = [rgb(c) for c in VDPTEST_PAL[16:]]
    img = np.zeros((192, 256), dtype=np.uint32)
    for y in range(192):
        row = ((y + 20) % 224) >> 3
        for x in range(256):
            col = ((x - 12) & 255) >> 3
            img[y, x] = bg[1 + (col + row) % 15]
    for i in range(8):                             # sprites 8 and 9 fall to the limit
        img[150:158, 16 + 20 * i:24 + 20 * i] = spr[1 + i]
    img[44:52, 204:212] = spr[12]
    img[40:48, 200:208] = spr[11]                  # sprite 10 is in front of sprite 11
    return img


def test_vdptest_picture():
    sms = console("vdptest.sms")
    boot(sms)
    for _ in range(2):
        run_frame(sms)
    ref = vdptest_reference()
    diff = np.argwhere(sms.screen.framebuffer != ref)
    assert len(diff) == 0, f"{len(diff)} pixels differ, first at (y, x) = {tuple(diff[0])}"


def box(fb, b):
    x, y = (2 + 4 * (b % 7)) * 8, (4 + 4 * (b // 7)) * 8
    region = fb[y:y + 16, x:x + 16]
    assert (region == region[0, 0]).all()
    return int(region[0, 0])


GREY, GREEN = rgb(0x15), rgb(0x0C)


def test_input_boxes():
    sms = console("input.sms")
    boot(sms)
    for _ in range(2):
        run_frame(sms)
    assert [box(sms.screen.framebuffer, b) for b in range(14)] == [GREY] * 14
    for name in ("p1_up", "p1_button2", "p2_left", "reset"):
        sms.press(name)
    for _ in range(2):
        run_frame(sms)
    lit = [b for b in range(14) if box(sms.screen.framebuffer, b) == GREEN]
    assert lit == [0, 5, 8, 12]
    for name in ("p1_up", "p1_button2", "p2_left", "reset"):
        sms.release(name)
    sms.press("pause")                             # NMI: the pause box toggles on
    for _ in range(3):
        run_frame(sms)
    assert [b for b in range(14) if box(sms.screen.framebuffer, b) == GREEN] == [13]
    sms.release("pause")
    run_frame(sms)
    sms.press("pause")
    for _ in range(3):
        run_frame(sms)
    assert [b for b in range(14) if box(sms.screen.framebuffer, b) == GREEN] == []


def rising_edges(x):
    s = x > 0
    return int(np.count_nonzero(s[1:] & ~s[:-1]))


def test_sound_steps():
    sms = console("sound.sms")
    boot(sms)                                      # the frame counter starts now
    frames = [run_frame(sms) for _ in range(16 * 5 + 2)]
    scale = [427, 380, 339, 320, 285, 254, 226, 214]
    for k in (0, 1, 2, 4):
        chunk = np.concatenate(frames[16 * k + 4:16 * k + 12])
        seconds = len(chunk) / 44100
        f = rising_edges(chunk) / seconds
        expect = CLOCK / (32 * scale[k % 8])
        assert abs(f - expect) < expect * 0.03, (k, f, expect)
    # step 3: periodic noise at rate 0 -> one pulse per 16 shifts of clock / 512
    chunk = np.concatenate(frames[16 * 3 + 4:16 * 3 + 12])
    f = rising_edges(chunk) / (len(chunk) / 44100)
    expect = CLOCK / 512 / 16
    assert abs(f - expect) < expect * 0.05


GAME_PAL = {"empty": rgb(0x10), "snake": rgb(0x08), "wall": rgb(0x2A), "food": rgb(0x03)}


def cells(fb):
    """The 32 x 24 field as cell names (from the top-left pixel of each cell)."""
    names = {v: k for k, v in GAME_PAL.items()}
    return [[names.get(int(fb[r * 8 + 4, c * 8 + 4]), "?") for c in range(32)]
            for r in range(24)]


def test_game_field_steering_and_sound():
    sms = console("game.sms")
    boot(sms)
    for _ in range(2):
        run_frame(sms)
    g = cells(sms.screen.framebuffer)
    assert all(g[1][c] == "wall" and g[23][c] == "wall" for c in range(32))
    assert all(g[r][0] == "wall" and g[r][31] == "wall" for r in range(1, 24))
    assert sum(row.count("food") for row in g) == 1
    assert [g[12][c] for c in (8, 9, 10)] == ["snake"] * 3
    # steer up: the snake leaves row 12 upwards, then hits the top wall (noise)
    sms.press("p1_up")
    audio = []
    for _ in range(24):
        audio.append(run_frame(sms))
    sms.release("p1_up")
    g = cells(sms.screen.framebuffer)
    assert any(g[r][c] == "snake" for r in range(2, 12) for c in range(1, 31))
    for _ in range(120):
        audio.append(run_frame(sms))
    assert any(np.abs(a).max() > 1000 for a in audio)


def test_vdptest_through_machine_yaml():
    """machines/sms.yaml end to end: cartridge slot, frame driver, screen."""
    with Machine.load("sms", [str(ROMS / "vdptest.sms")]) as m:
        m.step_frame(16)
        diff = np.argwhere(m.screen.framebuffer != vdptest_reference())
        assert len(diff) == 0, f"{len(diff)} pixels differ, first at (y, x) = {tuple(diff[0])}"


def play(m, frames):
    """Run ``frames`` frames; returns every frame's picture and audio, and the RAM."""
    pics, audio = [], []
    for f in range(frames):
        audio.append(run_frame(m))
        pics.append(m.screen.framebuffer.copy())
    return pics, np.concatenate(audio), bytes(m.memory[0xC000:0xE000])


def test_save_state_in_the_middle_of_a_game(tmp_path):
    """A state saved while the snake moves (one cell per 8 frames, game.asm) is
    loaded into a fresh machine and back into the one that ran on: both continue
    exactly like the uninterrupted run — pictures, the crash's noise burst, RAM,
    the held input and emulated time."""
    m = console("game.sms")
    boot(m)
    play(m, 10)
    m.press("p1_up")                               # row 12 upwards: the top wall is 11 cells away
    play(m, 70)
    m.save_state(tmp_path / "s.state")
    saved_time = m.time
    ref = play(m, 40)                              # the uninterrupted run
    assert not (ref[0][0] == ref[0][-1]).all()     # the picture changes after the save
    assert np.abs(ref[1]).max() > 1000             # and the crash sounds
    for target in (console("game.sms"), m):
        target.load_state(tmp_path / "s.state")
        target.audio.recording = []
        assert target.time == saved_time and target.pressed("p1_up")
        again = play(target, 40)
        assert all((a == b).all() for a, b in zip(again[0], ref[0]))
        assert (again[1] == ref[1]).all() and again[2] == ref[2]
