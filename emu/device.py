"""Device base class and device lookup.

A device is named in a machine YAML under ``devices:``::

    devices:
      console: {type: serial_console, tx_port: 0x01}
      disk:    {type: block, irq: maincpu}

``type`` is either the name of a module in ``emu/devices/`` that defines
``DEVICE = SomeClass`` or a ``module:Class`` path, so new devices need no edit of
any registry.  Every other key is passed to ``__init__`` as a keyword parameter
(YAML validation reports unknown keys through ``PARAMS``).

Devices are wired into the machine's maps by name::

    ports:   {maincpu: [{start: 0x00, end: 0x01, device: console}]}
    memory:  {maincpu: [{start: 0xFFFC, end: 0xFFFF, device: mapper, access: w}]}

and then receive ``io_read``/``io_write``/``mem_read``/``mem_write`` calls with
the *absolute* port or address.  Posted ports (``posted: true`` in the port map)
deliver their writes in order through ``io_write`` when the core next exits.
"""
from __future__ import annotations

import copy
import importlib

import numpy as np


class Device:
    """Base class, and the whole contract between a device and the machine that holds it.

    Everything below is what a Machine (or a VM) may call or read; a device
    overrides what it needs and inherits harmless defaults for the rest.

    Declarations (class attributes)
      PARAMS        name -> default of the YAML keys it takes (set as attributes)
      SAVE_FIELDS   attributes stored in save states: ints, str, bytes, numpy arrays
      IS_CONSOLE    a serial console: ``Machine.console`` returns it and
                    ``Machine.type`` calls its ``feed(text)``; it keeps what the
                    guest printed in ``text``
      FRAME_DRIVER  runs whole frames itself: ``Machine.step_frame`` calls its
                    ``run_frame()`` instead of the scheduler (see run_frame)
      type_text     None, or a method ``type_text(text)`` typing text on a keyboard
                    the device emulates (``Machine.type`` when there is no console)
      sector_size   media devices: images must be whole multiples of it
      MMIO_WIDE     mem_read/mem_write get a CPU access whole (size 1, 2, 4 or 8)
                    instead of byte by byte (registers wider than a byte: APICs)
      SERIAL_PORT   a UART: ``Machine.connect_serial`` (``emu run --serial``) hands it
                    host backends (emu.chardev) in YAML order through ``connect(backend)``
      IO_WIDE       16- and 32-bit port accesses arrive whole (``io_read(port, 2|4)``,
                    port = the lowest byte's) when every byte's port maps to this
                    device; otherwise (the default) they arrive split into bytes

    Hooks (methods), in the order a machine calls them
      validate_params(params)   static, at load: (key, message) for a bad PARAMS value
      start()                   once, after all devices exist and the maps are built
      reset()                   power-on and Machine.reset
      cpu_reset(cpu)            that CPU alone was reset (triple fault, 8042 reset
                                line): a device that is part of the CPU (a local
                                APIC) resets with it
      io_read/io_write          ports mapped to it (absolute port; posted writes
                                arrive in order when the core next exits)
      mem_read/mem_write        MMIO pages mapped to it (absolute address)
      set_input(line, level)    another device's ``irq: thisdevice.N`` line changed
      input_vector(line, source, vector)  before set_input: the vector that device
                                would put on the bus when acknowledged (a cascade)
      irq_ack()                 the CPU acknowledged the interrupt this device raised
      input_changed(name, v)    a machine input (YAML ``inputs:``) was pressed/released
      key_event(key, down)      a host key (emu.keys name), for whole-keyboard devices
      attach(drive, path, writable, persist)  a disk medium was inserted
      run_frame()               FRAME_DRIVER only: one frame of the whole machine
      frame_end()               after every frame (video devices render here)
      save_state() / load_state(st)  dict of SAVE_FIELDS by default
      stop()                    the machine shuts down (flush files, close streams)
    """

    PARAMS: dict = {}
    SAVE_FIELDS: tuple = ()
    IS_CONSOLE: bool = False
    FRAME_DRIVER: bool = False
    MMIO_WIDE: bool = False
    SERIAL_PORT: bool = False
    IO_WIDE: bool = False
    type_text = None
    sector_size: int = 1

    def __init__(self, machine, name: str, **params):
        self.machine = machine
        self.name = name
        for key, default in self.PARAMS.items():
            if callable(getattr(type(self), key, None)):
                raise DeviceError(f"{type(self).__name__}: parameter {key!r} shadows a method")
            setattr(self, key, params.get(key, default))

    @staticmethod
    def validate_params(params: dict):
        """A problem with the YAML parameters as (key, message), or None."""
        return None

    # ---- lifecycle ------------------------------------------------------
    def reset(self) -> None:
        pass

    def start(self) -> None:
        """Called once after every device exists and the maps are compiled."""

    def cpu_reset(self, cpu) -> None:
        """CPU ``cpu`` was reset while the rest of the machine kept running."""

    def stop(self) -> None:
        """Called when the machine shuts down (flush files, close streams)."""

    def publish_read(self, port: int, value: int | None) -> None:
        """Let CPUs read ``port`` of this device as ``value`` without an exit (a status
        register: publish it again whenever it changes; ``None`` stops)."""
        for sp in getattr(self.machine, "spaces", {}).values():
            if sp.ports.get(port & sp.port_mask) is self:
                sp.set_read_value(port, value)

    # ---- bus handlers (absolute port / address) ---------------------------
    def io_read(self, port: int, size: int) -> int:
        return 0xFF

    def io_write(self, port: int, value: int, size: int) -> None:
        pass

    # a device mapped into memory sees the same registers as on ports by default
    def mem_read(self, addr: int, size: int) -> int:
        return self.io_read(addr, size)

    def mem_write(self, addr: int, value: int, size: int) -> None:
        self.io_write(addr, value, size)

    # ---- interrupts -------------------------------------------------------------
    def set_input(self, line: int, level: bool) -> None:
        """Input ``line`` (an interrupt controller's IRn) driven by another device."""
        raise DeviceError(f"device {self.name!r} has no interrupt inputs")

    def input_vector(self, line: int, source, vector: int) -> None:
        """Device ``source`` raising input ``line`` would supply ``vector`` on an
        acknowledge; a controller that passes the acknowledge on (an APIC's ExtINT
        to an 8259) calls ``source.irq_ack()`` then."""

    def irq_ack(self) -> None:
        """The CPU accepted the interrupt this device last raised (EXIT_IRQ_ACK)."""

    # ---- host input ---------------------------------------------------------------
    def input_changed(self, name: str, value: int) -> None:
        """Machine input ``name`` is now ``value`` (1 pressed, 0 released)."""

    def key_event(self, key: str, down: bool) -> None:
        """A host key went down or up (emu.keys names)."""

    # ---- media ----------------------------------------------------------------------
    def attach(self, drive: int, path, writable: bool = True, persist: bool = True) -> None:
        """Insert the disk image ``path`` into ``drive`` (media slots with ``device:``)."""
        raise DeviceError(f"device {self.name!r} takes no disk media")

    # ---- frames -----------------------------------------------------------------------
    def run_frame(self) -> None:
        """FRAME_DRIVER only: run one frame of the machine (its one CPU) in the device's
        own loop.  It must keep the scheduler's time: stop the CPU at
        ``machine.scheduler.deadline_cycle(cpu)`` and call ``scheduler.catch_up(cpu)``
        there (timers fire), hand exits it does not handle to
        ``scheduler.dispatch``, and return early when ``machine.stop_requested``
        is set.  It owns the CPU's INT pin (`emu check` refuses other devices on it)."""
        raise NotImplementedError(f"{type(self).__name__} is not a frame driver")

    def frame_end(self) -> None:
        """After every frame, on every machine (video devices render here)."""

    # ---- save states ------------------------------------------------------
    def save_state(self) -> dict:
        out = {}
        for f in self.SAVE_FIELDS:
            v = getattr(self, f)
            # (a copy, also of lists and dicts: a capture kept in memory, a rewind
            # snapshot or a migration's, must not change as the device goes on)
            out[f] = v.copy() if isinstance(v, np.ndarray) else \
                copy.deepcopy(v) if isinstance(v, (list, dict)) else v
        return out

    def load_state(self, st: dict) -> None:
        for f in self.SAVE_FIELDS:
            cur = getattr(self, f, None)
            if isinstance(cur, np.ndarray):
                cur[...] = st[f]
            else:
                setattr(self, f, st[f])


class DeviceError(Exception):
    pass


def find_device(type_name: str) -> type[Device]:
    if ":" in type_name:
        module, _, attr = type_name.partition(":")
    else:
        module, attr = f"emu.devices.{type_name}", "DEVICE"
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise DeviceError(f"unknown device type {type_name!r}") from None
        raise
    cls = getattr(mod, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Device)):
        raise DeviceError(f"device type {type_name!r}: {module} has no Device class {attr}")
    return cls


def available_devices() -> list[str]:
    import pkgutil
    from . import devices
    return sorted(m.name for m in pkgutil.iter_modules(devices.__path__) if not m.name.startswith("_"))
