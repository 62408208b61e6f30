"""The first tier (emu.tier): the cores' and drivers' compiled functions run as
Python while a first start compiles them in the background.  It must compute
exactly what the compiled code computes: the SingleStepTests vectors (Z80 and
8086), the protected-mode tester ROM, and whole machines run frame by frame
against the compiled run from the same start; then the switch-over and the
cold-cache detection."""
import gc
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from emu import abi, tier
from emu.machine import Machine

from . import test_x86_vectors as x86v
from . import test_z80_vectors as z80v
from .conftest import ROOT


@pytest.fixture
def python_tier():
    gc.freeze()                 # as tier.start does: the test process's heap stays out of GC passes
    tier.set_python(True)
    try:
        yield
    finally:
        tier.set_python(False)
        gc.unfreeze()


def test_twin_is_python_calling_twins(python_tier):
    from cores.z80 import Z80
    tw = tier.python_twin(Z80.run)
    assert tw is not Z80.run.py_func and tw.__code__ is Z80.run.py_func.__code__
    callees = [v for v in tw.__globals__.values() if hasattr(v, "py_func")]
    assert not callees, "a twin's globals still hold compiled functions"


def test_cputest_rom_in_python(python_tier):
    """Every protected-mode group of the tester ROM (descriptors, gates, paging,
    tasks, V86, debug registers) passes in the Python tier too."""
    from .test_cputest import FINAL, verdict
    m = Machine.load("machines/cputest.yaml")
    post, debug = m.devices["post"], m.devices["debug"]
    m.run_until(lambda mm: post.text and (ord(post.text[-1]) == FINAL or ord(post.text[-1]) & 0xF0 == 0xE0), 60)
    m.shutdown()
    assert verdict(debug.text) == "", debug.text[-2000:]


def _snapshot(m):
    return [c.state.copy() for c in m.cpu_list], [s.mem[abi.M_DATA].copy() for s in m.spaces.values()]


@pytest.mark.parametrize("name,frames", [("cpm", 30), ("sms", 4), ("pc", 3), ("toy", 10)])
def test_machine_frames_match_compiled(name, frames):
    """A machine run ``frames`` frames in the Python tier ends in exactly the state
    (every CPU's state array, every address space's memory) of the compiled run."""
    runs = []
    for python in (True, False):
        m = Machine.load(name, headless=True, persist=False)
        for d in m.devices.values():
            if hasattr(d, "epoch"):
                d.epoch = 1.7e9               # the same RTC time in both runs
        gc.freeze()
        tier.set_python(python)
        try:
            m.step_frame(frames)
        finally:
            tier.set_python(False)
            gc.unfreeze()
        runs.append(_snapshot(m))
        m.shutdown()
    (ca, ma), (cb, mb) = runs
    for a, b in zip(ca, cb):
        diff = np.nonzero(a != b)[0]
        assert not len(diff), f"{name}: state slots {diff[:8].tolist()} differ"
    for a, b in zip(ma, mb):
        assert np.array_equal(a, b), f"{name}: memory differs at {np.nonzero(a != b)[0][:8].tolist()}"


