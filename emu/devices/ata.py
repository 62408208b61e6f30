"""One ATA/IDE channel (task file at ``base``..base+7, device control / alternate
status at ``ctrl``) with up to two hard disks, PIO only.

Behaviour follows ATA/ATAPI-6 (T13 1410D), with the ATA-3/4 register outputs for
reads and writes (registers hold the last sector transferred, sector count the
sectors not transferred):

* commands: IDENTIFY DEVICE (ECh), READ/WRITE SECTORS (20h/21h, 30h/31h), READ/WRITE
  MULTIPLE (C4h/C5h) with SET MULTIPLE MODE (C6h), READ VERIFY (40h/41h), FLUSH
  CACHE (E7h), INITIALIZE DEVICE PARAMETERS (91h), SET FEATURES (EFh), EXECUTE
  DEVICE DIAGNOSTIC (90h), READ NATIVE MAX ADDRESS (F8h), CHECK POWER MODE (E5h),
  IDLE/STANDBY (E0h-E3h), RECALIBRATE (10h) and SEEK (70h); anything else
  aborts (ERR, error ABRT).  Every command completes at once (BSY is never seen
  outside a soft reset); LBA28 and CHS addressing.
* INTRQ (``irq``, wired to the PIC) follows the selected device's interrupt
  pending flag unless nIEN is set: set when each DRQ block of a PIO data-in
  command is ready, for each block after the first of a data-out command and at
  its end, at the end of a non-data command and on an error; cleared by reading
  the Status register (not Alternate Status) and by writing Command (6.2 INTRQ,
  9.5-9.7 protocols).
* soft reset: SRST in Device Control holds both devices in reset (status BSY);
  clearing it leaves the ATA signature (sector count 01h, LBA 01h/00h/00h,
  device 00h), error 01h and DRDY|DSC (9.2, 9.12).
* device 1 absent, device 0 present: device 0 answers for it (ATA-6 9.16.1):
  task-file registers read back as written, Status and Alternate Status read 00h,
  commands for device 1 are ignored (except EXECUTE DEVICE DIAGNOSTIC).
* no device on the channel: nothing drives the bus; the host's pull-down on DD7
  (ATA-6 Table 2 / 4.2) makes every register read 7Fh and the data port FF7Fh.

The data port takes 16-bit accesses and 32-bit ones (two words, as a PIIX splits
them); images are held in memory and written back like the block device's
(emu.devices.block.Drive: atomic rewrite at stop, only guest changes).
"""
from __future__ import annotations

from ..device import Device
from ..errors import MediaError
from .block import Drive

SECTOR = 512
MAX_LBA28 = 1 << 28          # sectors addressable with 28-bit LBA
MAX_MULTIPLE = 16            # IDENTIFY word 47: sectors per block for READ/WRITE MULTIPLE

# Status bits (ATA-6 7.15.6)
BSY, DRDY, DF, DSC, DRQ, ERR = 0x80, 0x40, 0x20, 0x10, 0x08, 0x01
# Error bits (7.9)
UNC, WP, IDNF, ABRT, AMNF = 0x40, 0x40, 0x10, 0x04, 0x01
# Device control (7.8)
NIEN, SRST = 0x02, 0x04
# Device register (7.10)
LBA_MODE, DEV = 0x40, 0x10

EMPTY_BUS = 0x7F             # DD7 pulled down, DD6-DD0 floating high

R_FEATURE, R_COUNT, R_LBAL, R_LBAM, R_LBAH, R_DEVICE = range(6)

READS = {0x20: False, 0x21: False, 0xC4: True}      # command -> multiple
WRITES = {0x30: False, 0x31: False, 0xC5: True}
SET_FEATURES_OK = {0x02, 0x03, 0x05, 0x55, 0x66, 0x82, 0x85, 0xAA, 0xCC}


