"""``emu vmm table``: the same guest OS across the whole virtualization spectrum.

The project's PM OS (roms_test/os) runs its nanobenchmarks and two macro
workloads (its ``bench NAME``, each with the OS's default count) on the bare
``pc`` machine and as a VM in every mode: ``emulate``, ``bt``, ``trap`` (on the
strict, virtualizable host CPU), ``pv`` (its paravirtualized image), ``hw`` with
nested and with shadow paging.  For each: host nanoseconds per operation (the
host time of the command over the count the guest printed), the VMM's exits per
operation, and the slowdown against bare ``pc``.  Printed, written as CSV, drawn
as a PNG chart (pygame).

A mode not registered yet, a translator missing, a VM description or image that is
absent, a guest that fails: its row says ``not available: <reason>`` and the
others go on.  ``emu bench --only vmm`` measures its modes with ``measure()``.
"""
from __future__ import annotations

import csv
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import EmuError

VMDIR = PROJECT_ROOT / "machines" / "vm"
NANO = ("syscall", "inout", "cr3", "pagefault", "pte", "divzero", "callret")
MACRO = ("forkexec", "compute")
BENCHES = NANO + MACRO
RESULT = re.compile(rb"bench (\w+): (\d+) in (\d+) us")
# the OS's default counts (roms_test/os/user/bench.c, ``all[]``)
DEFAULTS = {"syscall": 2000, "inout": 2000, "cr3": 1000, "pte": 1000, "pagefault": 200,
            "divzero": 500, "callret": 20000, "spawn": 20, "forkexec": 20, "compute": 100000}
# the table's counts: five to fifty times the OS's, so that the difference of the long and
# the short run stands well above the noise of a host shared with other work
COUNTS = {"syscall": 10000, "inout": 10000, "cr3": 5000, "pte": 5000, "pagefault": 1000,
          "divzero": 2500, "callret": 1000000, "spawn": 40, "forkexec": 40, "compute": 2000000}
SHORT = 5                     # the second run of each benchmark: 1/SHORT of the count
REPEAT = 2                    # runs of each, the quickest counts
STEP = 0.001                  # host seconds between checks of the prompt (the granularity)


@dataclass
class Row:
    key: str                         # the row's name in the table
    mode: str | None                 # None: the bare machine
    over: dict = field(default_factory=dict)
    cpu: str = "default"             # the VMM's host CPU (trap: strict)
    vm_file: str = "pmos.yaml"
    image: str = "roms_test/os/os.img"


ROWS = (Row("bare", None),
        Row("emulate", "emulate", {"mode": "emulate"}),
        Row("bt", "bt", {"mode": "bt"}),
        Row("trap", "trap", {"mode": "trap"}, cpu="strict"),
        Row("pv", "pv", {"mode": "pv"}, vm_file="pmos-pv.yaml", image="roms_test/os/os-pv.img"),
        Row("hw-nested", "hw", {"mode": "hw", "paging": "nested"}),
        Row("hw-shadow", "hw", {"mode": "hw", "paging": "shadow"}))


class TableError(EmuError):
    pass


