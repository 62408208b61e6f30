"""VM descriptions and scenarios (YAML), validated with one-line errors.

A VM description names a machine (the board whose device models the VM uses,
unchanged) and what makes this VM one of its kind::

    vm: pmos                      # the VM's name (required: marks a VM file)
    machine: pc                   # machines/pc.yaml, or a path
    mode: emulate                 # how the VMM runs it (emu vmm run --mode overrides)
    paging: nested                # mode hw: nested (EPT) or shadow (default: emu vmm run --paging)
    ram: 16M                      # guest RAM, for machines with a ram_size key
    media: {hdd: ../../roms_test/os/os.img}
    persist: false                # guest disk writes stay in memory (default)
    weight: 1                     # fair share of guest progress (instructions retired)
    cap: 0                        # most host time it may take, percent of the CPU (0: none)
    console: com1                 # the device that is its console (default: the first)
    memory: {...}                 # optional: the machine's memory map, replaced

A scenario runs several VMs at once::

    host: {ram: 256M}
    vms:
      - cpm.yaml
      - {file: pmos.yaml, name: pmos-a, weight: 2}

Relative paths resolve against the file that names them.  A bare disk image is
a VM too (``emu vmm run os.img``): its size picks the machine and slot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import (
    MachineSpec,
    _Ctx,
    find_machine_file,
    read_yaml,
    resolve_path,
    spec_from_raw,
)
from ..errors import ConfigError

VM_KEYS = {"vm", "machine", "mode", "paging", "ram", "media", "persist", "weight", "cap", "console",
           "memory", "description"}
SCENARIO_KEYS = {"host", "vms", "description"}
ENTRY_KEYS = {"file", "name", "mode", "paging", "weight", "cap", "ram"}


@dataclass
class VMSpec:
    name: str
    file: Path | None
    machine: MachineSpec
    mode: str = "emulate"
    media: dict = field(default_factory=dict)
    persist: bool = False
    weight: int = 1
    cap: float = 0.0
    console: str | None = None
    paging: str | None = None     # mode hw: nested / shadow (None: the VMM's choice)

    @property
    def isa(self) -> str:
        return self.machine.cpus[self.machine.main_cpu].core_class.__module__.split(".")[1]


@dataclass
class Scenario:
    vms: list
    host_ram: int | None = None
    file: Path | None = None
    host_cpu: str | None = None   # the host CPU of mode trap: default / strict


def _machine_raw(ctx, name_or_path, vm_file):
    p = find_machine_file(str(name_or_path))
    if not p.is_absolute() and not p.exists() and vm_file is not None:
        p = resolve_path(vm_file, str(name_or_path))
    if p.is_dir() or not p.exists():
        ctx.fail("machine", f"no such machine {name_or_path!r}")
    return p, read_yaml(p)


def load_vm(file, overrides: dict | None = None) -> VMSpec:
    """A VM description file; ``overrides`` (a scenario entry: name, mode, weight,
    cap, ram) win over the file's keys."""
    file = Path(file)
    ctx = _Ctx(file)
    if file.is_dir():
        ctx.fail("", "is a folder, not a VM description")
    if not file.exists():
        ctx.fail("", "no such VM description or image")
    raw = read_yaml(file)
    raw = ctx.mapping(raw, "(top level)", required=True)
    if "vm" not in raw:
        ctx.fail("vm", "required key is missing (a VM description starts with `vm: NAME`)")
    ctx.keys(raw, VM_KEYS, "")
    raw = {**raw, **(overrides or {})}
    name = ctx.str_(raw.get("name") or raw["vm"], "vm")
    if "machine" not in raw:
        ctx.fail("machine", "required key is missing (the board: pc, cpm or a machine file)")
    mfile, mraw = _machine_raw(ctx, ctx.str_(raw["machine"], "machine"), file)
    mraw = dict(mraw) if isinstance(mraw, dict) else mraw
    if "memory" in raw:
        mraw["memory"] = raw["memory"]
    try:
        machine = spec_from_raw(mfile, mraw, raw.get("ram"))
    except ConfigError as e:
        if e.key.split(".")[0] in ("memory", "ram_size (--ram)", "ram_size") and \
                ("memory" in raw or "ram" in raw):
            raise ConfigError(file, e.key.replace("ram_size (--ram)", "ram"), e.problem) from None
        raise
    media = {}
    for slot, path in ctx.mapping(raw.get("media"), "media").items():
        if slot not in machine.media:
            ctx.fail(f"media.{slot}", f"machine {machine.name!r} has no media slot {slot!r} "
                     f"(slots: {', '.join(machine.media)})")
        p = resolve_path(file, ctx.str_(path, f"media.{slot}"))
        if not p.is_file():
            ctx.fail(f"media.{slot}", f"{path}: no such image file")
        media[slot] = p
    knobs = _knobs(ctx, raw)
    persist = raw.get("persist", False)
    if not isinstance(persist, bool):
        ctx.fail("persist", f"must be true or false, got {persist!r}")
    console = raw.get("console")
    if console is not None and console not in machine.devices:
        ctx.fail("console", f"machine {machine.name!r} has no device {console!r}")
    return VMSpec(name=name, file=file, machine=machine, mode=knobs.get("mode", "emulate"),
                  media=media, persist=persist, weight=knobs.get("weight", 1),
                  cap=knobs.get("cap", 0.0), console=console, paging=knobs.get("paging"))


