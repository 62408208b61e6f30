"""Where Numba keeps compiled code.

Numba's on-disk cache checks only the source file of each function, but our
compiled code crosses files (a machine driver inlines a core's ``run``), so an
edited core could leave a driver running stale machine code.  The cache
directory is therefore keyed by a fingerprint of the *contents* of the files
compiled code can depend on: every file of the in-tree cores, emu/abi.py, each
framework file that defines compiled functions (``@njit``) and the modules of its
own package that it imports (a machine driver's state layout).  An edit there starts a fresh cache;
edits elsewhere (the CLI, the VMM, device models in Python), reinstalls and
checkouts that leave the bytes alone keep it warm.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


_IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+([\w, ()]+)|import\s+([\w.]+))", re.MULTILINE)


def _module_files(path: Path, text: str) -> list[Path]:
    """The in-tree files that ``path``'s import lines name (relative imports included)."""
    out = []
    pkg = path.parent
    for m in _IMPORT.finditer(text):
        mod, names, plain = m.group(1), m.group(2), m.group(3)
        if plain:
            bases = [ROOT / plain.replace(".", "/")]
        else:
            dots = len(mod) - len(mod.lstrip("."))
            if dots:
                base = pkg
                for _ in range(dots - 1):
                    base = base.parent
                base = base / mod.lstrip(".").replace(".", "/") if mod.lstrip(".") else base
            else:
                base = ROOT / mod.replace(".", "/")
            bases = [base] + [base / n.strip() for n in names.replace("(", "").replace(")", "").split(",")
                              if n.strip()]
        for b in bases:
            for f in (b.with_suffix(".py"), b / "__init__.py"):
                if f.is_file():
                    out.append(f)
    return out


_COMPILED = re.compile(rb"^\s*@njit|=\s*njit\(", re.MULTILINE)   # a file that defines compiled code


def _stat_key(files) -> str:
    """What the files' names, sizes and modification times say: if none changed, their
    contents are taken to be unchanged too (as Python's own bytecode cache does)."""
    h = hashlib.sha1(str(ROOT).encode())
    for p in sorted(files):
        st = p.stat()
        h.update(f"\0{p}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def cached_fingerprint(memo: Path) -> str:
    """``fingerprint()``, remembered in ``memo`` under the files' stat key: a start
    with the tree unchanged stats the files (2 ms) instead of reading and hashing
    them (30-50 ms).  The memo is replaced atomically, so two starts at once are safe."""
    files = [p for top in ("emu", "cores") for p in (ROOT / top).rglob("*.py")]
    key = _stat_key(files)
    try:
        k, fp = memo.read_text().split()
        if k == key:
            return fp
    except (OSError, ValueError):
        pass
    fp = fingerprint()
    try:
        tmp = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(f"{key} {fp}\n")
        os.replace(tmp, memo)
    except OSError:
        pass
    return fp


def fingerprint() -> str:
    texts = {p: p.read_bytes() for top in ("emu", "cores") for p in (ROOT / top).rglob("*.py")}
    need = {p for p in texts if p.is_relative_to(ROOT / "cores")} | {ROOT / "emu" / "abi.py"}
    for p, t in texts.items():
        if _COMPILED.search(t) and p.is_relative_to(ROOT / "emu"):
            need.add(p)
            need.update(f.resolve() for f in _module_files(p, t.decode("utf-8", "replace"))
                        if f.resolve().parent == p.parent)
    h = hashlib.sha1()
    for p in sorted(need):
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + hashlib.sha1(texts[p]).digest())
    return h.hexdigest()[:16]


class _ImportHook:
    """A ``sys.meta_path`` entry that runs ``exec_module(run, module)`` in place of
    the loader's ``run(module)`` the first time module ``NAME`` is imported (then it
    steps aside), when ``applies()``."""

    NAME = ""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != cls.NAME:
            return None
        sys.meta_path.remove(cls)
        import importlib.util
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not cls.applies():
            return spec
        run = spec.loader.exec_module
        spec.loader.exec_module = lambda module: cls.exec_module(run, module)
        return spec

    @classmethod
    def applies(cls) -> bool:
        return True


class _NoBlasProbe(_ImportHook):
    """Numba's first cache load (the target's ``refresh``) imports numba.np.arraymath,
    whose module-level BLAS probe imports scipy.linalg when SciPy is installed: 0.3 s,
    a third of a warm start.  No compiled code here uses BLAS (np.dot, np.linalg), so
    that one module is executed with scipy.linalg hidden and its probe finds none.  A
    scipy.linalg the program imported before is left alone; afterwards it imports as
    usual."""

    NAME = "numba.np.arraymath"

    @classmethod
    def applies(cls) -> bool:
        return "scipy.linalg" not in sys.modules

    @staticmethod
    def exec_module(run, module):
        sys.modules["scipy.linalg"] = None       # "import scipy.linalg..." raises ImportError
        try:
            run(module)
        finally:
            if sys.modules.get("scipy.linalg", 0) is None:
                del sys.modules["scipy.linalg"]


