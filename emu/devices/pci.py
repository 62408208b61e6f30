"""PCI bus 0 behind a host bridge with configuration mechanism #1 (PCI Local Bus
Specification 2.1, 3.7.4.1): CONFIG_ADDRESS at CF8h (dword accesses only; bit 31
enable, bits 23-16 bus, 15-11 device, 10-8 function, 7-2 register) and
CONFIG_DATA at CFCh-CFFh (byte, word and dword accesses reach the register
bytes they cover).  With the enable bit clear, or for another bus or an empty
slot, reads return all ones and writes are dropped (master abort, 3.7.4).

Functions are declared in the YAML as ``functions: {"DD.F": spec}``, where spec is
either a mapping that describes a plain function (its type 0 header)::

    functions:
      "00.0": {vendor: 0x8086, device: 0x1237, class: 0x060000}   # 440FX host bridge
      "01.1": {vendor: 0x8086, device: 0x7010, class: 0x010180,    # PIIX3 IDE, legacy mode
               command: 0x0001, config: {0x41: 0x80, 0x43: 0x80}}

(keys: vendor, device, class = class << 16 | subclass << 8 | prog-if, revision,
multifunction, command, status, subsystem_vendor, subsystem, irq_pin, irq_line,
bars: {index: {io|mem: size}}, config: {offset: byte} for device-specific
registers) or the name of another machine device that is a PCI function itself:
one with a ``pci_function`` attribute holding a :class:`PciFunction`.
"""
from __future__ import annotations

import numpy as np

from ..device import Device, DeviceError

FUNCTION_KEYS = {"vendor", "device", "class", "revision", "multifunction", "command",
                 "status", "subsystem_vendor", "subsystem", "irq_pin", "irq_line", "bars",
                 "config"}


class PciFunction:
    """256 bytes of configuration space and the mask of the bits software may write."""

    def __init__(self, vendor, device, class_code, revision=0, multifunction=False,
                 command=0, status=0, subsystem_vendor=0, subsystem=0, irq_pin=0,
                 irq_line=0, bars=None, config=None):
        self.config = np.zeros(256, dtype=np.uint8)
        self.wmask = np.zeros(256, dtype=np.uint8)
        c = self.config
        self._put(0x00, vendor, 2)
        self._put(0x02, device, 2)
        self._put(0x04, command, 2)
        self._put(0x06, status, 2)
        self._put(0x08, (class_code << 8) | revision, 4)
        c[0x0E] = 0x80 if multifunction else 0x00          # header type 0
        self._put(0x2C, subsystem_vendor, 2)
        self._put(0x2E, subsystem, 2)
        c[0x3C], c[0x3D] = irq_line, irq_pin
        self.wmask[0x04] = 0x07                             # I/O, memory, bus master enables
        self.wmask[0x0C] = self.wmask[0x0D] = 0xFF          # cache line size, latency timer
        self.wmask[0x3C] = 0xFF                             # interrupt line (BIOS scratch)
        for i, bar in (bars or {}).items():
            (kind, size), = bar.items()
            off = 0x10 + 4 * int(i)
            # a BAR's writable bits are its size-aligned base (6.2.5.1 sizing)
            mask = ~(size - 1) & (0xFFFFFFFC if kind == "io" else 0xFFFFFFF0)
            self._put(off, 1 if kind == "io" else 0, 4)
            for b in range(4):
                self.wmask[off + b] = (mask >> (8 * b)) & 0xFF
        for off, v in (config or {}).items():
            c[off] = v
        self.wmask[0x40:] = 0xFF                            # device-specific registers
        self.power_on = self.config.copy()

    def _put(self, off, value, size):
        for i in range(size):
            self.config[off + i] = (value >> (8 * i)) & 0xFF

    def reset(self):
        self.config[:] = self.power_on

    def read(self, off: int, size: int) -> int:
        return int.from_bytes(self.config[off:off + size].tobytes(), "little")

    def write(self, off: int, value: int, size: int) -> None:
        for i in range(size):
            m = int(self.wmask[off + i])
            b = (value >> (8 * i)) & 0xFF
            self.config[off + i] = (int(self.config[off + i]) & ~m) | (b & m)


