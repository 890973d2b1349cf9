"""Check weak music labels against objective measures: onset rate, loudness, brightness, major/minor.

    python benchmarks/real_audio_label_check.py DIR [DIR ...]

For every music clip of each corpus manifest it measures onsets per second (spectral flux peaks),
RMS loudness (dBFS), spectral centroid (Hz) and mode (correlation of the mean chroma with the
Krumhansl-Kessler major and minor key profiles, best of 12 keys). It prints the median per label
and lists clips whose measures contradict their label's expected side of the plane: high-arousal
labels (exciting, angry, scary, happy, funny) with a low onset rate and low loudness, low-arousal
labels (calm, sad, tender) with a high onset rate and high loudness, happy in minor with a low
onset rate, sad in major with a high onset rate. No emotion model is involved.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from ml.manifest import read_manifest

MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
HIGH_AROUSAL = {"exciting", "angry", "scary", "happy", "funny"}
LOW_AROUSAL = {"calm", "sad", "tender"}
FRAME, HOP = 2048, 512


def measures(samples: np.ndarray, rate: int) -> dict[str, float]:
    """Onsets per second, RMS dBFS, spectral centroid (Hz) and major-minus-minor key correlation."""
    samples = samples[: rate * 120]  # the first two minutes say enough
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME)[::HOP] * np.hanning(FRAME)
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    freqs = np.fft.rfftfreq(FRAME, 1 / rate)
    flux = np.maximum(np.diff(np.log1p(spectrum), axis=0), 0).sum(axis=1)
    threshold = np.convolve(flux, np.ones(16) / 16, mode="same") + flux.std() * 0.5
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > threshold[1:-1])
    seconds = len(samples) / rate
    power = spectrum**2
    centroid = float((power * freqs).sum() / max(power.sum(), 1e-12))
    usable = (freqs > 55) & (freqs < 4000)
    pitch_class = (np.round(12 * np.log2(freqs[usable] / 440.0)) + 9).astype(int) % 12
    chroma = np.bincount(pitch_class, weights=power[:, usable].sum(axis=0), minlength=12)
    chroma = chroma / max(chroma.sum(), 1e-12)

    def best(profile: np.ndarray) -> float:
        return max(float(np.corrcoef(chroma, np.roll(profile, k))[0, 1]) for k in range(12))

    return {
        "onsets_per_s": float(peaks.sum()) / seconds,
        "rms_db": float(20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-9)),
        "centroid_hz": centroid,
        "major_minus_minor": best(MAJOR) - best(MINOR),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    args = parser.parse_args()
    per_label: dict[str, list[dict[str, float]]] = defaultdict(list)
    clips: list[tuple[str, str, dict[str, float]]] = []
    for root in args.corpora:
        seen: set[str] = set()
        for row in read_manifest(root / "manifest.csv"):
            if row.modality != "music" or row.source in seen:  # one crop per track is enough
                continue
            seen.add(row.source)
            samples, rate = sf.read(root / row.path, dtype="float32")
            m = measures(samples, rate)
            per_label[row.label].append(m)
            clips.append((row.source, row.label, m))
    every = [m for _, _, m in clips]
    med = {k: statistics.median(m[k] for m in every) for k in every[0]}
    print("| label | tracks | onsets/s | RMS dBFS | centroid Hz | major-minor | share major |")
    print("|---|---|---|---|---|---|---|")
    for label, ms in sorted(per_label.items()):
        cells = [
            statistics.median(m[k] for m in ms) for k in ("onsets_per_s", "rms_db", "centroid_hz", "major_minus_minor")
        ]
        major = sum(m["major_minus_minor"] > 0 for m in ms) / len(ms)
        print(
            f"| {label} | {len(ms)} | {cells[0]:.2f} | {cells[1]:.1f} | {cells[2]:.0f} | {cells[3]:+.3f} "
            f"| {major:.2f} |"
        )
    print(f"\nmedians over all tracks: {', '.join(f'{k} {v:.2f}' for k, v in med.items())}\n\ndisagreements:")
    for source, label, m in clips:
        slow_quiet = m["onsets_per_s"] < med["onsets_per_s"] and m["rms_db"] < med["rms_db"]
        fast_loud = m["onsets_per_s"] > med["onsets_per_s"] and m["rms_db"] > med["rms_db"]
        why = []
        if label in HIGH_AROUSAL and slow_quiet:
            why.append("high-arousal label, but fewer onsets and quieter than the median")
        if label in LOW_AROUSAL and fast_loud:
            why.append("low-arousal label, but more onsets and louder than the median")
        if label == "happy" and m["major_minus_minor"] < 0 and m["onsets_per_s"] < med["onsets_per_s"]:
            why.append("happy, but minor and slow")
        if label == "sad" and m["major_minus_minor"] > 0 and m["onsets_per_s"] > med["onsets_per_s"]:
            why.append("sad, but major and busy")
        if why:
            print(
                f"- {source} ({label}): {'; '.join(why)} (onsets/s {m['onsets_per_s']:.2f}, RMS {m['rms_db']:.1f} dB, "
                f"major-minor {m['major_minus_minor']:+.3f})"
            )


if __name__ == "__main__":
    main()
