"""Errors a user sees.  Each renders as one line; the CLI prints it without a traceback."""
from __future__ import annotations


class EmuError(Exception):
    """Base class of every user-facing error."""


class ConfigError(EmuError):
    """A problem in a machine YAML file: names the file, the key path and the problem."""

    def __init__(self, file, key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{self.file}: {key}: {problem}" if key else f"{self.file}: {problem}")


class MediaError(EmuError):
    """A bad ROM, cartridge or disk image."""


class StateError(EmuError):
    """A save state that cannot be loaded."""


class GuestFault(EmuError):
    """The emulated CPU stopped in a way the machine cannot continue from."""
