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
    import sys
    if "numba" in sys.modules:                   # numba imported first: update its config
        from numba.core import config
        config.CACHE_DIR = str(path)
