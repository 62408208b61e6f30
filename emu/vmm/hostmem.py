"""Host physical memory and its frame allocator.

The host has one array of physical memory; every VM's guest-physical pages are
4 KiB frames of it, handed out here (``Memory(host=...)`` in emu.bus asks for
them).  A VM's guest-physical -> host-physical map is its address space's page
tables (``rpage``/``wpage`` hold host offsets), so a guest reaches exactly the
frames its map names and nothing else: no VM sees another's frames, and the
VMM's own structures are not in host memory a guest can map.

Frames come from a free list.  ``order="scatter"`` shuffles it (a seeded
permutation), so each VM's RAM is spread over the host the way a long-running
host's memory is, and nothing that assumes contiguity survives a test; freed
frames are zeroed before they are reused (no VM reads another's old data).
"""
from __future__ import annotations

import numpy as np

from ..bus import FRAME
from ..errors import EmuError


class HostMemoryError(EmuError):
    pass


class HostMemory:
    def __init__(self, size: int, order: str = "first-fit", seed: int = 1):
        if size <= 0 or size % FRAME:
            raise HostMemoryError(f"host memory of {size} bytes is not a whole number of 4 KiB frames")
        self.size = size
        self.nframes = size // FRAME
        # page aligned, so that each frame is one host page (numpy's own buffer starts 16
        # bytes into one): KVM maps frames into a guest as they are (emu.vmm.kvm)
        buf = np.zeros(size + FRAME, dtype=np.uint8)
        skip = -buf.ctypes.data % FRAME
        self.data = buf[skip:skip + size]
        self.owner = np.full(self.nframes, -1, dtype=np.int32)   # frame -> owner id (-1 free)
        self.owners: dict[str, int] = {}
        free = np.arange(self.nframes, dtype=np.int64)
        if order == "scatter":
            free = np.random.default_rng(seed).permutation(free)
        elif order != "first-fit":
            raise HostMemoryError(f"unknown host memory order {order!r} (first-fit, scatter)")
        self.order = order
        self._free = list(free[::-1])           # a stack: pop() takes the next frame

    @property
    def free_frames(self) -> int:
        return len(self._free)

    def used_by(self, owner: str) -> int:
        oid = self.owners.get(owner)
        return 0 if oid is None else int(np.count_nonzero(self.owner == oid))

    def _oid(self, owner: str) -> int:
        return self.owners.setdefault(owner, len(self.owners))

    def alloc(self, n: int, owner: str, contiguous: bool = False) -> np.ndarray:
        """``n`` frame numbers for ``owner``; ``contiguous``: one run (device models that
        read a region as one array).  Raises HostMemoryError when the host is full."""
        if n > len(self._free):
            raise HostMemoryError(f"{owner}: host memory is full ({n} frames wanted, "
                                  f"{len(self._free)} free of {self.nframes}; emu vmm run --host-ram)")
        if not contiguous or n == 1:
            frames = np.array([self._free.pop() for _ in range(n)], dtype=np.int64)
        else:
            free = self.owner < 0
            # first run of n free frames: where a window of n holds n free frames
            win = np.convolve(free.astype(np.int64), np.ones(n, dtype=np.int64), "valid")
            hits = np.flatnonzero(win == n)
            if not len(hits):
                raise HostMemoryError(f"{owner}: no {n} contiguous free host frames")
            frames = np.arange(hits[0], hits[0] + n, dtype=np.int64)
            taken = set(frames.tolist())
            self._free = [f for f in self._free if f not in taken]
        self.owner[frames] = self._oid(owner)
        return frames

    def free(self, frames) -> None:
        """Give frames back, scrubbed."""
        frames = np.asarray(frames, dtype=np.int64)
        if not len(frames):
            return
        rows = self.data.reshape(self.nframes, FRAME)
        rows[frames] = 0
        self.owner[frames] = -1
        self._free.extend(frames[::-1].tolist())
