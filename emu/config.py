"""Machine YAML loading and validation.

A machine file is data (see README "Writing a machine").  ``load_spec`` turns
it into a :class:`MachineSpec` or raises :class:`ConfigError` naming the file,
the key path (``memory.maincpu[2].end``) and the problem.  Nothing here runs
the machine; ``emu check`` is ``load_spec`` plus ROM verification.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .core import CoreError, find_core
from .device import DeviceError, find_device
from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MACHINES_DIR = PROJECT_ROOT / "machines"

TOP_KEYS = {"name", "description", "cpus", "roms", "ram", "ram_size", "memory", "ports", "devices",
            "screen", "inputs", "media", "vmm"}
CPU_KEYS = {"core", "clock", "port_mask", "params"}
ROM_KEYS = {"file", "size", "sha1", "fill", "optional"}
MAP_KEYS = {"start", "end", "size", "ram", "rom", "mirror", "bank", "choices", "device",
            "access", "offset", "overlay", "posted"}
SCREEN_KEYS = {"width", "height", "refresh", "scale", "device", "palette", "border"}
MEDIA_KEYS = {"kind", "region", "device", "drive", "default", "extensions", "max_size",
              "writable", "loader", "sizes"}
MEDIA_KINDS = {"cartridge", "floppy", "harddisk", "tape"}
UNITS = {"hz": 1, "khz": 1e3, "mhz": 1e6, "ghz": 1e9}


# ---------------------------------------------------------------------------
@dataclass
class CpuSpec:
    name: str
    core: str
    core_class: type
    clock: float
    port_mask: int
    params: dict


@dataclass
class RomSpec:
    name: str
    file: Path | None
    size: int
    sha1: str | None
    fill: int = 0xFF


@dataclass
class MapEntry:
    """One line of an address or port map (``end`` inclusive)."""
    key: str                     # key path, for messages
    start: int
    end: int
    kind: str                    # ram | rom | mirror | bank | device
    target: str | None = None    # region / device / bank name
    offset: int = 0
    access: str = "rw"
    mirror: int | None = None
    choices: list = field(default_factory=list)   # bank: [(kind, region, offset)]
    overlay: bool = False
    posted: bool = False
    ram_top: bool = False        # ``end: ram_size``: the entry ends where installed RAM does


@dataclass
class MediaSpec:
    name: str
    kind: str
    region: str | None
    device: str | None
    drive: int
    default: Path | None
    extensions: list
    max_size: int | None
    writable: bool
    loader: str | None
    sizes: dict = field(default_factory=dict)   # label -> allowed image size in bytes


@dataclass
class ScreenSpec:
    width: int
    height: int
    refresh: float
    scale: int
    device: str | None


@dataclass
class MachineSpec:
    file: Path
    name: str
    description: str
    cpus: dict
    roms: dict
    memory: dict                 # cpu name -> [MapEntry]
    ports: dict                  # cpu name -> [MapEntry]
    devices: dict                # name -> (type name, class, params)
    screen: ScreenSpec | None
    inputs: dict                 # input name -> pygame key name
    media: dict
    ram_sizes: dict              # ram region -> size
    raw: dict
    vmm: dict = field(default_factory=dict)
    ram_size: int | None = None  # installed RAM (``ram_size:``, ``emu run --ram``), if sizable

    @property
    def main_cpu(self) -> str:
        return next(iter(self.cpus))


# ---------------------------------------------------------------------------
class _Ctx:
    def __init__(self, file):
        self.file = file

    def fail(self, key, problem):
        raise ConfigError(self.file, key, problem)

    def mapping(self, value, key, required=False):
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {_kind(value)}")
        return value

    def seq(self, value, key):
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"must be a list, got {_kind(value)}")
        return value

    def keys(self, d, allowed, key):
        for k in d:
            if k not in allowed:
                self.fail(f"{key}.{k}" if key else str(k),
                          f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def int_(self, value, key, lo=None, hi=None):
        if isinstance(value, bool):
            self.fail(key, f"must be a number, got {value!r}")
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(?:(0x[0-9a-fA-F_]+)|(\d[\d_]*)\s*([KMG](?:iB)?)?)\s*", value)
            if not m:
                self.fail(key, f"bad number {value!r} (use e.g. 1024, 0x400, 16KiB)")
            n = int((m.group(1) or m.group(2)).replace("_", ""), 0)
            unit = (m.group(3) or "")[:1]
            value = n * {"": 1, "K": 1024, "M": 1 << 20, "G": 1 << 30}[unit]
        if not isinstance(value, int):
            self.fail(key, f"must be an integer, got {value!r}")
        if lo is not None and value < lo:
            self.fail(key, f"must be >= {_hex(lo)}, got {_hex(value)}")
        if hi is not None and value > hi:
            self.fail(key, f"must be <= {_hex(hi)}, got {_hex(value)}")
        return value

    def freq(self, value, key):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            f = float(value)
        elif isinstance(value, str):
            m = re.fullmatch(r"\s*([\d.]+(?:e\d+)?)\s*([kKmMgG]?[hH]z)?\s*", value.replace("_", ""))
            if not m:
                self.fail(key, f"bad frequency {value!r} (use e.g. 3.579545MHz or 4000000)")
            try:
                f = float(m.group(1)) * UNITS[(m.group(2) or "hz").lower()]
            except ValueError:
                self.fail(key, f"bad frequency {value!r}")
        else:
            self.fail(key, f"must be a frequency, got {_kind(value)}")
        if not f > 0:
            self.fail(key, f"must be positive, got {value!r}")
        return f

    def str_(self, value, key):
        if not isinstance(value, str) or not value:
            self.fail(key, f"must be a non-empty string, got {_kind(value)}")
        return value


def _kind(v):
    return {dict: "a mapping", list: "a list", str: "a string", int: "a number",
            float: "a number", bool: "a boolean", type(None): "nothing"}.get(type(v), type(v).__name__)


def _size(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


def _hex(n):
    return f"0x{n:X}" if isinstance(n, int) and n >= 16 else str(n)


def resolve_path(file: Path, rel: str) -> Path:
    """Relative paths resolve against the YAML's folder, then the project root."""
    p = Path(rel).expanduser()
    if p.is_absolute():
        return p
    for base in (file.parent, file.parent.parent, PROJECT_ROOT, Path.cwd()):
        cand = (base / p).resolve()
        if cand.exists():
            return cand
    return (file.parent / p).resolve()


