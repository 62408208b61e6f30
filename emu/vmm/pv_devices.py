"""The VMM's side of the paravirtual devices (mode ``pv``; docs/pv-abi.md "Rings"):
a console and a block device over shared-memory rings in guest RAM, backed by
the VM machine's own devices — the console by its UART (what the guest sends
goes to the UART's host backend, which is the VM's console; what the UART
receives goes into the input ring), the block device by its ATA disk's image.
A ring is served when the guest notifies its channel (one hypercall a batch)
and, for the console, at every exit and slice end as well."""
from __future__ import annotations

import numpy as np

from . import pv_abi as P


class PvConsole:
    def __init__(self, mode):
        self.mode = mode
        self.uart = mode.vm.console.dev
        self.gpa = None
        self.sent = self.received = 0

    def attach(self, gpa: int) -> None:
        """The guest gave its ring: the backend owns the UART from now on (8 data bits,
        no parity, its FIFO on), as the native kernel's driver would program it."""
        self.gpa = gpa
        u = self.uart
        if u is not None and hasattr(u, "io_write"):
            u.io_write(u.base + 3, 0x03, 1)
            u.io_write(u.base + 2, 0x01, 1)

    def drain(self) -> int:
        """Send what the guest put in the output ring; the bytes sent."""
        if self.gpa is None:
            return 0
        m = self.mode
        prod, cons = m.rd32(self.gpa + P.CO_OUT_PROD), m.rd32(self.gpa + P.CO_OUT_CONS)
        n = (prod - cons) & 0xFFFFFFFF
        if not n:
            return 0
        n = min(n, P.CONS_OUT)                      # (a hostile producer: at most a ring)
        base = m.ram(self.gpa)
        idx = base + P.CO_OUT + (cons + np.arange(n, dtype=np.int64)) % P.CONS_OUT
        out = m.space.memory.data[idx].tobytes()
        m.wr32(self.gpa + P.CO_OUT_CONS, (cons + n) & 0xFFFFFFFF)
        if self.uart is not None:
            self.uart.backend.write(out)
        self.sent += n
        return n

    def poll_input(self) -> bool:
        """Move the bytes the UART received into the input ring; True if any came."""
        u, m = self.uart, self.mode
        if self.gpa is None or u is None or not hasattr(u, "io_read"):
            return False
        prod, cons = m.rd32(self.gpa + P.CO_IN_PROD), m.rd32(self.gpa + P.CO_IN_CONS)
        base, data, got = m.ram(self.gpa), m.space.memory.data, 0
        while (prod - cons) & 0xFFFFFFFF < P.CONS_IN and u.io_read(u.base + 5, 1) & 1:
            data[base + P.CO_IN + prod % P.CONS_IN] = u.io_read(u.base, 1) & 0xFF
            prod = (prod + 1) & 0xFFFFFFFF
            got += 1
        if got:
            m.wr32(self.gpa + P.CO_IN_PROD, prod)
            self.received += got
        return got > 0


class PvBlock:
    def __init__(self, mode):
        self.mode = mode
        ide = mode.m.devices.get("ide0")
        disk = ide.disks[0] if ide is not None else None
        self.drive = disk.image if disk is not None else None
        self.gpa = None
        self.cons = 0
        self.requests = 0

    def serve(self) -> int:
        """Serve the requests posted since the last notification (at most a ring's
        worth); each gets its status, then the response index moves up."""
        m = self.mode
        if self.gpa is None:
            return -P.EINVAL
        prod = m.rd32(self.gpa + P.BL_REQ_PROD)
        n = min((prod - self.cons) & 0xFFFFFFFF, P.BLK_SLOTS)
        for k in range(n):
            slot = self.gpa + P.BL_REQ + ((self.cons + k) % P.BLK_SLOTS) * P.BLK_REQ_SIZE
            op, sector, gpa = m.rd32(slot), m.rd32(slot + 4), m.rd32(slot + 8)
            m.wr32(slot + 12, self._one(op, sector, gpa) & 0xFFFFFFFF)
        self.cons = (self.cons + n) & 0xFFFFFFFF
        self.requests += n
        m.wr32(self.gpa + P.BL_RSP_PROD, self.cons)
        return n

    def _one(self, op: int, sector: int, gpa: int) -> int:
        d, m = self.drive, self.mode
        if op == P.BLK_FLUSH:
            return 0
        if op not in (P.BLK_READ, P.BLK_WRITE):
            return -P.EINVAL
        if d is None or (sector + 1) * P.SECTOR > len(d.data):
            return -5                                   # EIO: no such sector
        off = m.ram(gpa, P.SECTOR)
        if off is None:
            return -P.EFAULT                            # the buffer is not the guest's RAM
        mem = m.space.memory.data
        if op == P.BLK_READ:
            mem[off:off + P.SECTOR] = np.frombuffer(bytes(d.data[sector * P.SECTOR:(sector + 1) * P.SECTOR]),
                                                    np.uint8)
        else:
            if not d.writable:
                return -P.EPERM
            d.write(sector * P.SECTOR, mem[off:off + P.SECTOR].tobytes())
        return 0