def _knobs(ctx, raw, prefix="") -> dict:
    """The scheduling knobs of a VM file or a scenario entry that sets them (name,
    mode, weight, cap), validated."""
    out = {}
    if "name" in raw and prefix:
        out["name"] = ctx.str_(raw["name"], f"{prefix}name")
    if "mode" in raw:
        out["mode"] = ctx.str_(raw["mode"], f"{prefix}mode")
    if "paging" in raw:
        out["paging"] = ctx.str_(raw["paging"], f"{prefix}paging")
        if out["paging"] not in ("nested", "shadow"):
            ctx.fail(f"{prefix}paging", f"must be nested or shadow, got {out['paging']!r}")
    if "weight" in raw:
        out["weight"] = ctx.int_(raw["weight"], f"{prefix}weight", 1, 10000)
    if "cap" in raw:
        cap = raw["cap"]
        if isinstance(cap, str) and cap.strip().endswith("%"):
            cap = cap.strip()[:-1]
        out["cap"] = float(ctx.int_(cap, f"{prefix}cap", 0, 100))
    return out


def image_vm(path, ram=None) -> VMSpec:
    """A bare disk image: the machine whose media slot takes its size (a CP/M floppy
    for ``cpm``, else the ``pc``: floppy sizes in slot a, anything else as its disk);
    ``ram``: the guest RAM of a ``pc``."""
    from ..config import load_spec
    p = Path(path)
    if p.is_dir():
        raise ConfigError(p, "", "is a folder, not a disk image or VM description")
    if not p.is_file():
        raise ConfigError(p, "", "no such VM description or disk image")
    size = p.stat().st_size
    for mname in ("cpm", "pc"):
        spec = load_spec(mname, ram if mname == "pc" else None)
        for slot, s in spec.media.items():
            if s.kind != "cartridge" and s.sizes and size in s.sizes.values():
                return VMSpec(name=p.stem, file=None, machine=spec, media={slot: p.resolve()})
    spec = load_spec("pc", ram)
    if size == 0 or size % 512:
        raise ConfigError(p, "", f"{size} bytes is not a disk image (not a whole number of 512-byte sectors)")
    return VMSpec(name=p.stem, file=None, machine=spec, media={"hdd": p.resolve()})


def load_any(path) -> Scenario:
    """A VM description, a scenario or an image -> a scenario of the VMs it names."""
    p = Path(path)
    if p.suffix.lower() not in (".yaml", ".yml"):
        return Scenario(vms=[image_vm(p)])
    raw = read_yaml(p) if p.is_file() else None
    if isinstance(raw, dict) and "vms" in raw:
        return load_scenario(p, raw)
    return Scenario(vms=[load_vm(p)], file=p)


def load_scenario(file, raw=None) -> Scenario:
    """A scenario file (``raw``: its contents, already read)."""
    file = Path(file)
    ctx = _Ctx(file)
    raw = ctx.mapping(read_yaml(file) if raw is None else raw, "(top level)", required=True)
    ctx.keys(raw, SCENARIO_KEYS, "")
    host = ctx.mapping(raw.get("host"), "host")
    ctx.keys(host, {"ram", "cpu"}, "host")
    host_ram = ctx.int_(host["ram"], "host.ram", 1 << 20, 1 << 34) if "ram" in host else None
    host_cpu = ctx.str_(host["cpu"], "host.cpu") if "cpu" in host else None
    if host_cpu not in (None, "default", "strict"):
        ctx.fail("host.cpu", f"must be default or strict, got {host_cpu!r}")
    vms = []
    entries = ctx.seq(raw.get("vms"), "vms")
    if not entries:
        ctx.fail("vms", "names no VM")
    for i, e in enumerate(entries):
        key = f"vms[{i}]"
        if isinstance(e, str):
            e = {"file": e}
        e = ctx.mapping(e, key, required=True)
        ctx.keys(e, ENTRY_KEYS, key)
        if "file" not in e:
            ctx.fail(f"{key}.file", "required key is missing")
        target = resolve_path(file, ctx.str_(e["file"], f"{key}.file"))
        over = {k: v for k, v in e.items() if k != "file"}
        if target.suffix.lower() in (".yaml", ".yml"):
            vms.append(load_vm(target, over))
        else:
            vm = image_vm(target, over.get("ram"))
            for k, v in _knobs(ctx, over, f"{key}.").items():
                setattr(vm, k, v)
            vms.append(vm)
    return Scenario(vms=vms, host_ram=host_ram, file=file, host_cpu=host_cpu)


def unique_names(vms) -> None:
    """VMs of one run get distinct names: a repeated name gets -2, -3 ..."""
    seen = {}
    for vm in vms:
        base = vm.name
        n = seen.get(base, 0) + 1
        seen[base] = n
        if n > 1:
            vm.name = f"{base}-{n}"
