"""Intel 8042 keyboard controller with an AT keyboard (scan code set 1, as
translated by the controller).  Ports 60h (data) and 64h (status / command).
Status: bit 0 output buffer full, bit 2 system flag (command byte bit 2),
bit 3 last write was a command (64h), bit 4 keyboard not inhibited.
Command byte: bit 0 IRQ1 on output-buffer full, bit 4 keyboard disabled (set
by ADh, cleared by AEh); while it is disabled the keyboard holds up to 16
codes and sends them when it is enabled again.

Host keys arrive through ``key_event(name, down)`` (the frontend sends every
key; names as in emu.keys) or ``type_text("dir\\r")`` for scripts, queued
and released at a human typing pace in emulated time.  Controller commands:
20h/60h command byte, AAh self test (55h), ABh interface test (00h), ADh/AEh
disable/enable keyboard, D0h/D1h output port (bit 0 = CPU reset line, active
low; bit 1 = A20 gate, ORed with port 92h's by the machine), D2h write the
keyboard output buffer, DDh/DFh A20 off/on, F0h-FFh pulse output-port bits 0-3
for each 0 in the command's low nibble (FEh: pulse reset; the CPU restarts at
once, memory and devices keep their state).  There is no auxiliary (PS/2 mouse)
port: A7h-A9h are ignored and the data byte of D3h/D4h is swallowed, so a driver's
aux probe times out, as on an AT.  Keyboard commands: FFh reset, F2h identify, F4h/F5h/F6h,
EDh LEDs, F3h typematic, F0h scan-code set, EEh echo.
References: IBM PC/AT Technical Reference, "Keyboard controller"; OSDev "8042".
"""
from __future__ import annotations

from collections import deque

from ..device import Device
from ..keys import canonical, scancode

SHIFTED = {'!': '1', '@': '2', '#': '3', '$': '4', '%': '5', '^': '6', '&': '7', '*': '8',
           '(': '9', ')': '0', '_': '-', '+': '=', '{': '[', '}': ']', ':': ';', '"': "'",
           '~': '`', '|': '\\', '<': ',', '>': '.', '?': '/'}
SPECIAL = {'\r': 'return', '\n': 'return', ' ': 'space', '\t': 'tab', '\b': 'backspace',
           '\x1b': 'escape'}


