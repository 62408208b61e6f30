"""Whole-machine save states: a versioned .npz written atomically.

Contents: ``meta`` (JSON: format version, machine name, a fingerprint of the
machine file, its ROM and cartridge images and the sizes of its media, emulated
time, frame, timers, interrupt owners, scalar device fields) and numpy arrays
(backing memory, page tables, bank choices, CPU state, the frame on screen,
array device fields such as the disks' contents).  Loading refuses a state made
by another machine, another ROM or media set, or another format version, with
a one-line message, and changes nothing then."""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile

import numpy as np

from . import abi
from .errors import StateError

FORMAT = 3          # 2: disk contents, screen, interrupt owners, PIT port 61h toggle;
                    # 3: CPU state arrays with the cores' break tables (emu/abi.py)
MAGIC = "emu-savestate"


def fingerprint(machine) -> str:
    h = hashlib.sha1()
    h.update(machine.spec.file.read_bytes())
    for name in sorted(machine.mem.rom_images):
        h.update(name.encode())
        h.update(hashlib.sha1(machine.mem.rom_images[name]).digest())
    # which slots hold media and how large: a disk's contents travel in the state
    h.update(json.dumps(sorted(machine.media_sizes.items())).encode())
    return h.hexdigest()


def _split(prefix, st, arrays, scalars):
    for k, v in st.items():
        if isinstance(v, np.ndarray):
            arrays[f"{prefix}{k}"] = v
        elif isinstance(v, (bytes, bytearray)):
            arrays[f"{prefix}{k}"] = np.frombuffer(bytes(v), dtype=np.uint8)
            scalars[k] = {"__bytes__": isinstance(v, bytes), "__bytearray__": isinstance(v, bytearray)}
        else:
            scalars[k] = v


def capture(machine, memory: bool = True, tables: bool = True) -> tuple[dict, dict]:
    """The whole machine as (meta, arrays): what a state file holds (and what rewind
    keeps in memory).  The arrays are copies.  ``memory``/``tables`` False leave out
    the memory and the page tables (live migration sends them its own way)."""
    # memory and page tables in the machine's logical layout (emu.bus.Memory): the same
    # whether the machine runs alone or as a VM on host frames that another VM's differ from
    arrays = {"memory": machine.mem.snapshot()} if memory else {}
    meta = {"magic": MAGIC, "format": FORMAT, "machine": machine.name,
            "fingerprint": fingerprint(machine), "time": machine.scheduler.time,
            "frame": machine.frame, "devices": {}, "banks": {},
            "timers": [[t.deadline if t.enabled else None, t.period] for t in machine.scheduler.timers],
            "rom_images": sorted(machine.mem.rom_images), "ram_size": machine.spec.ram_size,
            "irq_owner": {c: getattr(d, "name", None) for c, d in machine.irq_owner.items()}}
    for name, cpu in machine.cpus.items():
        arrays[f"cpu.{name}"] = cpu.state.copy()
    for name, sp in machine.spaces.items():
        if tables:
            arrays[f"rpage.{name}"] = machine.mem.to_logical(sp.rpage)
            arrays[f"wpage.{name}"] = machine.mem.to_logical(sp.wpage)
        meta["banks"][name] = {b: bank.index for b, bank in sp.banks.items()}
    for name, dev in machine.devices.items():
        scalars = {}
        _split(f"dev.{name}.", dev.save_state(), arrays, scalars)
        meta["devices"][name] = scalars
    arrays["inputs"] = machine.inputs.copy()
    if machine.screen is not None:
        arrays["screen"] = machine.screen.framebuffer.copy()
    for k, v in arrays.items():                # (device fields may be views of live arrays)
        if isinstance(v, np.ndarray) and k.startswith("dev."):
            arrays[k] = v.copy()
    return meta, arrays