class _Target:
    """One row's guest, booted to its shell: type a command, run to the next prompt."""

    def __init__(self, row: Row):
        self.row = row
        self.exits = 0
        if row.mode is None:
            from ..machine import Machine
            self.m = Machine.load("pc", {"hdd": PROJECT_ROOT / row.image}, persist=False)
            com = self.m.devices["com1"].backend
            self.out, self.feed, self.run_until = (lambda: com.output), com.feed, self._bare_until
            inner = self.m.scheduler.dispatch

            def counting(cpu, space, reason):
                self.exits += 1
                inner(cpu, space, reason)
            self.m.scheduler.dispatch = counting
            self.vmm = self.vm = None
        else:
            from .spec import load_vm
            from .vmm import VMM
            self.vmm = VMM(64 << 20, host_cpu=row.cpu, paging=row.over.get("paging", "nested"),
                           slice_host=STEP)
            try:
                self.vm = self.vmm.add(load_vm(VMDIR / row.vm_file, dict(row.over)))
            except BaseException:
                self.vmm.shutdown()
                raise
            con = self.vm.console
            self.out, self.feed, self.run_until = (lambda: con.output), con.feed, self.vmm.run_until

    def _bare_until(self, predicate, seconds: float) -> bool:
        """Machine.run_until, checking every STEP of emulated time rather than every frame
        (the machine's own slicing: frames end on frame boundaries as in mode emulate), in
        steps sized to about STEP of host time, as the VMM sizes its VMs' slices."""
        m = self.m
        stop = time.monotonic() + seconds
        step = STEP
        while not predicate(m):
            t0 = time.perf_counter()
            if time.monotonic() > stop:
                return False
            end = m.time + step
            while m.time < end - 1e-12:
                if (m.frame + 1) * m.frame_period <= end + 1e-12:
                    m.step_frame()
                else:
                    m.scheduler.run_until(end)
            host = time.perf_counter() - t0
            if host > 0:
                step = min(0.05, max(0.001, step * STEP / host))
        return True

    def vmm_exits(self) -> int:
        """Exits to the VMM so far: the mode's own (trap, hw: by VMM or VT-x reason), else
        every exit of the guest's CPU to the device models (emulate, bare)."""
        if self.vm is None:
            return self.exits
        ex = getattr(self.vm.mode, "exits", None)
        return sum(ex.values()) if ex is not None else sum(self.vm.exits.values())

    def boot(self, seconds=300.0) -> None:
        if not self.run_until(lambda *_: self.out().endswith(b"$ "), seconds):
            raise TableError("no shell prompt")

    def command(self, line: str, seconds=600.0):
        out, n = self.out, len(self.out())
        self.feed(line.encode() + b"\r")
        e0, t0 = self.vmm_exits(), time.perf_counter()
        if not self.run_until(lambda *_: out()[n:].endswith(b"\n$ "), seconds):
            raise TableError(f"{line!r} did not finish")
        return time.perf_counter() - t0, self.vmm_exits() - e0, out()[n:]

    def close(self) -> None:
        if self.vmm is not None:
            self.vmm.shutdown()
        else:
            self.m.shutdown()


def unavailable(row: Row) -> str | None:
    """Why this row cannot run here (None: it can)."""
    if row.mode is None:
        return None if (PROJECT_ROOT / row.image).is_file() else f"no image {row.image}"
    from .modes import MODES
    if row.mode not in MODES:
        return f"mode {row.mode} is not registered"
    if not (VMDIR / row.vm_file).is_file():
        return f"no VM description machines/vm/{row.vm_file}"
    if not (PROJECT_ROOT / row.image).is_file():
        return f"no guest image {row.image}"
    try:
        from .spec import load_vm
        spec = load_vm(VMDIR / row.vm_file, dict(row.over))
        MODES[row.mode].check(spec)
    except EmuError as e:
        return str(e)
    return None


