"""The emulator's first tier: its compiled functions run as plain Python.

A first start after an install or an update finds no compiled code in Numba's
cache, and compiling takes from half a minute (the Z80 machines) to minutes (the
x86).  So an interactive ``emu run`` that finds the machine's code missing
(``cold``) runs the *very same functions* as Python meanwhile: each Numba
function's ``py_func``, with the compiled functions it calls rebound to their
own Python twins (``python_twin``) and calls from Python redirected to them.
The guest starts at once, slowly, while a background process (``python -m
emu.warm``: the machine's code compiled into the cache, the process niced and
serialised with others by a lock in the cache) does the work; the run switches
to the compiled code at a frame boundary once it is in the cache
(``Background.poll``), and later starts load it from there (warm start).

Headless runs, tests and the Python API keep compiling in-process: they want the
full speed for the whole run.  ``EMU_TIER=0`` turns the first tier off.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import types

from numba.core.dispatcher import Dispatcher

from .jitcache import notice

_twins: dict = {}
_python = False            # the first tier is on


def python_twin(fn):
    """``fn``'s Python function, calling Python twins instead of compiled functions."""
    tw = _twins.get(fn)
    if tw is not None:
        return tw
    f = fn.py_func
    cells = None
    if f.__closure__:
        cells = tuple(types.CellType(python_twin(c.cell_contents) if isinstance(c.cell_contents, Dispatcher)
                                     else c.cell_contents) for c in f.__closure__)
    g = dict(f.__globals__)
    tw = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, cells)
    tw.__kwdefaults__ = f.__kwdefaults__
    _twins[fn] = tw
    for k, v in list(g.items()):
        if isinstance(v, Dispatcher):
            g[k] = python_twin(v)
    return tw


def _call_twin(self, *args, **kws):
    return python_twin(self)(*args, **kws)


def set_python(on: bool) -> None:
    """Turn the first tier on or off.  While it is on, every call of a compiled
    function from Python (the scheduler's ``run``, a device's renderer) runs its
    twin: the class of Numba's dispatchers gets a Python ``__call__``."""
    global _python
    from numba.core.registry import CPUDispatcher
    if on and not _python:
        CPUDispatcher.__call__ = _call_twin
    elif not on and _python:
        del CPUDispatcher.__call__
    _python = on


def python_tier() -> bool:
    return _python


def cached(fn) -> bool:
    """Whether Numba's cache holds compiled code of ``fn`` for its current source."""
    f = getattr(getattr(fn, "_cache", None), "_cache_file", None)
    try:
        return f is not None and bool(f._load_index())
    except Exception:                    # an unreadable index: Numba recompiles, so do we
        return False


def cold(machine) -> bool:
    """Whether a compiled function the machine runs is missing from the cache (a core
    whose ``run`` is not compiled code never is)."""
    return not all(cached(fn) for fn in machine.compiled_functions() if isinstance(fn, Dispatcher))


class Background:
    """The machine's code compiling in a background process."""

    def __init__(self, machine, spec: dict):
        self.t0 = time.monotonic()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "emu.warm", json.dumps(spec)],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env=dict(os.environ, NUMBA_NUM_THREADS="1"))
        self.done = None
        notice("emu: first start after an install or update: running unoptimised while the "
               "compiled code builds in the background (minutes for the x86; later starts use the cache)")

    def poll(self) -> None:
        if self.done is not None or self.proc.poll() is None:
            return
        self.done = time.monotonic() - self.t0
        set_python(False)
        if self.proc.returncode == 0:
            notice(f"emu: compiled code ready after {self.done:.0f} s: full speed")
        else:
            self.log.seek(0)
            last = (self.log.read().decode(errors="replace").strip().splitlines() or ["?"])[-1]
            notice(f"emu: background compile failed ({last}); compiling here")

    def stop(self) -> None:
        """The run ends: a compile still going goes on, to fill the cache for the next start."""
        if self.done is None and self.proc.poll() is None:
            notice(f"emu: the compile goes on in the background (pid {self.proc.pid}) "
                   "so that the next start is fast")
        set_python(False)
        self.log.close()


def start(machine, spec: dict) -> Background | None:
    """Start the first tier for ``machine`` if its compiled code is not cached."""
    if os.environ.get("EMU_TIER", "1") == "0" or not cold(machine):
        return None
    import gc
    gc.freeze()              # the Python tier allocates a lot: leave the heap so far out of GC passes
    set_python(True)
    return Background(machine, spec)
