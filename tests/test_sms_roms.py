"""The project's SMS test ROMs (roms_test/sms) run through the compiled frame
loop; expected pictures and sounds come from each ROM's documented pattern
(roms_test/sms/README.md and the .asm headers), not from the emulator."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cores.z80")
from emu.devices.sms_driver import SmsConsole  # noqa: E402

ROMS = Path(__file__).resolve().parents[1] / "roms_test" / "sms"
LEVEL = (0x00, 0x55, 0xAA, 0xFF)
CLOCK = 3579545


def rgb(c):
    return (LEVEL[c & 3] << 16) | (LEVEL[(c >> 2) & 3] << 8) | LEVEL[(c >> 4) & 3]


def console(name):
    return SmsConsole((ROMS / name).read_bytes())


def boot(sms, limit=30):
    """Run frames until the ROM turns the display on (VDP register 1 bit 6).
    common.inc clears the 16 KiB VRAM first with a 41-cycle loop: 16384 * 41
    cycles is about 11 frames of 59,736 cycles.  Returns the frames' audio."""
    audio = []
    while not sms.v.vs[1] & 0x40:
        assert len(audio) < limit, "the ROM never turned the display on"
        audio.append(sms.run_frame())
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
        sms.run_frame()
    ref = vdptest_reference()
    diff = np.argwhere(sms.framebuffer != ref)
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
        sms.run_frame()
    assert [box(sms.framebuffer, b) for b in range(14)] == [GREY] * 14
    for name in ("p1_up", "p1_button2", "p2_left", "reset"):
        sms.press(name)
    for _ in range(2):
        sms.run_frame()
    lit = [b for b in range(14) if box(sms.framebuffer, b) == GREEN]
    assert lit == [0, 5, 8, 12]
    for name in ("p1_up", "p1_button2", "p2_left", "reset"):
        sms.press(name, False)
    sms.press("pause")                             # NMI: the pause box toggles on
    for _ in range(3):
        sms.run_frame()
    assert [b for b in range(14) if box(sms.framebuffer, b) == GREEN] == [13]
    sms.press("pause", False)
    sms.run_frame()
    sms.press("pause")
    for _ in range(3):
        sms.run_frame()
    assert [b for b in range(14) if box(sms.framebuffer, b) == GREEN] == []


def rising_edges(x):
    s = x > 0
    return int(np.count_nonzero(s[1:] & ~s[:-1]))


@pytest.mark.slow
def test_sound_steps():
    sms = console("sound.sms")
    boot(sms)                                      # the frame counter starts now
    frames = [sms.run_frame() for _ in range(16 * 5 + 2)]
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


@pytest.mark.slow
def test_game_field_steering_and_sound():
    sms = console("game.sms")
    boot(sms)
    for _ in range(2):
        sms.run_frame()
    g = cells(sms.framebuffer)
    assert all(g[1][c] == "wall" and g[23][c] == "wall" for c in range(32))
    assert all(g[r][0] == "wall" and g[r][31] == "wall" for r in range(1, 24))
    assert sum(row.count("food") for row in g) == 1
    assert [g[12][c] for c in (8, 9, 10)] == ["snake"] * 3
    # steer up: the snake leaves row 12 upwards, then hits the top wall (noise)
    sms.press("p1_up")
    audio = []
    for _ in range(24):
        audio.append(sms.run_frame())
    sms.press("p1_up", False)
    g = cells(sms.framebuffer)
    assert any(g[r][c] == "snake" for r in range(2, 12) for c in range(1, 31))
    for _ in range(120):
        audio.append(sms.run_frame())
    assert any(np.abs(a).max() > 1000 for a in audio)


def test_vdptest_through_machine_yaml(tmp_path):
    """machines/sms.yaml end to end: cartridge slot, frame driver, screen, input map."""
    from emu.machine import Machine
    with Machine.load("sms", [str(ROMS / "vdptest.sms")]) as m:
        m.step_frame(16)
        fb = m.screen.framebuffer
        diff = np.argwhere(fb != vdptest_reference())
        assert len(diff) == 0, f"{len(diff)} pixels differ, first at (y, x) = {tuple(diff[0])}"
        m.save_state(tmp_path / "s.state")
        m.step_frame(3)
        again = m.screen.framebuffer.copy()
        m.load_state(tmp_path / "s.state")
        m.step_frame(3)
        assert (m.screen.framebuffer == again).all()
