"""``python -m emu.warm SPEC``: compile a machine's code into Numba's cache.

Started by the first tier (emu.tier) in the background.  SPEC is JSON:
``{"machine": ..., "media": {...}, "ram_size": ...}``.  The process runs at a
lower priority, and holds a lock in the cache directory so that two ``emu``
processes starting at once compile once: the second finds the code cached.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path


def main(argv) -> int:
    spec = json.loads(argv[0])
    try:
        os.nice(5)
    except OSError:
        pass
    from .machine import Machine
    from .tier import cold
    lock = Path(os.environ.get("NUMBA_CACHE_DIR", ".")) / "compile.lock"
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        m = Machine.load(spec["machine"], spec.get("media") or None, ram_size=spec.get("ram_size"),
                         headless=True, persist=False)
        try:
            if cold(m):
                m.warm_up()
        finally:
            m.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