def _in_fresh_process(code, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


SWITCH = """
import json, time
from emu import tier
from emu.machine import Machine
m = Machine.load("toy", headless=True, persist=False)
cold = tier.cold(m)
m.tier = tier.start(m, {"machine": "toy", "media": [], "ram_size": None})
first = tier.python_tier()
t0 = time.monotonic()
while m.tier is not None and m.tier.done is None and time.monotonic() - t0 < 300:
    m.step_frame()
switched = m.frame
m.step_frame(5)
run = type(m.cpu).run
print(json.dumps({"cold": cold, "first": first, "now": tier.python_tier(), "switched": switched,
                  "rc": m.tier.proc.returncode, "compiled": len(run.signatures),
                  "cold_after": tier.cold(m), "state": m.cpu.state.tolist(),
                  "mem": m.spaces["main"].mem[0].tobytes().hex() if "main" in m.spaces else ""}))
"""

SAME = """
import json
from emu.machine import Machine
m = Machine.load("toy", headless=True, persist=False)
m.step_frame({frames})
print(json.dumps({{"state": m.cpu.state.tolist(),
                  "mem": m.spaces["main"].mem[0].tobytes().hex() if "main" in m.spaces else ""}}))
"""


def test_first_start_switches_to_compiled_code(tmp_path):
    """With an empty cache a start runs the Python tier at once, a background
    process fills the cache, and the run switches to the compiled code at a frame
    boundary; the guest's state is what an all-compiled run reaches in as many
    frames; the next start finds the cache warm."""
    r = _in_fresh_process(SWITCH, tmp_path)
    assert r["cold"] and r["first"] and not r["now"]
    assert r["rc"] == 0 and r["compiled"] >= 1 and not r["cold_after"]
    ref = _in_fresh_process(SAME.format(frames=r["switched"] + 5), tmp_path)
    assert r["state"] == ref["state"] and r["mem"] == ref["mem"]
    warm = _in_fresh_process("import json\nfrom emu import tier\nfrom emu.machine import Machine\n"
                             "print(json.dumps(tier.cold(Machine.load('toy', headless=True))))", tmp_path)
    assert warm is False


def test_tier_off_by_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EMU_TIER", "0")
    m = Machine.load("toy", headless=True, persist=False)
    assert tier.start(m, {"machine": "toy"}) is None and not tier.python_tier()
    m.shutdown()


@pytest.mark.skipif(not z80v.FILES, reason="Z80 vectors not found")
def test_z80_vectors_in_python(python_tier):
    fails = []
    z80v.load.cache_clear()                   # (the vectors' JSON would slow later Python: GC)
    for name in z80v.FILES:
        for t in z80v.load(name)[:2]:
            p = z80v.run_vector(t)
            if p:
                fails.append(f"{t['name']}: {', '.join(p)}")
    z80v.load.cache_clear()
    assert not fails, f"{len(fails)} failing, e.g. " + "; ".join(fails[:3])


@pytest.mark.skipif(not x86v.FILES, reason="8086 vectors not found")
def test_8086_vectors_in_python(python_tier):
    try:
        for name in x86v.FILES:
            x86v.check_file(name, 2)
    finally:
        x86v.load.cache_clear()


def test_cache_key_follows_compiled_code(tmp_path, monkeypatch):
    """The cache directory's key changes with the cores and with framework files that
    define compiled functions (and what they import from their package), and not
    with framework code that only calls compiled code (the CLI, emu.core, emu.tier)."""
    from emu import jitcache
    for rel, text in {"cores/z/__init__.py": "from numba import njit\n",
                      "emu/abi.py": "S_PC = 0\n",
                      "emu/core.py": "# njit(cache=True) function run\nfrom numba import typeof\n",
                      "emu/dev/vdp.py": "from numba import njit\nfrom .layout import X\n@njit\ndef f(): pass\n",
                      "emu/dev/layout.py": "X = 1\n",
                      "emu/cli.py": "print()\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.setattr(jitcache, "ROOT", tmp_path)
    base = jitcache.fingerprint()
    changed = {}
    for rel in ("cores/z/__init__.py", "emu/abi.py", "emu/dev/vdp.py", "emu/dev/layout.py",
                "emu/core.py", "emu/cli.py"):
        p = tmp_path / rel
        old = p.read_text()
        p.write_text(old + "# edited\n")
        changed[rel] = jitcache.fingerprint() != base
        p.write_text(old)
    assert changed == {"cores/z/__init__.py": True, "emu/abi.py": True, "emu/dev/vdp.py": True,
                       "emu/dev/layout.py": True, "emu/core.py": False, "emu/cli.py": False}


def test_warm_start_leaves_scipy_linalg_unimported():
    """Numba's first cache load imports numba.np.arraymath, whose BLAS probe would
    import scipy.linalg (a third of a warm start): emu.jitcache hides it for that one
    import, and scipy.linalg still imports afterwards."""
    pytest.importorskip("scipy.linalg")
    code = ("import sys, emu\n"
            "from numba import njit\n"
            "@njit(cache=False)\n"
            "def f(x): return x + 1\n"
            "assert f(1) == 2\n"
            "import numba.np.arraymath as am\n"
            "print('scipy.linalg' in sys.modules, am._HAVE_BLAS)\n"
            "import scipy.linalg\n"
            "print(scipy.linalg.norm([3.0, 4.0]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.split()
    assert out == ["False", "False", "5.0"]


def test_fingerprint_memo_follows_edits(tmp_path, monkeypatch):
    """The fingerprint remembered under the files' stat key is the one computed
    from their contents, before and after an edit, and a corrupt memo is recomputed."""
    from emu import jitcache
    src = tmp_path / "tree"
    (src / "cores" / "z").mkdir(parents=True)
    (src / "emu").mkdir()
    (src / "emu" / "abi.py").write_text("S_PC = 0\n")
    core = src / "cores" / "z" / "__init__.py"
    core.write_text("X = 1\n")
    monkeypatch.setattr(jitcache, "ROOT", src)
    memo = tmp_path / "fingerprint"
    first = jitcache.cached_fingerprint(memo)
    assert first == jitcache.fingerprint() and memo.read_text().split()[1] == first
    assert jitcache.cached_fingerprint(memo) == first
    core.write_text("X = 22\n")
    second = jitcache.cached_fingerprint(memo)
    assert second == jitcache.fingerprint() != first
    memo.write_text("garbage")
    assert jitcache.cached_fingerprint(memo) == second


def test_cache_load_skips_the_registries_and_compiles_still_work(tmp_path):
    """A cached function loads without Numba's registry refresh (no
    numba.np.arraymath import), including one that allocates through Numba's
    runtime; a function compiled afterwards still finds every implementation."""
    (tmp_path / "cached_mod.py").write_text(
        "import numpy as np\nfrom numba import njit\n"
        "@njit(cache=True)\n"
        "def alloc(n):\n    a = np.zeros(n)\n    a[1] = 2.5\n    return a\n")
    code = ("import sys, emu, numpy as np\n"
            "import cached_mod\n"
            "print(cached_mod.alloc(3)[1], 'numba.np.arraymath' in sys.modules)\n"
            "from numba import njit\n"
            "@njit\n"
            "def total(a): return np.sum(a) + np.argmax(a)\n"
            "print(total(np.arange(4.0)))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=tmp_path, env=env, check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["2.5", "True", "9.0"]       # compiled: the refresh imported it
    assert runs[1] == ["2.5", "False", "9.0"]      # loaded from the cache: no refresh