def save(machine, path) -> None:
    meta, arrays = capture(machine)
    buf = io.BytesIO()
    np.savez_compressed(buf, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    # atomically: a crash mid-write leaves the previous state file whole
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise StateError(f"{path}: cannot write the save state ({e.strerror or e})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load(machine, path) -> None:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise StateError(f"{path}: no such save state") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise StateError(f"{path}: not a save state or damaged ({e.__class__.__name__})") from None
    try:
        meta = json.loads(arrays.pop("meta").tobytes())
    except (KeyError, ValueError):
        raise StateError(f"{path}: not a save state (no metadata)") from None
    if meta.get("magic") != MAGIC:
        raise StateError(f"{path}: not an emu save state")
    fmt = meta.get("format", 0)
    if fmt != FORMAT:
        raise StateError(f"{path}: save-state format {fmt} is "
                         f"{'newer' if fmt > FORMAT else 'older'} than this emulator's ({FORMAT})")
    if meta.get("machine") != machine.name:
        raise StateError(f"{path}: this state is for machine {meta.get('machine')!r}, "
                         f"not {machine.name!r}")
    if meta.get("ram_size") != machine.spec.ram_size:
        size = lambda n: "a fixed RAM size" if n is None else f"{n // 1024} KiB of RAM"
        raise StateError(f"{path}: state was saved with {size(meta.get('ram_size'))}, this "
                         f"machine has {size(machine.spec.ram_size)} (emu run --ram)")
    if meta.get("fingerprint") != fingerprint(machine):
        raise StateError(f"{path}: state was saved with a different machine file or ROM/media "
                         f"set for {machine.name!r}")
    need = ["memory", "inputs"] + [f"cpu.{n}" for n in machine.cpus] + \
        [f"{t}page.{n}" for n in machine.spaces for t in "rw"]
    if any(k not in arrays for k in need) or arrays["memory"].shape != (machine.mem.logical_size,) \
            or any(arrays[f"cpu.{n}"].shape != c.state.shape for n, c in machine.cpus.items()):
        raise StateError(f"{path}: save state is damaged (arrays missing or of the wrong size)")
    apply(machine, meta, arrays)


def apply(machine, meta: dict, arrays: dict, tables: dict | None = None) -> None:
    """Put a captured state (capture(), or a checked state file) into the machine.
    Without ``arrays["memory"]`` the memory is left as it is (live migration has put
    it there); ``tables``: space name -> (rpage, wpage) in host offsets, instead of
    the arrays' logical ones."""
    if "memory" in arrays:
        machine.mem.restore(arrays["memory"])
    for name, cpu in machine.cpus.items():
        bt = cpu.break_table            # the debugger's breakpoints, not the machine's state:
        keep = cpu.state[bt:bt + abi.BT_SIZE].copy() if bt is not None else None   # kept
        cpu.state[:] = arrays[f"cpu.{name}"]
        if keep is not None:
            cpu.state[bt:bt + abi.BT_SIZE] = keep
    for name, sp in machine.spaces.items():
        for b, idx in meta["banks"].get(name, {}).items():
            sp.banks[b].index = idx
        if tables is not None:
            sp.rpage[:], sp.wpage[:] = tables[name]
        else:
            sp.rpage[:] = machine.mem.from_logical(arrays[f"rpage.{name}"])
            sp.wpage[:] = machine.mem.from_logical(arrays[f"wpage.{name}"])
    for name, dev in machine.devices.items():
        st = {}
        for k, v in meta["devices"].get(name, {}).items():
            if isinstance(v, dict) and ("__bytes__" in v):
                raw = arrays[f"dev.{name}.{k}"].tobytes()
                st[k] = bytearray(raw) if v["__bytearray__"] else raw
            else:
                st[k] = v
        prefix = f"dev.{name}."
        for k, v in arrays.items():
            if k.startswith(prefix) and k[len(prefix):] not in st:
                st[k[len(prefix):]] = v
        dev.load_state(st)
    for t, (deadline, period) in zip(machine.scheduler.timers, meta["timers"]):
        t.deadline = math.inf if deadline is None else deadline
        t.period = period
    machine.scheduler.time = meta["time"]
    machine.frame = meta["frame"]
    machine.inputs[:] = arrays["inputs"]
    machine.irq_owner = {c: machine.devices.get(d) for c, d in meta["irq_owner"].items()}
    if machine.screen is not None and "screen" in arrays:
        fb = arrays["screen"]
        machine.screen.resize(fb.shape[1], fb.shape[0])
        machine.screen.framebuffer[:] = fb
