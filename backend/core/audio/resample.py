"""Sample-rate conversion with soxr, one function for training, inference and the importers.

soxr's memory does not depend on the two rates' common factors, so 22051 Hz -> 22050 Hz costs what
44100 Hz -> 22050 Hz costs (a polyphase filter sized by the rates' ratio would not).
"""

from __future__ import annotations

import numpy as np
import soxr

# soxr's "high quality" preset: band-limited, about -100 dB stop band, fast.
QUALITY = "HQ"


def _check_rate(name: str, rate: int) -> int:
    if isinstance(rate, bool) or int(rate) != rate or rate <= 0:
        raise ValueError(f"{name} must be a positive integer number of Hz, got {rate!r}")
    return int(rate)


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Resample mono float32 samples (frames,) from ``rate`` to ``target_rate`` Hz: float32 (frames',)."""
    rate, target_rate = _check_rate("rate", rate), _check_rate("target_rate", target_rate)
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"resample takes mono samples of shape (frames,), got {array.shape}")
    if rate == target_rate or array.size == 0:
        return array.copy()
    return soxr.resample(array, rate, target_rate, quality=QUALITY).astype(np.float32, copy=False)


class StreamResampler:
    """Resample a mono signal that arrives in blocks; memory does not grow with the signal."""

    def __init__(self, rate: int, target_rate: int):
        self.rate = _check_rate("rate", rate)
        self.target_rate = _check_rate("target_rate", target_rate)
        self._stream = (
            None
            if self.rate == self.target_rate
            else soxr.ResampleStream(self.rate, self.target_rate, 1, dtype="float32", quality=QUALITY)
        )

    def push(self, block: np.ndarray) -> np.ndarray:
        """Feed mono float32 samples (frames,); return the output ready so far."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        return block if self._stream is None else self._stream.resample_chunk(block)

    def flush(self) -> np.ndarray:
        """Return the output still held in the filter; call once, after the last block."""
        if self._stream is None:
            return np.zeros(0, np.float32)
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