def find_machine_file(name_or_path: str) -> Path:
    """A machine name (``pc``) is machines/<name>.yaml, even where the current folder
    holds a subfolder of that name (a natural place for one's ROMs); a path names a
    file.  A folder is refused (load_spec says so in one line)."""
    p = Path(name_or_path)
    named = MACHINES_DIR / f"{name_or_path}.yaml"
    if p.suffix in (".yaml", ".yml") or p.is_file() or "/" in name_or_path or os.sep in name_or_path:
        return p
    return p if p.is_dir() and not named.exists() else named


def list_machines() -> list[Path]:
    return sorted(MACHINES_DIR.glob("*.yaml"))


# ---------------------------------------------------------------------------
def load_spec(path, ram_size=None) -> MachineSpec:
    """``ram_size`` (bytes or a string such as ``256M``) overrides the file's
    ``ram_size:`` (``emu run --ram``)."""
    file = find_machine_file(str(path))
    if file.is_dir():
        raise ConfigError(file, "", "is a folder, not a machine file (a machine is a .yaml "
                          f"file or a name such as {', '.join(p.stem for p in list_machines())})")
    if not file.exists():
        known = ", ".join(p.stem for p in list_machines())
        raise ConfigError(file, "", f"no such machine file (known machines: {known})")
    return spec_from_raw(file, read_yaml(file), ram_size)


def read_yaml(file: Path):
    """A YAML file's contents; syntax errors as one-line ConfigErrors with the position."""
    try:
        return yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "syntax"
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(file, where, f"YAML syntax error: {what}") from None
    except UnicodeDecodeError:
        raise ConfigError(file, "", "not a text file") from None
    except OSError as e:
        raise ConfigError(file, "", f"cannot read ({e.strerror or e})") from None


