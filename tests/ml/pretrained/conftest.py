"""Fixtures for the pretrained-port tests: reference outputs, loaded models, a network that refuses."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.ml import signals

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run model code on one thread: the CI box has two shared cores."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch):
    """Every attempt to open a network connection raises; Hugging Face libraries told to stay offline."""

    def refuse(*args, **kwargs):
        raise OSError(f"network access attempted during a test that must work offline: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def whisper_reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "whisper_reference.npz") as data:
        return dict(data)


@pytest.fixture(scope="session")
def musicnn_reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "musicnn_reference.npz") as data:
        return dict(data)


@pytest.fixture(scope="session")
def whisper_clips() -> dict[str, np.ndarray]:
    """The clips of whisper_reference.npz, regenerated (or read: the espeak-ng utterance)."""
    utterance, rate = sf.read(FIXTURES / "espeak_utterance.wav", dtype="float32")
    assert rate == signals.RATE
    return {
        "chirp_1s": signals.chirp(1.0),
        "espeak": utterance,
        "voiced_7_77s": signals.voiced_tones(7.77, seed=1),
        "noise_30s": signals.noise_and_chirps(30.0, seed=2),
    }


@pytest.fixture(scope="session")
def musicnn_clips() -> dict[str, np.ndarray]:
    """The clips of musicnn_reference.npz, regenerated."""
    return {
        "music_3s": signals.music(3.0, seed=3),
        "music_10s": signals.music(10.0, seed=4),
        "music_10s_hop100": signals.music(10.0, seed=4),
        "music_loud_4s": signals.music(4.0, seed=5, loud=True),
        "music_short_1_3s": signals.music(1.3, seed=6),
    }


@pytest.fixture(scope="session")
def whisper_encoder():
    from ml.pretrained.whisper_bundle import load_whisper_encoder

    return load_whisper_encoder()


@pytest.fixture(scope="session")
def musicnn_models():
    from ml.pretrained.musicnn_bundle import load_musicnn

    return {name: load_musicnn(name) for name in ("MSD_musicnn", "MTT_musicnn")}
