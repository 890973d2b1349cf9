"""Fixtures for the model tests: an untrained model directory and synthetic audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run model code on one thread: the CI box has two shared cores, and spinning threads waste them."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def untrained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ml.embedding.bundle import write_untrained_model

    return write_untrained_model(tmp_path_factory.mktemp("untrained") / "model", seed=0)


@pytest.fixture(scope="session")
def untrained(untrained_dir: Path):
    from ml.embedding.bundle import load_model

    return load_model(untrained_dir)


def chord(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A few decaying sine notes plus a little noise: (frames,) or (frames, channels) float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * f * t) * np.exp(-((t * 2) % 1.0)) for f in rng.uniform(110, 880, 3))
    wave = 0.2 * wave + 0.01 * rng.standard_normal(t.size)
    wave = wave.astype(np.float32)
    if channels == 1:
        return wave
    return np.stack([wave * (1 - 0.1 * c) for c in range(channels)], axis=1)
