"""The worker's two hot paths on ONE CPU core, for a model and a baseline model, in the same run.

- ingest: a 44.1 kHz stereo OGG track, decoded from its bytes, mixed down and resampled to the
  model's rate (``backend.core.audio.decode_audio``, as the worker does) and embedded whole
  (``EmotionModel.embed_music``): seconds of audio per wall-clock second (x real time, per core);
- query: a 10 s speech clip embedded (``EmotionModel.embed_speech``): milliseconds.

Prints one JSON object with both models' figures, the ratios model / baseline and whether the
targets are met (ingest >= 150x real time per core, query <= 150 ms).

    PYTHONPATH=$PWD python benchmarks/model_speed.py [--model DIR] [--baseline DIR] [--track-seconds S]

``--model`` defaults to the bundled model. ``--baseline`` defaults to an untrained model of the
compact conv architecture that the bundled model used before the pretrained encoders (speed does
not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.core.audio import decode_audio
from backend.core.config import Settings
from ml.embedding.bundle import EmotionModel, load_model, write_untrained_model

TARGETS = {"ingest_x_realtime": 150.0, "query_ms": 150.0}
INGEST_RATE = 44100


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: first calls allocate
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def music_like(seconds: float, seed: int) -> np.ndarray:
    """Stereo chords with a beat and a little noise, (frames, 2) float32 at 44.1 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * INGEST_RATE)) / INGEST_RATE
    notes = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(110, 880, 4))
    beat = np.exp(-((t * 2) % 1.0) * 8)
    mono = 0.15 * notes * (0.4 + beat) + 0.01 * rng.standard_normal(t.size)
    return np.stack([mono, np.roll(mono, 441)], axis=1).astype(np.float32)


def speech_like(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8)) * (np.sin(2 * np.pi * 3 * t) > -0.3)
    return (0.2 * voiced + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def measure(model: EmotionModel, track: bytes, track_seconds: float, repeats: int) -> dict[str, float]:
    def ingest() -> None:
        audio = decode_audio(track, target_rate=model.config.music_rate)
        model.embed_music(audio.samples, audio.sample_rate)

    speech = speech_like(10.0, seed=1)
    ingest_seconds = best_seconds(ingest, repeats)
    query_seconds = best_seconds(lambda: model.embed_speech(speech, 16000), repeats * 2)
    return {
        "ingest_x_realtime": round(track_seconds / ingest_seconds, 1),
        "ingest_ms": round(ingest_seconds * 1000, 1),
        "query_ms": round(query_seconds * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the bundled model)")
    parser.add_argument("--baseline", type=Path, default=None, help="baseline model directory")
    parser.add_argument("--track-seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model_dir = args.model or Settings.from_env({}).model_dir
    with tempfile.TemporaryDirectory() as scratch:
        # In one-second blocks: libsndfile's Vorbis encoder crashes when handed minutes of audio at once.
        path = Path(scratch) / "track.ogg"
        samples = music_like(args.track_seconds, seed=3)
        with sf.SoundFile(path, "w", INGEST_RATE, 2, format="OGG", subtype="VORBIS") as out:
            for start in range(0, len(samples), INGEST_RATE):
                out.write(samples[start : start + INGEST_RATE])
        track = path.read_bytes()
        baseline_dir = args.baseline or write_untrained_model(Path(scratch) / "compact")
        models = {"model": load_model(model_dir), "baseline": load_model(baseline_dir)}
        results = {name: measure(m, track, args.track_seconds, args.repeats) for name, m in models.items()}
    model, baseline = results["model"], results["baseline"]
    print(
        json.dumps(
            {
                "machine": {"cpu": platform.processor() or platform.machine(), "torch_threads": 1},
                "input": {"track": f"{args.track_seconds:g} s, 44.1 kHz stereo OGG", "query": "10 s, 16 kHz"},
                "model": {"version": models["model"].version, **model},
                "baseline": {"version": models["baseline"].version, **baseline},
                "ratio_model_over_baseline": {
                    "ingest_x_realtime": round(model["ingest_x_realtime"] / baseline["ingest_x_realtime"], 3),
                    "query_ms": round(model["query_ms"] / baseline["query_ms"], 3),
                },
                "targets": TARGETS,
                "targets_met": {
                    "ingest_x_realtime": model["ingest_x_realtime"] >= TARGETS["ingest_x_realtime"],
                    "query_ms": model["query_ms"] <= TARGETS["query_ms"],
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
