"""Paravirtual disk controller with instant DMA (docs/HARDWARE.md).

Images are held in memory; a guest write marks the drive dirty and the file is
rewritten atomically (temporary file + rename) when the machine stops or
``flush()`` is called, so an interrupted run never leaves a half-written image.
Only sectors the guest writes change.  A save state holds every drive's
contents, so loading one gives the guest back the disks it had (a disk that
is written back then receives them when the machine stops)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..device import Device
from ..errors import MediaError

ST_OK, ST_NO_MEDIUM, ST_RANGE, ST_PROTECTED, ST_BAD_COMMAND = 0, 1, 2, 3, 4


class Drive:
    """One disk image held in memory (also used by emu.devices.ata): ``data`` is the
    whole image, ``dirty`` marks guest writes not yet in the file."""

    def __init__(self, path: Path, data: bytearray, writable: bool, persist: bool):
        self.path, self.data, self.writable, self.persist = path, data, writable, persist
        self.dirty = False

    @classmethod
    def open(cls, path, sector_size: int, writable: bool, persist: bool, sizes=None) -> Drive:
        """Load an image, refusing (MediaError, one line) a missing or empty file, a size
        not in ``sizes`` ({label: bytes}) or not a whole number of sectors."""
        path = Path(path)
        if not path.exists():
            raise MediaError(f"{path}: disk image not found")
        data = bytearray(path.read_bytes())
        n = len(data)
        if n == 0:
            raise MediaError(f"{path}: disk image is empty")
        if sizes:
            if n not in sizes.values():
                listing = ", ".join(f"{k} ({v} bytes)" for k, v in sizes.items())
                raise MediaError(f"{path}: {n} bytes is not a supported disk size; "
                                 f"supported: {listing}")
        elif n % sector_size:
            raise MediaError(f"{path}: {n} bytes is not a whole number of "
                             f"{sector_size}-byte sectors (truncated image?)")
        writable = writable and (os.access(path, os.W_OK) or not persist)
        return cls(path, data, writable, persist)

    def write(self, offset: int, new: bytes) -> None:
        """Guest write: only a change marks the drive dirty."""
        end = offset + len(new)
        if self.data[offset:end] != new:
            self.data[offset:end] = new
            self.dirty = True

    def flush(self) -> None:
        """Write the image back atomically (temporary file + rename) if the guest
        changed it and it persists."""
        if self.dirty and self.persist:
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(self.data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self.dirty = False

    def state(self) -> np.ndarray:
        """The contents for a save state."""
        return np.frombuffer(bytes(self.data), dtype=np.uint8)

    def restore(self, saved) -> None:
        """Contents from a save state (the fingerprint made sure the size matches)."""
        data = bytes(np.asarray(saved, dtype=np.uint8))
        if self.data != data:
            self.data[:] = data
            self.dirty = True          # memory now differs from the file


class BlockDevice(Device):
    # sizes: allowed image sizes in bytes, {label: bytes}; empty = any multiple of sector_size
    PARAMS = {"base": 0, "drives": 4, "sector_size": 512, "sizes": {}, "space": None,
              "irq": None}

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.units = [None] * int(self.drives)
        self.regs = bytearray(10)
        self.status = 0

    @staticmethod
    def validate_params(p):
        ss = p.get("sector_size", 512)
        if not isinstance(ss, int) or ss <= 0 or ss & (ss - 1):
            return "sector_size", f"must be a power of two, got {ss!r}"
        return None

    # ---- media --------------------------------------------------------------
    def attach(self, drive: int, path, writable: bool = True, persist: bool = True) -> None:
        if drive >= len(self.units):
            raise MediaError(f"{path}: drive {drive} does not exist (device has {len(self.units)})")
        self.units[drive] = Drive.open(path, self.sector_size, writable, persist, self.sizes)

    def detach(self, drive: int) -> None:
        self.flush()
        self.units[drive] = None

    def flush(self) -> None:
        for u in self.units:
            if u is not None:
                u.flush()

    def stop(self):
        self.flush()

    # ---- save states: registers and the contents of every drive ---------------------
    def save_state(self):
        st = {"regs": bytes(self.regs), "status": self.status}
        for i, u in enumerate(self.units):
            if u is not None:
                st[f"drive{i}"] = u.state()
        return st

    def load_state(self, st):
        self.regs = bytearray(st["regs"])
        self.status = int(st["status"])
        for i, u in enumerate(self.units):
            if u is not None:
                u.restore(st[f"drive{i}"])

    # ---- registers ---------------------------------------------------------------
    def reset(self):
        self.regs = bytearray(10)
        self.status = 0

    def io_read(self, port, size):
        r = port - self.base
        if r == 0:
            return self.status
        if 1 <= r <= 9:
            return self.regs[r]
        return 0xFF

    def io_write(self, port, value, size):
        r = port - self.base
        if r == 0:
            self.status = self.command(value)
        elif 1 <= r <= 9:
            self.regs[r] = value & 0xFF

    def command(self, cmd: int) -> int:
        drive = self.regs[1]
        unit = self.units[drive] if drive < len(self.units) else None
        if cmd not in (1, 2, 3):
            return ST_BAD_COMMAND
        if unit is None:
            return ST_NO_MEDIUM
        ss = self.sector_size
        total = len(unit.data) // ss
        if cmd == 3:
            self.regs[2:6] = total.to_bytes(4, "little")
            return ST_OK
        lba = int.from_bytes(self.regs[2:6], "little")
        addr = int.from_bytes(self.regs[6:9], "little")
        count = self.regs[9] or 256
        if lba + count > total:
            return ST_RANGE
        space = self.machine.spaces[self.space or self.machine.cpu.name]
        lo, hi = lba * ss, (lba + count) * ss
        if cmd == 1:
            space.write_block(addr, bytes(unit.data[lo:hi]))
        else:
            if not unit.writable:
                return ST_PROTECTED
            unit.write(lo, space.read_block(addr, hi - lo))
        return ST_OK


DEVICE = BlockDevice