def spec_from_raw(file: Path, raw, ram_size=None) -> MachineSpec:
    """Validate a machine description already read from YAML (``file`` names it in
    errors and anchors its relative paths): machine files, and the machines that VM
    descriptions (emu.vmm.spec) derive from one."""
    ctx = _Ctx(file)
    raw = ctx.mapping(raw, "(top level)", required=True)
    ctx.keys(raw, TOP_KEYS, "")
    for req in ("name", "cpus", "memory"):
        if req not in raw:
            ctx.fail(req, "required key is missing")
    name = ctx.str_(raw["name"], "name")
    description = str(raw.get("description", ""))

    cpus = _cpus(ctx, raw)
    roms = _roms(ctx, raw)
    devices = _devices(ctx, raw, cpus)
    memory, ram_sizes = {}, {}
    ram_top = _ram_size(ctx, raw, ram_size)
    # RAM regions that devices use but no map shows directly (e.g. banked cartridge RAM)
    for rname, size in ctx.mapping(raw.get("ram"), "ram").items():
        if rname in roms:
            ctx.fail(f"ram.{rname}", f"{rname!r} is already a ROM region")
        ram_sizes[rname] = ctx.int_(size, f"ram.{rname}", 1, 1 << 32)
    for cpu, entries in ctx.mapping(raw["memory"], "memory", required=True).items():
        key = f"memory.{cpu}"
        if cpu not in cpus:
            ctx.fail(key, f"unknown cpu {cpu!r} (cpus: {', '.join(cpus)})")
        c = cpus[cpu].core_class
        memory[cpu] = _map(ctx, key, entries, (1 << c.address_bits) - 1, 1 << c.page_bits,
                           roms, devices, ram_sizes, is_io=False, ram_top=ram_top)
    ports = {}
    for cpu, entries in ctx.mapping(raw.get("ports"), "ports").items():
        key = f"ports.{cpu}"
        if cpu not in cpus:
            ctx.fail(key, f"unknown cpu {cpu!r} (cpus: {', '.join(cpus)})")
        hi = cpus[cpu].port_mask
        ports[cpu] = _map(ctx, key, entries, hi, 1, roms, devices, ram_sizes, is_io=True)
    screen = _screen(ctx, raw, devices)
    inputs = _inputs(ctx, raw)
    media = _media(ctx, raw, roms, devices)
    vmm = ctx.mapping(raw.get("vmm"), "vmm")
    if ram_top is not None and not any(e.ram_top for es in memory.values() for e in es):
        ctx.fail("ram_size", "no memory map entry has 'end: ram_size' to take the size")
    _check_irq_wiring(ctx, devices, cpus)
    _check_frame_driver(ctx, devices, cpus)
    return MachineSpec(file=file, name=name, description=description, cpus=cpus, roms=roms,
                       memory=memory, ports=ports, devices=devices, screen=screen, inputs=inputs,
                       media=media, ram_sizes=ram_sizes, raw=raw, vmm=vmm, ram_size=ram_top)


def _ram_size(ctx, raw, override):
    """The installed RAM size: a map entry ``{start: S, end: ram_size, ram: R}``
    then covers S .. ram_size - 1 (a PC's extended memory from 1 MiB)."""
    if override is not None:
        if "ram_size" not in raw:
            ctx.fail("ram_size", "this machine's RAM size is fixed (the file has no ram_size key)")
        return _Ctx(ctx.file).int_(override, "ram_size (--ram)", 1, 1 << 32)
    if "ram_size" not in raw:
        return None
    return ctx.int_(raw["ram_size"], "ram_size", 1, 1 << 32)


