"""``emu bench``: speed figures for every core and machine.

Per core (a core package may provide ``bench.py`` with ``bench(seconds) -> dict``
running a mixed workload with no exits): guest MIPS.
Per machine: headless frames per second and the multiple of real time, the
cold start (empty Numba cache) to the first frame, run by the first tier
(emu.tier) as ``emu run`` does, and to full speed (the background compile done
and switched to), and the warm start (cache filled) to the first frame, each
measured in a fresh Python process (the warm start as the median of five).
The project's OS (``--only os``): host time from power-on to its shell prompt,
and its compute benchmark's speed inside the guest.
"""
from __future__ import annotations

import importlib
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

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

# a first start as ``emu run`` makes it (emu.tier): the first frame from the Python
# tier, then frames on until the background compile has switched the run over
COLD_SNIPPET = """
import json, sys, time
t = time.perf_counter()
from emu import tier
from emu.machine import Machine
m = Machine.load(sys.argv[1], headless=True)
m.tier = tier.start(m, {"machine": sys.argv[1], "media": [], "ram_size": None})
m.step_frame(1)
first = time.perf_counter() - t
while m.tier is not None and m.tier.done is None:
    m.step_frame(1)
print(json.dumps({"first": first, "full": time.perf_counter() - t, "tiered": m.tier is not None}))
"""


WARM_RUNS = 5


