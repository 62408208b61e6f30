"""emu — a MAME-style multi-architecture emulator framework.

    from emu import Machine
    m = Machine.load("cpm")
"""
__version__ = "0.1.0"

from . import jitcache as _jitcache

_jitcache.configure()


def __getattr__(name):
    if name == "Machine":
        from .machine import Machine
        return Machine
    raise AttributeError(name)
