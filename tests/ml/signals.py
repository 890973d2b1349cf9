"""Deterministic 16 kHz test signals shared by the pretrained-port tests and their reference script.

numpy only (the reference script runs in a separate environment). Every signal is float32 in
[-1, 1]; noise comes from ``np.random.default_rng(seed)``, whose PCG64 stream numpy keeps stable.
The reference file stores a fingerprint of each signal, so a drifting generator fails loudly.
"""

from __future__ import annotations

import numpy as np

RATE = 16000


def _time(seconds: float) -> np.ndarray:
    return np.arange(round(seconds * RATE)) / RATE


def _fade(signal: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    ramp = min(int(seconds * RATE), signal.size // 2)
    envelope = np.ones(signal.size)
    envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
    envelope[signal.size - ramp :] = np.linspace(1.0, 0.0, ramp)
    return signal * envelope


def chirp(seconds: float, low: float = 100.0, high: float = 4000.0, amplitude: float = 0.5) -> np.ndarray:
    """Exponential sine sweep from ``low`` to ``high`` Hz."""
    t = _time(seconds)
    rate = np.log(high / low) / seconds
    phase = 2 * np.pi * low * (np.exp(rate * t) - 1) / rate
    return _fade(amplitude * np.sin(phase)).astype(np.float32)


def voiced_tones(seconds: float, seed: int) -> np.ndarray:
    """A speech-like harmonic tone: gliding f0 with vibrato, 4 Hz syllable envelope, a little noise."""
    t = _time(seconds)
    rng = np.random.default_rng(seed)
    f0 = 150 + 50 * np.sin(2 * np.pi * 0.3 * t) + 4 * np.sin(2 * np.pi * 5.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4 * t)) ** 2
    signal = 0.2 * voice * syllables + 0.01 * rng.standard_normal(t.size)
    return _fade(signal).astype(np.float32)


def noise_and_chirps(seconds: float, seed: int) -> np.ndarray:
    """Seeded noise, low-passed by a running mean, under a 2 s chirp that repeats."""
    rng = np.random.default_rng(seed)
    noise = np.convolve(rng.standard_normal(round(seconds * RATE)), np.ones(8) / 8, mode="same")
    sweep = chirp(2.0, 200.0, 6000.0, amplitude=0.3)
    repeats = -(-noise.size // sweep.size)
    return _fade(0.1 * noise + np.tile(sweep, repeats)[: noise.size]).astype(np.float32)


def music(seconds: float, seed: int, loud: bool = False) -> np.ndarray:
    """Music-like clip: a chord every half second (harmonic notes), a bass line, noise-burst drums.

    ``loud``: driven into full-scale clipping, the input on which musicnn's own extractor
    (float16 mel) loses precision.
    """
    t = _time(seconds)
    rng = np.random.default_rng(seed)
    roots = 110.0 * 2 ** (rng.integers(0, 12, size=int(np.ceil(seconds * 2)) + 1) / 12)
    step = np.minimum((t * 2).astype(int), roots.size - 1)
    signal = np.zeros(t.size)
    for interval in (1.0, 1.26, 1.5, 2.0):  # root, third, fifth, octave
        phase = 2 * np.pi * np.cumsum(2 * roots[step] * interval) / RATE
        signal += sum(np.sin(k * phase) / k**1.5 for k in range(1, 6))
    bass = np.sin(2 * np.pi * np.cumsum(roots[step] / 2) / RATE)
    beat_phase = (t * 4) % 1.0  # four drum hits a second
    drums = rng.standard_normal(t.size) * np.exp(-beat_phase * 30)
    signal = 0.08 * signal + 0.2 * bass + 0.25 * drums
    if loud:
        signal = np.clip(4.0 * signal, -1.0, 1.0)
    return _fade(signal).astype(np.float32)


def fingerprint(signal: np.ndarray) -> np.ndarray:
    """Sum, sum of squares and eight samples: enough to notice any change of a generated signal."""
    signal = np.asarray(signal, dtype=np.float64)
    picks = signal[np.linspace(0, signal.size - 1, 8).astype(int)]
    return np.concatenate([[signal.size, signal.sum(), (signal**2).sum()], picks])