def _cpus(ctx, raw):
    cpus = {}
    items = ctx.mapping(raw["cpus"], "cpus", required=True)
    if not items:
        ctx.fail("cpus", "at least one cpu is required")
    for cname, c in items.items():
        key = f"cpus.{cname}"
        c = ctx.mapping(c, key, required=True)
        ctx.keys(c, CPU_KEYS, key)
        if "core" not in c:
            ctx.fail(f"{key}.core", "required key is missing")
        if "clock" not in c:
            ctx.fail(f"{key}.clock", "required key is missing")
        core = ctx.str_(c["core"], f"{key}.core")
        try:
            cls = find_core(core)
        except CoreError as e:
            ctx.fail(f"{key}.core", str(e))
        clock = ctx.freq(c["clock"], f"{key}.clock")
        io_hi = (1 << cls.io_bits) - 1 if cls.io_bits else 0
        mask = ctx.int_(c.get("port_mask", io_hi), f"{key}.port_mask", 0, io_hi)
        cpus[cname] = CpuSpec(cname, core, cls, clock, mask,
                              ctx.mapping(c.get("params"), f"{key}.params"))
    return cpus


def _roms(ctx, raw):
    roms = {}
    for rname, r in ctx.mapping(raw.get("roms"), "roms").items():
        key = f"roms.{rname}"
        r = ctx.mapping(r, key, required=True)
        ctx.keys(r, ROM_KEYS, key)
        if "size" not in r:
            ctx.fail(f"{key}.size", "required key is missing")
        size = ctx.int_(r["size"], f"{key}.size", 1, 1 << 32)
        sha1 = r.get("sha1")
        if sha1 is not None and not (isinstance(sha1, str) and re.fullmatch(r"[0-9a-fA-F]{40}", sha1)):
            ctx.fail(f"{key}.sha1", f"must be 40 hex digits, got {sha1!r}")
        file = resolve_path(ctx.file, ctx.str_(r["file"], f"{key}.file")) if "file" in r else None
        fill = ctx.int_(r.get("fill", 0xFF), f"{key}.fill", 0, 255)
        roms[rname] = RomSpec(rname, file, size, sha1.lower() if sha1 else None, fill)
    return roms


def _devices(ctx, raw, cpus):
    devices = {}
    for dname, d in ctx.mapping(raw.get("devices"), "devices").items():
        key = f"devices.{dname}"
        d = ctx.mapping(d, key, required=True)
        if "type" not in d:
            ctx.fail(f"{key}.type", "required key is missing")
        tname = ctx.str_(d["type"], f"{key}.type")
        try:
            cls = find_device(tname)
        except DeviceError as e:
            ctx.fail(f"{key}.type", str(e))
        params = {k: v for k, v in d.items() if k != "type"}
        allowed = set(cls.PARAMS)
        for k in params:
            if k not in allowed:
                ctx.fail(f"{key}.{k}", f"unknown parameter for device type {tname!r}"
                         f" (allowed: {', '.join(sorted(allowed)) or 'none'})")
        problem = cls.validate_params(params)
        if problem:
            k, msg = problem
            ctx.fail(f"{key}.{k}", msg)
        devices[dname] = (tname, cls, params)
    return devices


def _check_irq_wiring(ctx, devices, cpus):
    for dname, (_, _, params) in devices.items():
        target = params.get("irq")
        if target is None:
            continue
        key = f"devices.{dname}.irq"
        if not isinstance(target, str):
            ctx.fail(key, f"must name a cpu or device.line, got {_kind(target)}")
        head, _, line = target.partition(".")
        if head in cpus:
            if line not in ("", "int", "nmi"):
                ctx.fail(key, f"cpu line must be 'int' or 'nmi', got {line!r}")
        elif head in devices:
            if line and not line.isdigit():
                ctx.fail(key, f"device line must be a number, got {line!r}")
        else:
            ctx.fail(key, f"{head!r} is neither a cpu ({', '.join(cpus)}) nor a device")