def measure(rows=ROWS, benches=BENCHES, counts=None, log=None) -> dict:
    """{row key: {"status": None or why not, bench: {n, s, ns, exits, exits_per_op,
    slowdown}}}.  ``counts``: bench -> N instead of COUNTS."""
    counts = counts or {}
    res, targets = {}, {}
    try:
        for row in rows:
            why = unavailable(row)
            if why is None:
                try:
                    t = _Target(row)
                    t.boot()
                    targets[row.key] = t
                except (EmuError, RuntimeError, OSError) as e:
                    why = f"{e.__class__.__name__}: {e}" if not isinstance(e, EmuError) else str(e)
            res[row.key] = {"status": why}
            if why and log:
                log(f"  {row.key:10s} not available: {why}")
        for b in benches:
            n_long = counts.get(b, COUNTS[b])
            n_short = max(1, n_long // SHORT)
            for key, t in list(targets.items()):
                try:
                    # per operation: the difference of a long and a short run over the
                    # difference of the counts the OS printed, so the command's fixed cost
                    # (the shell, loading the program, printing) cancels
                    # (each the quicker of REPEAT runs: the host's other load only adds)
                    (s, ex, n), (s2, ex2, n2) = (min(_run(t, b, k) for _ in range(REPEAT))
                                                 for k in (n_long, n_short))
                    if n <= n2:
                        raise TableError(f"bench {b}: the counts printed do not differ")
                    res[key][b] = {"n": n, "s": s, "ns": (s - s2) / (n - n2) * 1e9, "exits": ex,
                                   "exits_per_op": (ex - ex2) / (n - n2)}
                except (EmuError, RuntimeError) as e:
                    res[key]["status"] = f"failed at bench {b}: {e}"
                    t.close()
                    del targets[key]
                    continue
                if log:
                    r = res[key][b]
                    log(f"  {key:10s} {b:10s} {r['ns']:12.0f} ns/op {r['exits_per_op']:8.2f} exits/op")
    finally:
        for t in targets.values():
            t.close()
    bare = res.get("bare", {})
    for key, r in res.items():
        for b in benches:
            if b in r and b in bare:
                r[b]["slowdown"] = r[b]["ns"] / bare[b]["ns"]
    return res


def _run(t, b, n):
    s, ex, text = t.command(f"bench {b} {n}")
    g = RESULT.search(text)
    if not g or g[1].decode() != b:
        raise TableError(f"'bench {b} {n}' printed no result")
    return s, ex, int(g[2])


# ---- output ---------------------------------------------------------------------
def fmt(res: dict, benches=BENCHES) -> str:
    head = f"{'mode':10s} " + " ".join(f"{b:>22s}" for b in benches)
    out = ["host ns per operation / VMM exits per operation / slowdown against bare pc", head]
    for key, r in res.items():
        if r.get("status") and not any(b in r for b in benches):
            out.append(f"{key:10s} not available: {r['status']}")
            continue
        cells = []
        for b in benches:
            x = r.get(b)
            if x is None:
                cells.append(f"{'-':>22s}")
                continue
            sd = f"{x['slowdown']:.1f}x" if "slowdown" in x else "-"
            cells.append(f"{_ns(x['ns']):>9s} {x['exits_per_op']:6.1f} {sd:>6s}")
        line = f"{key:10s} " + " ".join(cells)
        if r.get("status"):
            line += f"   ({r['status']})"
        out.append(line)
    return "\n".join(out)


def _ns(ns: float) -> str:
    return f"{ns / 1e6:.2f}ms" if ns >= 1e6 else (f"{ns / 1e3:.1f}us" if ns >= 1e3 else f"{ns:.0f}ns")


def write_csv(res: dict, path, benches=BENCHES) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mode", "bench", "ops", "host_s", "ns_per_op", "exits_per_op", "slowdown", "status"])
        for key, r in res.items():
            if not any(b in r for b in benches):
                w.writerow([key, "", "", "", "", "", "", f"not available: {r['status']}"])
                continue
            for b in benches:
                x = r.get(b)
                if x is None:
                    w.writerow([key, b, "", "", "", "", "", r.get("status") or ""])
                    continue
                w.writerow([key, b, x["n"], f"{x['s']:.6f}", f"{x['ns']:.1f}", f"{x['exits_per_op']:.3f}",
                            f"{x['slowdown']:.3f}" if "slowdown" in x else "", ""])
    os.replace(tmp, path)


COLORS = [(40, 40, 40), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
          (148, 103, 189), (140, 86, 75), (227, 119, 194)]


def draw_png(res: dict, path, benches=BENCHES) -> None:
    """Grouped bars: per benchmark, each mode's slowdown against bare (log scale)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame
    pygame.font.init()
    keys = [k for k, r in res.items() if any(b in r for b in benches)]
    W, H, left, top, bottom = 140 + 110 * len(benches), 460, 70, 40, 90
    surf = pygame.Surface((W, H))
    surf.fill((255, 255, 255))
    font = pygame.font.Font(None, 18)
    big = pygame.font.Font(None, 22)
    vals = [res[k][b]["slowdown"] for k in keys for b in benches if b in res[k] and "slowdown" in res[k][b]]
    top_v = max([2.0] + vals)
    decades = max(1, math.ceil(math.log10(top_v)))
    ph = H - top - bottom

    def y(v):
        return top + ph - ph * max(0.0, math.log10(max(v, 1.0))) / decades
    for d in range(decades + 1):                    # the log axis
        yy = top + ph - ph * d / decades
        pygame.draw.line(surf, (220, 220, 220), (left, yy), (W - 10, yy))
        surf.blit(font.render(f"{10 ** d:g}x", True, (0, 0, 0)), (8, yy - 6))
    surf.blit(big.render("slowdown against bare pc (host time per operation, log scale)", True,
                         (0, 0, 0)), (left, 10))
    gw = (W - left - 10) / len(benches)
    bw = max(3, int(gw * 0.8 / max(1, len(keys))))
    for i, b in enumerate(benches):
        x0 = left + i * gw + gw * 0.1
        for j, k in enumerate(keys):
            x = res[k].get(b)
            if x is None or "slowdown" not in x:
                continue
            yy = y(x["slowdown"])
            pygame.draw.rect(surf, COLORS[j % len(COLORS)], (x0 + j * bw, yy, bw - 1, top + ph - yy))
        surf.blit(font.render(b, True, (0, 0, 0)), (x0, top + ph + 6))
    for j, k in enumerate(keys):                    # legend
        lx, ly = left + (j % 4) * 160, H - bottom + 35 + (j // 4) * 18
        pygame.draw.rect(surf, COLORS[j % len(COLORS)], (lx, ly, 12, 12))
        surf.blit(font.render(k, True, (0, 0, 0)), (lx + 16, ly))
    tmp = f"{path}.tmp.png"
    pygame.image.save(surf, tmp)
    os.replace(tmp, path)


def rows_named(names) -> tuple:
    if not names:
        return ROWS
    by = {r.key: r for r in ROWS}
    bad = [n for n in names if n not in by]
    if bad:
        raise TableError(f"unknown row {bad[0]!r} (rows: {', '.join(by)})")
    if "bare" not in names:
        names = ["bare", *names]                   # (the slowdown's reference)
    return tuple(by[n] for n in names)


def main(args) -> int:
    import sys
    benches = tuple(args.benches.split(",")) if args.benches else BENCHES
    bad = [b for b in benches if b not in BENCHES]
    if bad:
        raise TableError(f"unknown benchmark {bad[0]!r} (benchmarks: {', '.join(BENCHES)})")
    rows = rows_named(args.rows.split(",") if args.rows else None)
    counts = {b: args.count for b in benches} if args.count else None
    t0 = time.perf_counter()
    res = measure(rows, benches, counts, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(fmt(res, benches))
    write_csv(res, args.csv, benches)
    draw_png(res, args.png, benches)
    print(f"written {args.csv} and {args.png} in {time.perf_counter() - t0:.0f} s")
    return 0


def add_parser(vs) -> None:
    t = vs.add_parser("table", help="the PM OS's benchmarks across the spectrum: bare pc, emulate, bt, "
                      "trap, pv, hw nested, hw shadow (ns and exits per operation, slowdown)")
    t.add_argument("--benches", metavar="A,B", help=f"benchmarks (default all: {','.join(BENCHES)})")
    t.add_argument("--rows", metavar="A,B", help=f"rows (default all: {','.join(r.key for r in ROWS)}; "
                   "bare is always measured)")
    t.add_argument("--count", type=int, help="operations per benchmark instead of the OS's defaults")
    t.add_argument("--csv", default="vmm-table.csv", type=Path, help="CSV output (default vmm-table.csv)")
    t.add_argument("--png", default="vmm-table.png", type=Path, help="PNG chart (default vmm-table.png)")
