"""``emu bench``: speed figures for every core and machine.

Per core (a core package may provide ``bench.py`` with ``bench(seconds) -> dict``
running a mixed workload with no exits): guest MIPS.
Per machine: headless frames per second and the multiple of real time, the
cold start (empty Numba cache: JIT compile included) and warm start (cache
filled) to the first frame, each measured in a fresh Python process.
The project's OS (``--only os``): host time from power-on to its shell prompt,
and its compute benchmark's speed inside the guest.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import time

from . import abi
from .config import list_machines
from .core import available_cores
from .errors import EmuError

START_SNIPPET = """
import time, sys
t = time.perf_counter()
from emu.machine import Machine
m = Machine.load(sys.argv[1])
m.step_frame(1)
print(time.perf_counter() - t)
"""


def _start_time(machine: str, cache_dir: str | None) -> float | None:
    env = dict(os.environ, NUMBA_NUM_THREADS="1", SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    r = subprocess.run([sys.executable, "-c", START_SNIPPET, machine], capture_output=True,
                       text=True, env=env)
    if r.returncode:
        return None
    return float(r.stdout.strip().splitlines()[-1])


def bench_machine(name: str, seconds: float) -> dict:
    from .machine import Machine
    with tempfile.TemporaryDirectory() as cold_cache:
        cold = _start_time(name, cold_cache)
    _start_time(name, None)             # fill the default cache (a source change starts a new one)
    warm = _start_time(name, None)
    m = Machine.load(name)
    m.step_frame(2)                     # compile / warm up in this process
    insns0 = sum(int(c.state[abi.S_INSNS]) for c in m.cpu_list)
    frames, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        m.step_frame(5)
        frames += 5
    dt = time.perf_counter() - t0
    fps = frames / dt
    insns = sum(int(c.state[abi.S_INSNS]) for c in m.cpu_list) - insns0
    return {"fps": fps, "realtime": fps * m.frame_period, "cold_start_s": cold,
            "warm_start_s": warm, "guest_mips": insns / dt / 1e6}


def bench_os() -> dict:
    """Boot roms_test/os/os.img (a copy) on pc to the shell prompt, then run its
    compute benchmark; host seconds to the prompt and the guest's own figures."""
    import re
    import shutil

    from .config import PROJECT_ROOT
    from .machine import Machine
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "os.img")
        shutil.copyfile(PROJECT_ROOT / "roms_test" / "os" / "os.img", img)
        t0 = time.perf_counter()
        m = Machine.load("pc", {"hdd": img})
        load = time.perf_counter() - t0

        def out():
            return m.devices["com1"].backend.output
        try:
            if not m.run_until(lambda mm: b"\n$ " in out(), 30):
                raise RuntimeError("no shell prompt within 30 emulated seconds")
            boot, boot_guest = time.perf_counter() - t0 - load, m.time
            n = len(out())
            m.devices["com1"].backend.feed(b"bench compute 200000\r")
            t1 = time.perf_counter()
            if not m.run_until(lambda mm: out()[n:].endswith(b"\n$ "), 60):
                raise RuntimeError("the compute benchmark did not finish")
            host = time.perf_counter() - t1
        finally:
            m.shutdown()
    g = re.search(rb"bench compute: (\d+) in (\d+) us", out()[n:])
    if not g:
        raise RuntimeError("no compute benchmark result")
    return {"load_s": load, "boot_s": boot, "boot_guest_s": boot_guest, "compute_n": int(g[1]),
            "compute_guest_us": int(g[2]), "compute_host_s": host}


def main(args) -> int:
    only = set(args.only.split(",")) if args.only else None
    print(f"emu bench — {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print("cores (mixed workload, no exits):")
    for core in available_cores():
        if only and core not in only:
            continue
        try:
            mod = importlib.import_module(f"cores.{core}.bench")
        except ImportError:
            continue
        r = mod.bench(args.seconds)
        extra = "".join(f"  {k}={v:.2f}" for k, v in r.items()
                        if k != "mips" and not k.endswith("_mips") and isinstance(v, float))
        print(f"  {core:8s} {r['mips']:8.1f} guest MIPS{extra}", flush=True)
        if "pm_paging_mips" in r:
            print(f"  {core} protected mode (paging) {r['pm_paging_mips']:8.1f} guest MIPS", flush=True)
        if "pm_loop_mips" in r:                 # the same loop without its system call
            ours = r["pm_loop_mips"]
            uc = r.get("pm_loop_unicorn_mips")
            vs = (f"unicorn {uc:.1f} MIPS (ratio {ours / uc:.2f})" if uc
                  else r.get("pm_loop_unicorn", "unicorn: no figure"))
            print(f"  {core} PM loop (no syscall, CPL 3, paging): ours {ours:.1f} MIPS, {vs}", flush=True)
    print("machines (headless, unthrottled):")
    for f in list_machines():
        if only and f.stem not in only:
            continue
        try:
            r = bench_machine(f.stem, args.seconds)
        except Exception as e:          # a broken machine must not hide the others' figures
            print(f"  {f.stem:8s} failed: {e}")
            continue
        cold = f"{r['cold_start_s']:.2f}s" if r["cold_start_s"] is not None else "n/a"
        warm = f"{r['warm_start_s']:.2f}s" if r["warm_start_s"] is not None else "n/a"
        print(f"  {f.stem:8s} {r['fps']:9.1f} fps  {r['realtime']:7.1f}x real time  "
              f"{r['guest_mips']:7.1f} guest MIPS  cold start (JIT) {cold}  warm start {warm}",
              flush=True)
    if not only or "os" in only:
        try:
            r = bench_os()
            print(f"  os       machine load {r['load_s']:.2f}s, then boot to the shell prompt "
                  f"{r['boot_s']:.2f}s host ({r['boot_guest_s']:.2f}s emulated); compute {r['compute_n']} rounds in "
                  f"{r['compute_guest_us'] / 1e3:.1f} ms guest time, {r['compute_host_s']:.2f}s host",
                  flush=True)
        except (RuntimeError, OSError, EmuError) as e:
            print(f"  os       failed: {e}")
    return 0
