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

import importlib

import numpy as np


class Device:
    """Base class.  Subclasses declare ``PARAMS`` (name -> default) and
    ``SAVE_FIELDS`` (attribute names stored in save states: ints, bytes, numpy arrays)."""

    PARAMS: dict = {}
    SAVE_FIELDS: tuple = ()

    def __init__(self, machine, name: str, **params):
        self.machine = machine
        self.name = name
        for key, default in self.PARAMS.items():
            if callable(getattr(type(self), key, None)):
                raise DeviceError(f"{type(self).__name__}: parameter {key!r} shadows a method")
            setattr(self, key, params.get(key, default))

    # ---- lifecycle ------------------------------------------------------
    def reset(self) -> None:
        pass

    def start(self) -> None:
        """Called once after every device exists and the maps are compiled."""

    def stop(self) -> None:
        """Called when the machine shuts down (flush files, close streams)."""

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

    # ---- per-frame hook (video devices render here) ----------------------
    def frame_end(self) -> None:
        pass

    # ---- save states ------------------------------------------------------
    def save_state(self) -> dict:
        out = {}
        for f in self.SAVE_FIELDS:
            v = getattr(self, f)
            out[f] = v.copy() if isinstance(v, np.ndarray) else v
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