def default_geometry(total: int):
    """Cylinders, heads, sectors per track that IDENTIFY reports (words 1, 3, 6):
    16 heads x 63 sectors, at most 16383 cylinders (ATA-6 6.2.1, Annex "CHS
    translation"); the BIOS reports the same geometry through INT 13h up to 1024
    cylinders (roms_test/pc/ata.inc)."""
    return min(total // (16 * 63), 16383), 16, 63


def ata_string(text: str, nbytes: int) -> bytes:
    """An IDENTIFY string field: ASCII padded with spaces, the two characters of
    each word swapped (ATA-6 3.2.9: byte 1 of a word first)."""
    raw = text.encode("ascii")[:nbytes].ljust(nbytes, b" ")
    return bytes(raw[i ^ 1] for i in range(nbytes))


class Disk:
    """One device on the channel: its image and its own copy of the task file."""

    def __init__(self, image: Drive, serial: str):
        self.image = image
        self.serial = serial
        self.total = len(image.data) // SECTOR
        self.cylinders, self.heads, self.spt = default_geometry(self.total)
        self.power_on()

    def power_on(self):
        self.regs = [0, 1, 1, 0, 0, 0]        # signature (9.12)
        self.status = DRDY | DSC
        self.error = 0x01                      # diagnostic code: passed
        self.intrq = 0
        self.multiple = 0                      # READ/WRITE MULTIPLE disabled (word 59)
        self.cur_heads, self.cur_spt = self.heads, self.spt
        self.cur_cyls = self.cylinders
        self.buf = bytearray()
        self.pos = 0
        self.mode = 0                          # 0 none, 1 data-in, 2 data-out
        self.cmd = 0
        self.lba = 0                           # next sector of the transfer
        self.remaining = 0                     # sectors left in the command
        self.block = 1                         # sectors per DRQ block

    def signature(self):
        self.regs[R_COUNT:R_DEVICE + 1] = [1, 1, 0, 0, 0]
        self.error = 0x01
        self.status = DRDY | DSC
        self.intrq = 0
        self.mode = 0
        self.buf = bytearray()
        self.pos = 0

    FIELDS = ("regs", "status", "error", "intrq", "multiple", "cur_heads", "cur_spt",
              "cur_cyls", "buf", "pos", "mode", "cmd", "lba", "remaining", "block")

    def fields(self):
        return {f: (bytes(getattr(self, f)) if f == "buf" else
                    list(getattr(self, f)) if f == "regs" else getattr(self, f))
                for f in self.FIELDS}

    def set_fields(self, st):
        for f in self.FIELDS:
            v = st[f]
            if f == "buf":
                v = bytearray(bytes(v))
            elif f == "regs":
                v = [int(x) for x in v]
            else:
                v = int(v)
            setattr(self, f, v)

    # ---- IDENTIFY DEVICE data (ATA-6 8.15, Table 27) -----------------------------
    def identify(self) -> bytes:
        w = [0] * 256
        w[0] = 0x0040                          # fixed device, ATA
        w[1], w[3], w[6] = self.cylinders, self.heads, self.spt
        ident = ata_string(self.serial, 20)
        for i in range(10):
            w[10 + i] = ident[2 * i] | ident[2 * i + 1] << 8
        for i, s in ((23, ata_string("1.0", 8)), (27, ata_string("EMU HARDDISK", 40))):
            for j in range(len(s) // 2):
                w[i + j] = s[2 * j] | s[2 * j + 1] << 8
        w[47] = 0x8000 | MAX_MULTIPLE
        w[49] = 0x0200                         # LBA supported (no DMA, IORDY not claimed)
        w[51] = 0x0200                         # PIO timing mode 2 (obsolete field)
        w[53] = 0x0001                         # words 54-58 valid
        w[54], w[55], w[56] = self.cur_cyls, self.cur_heads, self.cur_spt
        chs = self.cur_cyls * self.cur_heads * self.cur_spt
        w[57], w[58] = chs & 0xFFFF, chs >> 16
        w[59] = (0x0100 | self.multiple) if self.multiple else 0
        w[60], w[61] = self.total & 0xFFFF, self.total >> 16
        w[80] = 0x007E                         # ATA-1 .. ATA-6
        w[82] = 0x4400                         # NOP (always aborts, 8.21), Host Protected Area
        w[83] = 0x5000                         # FLUSH CACHE; bit 14 shall be one
        w[84] = 0x4000                         # bit 14 shall be one
        w[85] = 0x4400                         # enabled: NOP, HPA
        w[86] = 0x1000                         # enabled: FLUSH CACHE
        w[87] = 0x4000
        return b"".join(x.to_bytes(2, "little") for x in w)


class AtaChannel(Device):
    PARAMS = {"base": 0x1F0, "ctrl": 0x3F6, "irq": None, "serial": "EMU"}
    sector_size = SECTOR
    IO_WIDE = True

    def __init__(self, machine, name, **params):
        super().__init__(machine, name, **params)
        self.disks = [None, None]
        self.sel = 0                           # DEV bit of the last Device write
        self.devctl = 0
        self.line = None
        self.level = False

    @staticmethod
    def validate_params(p):
        for k in ("base", "ctrl"):
            v = p.get(k, 0)
            if not isinstance(v, int) or not 0 <= v <= 0xFFF8:
                return k, f"must be a port number, got {v!r}"
        return None

    # ---- media -------------------------------------------------------------------
    def attach(self, drive: int, path, writable: bool = True, persist: bool = True) -> None:
        if drive not in (0, 1):
            raise MediaError(f"{path}: an ATA channel has devices 0 and 1, not {drive}")
        image = Drive.open(path, SECTOR, writable, persist)
        total = len(image.data) // SECTOR
        if total < 16 * 63 or total >= MAX_LBA28:
            raise MediaError(
                f"{path}: {len(image.data)} bytes fits no ATA disk geometry (from one "
                f"cylinder of 16 heads x 63 sectors, {16 * 63 * SECTOR} bytes, to the "
                f"28-bit LBA limit of {(MAX_LBA28 - 1) * SECTOR} bytes)")
        self.disks[drive] = Disk(image, f"{self.serial}{self.name.upper()}{drive}")

    def flush(self):
        for d in self.disks:
            if d is not None:
                d.image.flush()

    def stop(self):
        self.flush()

    def start(self):
        self.line = self.machine.irq_line(self.irq, self) if self.irq else None

    def reset(self):
        for d in self.disks:
            if d is not None:
                d.power_on()
        self.sel = 0
        self.devctl = 0
        self._irq()

    # ---- save states ---------------------------------------------------------------
    def save_state(self):
        st = {"sel": self.sel, "devctl": self.devctl, "level": int(self.level)}
        for i, d in enumerate(self.disks):
            if d is not None:
                for k, v in d.fields().items():
                    st[f"d{i}_{k}"] = v
                st[f"d{i}_image"] = d.image.state()
        return st

    def load_state(self, st):
        self.sel, self.devctl = int(st["sel"]), int(st["devctl"])
        self.level = bool(st["level"])
        for i, d in enumerate(self.disks):
            if d is not None:
                d.set_fields({k: st[f"d{i}_{k}"] for k in Disk.FIELDS})
                d.image.restore(st[f"d{i}_image"])
        self._irq()

    # ---- interrupt ------------------------------------------------------------------
    def _irq(self):
        d = self.disks[self.sel]
        level = bool(d is not None and d.intrq and not self.devctl & NIEN)
        if self.line is not None and (level != self.level or level != self.line.level):
            self.line.set(level)
        self.level = level

    # ---- ports ----------------------------------------------------------------------
    def _responder(self):
        """The device whose registers a read returns, or None (empty channel)."""
        d = self.disks[self.sel]
        return d if d is not None else self.disks[0]

    def io_read(self, port, size):
        r = port - self.base
        if r == 0:
            if size == 1:
                return self._data_read(1) & 0xFF
            return self._data_read(size)
        if size > 1:                           # a wide access to byte registers
            return sum(self.io_read(port + i, 1) << (8 * i) for i in range(size))
        if port == self.ctrl or r == 7:
            d = self.disks[self.sel]
            if d is None:
                return EMPTY_BUS if self.disks[0] is None else 0x00
            if r == 7:
                d.intrq = 0                    # reading Status clears INTRQ
                self._irq()
            return d.status
        if 1 <= r <= 6:
            d = self._responder()
            if d is None:
                return EMPTY_BUS
            if r == 1:
                return d.error
            if r == 6:
                return (d.regs[R_DEVICE] & ~DEV & 0xFF) | (self.sel << 4)
            return d.regs[r - 1]
        return 0xFF

    def io_write(self, port, value, size):
        r = port - self.base
        if r == 0:
            return self._data_write(value, size)
        if size > 1:
            for i in range(size):
                self.io_write(port + i, (value >> (8 * i)) & 0xFF, 1)
            return
        if port == self.ctrl:
            return self._devctl(value)
        if 1 <= r <= 6:
            for d in self.disks:               # both devices latch task-file writes
                if d is not None:
                    d.regs[r - 1] = value
            if r == 6:
                self.sel = (value >> 4) & 1
                self._irq()                    # only the selected device drives INTRQ
        elif r == 7:
            d = self.disks[self.sel]
            if d is None:
                if value == 0x90 and self.disks[0] is not None:
                    self._diagnostic()
                return                         # absent device 1: ignored (9.16.1)
            if d.status & BSY:
                return
            d.intrq = 0                        # writing Command clears INTRQ
            self._command(d, value)
            self._irq()

    def _devctl(self, value):
        was = self.devctl
        self.devctl = value & 0xFF
        if value & SRST and not was & SRST:
            for d in self.disks:
                if d is not None:
                    d.status = BSY
                    d.intrq = 0
                    d.mode = 0
        elif was & SRST and not value & SRST:  # reset done: signature, device 0
            for d in self.disks:
                if d is not None:
                    d.signature()
            self.sel = 0
        self._irq()

    # ---- commands -------------------------------------------------------------------
    def _abort(self, d, error=ABRT):
        d.status = DRDY | DSC | ERR
        d.error = error
        d.mode = 0
        d.intrq = 1

    def _done(self, d):
        d.status = DRDY | DSC
        d.error = 0
        d.intrq = 1

    def _address(self, d):
        """The command's starting sector (LBA, or CHS through the current
        geometry), or -1 if the CHS address is not on the disk."""
        g = d.regs
        if g[R_DEVICE] & LBA_MODE:
            return (g[R_DEVICE] & 0x0F) << 24 | g[R_LBAH] << 16 | g[R_LBAM] << 8 | g[R_LBAL]
        cyl, head, sec = g[R_LBAM] | g[R_LBAH] << 8, g[R_DEVICE] & 0x0F, g[R_LBAL]
        if not (1 <= sec <= d.cur_spt and head < d.cur_heads and cyl < d.cur_cyls):
            return -1
        return (cyl * d.cur_heads + head) * d.cur_spt + sec - 1

    def _set_address(self, d, lba):
        """Load the address registers with sector ``lba`` in the command's mode."""
        g = d.regs
        if g[R_DEVICE] & LBA_MODE:
            g[R_LBAL], g[R_LBAM], g[R_LBAH] = lba & 0xFF, (lba >> 8) & 0xFF, (lba >> 16) & 0xFF
            g[R_DEVICE] = (g[R_DEVICE] & 0xF0) | ((lba >> 24) & 0x0F)
        else:
            track, sec = divmod(lba, d.cur_spt)
            cyl, head = divmod(track, d.cur_heads)
            g[R_LBAL], g[R_LBAM], g[R_LBAH] = sec + 1, cyl & 0xFF, (cyl >> 8) & 0xFF
            g[R_DEVICE] = (g[R_DEVICE] & 0xF0) | (head & 0x0F)

    def _command(self, d, cmd):
        d.cmd = cmd
        d.mode = 0
        count = d.regs[R_COUNT] or 256
        if cmd == 0xEC:                                    # IDENTIFY DEVICE
            d.buf, d.pos, d.mode, d.remaining, d.block = bytearray(d.identify()), 0, 1, 1, 1
            d.status, d.error, d.intrq = DRDY | DSC | DRQ, 0, 1
        elif cmd in READS or cmd in WRITES:
            multiple = READS.get(cmd, WRITES.get(cmd))
            if multiple and not d.multiple:
                return self._abort(d)
            lba = self._address(d)
            if lba < 0 or lba >= d.total:
                return self._abort(d, IDNF)
            if cmd in WRITES and not d.image.writable:
                return self._abort(d, ABRT | WP)
            d.lba, d.remaining = lba, count
            d.block = d.multiple if multiple else 1
            if cmd in READS:
                self._next_read_block(d)
            else:
                d.mode, d.buf, d.pos = 2, bytearray(SECTOR * min(d.block, count)), 0
                d.status, d.error = DRDY | DSC | DRQ, 0       # no INTRQ for the first block
        elif cmd in (0x40, 0x41):                          # READ VERIFY SECTORS
            lba = self._address(d)
            if lba < 0 or lba + count > d.total:
                if lba >= 0:
                    self._set_address(d, max(lba, d.total))
                return self._abort(d, IDNF)
            self._set_address(d, lba + count - 1)
            d.regs[R_COUNT] = 0
            self._done(d)
        elif cmd == 0xC6:                                  # SET MULTIPLE MODE
            n = d.regs[R_COUNT]
            if n > MAX_MULTIPLE or n & (n - 1):
                return self._abort(d)
            d.multiple = n                                 # 0 disables
            self._done(d)
        elif cmd == 0x91:                                  # INITIALIZE DEVICE PARAMETERS
            spt, heads = d.regs[R_COUNT], (d.regs[R_DEVICE] & 0x0F) + 1
            if spt == 0:
                return self._abort(d)
            d.cur_spt, d.cur_heads = spt, heads
            d.cur_cyls = min(d.total // (spt * heads), 65535)
            self._done(d)
        elif cmd == 0xEF:                                  # SET FEATURES
            if d.regs[R_FEATURE] not in SET_FEATURES_OK:
                return self._abort(d)
            self._done(d)
        elif cmd == 0xF8:                                  # READ NATIVE MAX ADDRESS
            if not d.regs[R_DEVICE] & LBA_MODE:
                return self._abort(d)
            self._set_address(d, d.total - 1)
            self._done(d)
        elif cmd == 0x90:
            self._diagnostic()
        elif cmd == 0xE5:                                  # CHECK POWER MODE: active
            d.regs[R_COUNT] = 0xFF
            self._done(d)
        elif cmd in (0xE7, 0xE0, 0xE1, 0xE2, 0xE3) or 0x10 <= cmd <= 0x1F or 0x70 <= cmd <= 0x7F:
            # FLUSH CACHE (the image is in memory; the file is written at stop),
            # STANDBY/IDLE, RECALIBRATE, SEEK: nothing to wait for
            self._done(d)
        else:
            self._abort(d)

    def _diagnostic(self):
        """EXECUTE DEVICE DIAGNOSTIC (8.11): signature in both devices, device 0
        selected, error 01h (81h would mean device 1 failed), INTRQ from device 0."""
        for d in self.disks:
            if d is not None:
                d.signature()
        self.sel = 0
        if self.disks[0] is not None:
            self.disks[0].intrq = 1
        self._irq()

    def _next_read_block(self, d):
        n = min(d.block, d.remaining)
        end = min(d.lba + n, d.total)
        if end == d.lba:                                   # first sector of the block is off the disk
            self._set_address(d, d.lba)
            d.regs[R_COUNT] = d.remaining & 0xFF
            return self._abort(d, IDNF)
        d.buf = d.image.data[d.lba * SECTOR:end * SECTOR]
        d.pos, d.mode = 0, 1
        d.status, d.error, d.intrq = DRDY | DSC | DRQ, 0, 1

    def _block_done_read(self, d):
        n = len(d.buf) // SECTOR
        d.lba += n
        d.remaining -= n
        if d.cmd == 0xEC:
            d.remaining = 0
        else:
            self._set_address(d, d.lba - 1)                # the last sector transferred
            d.regs[R_COUNT] = d.remaining & 0xFF
        if d.remaining and d.lba < d.total:
            self._next_read_block(d)
        elif d.remaining:                                  # the rest is off the disk
            self._set_address(d, d.lba)
            self._abort(d, IDNF)
        else:
            d.mode, d.buf, d.pos = 0, bytearray(), 0
            d.status = DRDY | DSC                          # no interrupt after the last block
        self._irq()

    def _block_done_write(self, d):
        n = len(d.buf) // SECTOR
        fit = max(0, min(n, d.total - d.lba))
        if fit:
            d.image.write(d.lba * SECTOR, bytes(d.buf[:fit * SECTOR]))
            d.lba += fit
            d.remaining -= fit
            self._set_address(d, d.lba - 1)
            d.regs[R_COUNT] = d.remaining & 0xFF
        if fit < n:
            self._set_address(d, d.lba)
            self._abort(d, IDNF)
        elif d.remaining:
            if d.lba >= d.total:
                self._set_address(d, d.lba)
                self._abort(d, IDNF)
            else:
                d.buf, d.pos = bytearray(SECTOR * min(d.block, d.remaining)), 0
                d.status, d.intrq = DRDY | DSC | DRQ, 1
        else:
            d.mode, d.buf, d.pos = 0, bytearray(), 0
            self._done(d)                                  # INTRQ at the end of the write
        self._irq()

    def _data_read(self, size):
        d = self.disks[self.sel]
        if d is None:                          # empty channel: DD7 low; device 1 absent: idle
            v = 0xFF7F if self.disks[0] is None else 0xFFFF
            return v | v << 16 if size == 4 else v
        if size == 4:
            return self._data_read(2) | self._data_read(2) << 16
        if d.mode != 1:
            return 0xFFFF
        v = d.buf[d.pos] | d.buf[d.pos + 1] << 8
        d.pos += 2
        if d.pos >= len(d.buf):
            self._block_done_read(d)
        return v

    def _data_write(self, value, size):
        d = self.disks[self.sel]
        if d is None:
            return
        if size == 4:
            self._data_write(value & 0xFFFF, 2)
            self._data_write(value >> 16, 2)
            return
        if d.mode != 2:
            return
        d.buf[d.pos] = value & 0xFF
        d.buf[d.pos + 1] = (value >> 8) & 0xFF
        d.pos += 2
        if d.pos >= len(d.buf):
            self._block_done_write(d)


DEVICE = AtaChannel
