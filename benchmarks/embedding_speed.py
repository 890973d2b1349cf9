"""Embedding speed on ONE CPU core: our encoders against the paper's architecture, same run, same audio.

Prints one JSON object: real-time factors (seconds of audio embedded per wall-clock second) for
speech and music, with our model and with the paper's architecture built locally with random
weights (wav2vec 2.0 base from transformers' ``Wav2Vec2Config`` defaults for speech; the compact
Music Tagging Transformer size of the authors' code, 3 conv blocks of 128 channels and a 4-layer,
64-d, 8-head transformer, for music), and the ratios ours / paper. Both run through the same
``EmotionModel`` inference path (resampling, normalisation, whole-track crops, heads).

    PYTHONPATH=$PWD python benchmarks/embedding_speed.py [--model DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.core.config import Settings
from ml.embedding.bundle import EmotionModel, build_network, load_model, write_untrained_model
from ml.model.config import ModelConfig, music_encoder_config

# Targets from issue 4.
TARGETS = {"speech_rt": 100.0, "music_rt": 200.0, "ratio": 10.0}
# The music encoder of the authors' code: MusicTaggingTransformer(conv_ndim=128, attention_ndim=64),
# attention heads and layers at their defaults (8, 4).
PAPER_MUSIC = {"channels": (128, 128, 128), "d_model": 64, "n_layers": 4, "n_heads": 8}
SPEECH_RATE = 16000
MUSIC_RATE = 22050


def synthetic_clips(n: int, seconds: float, rate: int, seed: int) -> list[np.ndarray]:
    """Return ``n`` clips of amplitude-modulated harmonic tones plus noise (speech/music-like energy)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    clips = []
    for _ in range(n):
        f0 = rng.uniform(90, 300)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6) * t)
        clips.append((0.2 * tone * envelope + 0.02 * rng.standard_normal(t.size)).astype(np.float32))
    return clips


def paper_model() -> EmotionModel:
    """Build the paper's architecture with random weights (nothing downloaded)."""
    from transformers import Wav2Vec2Config

    music = dataclasses.replace(music_encoder_config(), **PAPER_MUSIC)
    config = ModelConfig(
        name="paper-architecture",
        method="emosim",
        modality="audio",
        speech_backbone="wav2vec2",
        wav2vec2=Wav2Vec2Config().to_dict(),
        music=music,
        music_crop_seconds=10.0,
        music_hop_seconds=10.0,
        speech_max_seconds=16.0,
    )
    torch.manual_seed(0)
    return EmotionModel(build_network(config).eval(), "paper-architecture-random", torch.device("cpu"))


def our_model(model_dir: Path | None, scratch: Path) -> tuple[EmotionModel, str]:
    """Load ``model_dir``, else the bundled model, else an untrained one written to ``scratch`` (same architecture)."""
    if model_dir is None:
        bundled = Settings.from_env().model_dir
        if not (bundled / "config.json").is_file():
            return load_model(write_untrained_model(scratch)), "untrained (default architecture, temporary dir)"
        model_dir = bundled
    return load_model(model_dir), str(model_dir)


def realtime_factor(embed: Callable[[np.ndarray], object], clips: list[np.ndarray], rate: int, repeats: int) -> float:
    """Return audio seconds per wall second, best of ``repeats`` passes over ``clips`` after one warm-up."""
    embed(clips[0])
    audio_seconds = sum(clip.size for clip in clips) / rate
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for clip in clips:
            embed(clip)
        best = min(best, time.perf_counter() - start)
    return audio_seconds / best


def parameters(model: EmotionModel, side: str) -> int:
    """Count the encoder + projection head parameters of one side ("speech" or "music")."""
    network = model.network
    modules = [getattr(network, f"{side}_encoder", None), getattr(network, f"{side}_head", None)]
    return sum(p.numel() for m in modules if m is not None for p in m.parameters())


def measure(model: EmotionModel, args: argparse.Namespace) -> dict[str, float]:
    """Return speech and music real-time factors and parameter counts of ``model``."""
    speech = synthetic_clips(args.speech_clips, args.speech_seconds, SPEECH_RATE, seed=1)
    music = synthetic_clips(args.music_tracks, args.music_seconds, MUSIC_RATE, seed=2)
    return {
        "speech_rt": realtime_factor(lambda c: model.embed_speech(c, SPEECH_RATE), speech, SPEECH_RATE, args.repeats),
        "music_rt": realtime_factor(lambda c: model.embed_music(c, MUSIC_RATE), music, MUSIC_RATE, args.repeats),
        "speech_parameters": parameters(model, "speech"),
        "music_parameters": parameters(model, "music"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: bundled, else untrained)")
    parser.add_argument("--speech-clips", type=int, default=6)
    parser.add_argument("--speech-seconds", type=float, default=8.0)
    parser.add_argument("--music-tracks", type=int, default=2)
    parser.add_argument("--music-seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    with tempfile.TemporaryDirectory(prefix="s2m-speed-") as scratch:
        ours, model_dir = our_model(args.model, Path(scratch))
        ours_result = measure(ours, args)
    paper_result = measure(paper_model(), args)
    ratios = {kind: ours_result[f"{kind}_rt"] / paper_result[f"{kind}_rt"] for kind in ("speech", "music")}
    print(
        json.dumps(
            {
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "machine": platform.machine(),
                "workload": {
                    "speech": f"{args.speech_clips} x {args.speech_seconds:g} s at {SPEECH_RATE} Hz",
                    "music": f"{args.music_tracks} x {args.music_seconds:g} s at {MUSIC_RATE} Hz",
                    "timing": f"best of {args.repeats} passes after a warm-up",
                },
                "ours": {"model_dir": model_dir, "version": ours.version, **ours_result},
                "paper": {
                    "speech": "wav2vec 2.0 base (transformers Wav2Vec2Config defaults), random weights",
                    "music": f"Music Tagging Transformer, compact size {PAPER_MUSIC}, random weights",
                    **paper_result,
                },
                "ratio_ours_over_paper": ratios,
                "targets_met": {
                    f"speech_rt >= {TARGETS['speech_rt']:g}": ours_result["speech_rt"] >= TARGETS["speech_rt"],
                    f"music_rt >= {TARGETS['music_rt']:g}": ours_result["music_rt"] >= TARGETS["music_rt"],
                    f"speech ratio >= {TARGETS['ratio']:g}": ratios["speech"] >= TARGETS["ratio"],
                    f"music ratio >= {TARGETS['ratio']:g}": ratios["music"] >= TARGETS["ratio"],
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