def _check_frame_driver(ctx, devices, cpus):
    """A frame driver (emu.device.Device.FRAME_DRIVER) runs one CPU and owns its INT pin."""
    drivers = [d for d, (_, cls, _) in devices.items() if cls.FRAME_DRIVER]
    if not drivers:
        return
    if len(drivers) > 1:
        ctx.fail(f"devices.{drivers[1]}", f"a second frame driver (after {drivers[0]!r}); "
                 f"a machine has at most one")
    if len(cpus) > 1:
        ctx.fail(f"devices.{drivers[0]}", f"a frame driver runs one CPU, this machine has "
                 f"{len(cpus)} ({', '.join(cpus)})")
    for dname, (_, _, params) in devices.items():
        head, _, line = str(params.get("irq") or "").partition(".")
        if head in cpus and line in ("", "int"):
            ctx.fail(f"devices.{dname}.irq", f"the frame driver {drivers[0]!r} drives {head}'s "
                     f"INT line itself; wire this device to {head}.nmi or through {drivers[0]!r}")


def _map(ctx, key, entries, hi, page, roms, devices, ram_sizes, is_io, ram_top=None):
    out = []
    for i, e in enumerate(ctx.seq(entries, key)):
        k = f"{key}[{i}]"
        e = ctx.mapping(e, k, required=True)
        ctx.keys(e, MAP_KEYS, k)
        if "start" not in e:
            ctx.fail(f"{k}.start", "required key is missing")
        start = ctx.int_(e["start"], f"{k}.start", 0, hi)
        if "end" in e and "size" in e:
            ctx.fail(k, "give either end or size, not both")
        sized = e.get("end") == "ram_size" and not is_io
        if sized:
            if ram_top is None:
                ctx.fail(f"{k}.end", "'end: ram_size' needs a top-level ram_size key")
            if ram_top <= start:
                ctx.fail("ram_size", f"{_size(ram_top)} is too small: {k} starts at "
                         f"{_hex(start)}")
            if (ram_top - start) % page:
                ctx.fail("ram_size", f"{_size(ram_top)} is not a whole number of "
                         f"{page}-byte pages (e.g. 16MiB, 256M)")
            end = ram_top - 1
            if end > hi:
                ctx.fail("ram_size", f"{_size(ram_top)} is beyond the address space ({_hex(hi)})")
        elif "end" in e:
            end = ctx.int_(e["end"], f"{k}.end", 0, hi)
        elif "size" in e:
            end = start + ctx.int_(e["size"], f"{k}.size", 1) - 1
            if end > hi:
                ctx.fail(f"{k}.size", f"range ends at {_hex(end)}, beyond the address space ({_hex(hi)})")
        else:
            end = start
        if end < start:
            ctx.fail(f"{k}.end", f"must be >= start ({_hex(start)}), got {_hex(end)}")
        kinds = [x for x in ("ram", "rom", "mirror", "bank", "device") if x in e]
        if is_io:
            if kinds != ["device"]:
                ctx.fail(k, "a port map entry needs exactly 'device'")
        elif len(kinds) != 1 and not (set(kinds) == {"bank", "rom"} or set(kinds) == {"bank", "ram"}):
            ctx.fail(k, "needs exactly one of ram, rom, mirror, bank, device")
        if not is_io and (start % page or (end + 1) % page):
            ctx.fail(k, f"range {_hex(start)}-{_hex(end)} is not aligned to the core's "
                        f"{page}-byte pages")
        access = e.get("access", "rw")
        if access not in ("r", "w", "rw"):
            ctx.fail(f"{k}.access", f"must be r, w or rw, got {access!r}")
        me = MapEntry(k, start, end, "device" if is_io else ("bank" if "bank" in e else kinds[0]),
                      access=access, overlay=bool(e.get("overlay", False)),
                      posted=bool(e.get("posted", False)))
        me.ram_top = sized
        me.offset = ctx.int_(e.get("offset", 0), f"{k}.offset", 0)
        length = end - start + 1
        if me.kind == "device":
            me.target = ctx.str_(e["device"], f"{k}.device")
            if me.target not in devices:
                ctx.fail(f"{k}.device", f"unknown device {me.target!r} "
                                       f"(devices: {', '.join(devices) or 'none'})")
        elif me.kind == "ram":
            me.target = ctx.str_(e["ram"], f"{k}.ram")
            if me.target in roms:
                ctx.fail(f"{k}.ram", f"{me.target!r} is a ROM region")
            ram_sizes[me.target] = max(ram_sizes.get(me.target, 0), me.offset + length)
        elif me.kind == "rom":
            me.target = _rom_ref(ctx, f"{k}.rom", e["rom"], roms)
            if "access" not in e:
                me.access = "r"
            if me.offset + length > roms[me.target].size and me.offset >= roms[me.target].size:
                ctx.fail(f"{k}.offset", f"beyond the end of ROM {me.target!r}")
        elif me.kind == "mirror":
            me.mirror = ctx.int_(e["mirror"], f"{k}.mirror", 0, hi)
            if me.mirror + length - 1 > hi:
                ctx.fail(f"{k}.mirror", "mirrored range runs past the address space")
        elif me.kind == "bank":
            me.target = ctx.str_(e["bank"], f"{k}.bank")
            if "choices" in e:
                for j, ch in enumerate(ctx.seq(e["choices"], f"{k}.choices")):
                    ck = f"{k}.choices[{j}]"
                    ch = ctx.mapping(ch, ck, required=True)
                    ctx.keys(ch, {"rom", "ram", "offset"}, ck)
                    off = ctx.int_(ch.get("offset", 0), f"{ck}.offset", 0)
                    if "rom" in ch:
                        me.choices.append(("rom", _rom_ref(ctx, f"{ck}.rom", ch["rom"], roms), off))
                    elif "ram" in ch:
                        r = ctx.str_(ch["ram"], f"{ck}.ram")
                        ram_sizes[r] = max(ram_sizes.get(r, 0), off + length)
                        me.choices.append(("ram", r, off))
                    else:
                        ctx.fail(ck, "needs rom or ram")
            elif "rom" in e:
                me.choices.append(("rom*", _rom_ref(ctx, f"{k}.rom", e["rom"], roms), me.offset))
            elif "ram" in e:
                r = ctx.str_(e["ram"], f"{k}.ram")
                ram_sizes[r] = max(ram_sizes.get(r, 0), me.offset + length)
                me.choices.append(("ram*", r, me.offset))
            else:
                ctx.fail(k, "a bank needs choices, rom or ram")
        out.append(me)
    _check_overlaps(ctx, out)
    for me in out:
        if me.kind == "mirror":
            src = [o for o in out if o is not me and o.kind != "mirror"
                   and o.start <= me.mirror and me.mirror + (me.end - me.start) <= o.end]
            if not src:
                ctx.fail(f"{me.key}.mirror", f"{_hex(me.mirror)} is not inside another map entry")
    return out