class Kbc8042(Device):
    PARAMS = {"irq": None, "type_delay": 0.03}

    def start(self):
        self.line = self.machine.irq_line(self.irq, self) if self.irq else None
        self.typer = self.machine.scheduler.timer(self._type_next, f"{self.name}.typing")

    def reset(self):
        self.out = deque()
        self.obf = None                 # byte in the output buffer
        self.cmd_byte = 0x45            # IRQ1 on, system flag, translation
        self.pending_cmd = None         # controller command waiting for a data byte
        self.kbd_pending = None         # keyboard command waiting for a data byte
        self.last_cmd = False           # status bit 3: the last write went to port 64h
        self.held = deque()             # codes the keyboard keeps while it is disabled
        self.output_port = 0x03
        self.machine.set_a20(self.name, True)
        self.typing = deque()
        self.typer.stop()

    @property
    def enabled(self) -> bool:
        return not self.cmd_byte & 0x10

    # ---- output buffer -------------------------------------------------------
    def _push(self, *data):
        self.out.extend(data)
        self._refill()

    def _refill(self):
        if self.obf is None and self.out:
            self.obf = self.out.popleft()
            if self.line and self.cmd_byte & 1:
                self.line.set(False)
                self.line.set(True)

    def key_event(self, name: str, down: bool) -> None:
        try:
            code = scancode(name)
        except KeyError:
            return
        seq = ([0xE0] if code > 0xFF else []) + [(code & 0xFF) | (0 if down else 0x80)]
        if not self.enabled:
            if len(self.held) + len(seq) <= 16:
                self.held.extend(seq)
            return
        self._push(*seq)

    def type_text(self, text: str) -> None:
        """Queue key presses that type ``text`` (ASCII), paced in emulated time."""
        for ch in text:
            if ch in SPECIAL:
                keys = [SPECIAL[ch]]
            elif ch.isupper():
                keys = ["left shift", ch.lower()]
            elif ch in SHIFTED:
                keys = ["left shift", SHIFTED[ch]]
            else:
                keys = [canonical(ch)]
            for k in keys:
                self.typing.append((k, True))
            for k in reversed(keys):
                self.typing.append((k, False))
        if not self.typer.enabled:
            self.typer.adjust(self.type_delay)

    def _type_next(self):
        if self.typing:
            self.key_event(*self.typing.popleft())
        if self.typing:
            self.typer.adjust(self.type_delay)

    # ---- ports ------------------------------------------------------------------
    def io_read(self, port, size):
        if port == 0x64:
            return (1 if self.obf is not None else 0) | (self.cmd_byte & 0x04) | 0x10 | \
                (0x08 if self.last_cmd else 0)
        v = self.obf if self.obf is not None else 0
        self.obf = None
        if self.line:
            self.line.set(False)
        self._refill()
        return v

    def io_write(self, port, value, size):
        self.last_cmd = port == 0x64
        if port == 0x64:
            self._controller_command(value)
        elif self.pending_cmd is not None:
            cmd, self.pending_cmd = self.pending_cmd, None
            if cmd == 0x60:
                self._set_cmd_byte(value)
            elif cmd == 0xD1:
                self._set_output_port(value)
            elif cmd == 0xD2:
                self._push(value)                   # as if the keyboard had sent it
        else:
            self._keyboard_command(value)

    def _controller_command(self, c):
        if c == 0x20:
            self._push(self.cmd_byte)
        elif c in (0x60, 0xD1, 0xD2, 0xD3, 0xD4):
            self.pending_cmd = c
        elif c == 0xAA:
            self._push(0x55)
        elif c == 0xAB:
            self._push(0x00)
        elif c == 0xAD:
            self._set_cmd_byte(self.cmd_byte | 0x10)
        elif c == 0xAE:
            self._set_cmd_byte(self.cmd_byte & ~0x10)
        elif c == 0xD0:
            self._push(self.output_port)
        elif c == 0xDD:
            self._set_output_port(self.output_port & ~2)
        elif c == 0xDF:
            self._set_output_port(self.output_port | 2)
        elif c >= 0xF0 and not c & 1:
            self.machine.reset_cpu()                # bit 0 pulsed low: the CPU's RESET

    def _set_cmd_byte(self, v):
        self.cmd_byte = v & 0xFF
        if self.enabled and self.held:
            held, self.held = list(self.held), deque()
            self._push(*held)

    def _set_output_port(self, v):
        self.output_port = v
        self.machine.set_a20(self.name, bool(v & 2))
        if not v & 1:
            self.machine.reset_cpu()                # the reset line held low

    def _keyboard_command(self, c):
        if self.kbd_pending is not None:
            self.kbd_pending = None
            self._push(0xFA)
            return
        if c == 0xFF:
            self.out.clear()
            self._push(0xFA, 0xAA)
        elif c == 0xF2:
            self._push(0xFA, 0xAB, 0x83)
        elif c in (0xED, 0xF3, 0xF0):
            self.kbd_pending = c
            self._push(0xFA)
        elif c == 0xEE:
            self._push(0xEE)
        else:
            self._push(0xFA)

    def save_state(self):
        return {"out": list(self.out), "obf": -1 if self.obf is None else self.obf,
                "cmd_byte": self.cmd_byte, "pending_cmd": self.pending_cmd or 0,
                "kbd_pending": self.kbd_pending or 0, "last_cmd": int(self.last_cmd),
                "held": list(self.held), "output_port": self.output_port,
                "typing": [[k, int(d)] for k, d in self.typing]}

    def load_state(self, st):
        self.out, self.held = deque(st["out"]), deque(st["held"])
        self.obf = None if st["obf"] == -1 else st["obf"]
        self.cmd_byte, self.output_port = st["cmd_byte"], st["output_port"]
        self.pending_cmd, self.kbd_pending = st["pending_cmd"] or None, st["kbd_pending"] or None
        self.last_cmd = bool(st["last_cmd"])
        self.typing = deque((k, bool(d)) for k, d in st["typing"])
        self.machine.a20_gates[self.name] = bool(self.output_port & 2)


DEVICE = Kbc8042
