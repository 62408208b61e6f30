"""Audio stream hook: sound devices push int16 mono samples; the frontend (or
a WAV recorder) consumes them.  Headless machines keep a bounded buffer."""
from __future__ import annotations

import os
import wave

import numpy as np


class AudioStream:
    def __init__(self, sample_rate: int = 44100, keep_seconds: float = 2.0):
        self.sample_rate = sample_rate
        self.sink = None              # callable(np.int16 array) set by the frontend
        self._chunks: list[np.ndarray] = []
        self._kept = 0
        self._limit = int(sample_rate * keep_seconds)
        self.total = 0
        self.recording: list[np.ndarray] | None = None

    def push(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.int16)
        self.total += len(samples)
        if self.sink is not None:
            self.sink(samples)
        if self.recording is not None:
            self.recording.append(samples.copy())
        self._chunks.append(samples)
        self._kept += len(samples)
        while self._kept > self._limit and len(self._chunks) > 1:
            self._kept -= len(self._chunks.pop(0))

    def recent(self) -> np.ndarray:
        """The most recent samples (up to keep_seconds)."""
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def save_wav(self, path) -> None:
        data = np.concatenate(self.recording) if self.recording else self.recent()
        tmp = f"{path}.tmp"
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(data.astype("<i2").tobytes())
        os.replace(tmp, path)
