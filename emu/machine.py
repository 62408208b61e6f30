"""The Machine: one class for interactive play and for scripting (like PyBoy).

    m = Machine.load("cpm")            # machines/cpm.yaml, default medium
    m.step_frame(60)                   # one emulated second
    m.console.text                     # what the serial console printed
    m.memory[0x100]                    # main CPU address space
    m.press("p1_button1"); m.screen    # inputs and the framebuffer (numpy)
    m.save_state("x.state"); m.load_state("x.state")
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import abi
from .audio import AudioStream
from .bus import AddressSpace, Memory
from .config import MachineSpec, load_rom, load_spec
from .errors import EmuError, MediaError
from .scheduler import Scheduler
from .screen import Screen


class MemoryView:
    """``m.memory[addr]`` / ``m.memory[a:b]`` on an address space (debugger semantics)."""

    def __init__(self, space):
        self.space = space

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, _ = key.indices(self.space.addr_mask + 1)
            return self.space.read_block(start, stop - start)
        return self.space.read8(key)

    def __setitem__(self, key, value):
        if isinstance(key, slice):
            self.space.write_block(key.start or 0, bytes(value))
        else:
            self.space.write8(key, value)


class IrqLine:
    """A wire from a device output to a CPU pin or to an interrupt-controller input."""

    def __init__(self, machine, target: str, source):
        self.machine, self.source = machine, source
        head, _, line = target.partition(".")
        self.cpu = machine.cpus.get(head)
        self.device = machine.devices.get(head) if self.cpu is None else None
        self.line = line
        self.level = False

    def set(self, level: bool, vector: int | None = None) -> None:
        self.level = bool(level)
        if self.cpu is not None:
            if self.line == "nmi":
                if level:
                    self.cpu.nmi()
            else:
                self.machine.irq_owner[self.cpu.name] = self.source
                self.cpu.set_irq(self.level, vector)
        else:
            if vector is not None:
                self.device.input_vector(int(self.line or 0), self.source, vector)
            self.device.set_input(int(self.line or 0), self.level)


class Machine:
    def __init__(self, spec: MachineSpec, media=None, *, headless: bool = True,
                 echo_console: bool = False, host_memory=None, name: str | None = None,
                 persist: bool = True):
        """``host_memory`` (an emu.vmm.hostmem.HostMemory): build the machine as a VM
        whose RAM and ROMs are frames of that host memory (emu.vmm); ``name`` then
        tells it apart from other VMs of the same machine file in logs.  ``persist=False``
        keeps the guest's writes to the named media in memory (QEMU's -snapshot)."""
        self.spec = spec
        self.name = spec.name
        self.label = name or spec.name
        self.headless = headless
        self.echo_console = echo_console
        self.stop_requested = None
        self.request_reset = False     # set by devices: reset the CPUs at the end of the frame
        self.rewinder = None           # emu.rewind.Rewind once enable_rewind() is called
        self.replayer = None           # emu.record.Replayer: a recording's input, frame by frame
        self.tier = None               # emu.tier.Background while the first tier runs
        self.a20_gates = {}            # device name -> its A20 gate output (see set_a20)
        self.log = []                  # one line per notable event (a CPU shutdown ...)
        self.frame = 0
        self.media_paths = {}
        self.media_sizes = {}
        # ---- CPUs, ROMs and memory --------------------------------------
        self.cpus = {}
        for cname, c in spec.cpus.items():
            core = c.core_class(clock_hz=c.clock, **c.params)
            core.name = cname
            self.cpus[cname] = core
        self.cpu_list = list(self.cpus.values())
        self.cpu = self.cpu_list[0]
        roms = {}
        for r in spec.roms.values():
            roms[r.name] = load_rom(spec, r) if r.file else bytes([r.fill]) * r.size
        page = max(1 << c.core_class.page_bits for c in spec.cpus.values())
        # main RAM (what the map shows directly) may lie in scattered host frames;
        # RAM that only devices use (``ram:``) stays one array for their models
        mapped = {e.target for es in spec.memory.values() for e in es if e.kind == "ram"}
        self.mem = Memory(spec.ram_sizes, roms, page, host=host_memory,
                          scatter=mapped - set(spec.raw.get("ram") or {}), owner=self.label)
        try:
            self._build(spec, media, persist)
        except BaseException:
            self.mem.release()               # a VM's frames go back to the host
            raise

    def _build(self, spec, media, persist):
        self.scheduler = Scheduler(self)
        self.audio = AudioStream()
        self.screen = Screen(spec.screen) if spec.screen else None
        self.inputs = np.zeros(max(1, len(spec.inputs)), dtype=np.uint8)
        self.input_index = {n: i for i, n in enumerate(spec.inputs)}
        self.irq_owner = {}
        # ---- devices ------------------------------------------------------
        self.devices = {}
        for dname, (tname, cls, params) in spec.devices.items():
            self.devices[dname] = cls(self, dname, **params)
        self.spaces = {}
        for cname, c in spec.cpus.items():
            self.spaces[cname] = AddressSpace(self, c, spec.memory.get(cname, []),
                                              spec.ports.get(cname, []), self.mem)
        self.memory = MemoryView(self.spaces[self.cpu.name])
        self.frame_driver = next((d for d in self.devices.values() if d.FRAME_DRIVER), None)
        # ---- media -----------------------------------------------------------
        self._insert_media(media, persist)
        for d in self.devices.values():
            d.start()
        self.reset()

    # ---- construction helpers ---------------------------------------------
    @classmethod
    def load(cls, machine: str, media=None, ram_size=None, **kw) -> Machine:
        """Load ``machines/<machine>.yaml`` (or a path) with optional media files;
        ``ram_size`` (e.g. ``"256M"``) overrides the file's ``ram_size:``."""
        return cls(load_spec(machine, ram_size), media, **kw)

    def irq_line(self, target: str, source=None) -> IrqLine:
        return IrqLine(self, target, source)

    def _insert_media(self, media, persist=True):
        slots = self.spec.media
        chosen = {}
        if isinstance(media, dict):
            chosen = dict(media)
        elif media:
            items = [media] if isinstance(media, (str, Path)) else list(media)
            for path in items:
                chosen[self._slot_for(Path(path), chosen)] = path
        for sname, slot in slots.items():
            if sname in chosen:
                self.insert(sname, chosen[sname], persist=persist)
            elif slot.default is not None and not chosen:
                # Bundled defaults only when no medium is named at all (`emu run pc`),
                # so `emu run pc disk.hdd` boots the disk rather than the default
                # floppy.  A default is a snapshot: guest writes stay in memory.
                self.insert(sname, slot.default, persist=False)

    def _slot_for(self, path: Path, taken) -> str:
        """The first free slot taking this extension whose size list (if any)
        admits the file — so a hard-disk ``.img`` skips a floppy slot — else the
        first taking the extension (its size check then explains the refusal)."""
        ext = path.suffix.lower().lstrip(".")
        free = [n for n in self.spec.media if n not in taken]
        if not free:
            raise MediaError(f"{path}: machine {self.name!r} has no free media slot")
        by_ext = [n for n in free if ext in self.spec.media[n].extensions]
        try:
            size = path.stat().st_size
        except OSError:
            size = None
        for n in by_ext:
            slot = self.spec.media[n]
            if slot.sizes:
                if size in slot.sizes.values():
                    return n
            elif size and size % getattr(self.devices.get(slot.device), "sector_size", 1) == 0:
                return n
        return by_ext[0] if by_ext else free[0]

    def insert(self, slot: str, path, persist: bool = True) -> None:
        """Put a medium (cartridge ROM, disk image) into a slot.  ``persist=False``
        keeps guest writes in memory only (like QEMU's -snapshot)."""
        s = self.spec.media.get(slot)
        if s is None:
            raise MediaError(f"machine {self.name!r} has no media slot {slot!r} "
                             f"(slots: {', '.join(self.spec.media) or 'none'})")
        path = Path(path)
        if not path.exists():
            raise MediaError(f"{path}: file not found")
        if path.is_dir():
            raise MediaError(f"{path}: is a folder, not a {s.kind} image")
        if s.kind == "cartridge":
            data = path.read_bytes()
            if s.loader:
                import importlib
                mod, _, fn = s.loader.partition(":")
                data = getattr(importlib.import_module(mod), fn)(path, data)
            if not data:
                raise MediaError(f"{path}: empty file")
            region = self.mem.region(s.region)
            limit = min(len(region), s.max_size or len(region))
            if len(data) > limit:
                raise MediaError(f"{path}: {len(data)} bytes is larger than the "
                                 f"{limit}-byte {slot} slot")
            # mirror small images through the region, as the address lines would
            reps = -(-len(region) // len(data))
            img = (data * reps)[:len(region)]
            self.mem.rom_images[s.region] = img
            region[:] = np.frombuffer(img, dtype=np.uint8)
            self.media_sizes[slot] = len(data)
        else:
            size = path.stat().st_size
            if s.sizes and size not in s.sizes.values():
                listing = ", ".join(f"{k} ({v} bytes)" for k, v in s.sizes.items())
                raise MediaError(f"{path}: {size} bytes is not a supported {s.kind} size; "
                                 f"supported geometries: {listing}")
            dev = self.devices[s.device]
            dev.attach(s.drive, path, writable=s.writable, persist=persist)
            self.media_sizes[slot] = size
        self.media_paths[slot] = path

    def connect_serial(self, specs) -> None:
        """Connect host backends (``emu run --serial`` forms, emu.chardev) to the
        machine's UARTs in YAML order (COM1, COM2 on ``pc``)."""
        from .chardev import SerialError, open_backend
        ports = [d for d in self.devices.values() if d.SERIAL_PORT]
        if len(specs) > len(ports):
            raise SerialError(f"machine {self.name!r} has {len(ports) or 'no'} serial "
                              f"port{'' if len(ports) == 1 else 's'}; {len(specs)} --serial given")
        if sum(s == "stdio" for s in specs) > 1:
            raise SerialError("--serial stdio: only one serial port can use the terminal")
        opened = []
        try:
            for spec in specs:
                opened.append(open_backend(spec))
        except SerialError:
            for b in opened:
                b.close()
            raise
        for dev, backend in zip(ports, opened):
            dev.connect(backend)
            if backend.describe().startswith("tcp"):
                sys.stderr.write(f"emu: {dev.name}: listening on {backend.describe()[4:]}\n")

    # ---- chipset lines ----------------------------------------------------------
    def set_a20(self, source: str, enabled: bool) -> None:
        """A20 gate output of device ``source``; the CPU sees the OR of all of them (a PC
        chipset ORs the 8042's gate with port 92h bit 1)."""
        self.a20_gates[source] = bool(enabled)
        self._apply_a20()

    def _apply_a20(self):
        if self.a20_gates:
            on = any(self.a20_gates.values())
            for c in self.cpu_list:
                if hasattr(c, "set_a20"):
                    c.set_a20(on)

    def reset_cpu(self, cpu=None) -> None:
        """Reset one CPU (all: None) now, as a reset line does: cycle and instruction
        counts run on, memory and devices keep their state, the A20 gate stays as the
        chipset drives it.  Safe from a device's io_write: the core resumes at the
        reset vector."""
        for c in ([cpu] if cpu is not None else self.cpu_list):
            s = c.state
            cycles, insns = int(s[abi.S_CYCLES]), int(s[abi.S_INSNS])
            c.reset()
            s[abi.S_CYCLES], s[abi.S_INSNS] = cycles, insns
            for d in self.devices.values():      # the parts of it that are devices here
                d.cpu_reset(c)                   # (its local APIC) reset with it
        self._apply_a20()

    # ---- running -----------------------------------------------------------------
    def reset(self) -> None:
        self.mem.reset()
        for c in self.cpu_list:
            c.reset()
        for sp in self.spaces.values():
            for b in sp.banks.values():
                b.index = 0
            sp.rebuild()
        for d in self.devices.values():
            d.reset()

    @property
    def frame_period(self) -> float:
        return 1.0 / (self.spec.screen.refresh if self.spec.screen else 60.0)

    @property
    def halted(self) -> bool:
        """Every CPU ended its last slice in HLT, with no interrupt pending: the guest
        idles until a timer or an input wakes it."""
        return bool(self.cpu_list) and self.scheduler.all_halted()

    def step_frame(self, n: int = 1) -> None:
        """Run ``n`` frames of emulated time (headless or not)."""
        for _ in range(n):
            if self.replayer is not None:
                self.replayer.before_frame()
            if self.frame_driver is not None:
                self.frame_driver.run_frame()
                self.scheduler.catch_up(self.cpu)
            else:
                self.scheduler.run_until((self.frame + 1) * self.frame_period)
            for d in self.devices.values():
                d.frame_end()
            self.frame += 1
            if self.rewinder is not None:
                self.rewinder.tick()
            if self.tier is not None:
                self.tier.poll()
            if self.request_reset:
                self.request_reset = False
                self.reset_cpu()
            if self.stop_requested:
                break

    def compiled_functions(self) -> list:
        """The large compiled functions this machine runs: its cores' ``run`` and its
        frame driver's loop (``COMPILED``).  Whether they are in Numba's cache decides
        a first start (emu.tier)."""
        fns = [type(c).run for c in self.cpu_list]
        return fns + list(getattr(self.frame_driver, "COMPILED", ()))

    def warm_up(self) -> None:
        """Compile (or load from the cache) what running this machine needs: two
        frames, in this throwaway machine (media are not written back)."""
        self.step_frame(2)

    def run_for(self, seconds: float) -> None:
        self.step_frame(max(1, round(seconds / self.frame_period)))

    def run_until(self, predicate, max_seconds: float = 60.0) -> bool:
        """Run frame by frame until ``predicate(self)`` is true; False on timeout."""
        frames = int(max_seconds / self.frame_period)
        for _ in range(frames):
            if predicate(self):
                return True
            self.step_frame()
        return bool(predicate(self))

    @property
    def time(self) -> float:
        return self.scheduler.time

    # ---- interrupts ---------------------------------------------------------------
    def irq_acknowledged(self, cpu) -> None:
        src = self.irq_owner.get(cpu.name)
        if src is not None:
            src.irq_ack()

    def cpu_shutdown(self, cpu) -> None:
        """The CPU shut down (an x86 triple fault): as on a PC, whose chipset turns the
        shutdown cycle into a CPU reset, log one line and reset that CPU; memory and
        devices keep their state (how a 286 got back to real mode)."""
        report = getattr(cpu, "shutdown_report", None)
        space = self.spaces[cpu.name]

        def peek(addr):                # RAM/ROM bytes only: reading MMIO could have effects
            addr &= space.addr_mask
            o = space.rpage[addr >> space.page_bits]
            return int(space.memory.data[o + (addr & (space.page - 1))]) if o >= 0 else None
        why = report(peek) if report else self.describe_fault(cpu, abi.EXIT_SHUTDOWN)
        line = f"{self.label}: {cpu.name}: {why}; CPU reset"
        self.log.append(line)
        sys.stderr.write(line + "\n")
        self.reset_cpu(cpu)

    def describe_fault(self, cpu, reason) -> str:
        regs = cpu.format_registers()
        return (f"{cpu.name}: CPU stopped ({abi.EXIT_NAMES.get(reason, reason)}, "
                f"code {int(cpu.state[abi.S_FAULT])}) — {regs}")

    # ---- inputs ------------------------------------------------------------------
    def press(self, name: str) -> None:
        self._input(name, 1)

    def release(self, name: str) -> None:
        self._input(name, 0)

    def _input(self, name, value):
        if name not in self.input_index:
            raise EmuError(f"machine {self.name!r} has no input {name!r} "
                           f"(inputs: {', '.join(self.input_index) or 'none'})")
        self.inputs[self.input_index[name]] = value
        for d in self.devices.values():
            d.input_changed(name, value)

    def key_event(self, key: str, down: bool) -> None:
        """A host key (emu.keys name) for devices that take a whole keyboard."""
        for d in self.devices.values():
            d.key_event(key, down)

    def type(self, text: str) -> None:
        """Type text on the machine's console or keyboard."""
        for d in self.devices.values():
            if d.IS_CONSOLE:
                return d.feed(text)
            if d.type_text is not None:
                return d.type_text(text)
        raise EmuError(f"machine {self.name!r} has no console or keyboard to type on")

    def pressed(self, name: str) -> bool:
        i = self.input_index.get(name)
        return i is not None and bool(self.inputs[i])

    # ---- debugging ----------------------------------------------------------------
    @property
    def debugger(self):
        """The debugger of the main CPU (emu.debugger): ``m.debugger.command("bp 7c00")``."""
        from .debugger import install
        return install(self)

    # ---- script hooks (emu.debugger: on top of its breakpoints and watchpoints) -----
    def on_exec(self, addr, fn):
        """Call ``fn(machine)`` each time the main CPU is about to execute the instruction
        at ``addr`` (an int, or a debugger address string: "7c00", "cs:100"); the machine
        goes on.  Returns a handle: ``.remove()``."""
        return self.debugger.add_hook("exec", addr, fn)

    def on_read(self, where, fn):
        """Call ``fn(machine, access)`` after each instruction of the main CPU that read
        from ``where``: an int (one byte), ``range(start, stop)``, ``(start, stop)`` or
        "ADDR,LEN" (linear addresses).  ``access`` is emu.debugger.Access."""
        return self.debugger.add_hook("read", where, fn)

    def on_write(self, where, fn):
        """Like on_read, after each instruction that wrote to ``where``."""
        return self.debugger.add_hook("write", where, fn)

    def search(self, size: int = 1):
        """A cheat finder over the main CPU's RAM (emu.cheat.Search): narrow the
        candidates with ``.keep("decreased")``, ``.keep("equal", 3)`` ...; ``.poke(v)``."""
        from .cheat import Search
        return Search(self, size)

    def on_port(self, port, fn):
        """Call ``fn(machine, access)`` after each IN or OUT of ``port`` (matched under the
        machine's port mask); ``access.value`` is the byte(s) read or written."""
        return self.debugger.add_hook("port", port, fn)

    # ---- console convenience ------------------------------------------------------
    @property
    def console(self):
        for d in self.devices.values():
            if d.IS_CONSOLE:
                return d
        raise EmuError(f"machine {self.name!r} has no serial console")

    # ---- rewind (emu.rewind) -----------------------------------------------------------
    def enable_rewind(self, span: float = 30.0, interval: float = 1.0, cap: int = 64 << 20):
        """Keep snapshots of the last ``span`` seconds (one per ``interval``, at most
        ``cap`` bytes of them) so that ``rewind`` can go back."""
        from .rewind import Rewind
        self.rewinder = Rewind(self, span, interval, cap)
        self.rewinder.record()
        return self.rewinder

    def rewind(self, seconds: float) -> float:
        """Back by at least ``seconds`` (as far as the history reaches); the time now."""
        if self.rewinder is None:
            raise EmuError("rewind is off (Machine.enable_rewind, or emu run --rewind)")
        return self.rewinder.rewind(seconds)

    # ---- save states ----------------------------------------------------------------
    def save_state(self, path) -> None:
        from .savestate import save
        save(self, path)

    def load_state(self, path) -> None:
        from .savestate import load
        load(self, path)

    def shutdown(self) -> None:
        for d in self.devices.values():
            d.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