def _env(cache_dir):
    env = dict(os.environ, NUMBA_NUM_THREADS="1", SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env.pop("EMU_TIER", None)
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def _start_time(machine: str, cache_dir: str | None) -> float | None:
    r = subprocess.run([sys.executable, "-c", START_SNIPPET, machine], capture_output=True,
                       text=True, env=_env(cache_dir))
    if r.returncode:
        return None
    return float(r.stdout.strip().splitlines()[-1])


def _cold_start(machine: str) -> dict | None:
    """A first start with an empty cache: seconds to the first frame and to full speed."""
    import json
    with tempfile.TemporaryDirectory() as cold_cache:
        r = subprocess.run([sys.executable, "-c", COLD_SNIPPET, machine], capture_output=True,
                           text=True, env=_env(cold_cache))
    if r.returncode:
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_machine(name: str, seconds: float) -> dict:
    from .machine import Machine
    cold = _cold_start(name) or {}
    _start_time(name, None)             # fill the default cache (a source change starts a new one)
    warms = [t for t in (_start_time(name, None) for _ in range(WARM_RUNS)) if t is not None]
    warm = float(np.median(warms)) if warms else None   # one start drifts by +-30% here
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
    return {"fps": fps, "realtime": fps * m.frame_period, "cold_start_s": cold.get("first"),
            "full_speed_s": cold.get("full"), "warm_start_s": warm, "guest_mips": insns / dt / 1e6}


def _shell_command(out, feed, run_until, line: bytes, seconds: float):
    """Type ``line`` on the project OS's shell and run to its next prompt (machine or
    VMM: ``run_until(predicate, seconds)``): (host seconds, what it printed)."""
    n = len(out())
    feed(line + b"\r")
    t0 = time.perf_counter()
    if not run_until(lambda *_: out()[n:].endswith(b"\n$ "), seconds):
        raise RuntimeError(f"{line.decode()!r} did not finish")
    return time.perf_counter() - t0, out()[n:]


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
            host, text = _shell_command(out, m.devices["com1"].backend.feed, m.run_until,
                                        b"bench compute 200000", 60)
        finally:
            m.shutdown()
    g = re.search(rb"bench compute: (\d+) in (\d+) us", text)
    if not g:
        raise RuntimeError("no compute benchmark result")
    return {"load_s": load, "boot_s": boot, "boot_guest_s": boot_guest, "compute_n": int(g[1]),
            "compute_guest_us": int(g[2]), "compute_host_s": host}


EXIT_PROGRAMS = {             # a port read in a loop, a NOP loop, where, the registers
    "z80": (bytes.fromhex("DB 40 18 FC"), bytes.fromhex("00 18 FD"), 0x100, {"pc": 0x100}),
    "x86": (bytes.fromhex("E4 40 EB FC"), bytes.fromhex("90 EB FD"), 0x2000, {"cs": 0, "ip": 0x2000}),
}


def bench_exits(core: str, seconds: float) -> dict:
    """Host cost of one exit round trip (an IN whose value a Python handler supplies,
    the run ABI's restart included) and of one run() call that returns at once."""
    from .core import compiled_entry, find_core, flat_memory
    cls = find_core(core)
    io_code, nop_code, at, regs = EXIT_PROGRAMS[core]
    out = {}
    for kind, code in (("exit", io_code), ("call", nop_code)):
        c = cls(clock_hz=4e6)
        mem = flat_memory(16, cls.page_bits, space_bits=cls.address_bits)
        mem[0][at:at + len(code)] = np.frombuffer(code, np.uint8)
        c.set_registers(**regs)
        st, sv = c.state, c.sv
        device = {0x40: 0x5A}.get                  # the "device": a Python lookup
        type(c).run(st, mem, 10)                   # compile
        run = compiled_entry(type(c).run, st, mem, 1)   # as the scheduler calls it
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 4:
            for _ in range(1000):
                r = run(st, mem, 1000 if kind == "exit" else 1)
                if r == abi.EXIT_IO_IN:               # as Scheduler.dispatch answers it
                    sv[abi.S_EXIT_DATA] = device(sv[abi.S_EXIT_ADDR] & 0xFF, 0xFF)
                    sv[abi.S_PENDING] = 1
            n += 1000
        per = (time.perf_counter() - t0) / n
        out[f"{kind}_ns"] = per * 1e9        # one run() call ending in the exit, the answer given
    return out


def bench_idle(machine: str, seconds: float, media=None) -> float:
    """Percent of one host core a machine takes idling, paced to real time as
    ``emu run`` paces it (headless: no window drawing)."""
    from .machine import Machine
    m = Machine.load(machine, media)
    try:
        m.run_for(3.0)                              # boot to the prompt / wait loop
        period = m.frame_period
        t0, c0 = time.perf_counter(), time.process_time()
        nxt = t0
        while time.perf_counter() - t0 < seconds:
            m.step_frame()
            nxt += period
            d = nxt - time.perf_counter()
            if d > 0:
                time.sleep(d)
        return 100.0 * (time.process_time() - c0) / (time.perf_counter() - t0)
    finally:
        m.shutdown()


def bench_idle_window(machine: str, seconds: float, media=None) -> float:
    """The same in the window, as ``emu run`` shows it (drawing, its default rewind
    history, event polling and pacing included; SDL's dummy video driver when there
    is no display), once the window is open: opening and closing it is not counted."""
    import argparse

    from .frontend import run_window
    from .machine import Machine
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    m = Machine.load(machine, media)
    try:
        m.run_for(3.0)
        args = argparse.Namespace(scale=None, state=None, rewind=None, frames=None, seconds=1.0,
                                  unthrottled=False)
        run_window(m, args)                       # (pygame's first import and start-up)
        # the steady cost: a run of 2T less a run of T (each opens and closes the window)
        cost = []
        for t in (seconds / 2, seconds):
            args.seconds = t
            t0, c0 = time.perf_counter(), time.process_time()
            run_window(m, args)
            cost.append((time.process_time() - c0, time.perf_counter() - t0))
        return 100.0 * (cost[1][0] - cost[0][0]) / (cost[1][1] - cost[0][1])
    finally:
        m.shutdown()


def bench_vmm() -> dict:
    """The PM OS's nanobenchmarks (its `bench`) on bare `pc` and as a VM under `emulate`,
    alone: host seconds for the whole run, and the VMM's world-switch cost with the
    CP/M system and a second PM OS beside it."""
    from .config import PROJECT_ROOT
    from .machine import Machine
    from .vmm.spec import load_scenario, load_vm
    from .vmm.vmm import VMM
    vmdir = PROJECT_ROOT / "machines" / "vm"
    img = PROJECT_ROOT / "roms_test" / "os" / "os.img"    # guest writes stay in memory
    res = {}
    for _ in range(2):                             # alternate, the second round counts
        m = Machine.load("pc", {"hdd": img}, persist=False)
        com = m.devices["com1"].backend
        try:
            m.run_until(lambda mm: com.output.endswith(b"$ "), 60)
            res["bare_s"], _ = _shell_command(lambda: com.output, com.feed, m.run_until, b"bench", 300)
        finally:
            m.shutdown()
        v = VMM(64 << 20)
        try:
            a = v.add(load_vm(vmdir / "pmos.yaml"))
            v.run_until(lambda _: a.console.output.endswith(b"$ "), 60)
            res["emulate_s"], _ = _shell_command(lambda: a.console.output, a.console.feed,
                                                 v.run_until, b"bench", 300)
        finally:
            v.shutdown()
    sc = load_scenario(vmdir / "trio.yaml")
    v = VMM(sc.host_ram)
    for spec in sc.vms:
        v.add(spec)
    v.run(3.0)
    st = v.stats()
    v.shutdown()
    res["switch_us"] = st["switch_time"] / max(1, st["switches"]) * 1e6
    res["slice_overhead_us"] = st["overhead"] / max(1, st["slices"]) * 1e6
    res["slowdown"] = res["emulate_s"] / res["bare_s"]
    return res


NANOBENCHES = ("syscall", "inout", "cr3", "pte", "pagefault", "divzero", "callret", "spawn",
               "forkexec", "compute")


MODES_BENCHED = (("trap", {"mode": "trap"}, "strict", "nested"),
                 ("hw-nested", {"mode": "hw"}, "default", "nested"),
                 ("hw-shadow", {"mode": "hw", "paging": "shadow"}, "default", "shadow"),
                 ("pv", {"mode": "pv", "file": "pmos-pv.yaml"}, "default", "nested"),
                 ("bt", {"mode": "bt"}, "default", "nested"))


def bench_modes() -> dict:
    """Each of the PM OS's nanobenchmarks (`bench NAME`, its default count) on bare `pc`
    and as a VM in the modes of MODES_BENCHED, each VM alone on its VMM: host seconds
    per command, the slowdown against bare pc, and the VMM's exits the command took
    (measured by emu.vmm.table, which `emu vmm table` prints for every mode)."""
    from .vmm.table import DEFAULTS, ROWS, Row, measure
    rows = [ROWS[0]]
    for key, over, cpu, paging in MODES_BENCHED:
        over = dict(over, paging=paging)
        vm_file = over.pop("file", "pmos.yaml")             # (pv: the PV build, os-pv.img)
        image = next((r.image for r in ROWS if r.vm_file == vm_file), ROWS[0].image)
        rows.append(Row(key, over["mode"], over, cpu=cpu, vm_file=vm_file, image=image))
    t = measure(rows, NANOBENCHES, DEFAULTS)
    res = {}
    for name in NANOBENCHES:
        bare = t["bare"][name]["s"]
        res[name] = {"bare_s": bare}
        for key, *_ in MODES_BENCHED:
            x = t[key].get(name)
            res[name][key] = {"s": x["s"], "slowdown": x["s"] / bare, "exits": x["exits"]} if x else \
                {"s": math.nan, "slowdown": math.nan, "exits": -1}
    return res


def bench_bt_z80(programs=("filetest", "hello", "args one two", "dir")) -> dict:
    """The CP/M system under mode bt (its Z80 code translated into x86 code that the
    host CPU runs) against the same system under emulate (the VMM's Z80 core), side
    by side in one VMM: host seconds each VM spent on each command (after a warm-up
    round that translates and compiles), and the slowdown of bt."""
    from .config import PROJECT_ROOT
    from .vmm.spec import load_vm
    from .vmm.vmm import VMM
    vmdir = PROJECT_ROOT / "machines" / "vm"
    v = VMM(64 << 20)
    res = {}
    try:
        vms = {k: v.add(load_vm(vmdir / "cpm.yaml", {"name": f"cpm-{k}", "mode": k}))
               for k in ("emulate", "bt")}
        v.run_until(lambda _: all(vm.console.output.endswith(b"A>") for vm in vms.values()), 120)
        for rnd in range(2):                         # the second round counts
            for line in programs:
                row = {}
                for k, vm in vms.items():
                    h0, n = vm.host_time, len(vm.console.output)
                    vm.console.feed(line.encode() + b"\r")
                    least = n + len(line) + 2            # (the echo, then the next prompt)
                    if not v.run_until(lambda _, vm=vm, least=least: len(vm.console.output) > least
                                       and vm.console.output.endswith(b"A>"), 600):
                        raise RuntimeError(f"{vm.name}: {line!r} did not finish")
                    row[k] = vm.host_time - h0
                row["slowdown"] = row["bt"] / row["emulate"] if row["emulate"] else 0.0
                res[line] = row
        total_e = sum(r["emulate"] for r in res.values())
        total_b = sum(r["bt"] for r in res.values())
        res["total"] = {"emulate": total_e, "bt": total_b, "slowdown": total_b / total_e if total_e else 0.0}
        res["stats"] = vms["bt"].mode.stats()["bt_z80"]
    finally:
        v.shutdown()
    return res


def main(args) -> int:
    results = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "cores": {},
               "machines": {}, "exits": {}, "idle": {}}
    try:
        return _main(args, results)
    finally:
        if getattr(args, "json", None):
            import json
            tmp = f"{args.json}.tmp"
            with open(tmp, "w") as f:
                json.dump(results, f, indent=1)
            os.replace(tmp, args.json)


