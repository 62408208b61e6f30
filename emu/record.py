"""Input recording and replay: a run reproduced bit for bit.

The emulation itself is deterministic; what is not is what comes from the host.
A recording keeps all of it, each item with the frame it entered the machine at:

* the machine's inputs (``press``/``release``), host keys (``key_event``), text
  typed (``type``) and fed to a console device (``feed``);
* serial input: what each port's backend collected from the host (stdin, a TCP
  client) in its once-per-frame ``poll``, and what scripts fed it;
* the host time the real-time clocks started from (``epoch`` of a CMOS RTC);
* the SHA-1 of every medium's contents at the start, checked on replay (a disk
  the recorded run wrote back must be restored first).

    emu run pc os.img --record run.rec ...      emu run pc os.img --replay run.rec

On replay the host's input is ignored and the recorded events enter at their
frames; the run ends at the recorded frame count.  The file is JSON, written
atomically when the run ends.  A recording of another machine, media set or
format is refused with one line.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import EmuError

MAGIC, VERSION = "emu-recording", 1


class RecordError(EmuError):
    pass


def _media_hashes(m) -> dict:
    out = {}
    for slot, path in sorted(m.media_paths.items()):
        try:
            out[slot] = hashlib.sha1(Path(path).read_bytes()).hexdigest()
        except OSError as e:
            raise RecordError(f"{path}: cannot read the medium ({e.strerror or e})") from None
    return out


def _file_hash(path):
    return None if path is None else hashlib.sha1(Path(path).read_bytes()).hexdigest()


def _clocks(m) -> dict:
    return {n: d.epoch for n, d in m.devices.items() if hasattr(d, "epoch")}


def _backends(m):
    return [(n, d.backend) for n, d in m.devices.items() if getattr(d, "SERIAL_PORT", False)]


class Recorder:
    """Wraps the machine's input entry points and logs what goes through them."""

    def __init__(self, machine, path, state=None):
        """``state``: the save state the run started from (its hash is kept: a replay
        must start from the same one)."""
        from .savestate import fingerprint
        self.m, self.path = machine, Path(path)
        self.events = []
        self.depth = 0
        self.head = {"magic": MAGIC, "version": VERSION, "machine": machine.name,
                     "fingerprint": fingerprint(machine), "media": _media_hashes(machine),
                     "clocks": _clocks(machine), "start_frame": machine.frame,
                     "state": _file_hash(state)}
        m = machine
        for name in ("press", "release", "key_event", "type"):
            self._wrap(m, name, name)
        for n, d in m.devices.items():
            if getattr(d, "IS_CONSOLE", False) and hasattr(d, "feed"):
                self._wrap(d, "feed", f"feed:{n}")
        for n, b in _backends(m):
            self._wrap(b, "feed", f"serial:{n}")
            self._wrap_poll(b, n)

    def _wrap(self, obj, attr, kind):
        inner = getattr(obj, attr)

        def logged(*args):
            if not self.depth:                  # (m.type feeds the console: one event)
                self.events.append([self.m.frame, kind, [_jsonable(a) for a in args]])
            self.depth += 1
            try:
                return inner(*args)
            finally:
                self.depth -= 1
        setattr(obj, attr, logged)

    def _wrap_poll(self, backend, name):
        inner = backend.poll

        def polled():
            n0 = len(backend.input)
            inner()
            got = list(backend.input)[n0:]
            if got:                             # (polled at a frame's end: in from the next)
                self.events.append([self.m.frame + 1, f"serial:{name}", [{"bytes": bytes(got).hex()}]])
        backend.poll = polled

    def finish(self) -> None:
        data = dict(self.head, frames=self.m.frame - self.head["start_frame"], events=self.events)
        tmp = f"{self.path}.tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as e:
            raise RecordError(f"{self.path}: cannot write the recording ({e.strerror or e})") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _jsonable(a):
    if isinstance(a, (bytes, bytearray)):
        return {"bytes": bytes(a).hex()}
    return a


def _value(a):
    if isinstance(a, dict) and "bytes" in a:
        return bytes.fromhex(a["bytes"])
    return a


class Replayer:
    """Puts a recording's events into the machine at their frames (Machine.step_frame
    calls ``before_frame``); host input is shut out."""

    def __init__(self, machine, path, state=None):
        from .savestate import fingerprint
        self.m, self.path = machine, Path(path)
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise RecordError(f"{path}: no such recording") from None
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise RecordError(f"{path}: not a recording or damaged ({e.__class__.__name__})") from None
        if not isinstance(data, dict) or data.get("magic") != MAGIC:
            raise RecordError(f"{path}: not an emu recording")
        if data.get("version") != VERSION:
            raise RecordError(f"{path}: recording format {data.get('version')} is not this emulator's ({VERSION})")
        if data.get("machine") != machine.name or data.get("fingerprint") != fingerprint(machine):
            raise RecordError(f"{path}: recorded on machine {data.get('machine')!r} with another machine "
                              f"file, ROM or media layout")
        if data.get("state") != _file_hash(state):
            raise RecordError(f"{path}: the recording started from "
                              f"{'a save state' if data.get('state') else 'power-on'}; replay it "
                              f"{'with the same --state' if data.get('state') else 'without --state'}")
        media = _media_hashes(machine)
        for slot, h in data.get("media", {}).items():
            if media.get(slot) != h:
                raise RecordError(f"{path}: the medium in slot {slot!r} is not the one recorded with "
                                  f"(its contents differ)")
        try:
            self.frames = int(data["frames"])
            self.events = sorted(((int(f), str(k), list(a)) for f, k, a in data["events"]),
                                 key=lambda e: e[0])
            clocks = dict(data.get("clocks", {}))
        except (KeyError, TypeError, ValueError):
            raise RecordError(f"{path}: recording is damaged (events)") from None
        for n, epoch in clocks.items():
            if n in machine.devices:
                machine.devices[n].epoch = float(epoch)
        for _, b in _backends(machine):           # the host's input does not reach the guest
            b.poll = lambda: None
        self.end_frame = machine.frame + self.frames
        self.base = machine.frame - int(data.get("start_frame", 0))
        self.i = 0

    def before_frame(self) -> None:
        m = self.m
        while self.i < len(self.events) and self.events[self.i][0] + self.base <= m.frame:
            _, kind, args = self.events[self.i]
            self.i += 1
            args = [_value(a) for a in args]
            try:
                if kind.startswith("feed:"):
                    m.devices[kind[5:]].feed(*args)
                elif kind.startswith("serial:"):
                    m.devices[kind[7:]].backend.feed(*args)
                elif kind in ("press", "release", "key_event", "type"):
                    getattr(m, kind)(*args)
                else:
                    raise RecordError(f"{self.path}: unknown event {kind!r}")
            except (KeyError, TypeError) as e:
                raise RecordError(f"{self.path}: event {kind!r} at frame {self.events[self.i - 1][0]} "
                                  f"does not fit this machine ({e})") from None

    @property
    def done(self) -> bool:
        return self.m.frame >= self.end_frame
