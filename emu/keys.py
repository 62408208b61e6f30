"""Host key names used by YAML input maps, with their PC scan codes (set 1).

Names follow pygame's ``pygame.key.name`` spelling so the frontend maps them
with ``pygame.key.key_code(name)``.  Scan codes: IBM PC/AT Technical Reference,
keyboard scan code set 1 (make codes; break = make | 0x80; E0-prefixed keys
are stored as 0xE0xx).
"""
from __future__ import annotations

_ROWS = {
    "escape": 0x01, "1": 0x02, "2": 0x03, "3": 0x04, "4": 0x05, "5": 0x06, "6": 0x07,
    "7": 0x08, "8": 0x09, "9": 0x0A, "0": 0x0B, "-": 0x0C, "=": 0x0D, "backspace": 0x0E,
    "tab": 0x0F, "q": 0x10, "w": 0x11, "e": 0x12, "r": 0x13, "t": 0x14, "y": 0x15,
    "u": 0x16, "i": 0x17, "o": 0x18, "p": 0x19, "[": 0x1A, "]": 0x1B, "return": 0x1C,
    "left ctrl": 0x1D, "a": 0x1E, "s": 0x1F, "d": 0x20, "f": 0x21, "g": 0x22, "h": 0x23,
    "j": 0x24, "k": 0x25, "l": 0x26, ";": 0x27, "'": 0x28, "`": 0x29, "left shift": 0x2A,
    "\\": 0x2B, "z": 0x2C, "x": 0x2D, "c": 0x2E, "v": 0x2F, "b": 0x30, "n": 0x31,
    "m": 0x32, ",": 0x33, ".": 0x34, "/": 0x35, "right shift": 0x36, "[*]": 0x37,
    "left alt": 0x38, "space": 0x39, "caps lock": 0x3A, "f1": 0x3B, "f2": 0x3C,
    "f3": 0x3D, "f4": 0x3E, "f5": 0x3F, "f6": 0x40, "f7": 0x41, "f8": 0x42, "f9": 0x43,
    "f10": 0x44, "numlock": 0x45, "scroll lock": 0x46, "f11": 0x57, "f12": 0x58,
    "home": 0xE047, "up": 0xE048, "page up": 0xE049, "left": 0xE04B, "right": 0xE04D,
    "end": 0xE04F, "down": 0xE050, "page down": 0xE051, "insert": 0xE052,
    "delete": 0xE053, "right ctrl": 0xE01D, "right alt": 0xE038, "enter": 0xE01C,
}

ALIASES = {"lshift": "left shift", "rshift": "right shift", "lctrl": "left ctrl",
           "rctrl": "right ctrl", "lalt": "left alt", "ralt": "right alt", "esc": "escape", "pageup": "page up", "pagedown": "page down",
           "capslock": "caps lock", "minus": "-", "equals": "=", "comma": ",",
           "period": ".", "slash": "/", "semicolon": ";"}

SCANCODES = dict(_ROWS)
KEY_NAMES = set(SCANCODES) | set(ALIASES)


def canonical(name: str) -> str:
    name = name.lower()
    return ALIASES.get(name, name)


def scancode(name: str) -> int:
    return SCANCODES[canonical(name)]