def _rom_ref(ctx, key, value, roms):
    name = ctx.str_(value, key)
    if name not in roms:
        ctx.fail(key, f"unknown ROM region {name!r} (roms: {', '.join(roms) or 'none'})")
    return name


def _check_overlaps(ctx, entries):
    for i, a in enumerate(entries):
        for b in entries[:i]:
            if a.start <= b.end and b.start <= a.end and not a.overlay:
                if set(a.access) & set(b.access) and (a.ram_top or b.ram_top):
                    r, o = (a, b) if a.ram_top else (b, a)
                    ctx.fail("ram_size", f"{_size(r.end + 1)} of RAM runs into {o.key} "
                                         f"({_hex(o.start)}-{_hex(o.end)}); at most "
                                         f"{_size(o.start)} fits")
                if set(a.access) & set(b.access):
                    ctx.fail(a.key, f"range {_hex(a.start)}-{_hex(a.end)} overlaps {b.key} "
                                    f"({_hex(b.start)}-{_hex(b.end)}); add 'overlay: true' if "
                                    f"this entry is meant to sit on top")


def _screen(ctx, raw, devices):
    if raw.get("screen") is None:
        return None
    s = ctx.mapping(raw["screen"], "screen", required=True)
    ctx.keys(s, SCREEN_KEYS, "screen")
    for req in ("width", "height", "refresh"):
        if req not in s:
            ctx.fail(f"screen.{req}", "required key is missing")
    w = ctx.int_(s["width"], "screen.width", 1, 4096)
    h = ctx.int_(s["height"], "screen.height", 1, 4096)
    refresh = ctx.freq(s["refresh"], "screen.refresh")
    scale = ctx.int_(s.get("scale", 2), "screen.scale", 1, 8)
    dev = s.get("device")
    if dev is not None and dev not in devices:
        ctx.fail("screen.device", f"unknown device {dev!r}")
    return ScreenSpec(w, h, refresh, scale, dev)


