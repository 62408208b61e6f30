"""Memory regions and address spaces.

``Memory`` is the machine's backing store: every RAM and ROM region laid end
to end in one uint8 array (plus one page of open bus reading 0xFF), so cores in
compiled code reach any region through a page table without leaving Numba.

``AddressSpace`` compiles one CPU's memory and port maps (see emu.config) into
the ``mem`` tuple of the run ABI (emu.abi): page tables of offsets into the
backing store, PAGE_MMIO for pages with device handlers, the posted-port flags
and the posted-write log.  Like QEMU's MemoryRegion tree it is only data; the
core (the "accelerator") walks it.
"""
from __future__ import annotations

import numpy as np

from . import abi

FRAME = 4096     # host frame: the unit in which host memory is handed to a VM (emu.vmm.hostmem)


class Memory:
    """The regions a machine's page tables point into.

    Alone, a machine owns its backing store: the regions laid end to end in one
    array (each starting on a CPU page).  In a VM (``host`` = an
    emu.vmm.hostmem.HostMemory) ``data`` is the host's physical memory, shared by
    every VM, and each region is a list of host frames from the host's allocator:
    main RAM frame by frame (wherever the allocator finds them: the page tables are
    the guest-physical -> host-physical map), ROMs and device RAM that a device
    model reads as one array (``region()``) in one run.  Either way the *logical*
    layout (the stand-alone one) names every byte for save states, so a state
    moves between a stand-alone machine and a VM and between VMs with other frames.
    """

    def __init__(self, ram_sizes: dict, roms: dict, page: int, host=None,
                 scatter=(), owner: str = ""):
        """``roms``: name -> bytes (already verified).  ``scatter``: RAM regions a
        VM may get in scattered frames (the others are allocated contiguously)."""
        self.host = host
        self.regions = {}        # name -> (host offset of the first byte, size, kind)
        self.layout = {}         # name -> (logical offset, size, kind)
        self.frames = {}         # name -> int64[]: host offset of each FRAME of the region
        self.scattered = set()
        self.device_written = set()   # regions a device model writes directly (region())
        off = 0

        def add(name, size, kind):
            nonlocal off
            self.layout[name] = (off, size, kind)
            off += -(-size // page) * page

        for name, size in ram_sizes.items():
            add(name, size, "ram")
        for name, data in roms.items():
            add(name, len(data), "rom")
        add("_openbus", page, "rom")
        self.logical_size = off
        if host is None:
            self.data = np.zeros(off, dtype=np.uint8)
            for name, (o, n, kind) in self.layout.items():
                self.regions[name] = (o, n, kind)
                self.frames[name] = o + FRAME * np.arange(-(-n // FRAME), dtype=np.int64)
        else:
            self.data = host.data
            # runs first (while the host has long free runs), scattered frames after
            order = sorted(self.layout, key=lambda r: r in scatter and self.layout[r][2] == "ram")
            try:
                for name in order:
                    _, n, kind = self.layout[name]
                    loose = name in scatter and kind == "ram"
                    fr = host.alloc(-(-n // FRAME), owner, contiguous=not loose)
                    self.frames[name] = fr * FRAME
                    if loose and len(fr) > 1 and np.any(np.diff(fr) != 1):
                        self.scattered.add(name)
                    self.regions[name] = (int(fr[0]) * FRAME, n, kind)
            except Exception:
                self.release()
                raise
        for name, data in roms.items():
            self.region(name)[:] = np.frombuffer(data, dtype=np.uint8)
        self.region("_openbus")[:] = 0xFF
        self.rom_images = dict(roms)

    def release(self) -> None:
        """A VM's memory goes back to the host (scrubbed there); alone: nothing to do."""
        if self.host is not None:
            for fr in self.frames.values():
                self.host.free(fr // FRAME)
            self.frames = {}

    def offsets(self, name: str, byte_offsets) -> np.ndarray:
        """Backing-store offsets of these byte offsets inside region ``name``."""
        b = np.asarray(byte_offsets, dtype=np.int64)
        return self.frames[name][b // FRAME] + b % FRAME

    def offset(self, name: str, byte_offset: int) -> int:
        return int(self.frames[name][byte_offset // FRAME]) + byte_offset % FRAME

    def region(self, name: str, device: bool = False) -> np.ndarray:
        """A writable view of one region (RAM contents, or a ROM for loaders).
        ``device``: a device model keeps it and writes it behind the page tables, so
        dirty logging compares it (emu.vmm.migrate_dirty) rather than trust them."""
        if device:
            self.device_written.add(name)
        if name in self.scattered:
            raise ValueError(f"region {name!r} is scattered over host frames: reach it "
                             f"through an address space or region_bytes()")
        o, n, _ = self.regions[name]
        return self.data[o:o + n]

    def region_bytes(self, name: str) -> np.ndarray:
        """A copy of one region's bytes, wherever its frames are."""
        n = self.layout[name][1]
        return self.data[self.offsets(name, np.arange(n))] if name in self.scattered \
            else self.region(name).copy()

    def _fill(self, name, src) -> None:
        n = self.layout[name][1]
        if name in self.scattered:
            self.data[self.offsets(name, np.arange(n))] = src
        else:
            self.region(name)[:] = src

    def reset(self):
        """Power-on: RAM cleared, ROMs restored."""
        for name, (_, n, kind) in self.layout.items():
            if kind == "ram":
                self._fill(name, 0)
        for name, data in self.rom_images.items():
            self._fill(name, np.frombuffer(data, dtype=np.uint8))

    # ---- the logical layout (save states, migration) ----------------------------
    def snapshot(self) -> np.ndarray:
        """Every region's bytes in the logical layout (a stand-alone machine's data)."""
        if self.host is None:
            return self.data.copy()
        out = np.zeros(self.logical_size, dtype=np.uint8)
        for name, (lo, n, _) in self.layout.items():
            out[lo:lo + n] = self.region_bytes(name)
        return out

    def restore(self, arr: np.ndarray) -> None:
        if self.host is None:
            self.data[:] = arr
            return
        for name, (lo, n, _) in self.layout.items():
            self._fill(name, arr[lo:lo + n])

    def _h2l(self):
        """host frame -> logical offset of its first byte (-1: not ours)."""
        t = np.full(len(self.data) // FRAME, -1, dtype=np.int64)
        for name, (lo, n, _) in self.layout.items():
            fr = self.frames[name]
            t[fr // FRAME] = lo + FRAME * np.arange(len(fr), dtype=np.int64)
        return t

    def to_logical(self, table: np.ndarray) -> np.ndarray:
        """A page table (host offsets, or PAGE_* codes) in logical offsets; a
        dirty-logged entry (emu.abi PAGE_LOGGED) is the RAM it stands for."""
        table = np.where(table <= abi.PAGE_LOGGED, abi.unlogged(table), table)
        if self.host is None:
            return table
        out = table.copy()
        ok = table >= 0
        out[ok] = self._h2l()[table[ok] // FRAME] + table[ok] % FRAME
        return out

    def from_logical(self, table: np.ndarray) -> np.ndarray:
        if self.host is None:
            return table
        table = np.asarray(table, dtype=np.int64)
        out = table.copy()
        for name, (lo, n, _) in self.layout.items():
            sel = (table >= lo) & (table < lo + n)
            out[sel] = self.offsets(name, table[sel] - lo)
        return out


class Bank:
    """A switchable window (MAME memory_bank): ``select(i)`` picks choice ``i``."""

    def __init__(self, space, name, entries):
        self.space, self.name, self.entries = space, name, entries
        self.index = 0

    @staticmethod
    def sliding(e) -> bool:
        """A ``{bank: b, rom|ram: region}`` entry (kind ``rom*``/``ram*``) is one
        window that slides through its region by the bank index; a bank with
        ``choices:`` picks one of them instead."""
        return e.choices[0][0].endswith("*")

    def choice(self, e):
        """(kind, region, offset) that entry ``e`` of this bank maps now."""
        if self.sliding(e):
            kind, region, off = e.choices[0]
            return kind[:-1], region, off + self.index * (e.end - e.start + 1)
        return e.choices[self.index % len(e.choices)]

    @property
    def count(self):
        e = self.entries[0]
        if self.sliding(e):
            _, region, off = e.choices[0]
            size = self.space.memory.layout[region][1]
            return max(1, (size - off) // (e.end - e.start + 1))
        return len(e.choices)

    def select(self, index: int):
        self.index = int(index) % self.count
        self.space.rebuild()


class AddressSpace:
    def __init__(self, machine, cpu_spec, entries, port_entries, memory: Memory):
        cls = cpu_spec.core_class
        self.machine = machine
        self.name = cpu_spec.name
        self.memory = memory
        self.page_bits = cls.page_bits
        self.page = 1 << cls.page_bits
        self.addr_mask = (1 << cls.address_bits) - 1
        self.npages = 1 << (cls.address_bits - cls.page_bits)
        self.entries = entries
        self.rpage = np.empty(self.npages, dtype=np.int64)
        self.wpage = np.empty(self.npages, dtype=np.int64)
        self.ioflags = np.zeros(1 << 16, dtype=np.uint16)
        self.read_values = {}     # masked port -> value published for exit-free reads
        self.io_hold = set()      # ports whose accesses must exit (debugger breakpoints)
        self._aliases = {}
        self.iolog = np.zeros(3 * abi.IOLOG_ENTRIES, dtype=np.int64)
        self.port_mask = cpu_spec.port_mask
        self.banks = {}
        self.direct = {}   # page -> (data offset, rpage and wpage beneath): see set_direct
        self.read_traps = set()   # pages whose reads exit for the debugger (set_traps)
        self.write_traps = set()  # pages whose writes exit for the debugger
        self.trapped = {}         # read-trapped page -> its rpage entry beneath
        self.trapped_w = {}       # write-trapped page -> its wpage entry beneath
        self.generation = 0       # bumped whenever rpage/wpage change (shadows of them rebuild)
        for e in entries:
            if e.kind == "bank":
                self.banks.setdefault(e.target, Bank(self, e.target, []))
                self.banks[e.target].entries.append(e)
        # ports: masked port -> (device, entry)
        self.ports = {}
        for e in port_entries:
            dev = machine.devices[e.target]
            for p in range(e.start, e.end + 1):
                self.ports[p] = dev
            if e.posted:
                masked = np.arange(1 << 16) & self.port_mask
                self.ioflags[(masked >= e.start) & (masked <= e.end)] = abi.IOF_POSTED
        self.rebuild()
        self.mem = (memory.data, self.rpage, self.wpage, self.ioflags, self.iolog)

    # ---- page tables ------------------------------------------------------
    def rebuild(self):
        """Recompute the page tables from the map and the current bank choices."""
        ob = self.memory.offset("_openbus", 0)
        rp, wp = self.rpage, self.wpage
        self.trapped, self.trapped_w = {}, {}
        rp[:] = ob
        wp[:] = abi.PAGE_ROM
        self.mmio_r = {}   # page -> list of entries (topmost first) for MMIO pages
        self.mmio_w = {}
        pb = self.page_bits
        for e in self.entries:
            p0, p1 = e.start >> pb, (e.end >> pb) + 1
            pages = np.arange(p1 - p0, dtype=np.int64) << pb
            if e.kind == "device":
                for p in range(p0, p1):
                    if "r" in e.access:
                        rp[p] = abi.PAGE_MMIO
                        self.mmio_r.setdefault(p, []).insert(0, e)
                    if "w" in e.access:
                        wp[p] = abi.PAGE_MMIO
                        self.mmio_w.setdefault(p, []).insert(0, e)
                continue
            if e.kind == "mirror":
                s0 = e.mirror >> pb
                src_r, src_w = rp[s0:s0 + p1 - p0].copy(), wp[s0:s0 + p1 - p0].copy()
                if "r" in e.access:
                    rp[p0:p1] = src_r
                if "w" in e.access:
                    wp[p0:p1] = src_w
                for p in range(p0, p1):
                    for table in (self.mmio_r, self.mmio_w):
                        if s0 + p - p0 in table:
                            table[p] = table[s0 + p - p0]
                continue
            if e.kind == "bank":
                _, region, off = self.banks[e.target].choice(e)
            else:
                region, off = e.target, e.offset
            _, size, rkind = self.memory.layout[region]
            if size >= self.page:
                offs = self.memory.offsets(region, (off + pages) % size)
            else:
                offs = np.full(p1 - p0, self.memory.offset(region, 0), dtype=np.int64)
            if "r" in e.access:
                rp[p0:p1] = offs
                for p in [k for k in self.mmio_r if p0 <= k < p1]:     # (few device pages)
                    del self.mmio_r[p]
            if "w" in e.access:
                wp[p0:p1] = offs if rkind == "ram" else abi.PAGE_ROM
                for p in [k for k in self.mmio_w if p0 <= k < p1]:
                    del self.mmio_w[p]
        for p, (o, _, _) in self.direct.items():
            self.direct[p] = (o, int(rp[p]), int(wp[p]))
            rp[p] = wp[p] = o
        self.traps_on()

    # ---- debugger read traps ------------------------------------------------
    def set_traps(self, read_pages, write_pages=()) -> None:
        """Make reads (writes) of these RAM/ROM pages leave the core as MMIO exits: the
        debugger's watchpoints (emu.debugger says how it completes them).  The bytes stay
        where they are and every Python accessor still reaches them.  Kept across
        rebuild() and set_direct()."""
        self.traps_off()
        self.read_traps = set(int(p) for p in read_pages)
        self.write_traps = set(int(p) for p in write_pages)
        self.traps_on()

    def traps_off(self, reads: bool = True, writes: bool = True) -> None:
        self.generation += 1
        if reads:
            for p, o in self.trapped.items():
                self.rpage[p] = o
            self.trapped = {}
        if writes:
            for p, o in self.trapped_w.items():
                self.wpage[p] = o
            self.trapped_w = {}

    def traps_on(self) -> None:
        self.generation += 1
        for p in self.read_traps:
            if p not in self.trapped and 0 <= p < self.npages and self.rpage[p] >= 0:
                self.trapped[p] = int(self.rpage[p])
                self.rpage[p] = abi.PAGE_MMIO
        for p in self.write_traps:
            if p not in self.trapped_w and 0 <= p < self.npages and self.write_offset(p) >= 0:
                self.trapped_w[p] = int(self.wpage[p])
                self.wpage[p] = abi.PAGE_MMIO

    def peek_offset(self, addr: int, write: bool = False):
        """The backing-store offset of ``addr`` for a side-effect-free debugger access,
        or None (a device page).  A debugger write reaches ROM too, as MAME's does."""
        addr &= self.addr_mask
        p = addr >> self.page_bits
        o = self.write_offset(p) if write else -1
        if write and o == abi.PAGE_MMIO:
            o = self.trapped_w.get(p, -1)
        if o < 0:
            o = int(self.rpage[p])
            if o == abi.PAGE_MMIO:
                o = self.trapped.get(p, -1)
        if o < 0:
            return None
        return o + (addr & (self.page - 1))

    def set_direct(self, start: int, end: int, region: str | None = None, offset: int = 0) -> None:
        """Let the CPU reach the pages [start, end] straight in RAM ``region`` from
        ``offset`` on, reads and writes, without exits: a device whose registers make
        its MMIO window behave like plain memory (a VGA in text or chain-4 mode) maps
        it so and keeps its own model in step with the bytes.  ``region=None`` gives
        the pages back to what the map puts there.  Kept across rebuild()."""
        pb, mask = self.page_bits, self.page - 1
        if start & mask or (end + 1) & mask:
            raise ValueError(f"set_direct: {start:#x}-{end:#x} is not page aligned")
        self.traps_off()
        if region is not None:
            _, size, kind = self.memory.layout[region]
            if kind != "ram" or offset + end - start >= size:
                raise ValueError(f"set_direct: {region!r} is not RAM holding {end - start + 1} bytes")
        for i, p in enumerate(range(start >> pb, (end >> pb) + 1)):
            if region is None:
                if p in self.direct:
                    _, self.rpage[p], self.wpage[p] = self.direct.pop(p)
                continue
            if p not in self.direct:
                self.direct[p] = (0, int(self.rpage[p]), int(self.wpage[p]))
            d = self.memory.offset(region, offset + (i << pb))
            self.direct[p] = (d, self.direct[p][1], self.direct[p][2])
            self.rpage[p] = self.wpage[p] = d
        self.traps_on()

    def set_posted(self, ports, posted: bool) -> None:
        """Post OUTs to ``ports`` (or stop posting them) from now on: a device whose
        register writes are safe to deliver late in some states (every access they
        affect exits anyway, and exits drain the log first) turns posting on there."""
        sel = np.isin(np.arange(1 << 16) & self.port_mask, list(ports))
        if posted:
            self.ioflags[sel] |= abi.IOF_POSTED
        else:
            self.ioflags[sel] &= ~np.uint16(abi.IOF_POSTED)

    def set_read_value(self, port: int, value: int | None) -> None:
        """Answer byte reads of ``port`` (and its aliases under the port mask) with
        ``value`` inside the core, without an exit (emu.abi IOF_READ), or stop
        (``None``): a device publishes a status register that guests poll and
        publishes it again whenever it changes."""
        port &= self.port_mask
        if value is None:
            self.read_values.pop(port, None)
        else:
            self.read_values[port] = int(value) & 0xFF
        sel = self._aliases.get(port)
        if sel is None:
            sel = self._aliases[port] = np.flatnonzero((np.arange(1 << 16) & self.port_mask) == port)
        if self.io_hold:
            sel = sel[~np.isin(sel, list(self.io_hold))]
        f = self.ioflags[sel] & np.uint16(0xFF & ~abi.IOF_READ)
        if value is not None:
            f |= np.uint16(abi.IOF_READ | ((int(value) & 0xFF) << 8))
        self.ioflags[sel] = f

    def republish(self) -> None:
        for port, value in list(self.read_values.items()):
            self.set_read_value(port, value)

    # ---- MMIO dispatch (called by the scheduler on exits) -------------------
    def _lookup(self, table, addr):
        for e in table.get(addr >> self.page_bits, ()):
            if e.start <= addr <= e.end:
                return e
        return None

    def _wide_mmio(self, table, addr, size):
        """The device that takes this whole access in one call (``Device.MMIO_WIDE``:
        registers wider than a byte, such as an APIC's), or None: bytes, one by one."""
        if size == 1:
            return None
        e = self._lookup(table, addr & self.addr_mask)
        if e is None or e.overlay or (addr & self.addr_mask) + size - 1 > e.end:
            return None
        dev = self.machine.devices[e.target]
        return dev if dev.MMIO_WIDE else None

    def mmio_read(self, addr: int, size: int) -> int:
        dev = self._wide_mmio(self.mmio_r, addr, size)
        if dev is not None:
            return dev.mem_read(addr & self.addr_mask, size) & ((1 << 8 * size) - 1)
        value = 0
        for i in range(size):
            a = (addr + i) & self.addr_mask
            e = self._lookup(self.mmio_r, a)
            t = self.trapped.get(a >> self.page_bits)
            if t is not None:
                byte = int(self.memory.data[t + (a & (self.page - 1))])
            elif e is not None:
                byte = self.machine.devices[e.target].mem_read(a, 1) & 0xFF
            else:
                byte = self._underlying_read(a)
            value |= byte << (8 * i)
        return value

    def mmio_write(self, addr: int, value: int, size: int) -> None:
        dev = self._wide_mmio(self.mmio_w, addr, size)
        if dev is not None:
            return dev.mem_write(addr & self.addr_mask, value & ((1 << 8 * size) - 1), size)
        for i in range(size):
            a = (addr + i) & self.addr_mask
            byte = (value >> (8 * i)) & 0xFF
            t = self.trapped_w.get(a >> self.page_bits)
            if t is not None:
                self.memory.data[t + (a & (self.page - 1))] = byte
                continue
            e = self._lookup(self.mmio_w, a)
            if e is not None:
                self.machine.devices[e.target].mem_write(a, byte, 1)
                if not e.overlay:
                    continue
            self._underlying_write(a, byte, skip=e)

    def _underlying(self, addr, access, skip=None):
        """The non-device entry that decodes ``addr`` for ``access`` (topmost wins)."""
        for e in reversed(self.entries):
            if e is skip or e.kind == "device" or access not in e.access:
                continue
            if e.start <= addr <= e.end:
                return e
        return None

    def _underlying_read(self, addr):
        e = self._underlying(addr, "r")
        if e is None:
            return 0xFF
        if e.kind == "mirror":
            return self.read8(e.mirror + addr - e.start)
        o = self._entry_offset(e, addr)
        return int(self.memory.data[o]) if o is not None else 0xFF

    def _underlying_write(self, addr, byte, skip=None):
        e = self._underlying(addr, "w", skip)
        if e is None:
            return
        if e.kind == "mirror":
            return self.write8(e.mirror + addr - e.start, byte)
        o = self._entry_offset(e, addr)
        if o is not None and self.memory.layout[self._entry_region(e)][2] == "ram":
            self.memory.data[o] = byte

    def _entry_region(self, e):
        return self.banks[e.target].choice(e)[1] if e.kind == "bank" else e.target

    def _entry_offset(self, e, addr):
        _, region, off = self.banks[e.target].choice(e) if e.kind == "bank" else \
            (e.kind, e.target, e.offset)
        size = self.memory.layout[region][1]
        return self.memory.offset(region, (off + addr - e.start) % size)

    # ---- port dispatch -----------------------------------------------------
    def _wide_port(self, port: int, size: int):
        """The device taking a 2- or 4-byte access whole (``Device.IO_WIDE``): one that
        declares it and decodes every byte of the access, else None (split in bytes)."""
        p = port & self.port_mask
        dev = self.ports.get(p)
        if dev is None or not dev.IO_WIDE:
            return None
        for i in range(1, size):
            if self.ports.get((port + i) & self.port_mask) is not dev:
                return None
        return dev

    def io_read(self, port: int, size: int) -> int:
        if size == 1:
            p = port & self.port_mask
            dev = self.ports.get(p)
            return dev.io_read(p, 1) & 0xFF if dev is not None else 0xFF
        dev = self._wide_port(port, size)
        if dev is not None:
            return dev.io_read(port & self.port_mask, size) & ((1 << (8 * size)) - 1)
        value = 0
        for i in range(size):
            dev = self.ports.get((port + i) & self.port_mask)
            byte = dev.io_read((port + i) & self.port_mask, 1) & 0xFF if dev else 0xFF
            value |= byte << (8 * i)
        return value

    def io_write(self, port: int, value: int, size: int) -> None:
        if size == 1:
            p = port & self.port_mask
            dev = self.ports.get(p)
            if dev is not None:
                dev.io_write(p, value & 0xFF, 1)
            return
        dev = self._wide_port(port, size)
        if dev is not None:
            dev.io_write(port & self.port_mask, value & ((1 << (8 * size)) - 1), size)
            return
        for i in range(size):
            p = (port + i) & self.port_mask
            dev = self.ports.get(p)
            if dev is not None:
                dev.io_write(p, (value >> (8 * i)) & 0xFF, 1)

    def drain_iolog(self, state) -> None:
        """Deliver posted writes, in order, to their devices."""
        n = int(state[abi.S_IOLOG_COUNT])
        if not n:
            return
        log = self.iolog
        for i in range(n):
            ps = int(log[3 * i])
            self.io_write(ps & 0xFFFF, int(log[3 * i + 1]), ps >> 32)
        state[abi.S_IOLOG_COUNT] = 0

    # ---- debugger / DMA access ------------------------------------------------
    def read8(self, addr: int) -> int:
        addr &= self.addr_mask
        o = self.rpage[addr >> self.page_bits]
        if o >= 0:
            return int(self.memory.data[o + (addr & (self.page - 1))])
        t = self.trapped.get(addr >> self.page_bits)
        if t is not None:
            return int(self.memory.data[t + (addr & (self.page - 1))])
        return self.mmio_read(addr, 1)

    def write_offset(self, p: int) -> int:
        """``wpage[p]`` for a write about to be made from Python (DMA, the VMM, the
        debugger): a dirty-logged page is RAM again first, as the cores do it (emu.abi
        PAGE_LOGGED), so that the write is logged."""
        o = int(self.wpage[p])
        if o <= abi.PAGE_LOGGED:
            o = abi.unlogged(o)
            self.wpage[p] = o
        return o

    def write8(self, addr: int, value: int) -> None:
        addr &= self.addr_mask
        o = self.write_offset(addr >> self.page_bits)
        if o >= 0:
            self.memory.data[o + (addr & (self.page - 1))] = value & 0xFF
        elif o == abi.PAGE_MMIO:
            self.mmio_write(addr, value & 0xFF, 1)

    def read_block(self, addr: int, n: int) -> bytes:
        out = bytearray(n)
        i = 0
        while i < n:
            a = (addr + i) & self.addr_mask
            o = self.rpage[a >> self.page_bits]
            chunk = min(n - i, self.page - (a & (self.page - 1)))
            if o >= 0:
                s = o + (a & (self.page - 1))
                out[i:i + chunk] = self.memory.data[s:s + chunk].tobytes()
            else:
                for j in range(chunk):
                    out[i + j] = self.read8(a + j)
            i += chunk
        return bytes(out)

    def write_block(self, addr: int, data: bytes) -> None:
        n, i = len(data), 0
        buf = np.frombuffer(data, dtype=np.uint8)
        while i < n:
            a = (addr + i) & self.addr_mask
            o = self.write_offset(a >> self.page_bits)
            chunk = min(n - i, self.page - (a & (self.page - 1)))
            if o >= 0:
                s = o + (a & (self.page - 1))
                self.memory.data[s:s + chunk] = buf[i:i + chunk]
            elif o == abi.PAGE_MMIO:
                for j in range(chunk):
                    self.write8(a + j, int(buf[i + j]))
            i += chunk
