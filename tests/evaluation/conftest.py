"""Fixture trees of synthesised audio and an untrained model directory, shared by the evaluation tests."""

from pathlib import Path

import numpy as np
import pytest
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


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    from workers.embedding.bundle import write_untrained_model

    return write_untrained_model(tmp_path_factory.mktemp("untrained_model"), seed=0)


@pytest.fixture
def query_tree(tmp_path) -> Path:
    root = write_tree(tmp_path / "queries", ["angry", "happy", "neutral", "sad"], 2, SPEECH_RATE, 1.5)
    (root / "happy" / "happy_0.txt").write_text("What a wonderful surprise, thank you!\n")
    # Any format soundfile reads: a stereo FLAC query.
    stereo = np.stack([tone(1.5, 44100, 300, 99), tone(1.5, 44100, 450, 98)], axis=1)
    sf.write(root / "sad" / "sad_stereo.flac", stereo, 44100)
    return root


@pytest.fixture
def catalogue_tree(tmp_path) -> Path:
    return write_tree(tmp_path / "catalogue", ["angry", "calm", "happy", "sad", "tender"], 2, MUSIC_RATE, 3.0)