def _main(args, results) -> int:
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
        results["cores"][core] = r
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
        results["machines"][f.stem] = r
        cold, full, warm = (f"{r[k]:.2f}s" if r[k] is not None else "n/a"
                            for k in ("cold_start_s", "full_speed_s", "warm_start_s"))
        print(f"  {f.stem:8s} {r['fps']:9.1f} fps  {r['realtime']:7.1f}x real time  "
              f"{r['guest_mips']:7.1f} guest MIPS  cold start {cold} (first tier; compiled code "
              f"after {full})  warm start {warm}", flush=True)
    if not only or "os" in only:
        try:
            r = bench_os()
            results["os"] = r
            print(f"  os       machine load {r['load_s']:.2f}s, then boot to the shell prompt "
                  f"{r['boot_s']:.2f}s host ({r['boot_guest_s']:.2f}s emulated); compute {r['compute_n']} rounds in "
                  f"{r['compute_guest_us'] / 1e3:.1f} ms guest time, {r['compute_host_s']:.2f}s host",
                  flush=True)
        except (RuntimeError, OSError, EmuError) as e:
            print(f"  os       failed: {e}")
    wanted = [c for c in EXIT_PROGRAMS if not only or c in only or "exits" in only]
    if wanted:
        print("exit cost (host time; halving these is issue #20's goal):")
    for core in wanted:
        r = bench_exits(core, args.seconds)
        results["exits"][core] = r
        print(f"  {core:8s} exit round trip (IN answered in Python) {r['exit_ns']:7.0f} ns   "
              f"run() returning at once {r['call_ns']:6.0f} ns", flush=True)
    idle = [(n, md) for n, md in (("cpm", None), ("pc", None), ("sms", None))
            if not only or n in only or "idle" in only]
    if idle:
        print("idle cost (paced to real time at the prompt / wait loop; headless, and in the window):")
    for name, media in idle:
        try:
            pct = bench_idle(name, max(2.0, args.seconds))
        except Exception as e:
            print(f"  {name:8s} failed: {e}")
            continue
        results["idle"][name] = pct
        line = f"  {name:8s} {pct:5.1f}% of one host core"
        if name != "cpm":                              # (cpm's console is the terminal)
            try:
                win = bench_idle_window(name, max(2.0, args.seconds))
                results["idle"][f"{name}_window"] = win
                line += f", {win:5.1f}% in the window"
            except Exception as e:
                line += f", in the window: failed: {e}"
        print(line, flush=True)
    if only and ("vmm" in only or "bt-z80" in only):
        r = bench_bt_z80()
        results["bt_z80"] = r
        print("vmm mode bt, Z80 on x86: host seconds per CP/M command, bt against emulate (one VMM)")
        for line, x in r.items():
            if line != "stats":
                print(f"  {line:14s} emulate {x['emulate']:7.3f} s  bt {x['bt']:7.3f} s  "
                      f"slowdown {x['slowdown']:6.1f}x", flush=True)
    if only and "vmm" in only:
        r = bench_vmm()
        results["vmm"] = r
        print("vmm (mode emulate):")
        print(f"  PM OS nanobenchmarks (its `bench`): bare pc {r['bare_s']:.2f} s host, as a VM "
              f"{r['emulate_s']:.2f} s (slowdown {r['slowdown']:.2f}x)")
        print(f"  world switch {r['switch_us']:.1f} us, VMM overhead per slice "
              f"{r['slice_overhead_us']:.1f} us (CP/M and two PM OS VMs)", flush=True)
        r = bench_modes()
        results["vmm_modes"] = r
        print("vmm modes: host seconds per `bench NAME` command (slowdown against bare pc; VMM exits)")
        print(f"  {'bench':10s} {'bare pc':>8s}  " + "  ".join(f"{k:>26s}" for k, *_ in MODES_BENCHED))
        for name, x in r.items():
            cols = "  ".join(f"{x[k]['s']:7.3f} s {x[k]['slowdown']:6.1f}x {x[k]['exits']:6d} ex"
                             for k, *_ in MODES_BENCHED)
            print(f"  {name:10s} {x['bare_s']:7.3f}s  {cols}", flush=True)
    return 0