def _inputs(ctx, raw):
    from .keys import KEY_NAMES
    out = {}
    for iname, key in ctx.mapping(raw.get("inputs"), "inputs").items():
        k = f"inputs.{iname}"
        if isinstance(key, dict):
            ctx.keys(key, {"key"}, k)
            key = key.get("key")
        key = ctx.str_(key, k)
        if key.lower() not in KEY_NAMES:
            ctx.fail(k, f"unknown key name {key!r} (e.g. up, down, left, right, a..z, 0..9, "
                        f"space, return, lshift, f1..f12)")
        out[iname] = key.lower()
    return out


def _media(ctx, raw, roms, devices):
    out = {}
    for mname, m in ctx.mapping(raw.get("media"), "media").items():
        key = f"media.{mname}"
        m = ctx.mapping(m, key, required=True)
        ctx.keys(m, MEDIA_KEYS, key)
        kind = m.get("kind")
        if kind not in MEDIA_KINDS:
            ctx.fail(f"{key}.kind", f"must be one of {', '.join(sorted(MEDIA_KINDS))}, got {kind!r}")
        region = device = None
        if kind == "cartridge":
            region = _rom_ref(ctx, f"{key}.region", m.get("region"), roms)
        else:
            device = ctx.str_(m.get("device"), f"{key}.device")
            if device not in devices:
                ctx.fail(f"{key}.device", f"unknown device {device!r}")
        default = None
        if m.get("default") is not None:
            default = resolve_path(ctx.file, ctx.str_(m["default"], f"{key}.default"))
            if not default.exists():
                ctx.fail(f"{key}.default", f"file not found: {default}")
        exts = [str(x).lower().lstrip(".") for x in ctx.seq(m.get("extensions"), f"{key}.extensions")]
        max_size = ctx.int_(m["max_size"], f"{key}.max_size", 1) if "max_size" in m else None
        sizes = {str(label): ctx.int_(v, f"{key}.sizes.{label}", 1)
                 for label, v in ctx.mapping(m.get("sizes"), f"{key}.sizes").items()}
        out[mname] = MediaSpec(mname, kind, region, device,
                               ctx.int_(m.get("drive", 0), f"{key}.drive", 0, 15), default, exts,
                               max_size, bool(m.get("writable", kind != "cartridge")), m.get("loader"),
                               sizes)
    return out


# ---------------------------------------------------------------------------
def sha1_of(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def load_rom(spec: MachineSpec, rom: RomSpec, data: bytes | None = None) -> bytes:
    """Read and verify one ROM region (size and SHA-1) or raise ConfigError."""
    key = f"roms.{rom.name}"
    if data is None:
        if rom.file is None:
            return bytes([rom.fill]) * rom.size
        if not rom.file.exists():
            raise ConfigError(spec.file, f"{key}.file", f"file not found: {rom.file}")
        data = rom.file.read_bytes()
    if len(data) != rom.size:
        raise ConfigError(spec.file, f"{key}.size",
                          f"{rom.file.name if rom.file else 'image'} is {len(data)} bytes, "
                          f"expected {rom.size}")
    if rom.sha1 and sha1_of(data) != rom.sha1:
        raise ConfigError(spec.file, f"{key}.sha1",
                          f"{rom.file.name if rom.file else 'image'} has SHA-1 {sha1_of(data)}, "
                          f"expected {rom.sha1} (wrong or corrupt dump)")
    return data
