"""Synthesised audio for the evaluation tests: tones with a little noise, written as label trees."""

from pathlib import Path

import numpy as np
import soundfile as sf

SPEECH_RATE = 16000
MUSIC_RATE = 22050


def tone(seconds: float, rate: int, freq: float, seed: int, noise: float = 0.05) -> np.ndarray:
    """Return a sine tone with a little white noise, peak about 0.5."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    return (0.45 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(t.size)).astype(np.float32)


def write_tree(root: Path, labels: list[str], per_label: int, rate: int, seconds: float) -> Path:
    """Write ``per_label`` synthesised clips under ``root/<label>/`` for every label."""
    for i, label in enumerate(labels):
        (root / label).mkdir(parents=True)
        for j in range(per_label):
            sf.write(root / label / f"{label}_{j}.wav", tone(seconds, rate, 110 * (i + 2) + 40 * j, 10 * i + j), rate)
    return root
