"""Where Numba keeps compiled code.

Numba's on-disk cache checks only the source file of each function, but our
compiled code crosses files (a machine driver inlines a core's ``run``), so an
edited core could leave a driver running stale machine code.  The cache
directory is therefore keyed by a fingerprint (name, size, mtime) of every
source file of the framework and the in-tree cores: any edit starts a fresh
cache, and unchanged trees start warm.
"""
from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fingerprint() -> str:
    h = hashlib.sha1()
    for top in ("emu", "cores"):
        for p in sorted((ROOT / top).rglob("*.py")):
            st = p.stat()
            h.update(f"{p.relative_to(ROOT)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def configure() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return                                   # the user chose
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emu" / "numba"
    path = base / fingerprint()
    try:
        path.mkdir(parents=True, exist_ok=True)
        import shutil
        import time
        for old in base.iterdir():               # drop caches unused for a day
            if old != path and old.is_dir() and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        return                                   # read-only home: Numba's default applies
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    if "numba" in sys.modules:                   # numba imported first: update its config
        from numba.core import config
        config.CACHE_DIR = str(path)


@contextmanager
def compile_notice(ready, delay: float = 2.0, every: float = 10.0, out=None):
    """Long work shows progress: a first start after an install or update compiles
    the cores and drivers (tens of seconds).  If ``ready()`` (the machine has run)
    is still false after ``delay`` seconds, say so, then how long it is taking.
    Lines end in CR LF: the terminal may be in raw mode for the guest's console."""
    out = out or sys.stderr
    stop = threading.Event()

    def watch():
        t0 = time.monotonic()
        if stop.wait(delay) or ready():
            return
        out.write("emu: compiling the emulator's code (first start after an install or update;"
                  " later starts use the cache)...\r\n")
        out.flush()
        report = t0 + every
        while not ready():
            if stop.wait(0.2):
                if not ready():
                    return                       # the run ended before the machine ran
                break
            now = time.monotonic()
            if now >= report:
                report += every
                out.write(f"emu: still compiling ({now - t0:.0f} s)\r\n")
                out.flush()
        out.write(f"emu: compiled in {time.monotonic() - t0:.0f} s\r\n")
        out.flush()

    th = threading.Thread(target=watch, name="compile-notice", daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