class _LoadWithoutRefresh(_ImportHook):
    """Numba's ``Cache.load_overload`` refreshes the target first: it imports and
    installs every typing and lowering registry (numba.np.arraymath, the random,
    typed-list and unicode implementations...), 0.2-0.3 s, the largest part of a
    warm start.  Rebuilding a cached function needs none of them: it unpickles the
    signature and links the stored object code (CompileResult._rebuild).  Only the
    runtime's symbols must be there (a cached function may call NRT), so the patched
    load initializes the runtime and skips the registries; a real compile still
    refreshes them first (numba.core.compiler.compile_extra)."""

    NAME = "numba.core.caching"

    @staticmethod
    def exec_module(run, module):
        run(module)
        cache = getattr(module, "Cache", None)
        if cache is None or not hasattr(cache, "_load_overload"):
            return                               # another Numba: leave it as it is

        def load_overload(self, sig, target_context):
            from numba.core.runtime import rtsys
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)
        cache.load_overload = load_overload


def configure() -> None:
    for hook in (_NoBlasProbe, _LoadWithoutRefresh):
        if hook.NAME not in sys.modules and hook not in sys.meta_path:
            sys.meta_path.insert(0, hook)
    if os.environ.get("NUMBA_CACHE_DIR"):
        return                                   # the user chose
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emu" / "numba"
    try:
        base.mkdir(parents=True, exist_ok=True)
        path = base / cached_fingerprint(base / "fingerprint")
        path.mkdir(exist_ok=True)
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


_notice_lock = threading.Lock()
_notice = None          # the notice shown now: {"out", "t0", "done"} (see guest_output)


_line_start = True      # the terminal's cursor is at the start of a line (see notice)


def guest_output(text: str = "") -> None:
    """Called by everything that echoes guest output to the terminal, before it
    writes ``text``: a compile notice on screen gets its closing line first, so the
    line stands on its own instead of after the guest's prompt (``A>emu: compiled``)."""
    global _line_start
    if _notice is not None:
        _finish_notice()
    if text:
        _line_start = text[-1] in "\r\n"


def notice(msg: str, out=None) -> None:
    """One line for the user on stderr, on a line of its own even when the guest's
    output stopped mid-line (its prompt); CR LF, as the terminal may be raw."""
    global _line_start
    out = out or sys.stderr
    with _notice_lock:
        out.write(("" if _line_start else "\r\n") + msg + "\r\n")
        out.flush()
        _line_start = True


def _finish_notice():
    global _notice
    with _notice_lock:
        n, _notice = _notice, None
        if n is not None and not n["done"]:
            n["done"] = True
            n["out"].write(f"emu: compiled in {time.monotonic() - n['t0']:.0f} s\r\n")
            n["out"].flush()


@contextmanager
def compile_notice(ready, delay: float = 2.0, every: float = 10.0, out=None):
    """Long work shows progress: a first start after an install or update compiles
    the cores and drivers (tens of seconds).  If ``ready()`` (the machine has run)
    is still false after ``delay`` seconds, say so, then how long it is taking.
    Lines end in CR LF: the terminal may be in raw mode for the guest's console.
    The closing line comes before the guest's first output (``guest_output``) or,
    when the guest printed nothing, once ``ready()``."""
    global _notice
    out = out or sys.stderr
    stop = threading.Event()
    state = {"out": out, "t0": time.monotonic(), "done": False}

    def watch():
        global _notice
        t0 = state["t0"]
        if stop.wait(delay) or ready():
            return
        with _notice_lock:
            out.write("emu: compiling the emulator's code (first start after an install or update;"
                      " later starts use the cache)...\r\n")
            out.flush()
            _notice = state
        report = t0 + every
        while not ready() and not state["done"]:
            if stop.wait(0.2):
                if not ready():
                    with _notice_lock:
                        _notice = None
                    return                       # the run ended before the machine ran
                break
            now = time.monotonic()
            if now >= report:
                report += every
                with _notice_lock:
                    if not state["done"]:
                        out.write(f"emu: still compiling ({now - t0:.0f} s)\r\n")
                        out.flush()
        if _notice is state:
            _finish_notice()

    th = threading.Thread(target=watch, name="compile-notice", daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
        with _notice_lock:
            if _notice is state:
                _notice = None