class PciBus(Device):
    PARAMS = {"functions": {}}
    IO_WIDE = True

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.address = 0
        self.slots = {}                        # devfn -> PciFunction or device name
        for key, spec in (self.functions or {}).items():
            devfn = self.parse_slot(key)
            self.slots[devfn] = PciFunction(**self._kwargs(spec)) if isinstance(spec, dict) \
                else str(spec)

    @staticmethod
    def parse_slot(key) -> int:
        dev, _, fn = str(key).partition(".")
        d, f = int(dev, 16), int(fn or "0")
        if not (0 <= d < 32 and 0 <= f < 8):
            raise ValueError(key)
        return d << 3 | f

    @staticmethod
    def _kwargs(spec):
        kw = {k: v for k, v in spec.items() if k != "class"}
        kw["class_code"] = spec.get("class", 0)
        return kw

    @staticmethod
    def validate_params(p):
        funcs = p.get("functions", {})
        if not isinstance(funcs, dict):
            return "functions", "must be a mapping of \"device.function\" to a function"
        for key, spec in funcs.items():
            try:
                PciBus.parse_slot(key)
            except ValueError:
                return f"functions.{key}", "slot must be \"DD.F\" (device 00-1F hex, function 0-7)"
            if isinstance(spec, dict):
                bad = set(spec) - FUNCTION_KEYS
                if bad:
                    return f"functions.{key}", f"unknown keys {sorted(bad)}"
                if "vendor" not in spec or "device" not in spec:
                    return f"functions.{key}", "needs vendor and device IDs"
            elif not isinstance(spec, str):
                return f"functions.{key}", "must be a mapping or a device name"
        return None

    def start(self):
        for devfn, f in list(self.slots.items()):
            if isinstance(f, str):
                dev = self.machine.devices.get(f)
                pf = getattr(dev, "pci_function", None)
                if not isinstance(pf, PciFunction):
                    raise DeviceError(f"devices.{self.name}.functions: {f!r} is not a PCI "
                                      "function (a device with a pci_function attribute)")
                self.slots[devfn] = pf

    def reset(self):
        self.address = 0
        for f in self.slots.values():
            if isinstance(f, PciFunction):
                f.reset()

    def function(self, devfn):
        return self.slots.get(devfn)

    # ---- configuration mechanism #1 ------------------------------------------------
    def _target(self, port):
        """(function, register offset) the data port byte ``port`` reaches, or None."""
        a = self.address
        if not a & 0x80000000 or (a >> 16) & 0xFF:          # disabled, or not bus 0
            return None
        f = self.slots.get((a >> 8) & 0xFF)
        return (f, (a & 0xFC) + (port & 3)) if f is not None else None

    def io_read(self, port, size):
        if port == 0xCF8 and size == 4:
            return self.address
        if port >= 0xCFC:
            t = self._target(port)
            if t is None:
                return (1 << (8 * size)) - 1
            f, off = t
            return f.read(off, size)
        return (1 << (8 * size)) - 1            # byte/word at CF8-CFB: not decoded

    def io_write(self, port, value, size):
        if port == 0xCF8 and size == 4:
            self.address = value & 0x80FFFFFC
        elif port >= 0xCFC:
            t = self._target(port)
            if t is not None:
                t[0].write(t[1], value, size)

    # ---- save states ------------------------------------------------------------------
    def save_state(self):
        st = {"address": self.address}
        for devfn, f in self.slots.items():
            st[f"f{devfn:02x}"] = f.config.copy()
        return st

    def load_state(self, st):
        self.address = int(st["address"])
        for devfn, f in self.slots.items():
            f.config[:] = st[f"f{devfn:02x}"]


DEVICE = PciBus
