"""A tiny synthetic corpus in the manifest layout, whose sounds carry their label's valence/arousal.

Speech-like clips: a voiced harmonic tone whose pitch, syllable rate and brightness rise with
arousal and whose contour rises with valence. Music-like clips: note sequences whose tempo rises
with arousal and whose mode is major for positive valence, minor otherwise.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from backend.domain.emotions import EMOTIONS

COLUMNS = ("path", "modality", "split", "label", "valence", "arousal", "group", "source", "transcript")
SPEECH_RATE, MUSIC_RATE = 16000, 22050
TRANSCRIPTS = {
    "angry": "I told you to stop doing that right now",
    "happy": "This is the best day I have had in years",
    "sad": "I miss her so much since she left",
    "neutral": "The meeting starts at ten in room four",
}


def speech_clip(label: str, rng: np.random.Generator) -> np.ndarray:
    v, a = EMOTIONS[label].valence, EMOTIONS[label].arousal
    seconds = rng.uniform(1.5, 3.0)
    t = np.arange(int(seconds * SPEECH_RATE)) / SPEECH_RATE
    f0 = (110 + 180 * a) * (1 + (v - 0.5) * 0.4 * t / seconds) * (1 + 0.02 * rng.standard_normal())
    phase = 2 * np.pi * np.cumsum(f0 * np.ones_like(t)) / SPEECH_RATE
    harmonics = 3 + int(8 * a)
    voiced = sum(np.sin(k * phase) / k ** (1.5 - a) for k in range(1, harmonics + 1))
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * (2 + 5 * a) * t + rng.uniform(0, 6)) ** 2
    wave = voiced * syllables + 0.02 * rng.standard_normal(t.size)
    return (0.3 * wave / np.abs(wave).max()).astype(np.float32)


def music_clip(label: str, rng: np.random.Generator, seconds: float = 10.5) -> np.ndarray:
    v, a = EMOTIONS[label].valence, EMOTIONS[label].arousal
    scale = [0, 2, 4, 5, 7, 9, 11] if v >= 0.5 else [0, 2, 3, 5, 7, 8, 10]
    beat = 60.0 / (50 + 140 * a)
    root = 48 + rng.integers(0, 7)
    t_all = np.arange(int(seconds * MUSIC_RATE)) / MUSIC_RATE
    wave = np.zeros_like(t_all)
    start = 0.0
    while start < seconds:
        note = root + scale[rng.integers(0, 7)] + 12 * rng.integers(0, 2)
        freq = 440 * 2 ** ((note - 69) / 12)
        for pitch in (freq, freq * 2 ** ((scale[2]) / 12)):  # a third above: major or minor colour
            mask = (t_all >= start) & (t_all < start + beat * 1.5)
            tt = t_all[mask] - start
            wave[mask] += np.sin(2 * np.pi * pitch * tt) * np.exp(-tt * (1 + 4 * a)) * (0.5 + a)
        start += beat
    wave += 0.01 * rng.standard_normal(t_all.size)
    return (0.3 * wave / np.abs(wave).max()).astype(np.float32)


def write_corpus(
    root: Path,
    speech_counts: dict[str, int] = {"train": 6, "valid": 2, "test": 2},
    music_counts: dict[str, int] = {"train": 4, "valid": 2, "test": 2},
    speech_labels: tuple[str, ...] = ("angry", "happy", "sad", "neutral"),
    music_labels: tuple[str, ...] = ("angry", "happy", "sad", "calm", "exciting", "tender"),
    seed: int = 0,
) -> Path:
    """Write root/{speech,music}/<split>/<label>/*.wav and root/manifest.csv; return root."""
    rng = np.random.default_rng(seed)
    rows = []
    for modality, labels, counts, make, rate in (
        ("speech", speech_labels, speech_counts, speech_clip, SPEECH_RATE),
        ("music", music_labels, music_counts, music_clip, MUSIC_RATE),
    ):
        for split, count in counts.items():
            for label in labels:
                for n in range(count):
                    rel = f"{modality}/{split}/{label}/{label}-{n}.wav"
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    sf.write(root / rel, make(label, rng), rate)
                    emotion = EMOTIONS[label]
                    transcript = TRANSCRIPTS.get(label, "") if modality == "speech" else ""
                    rows.append([rel, modality, split, label, emotion.valence, emotion.arousal, f"{split}-{n}", "synthetic", transcript])
    with (root / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return root
