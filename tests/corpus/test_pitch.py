"""The voice tests' pitch tracker, checked on synthetic voiced and unvoiced sound."""

from __future__ import annotations

import math

import pytest
import torch

from tests.corpus.pitch import VOICED_CLARITY, median_pitch, track_pitch

RATE, HOP = 16000, 160


def buzz(f0: torch.Tensor, seconds: float = 1.0, noise: float = 0.2, seed: int = 0) -> torch.Tensor:
    """A five-harmonic buzz whose F0 follows ``f0`` (Hz per sample, or a constant) plus white noise."""
    n = int(seconds * RATE)
    f0 = f0.expand(n) if f0.numel() == 1 else f0
    phase = 2 * math.pi * torch.cumsum(f0, 0) / RATE
    wave = sum(torch.sin(k * phase) / k for k in range(1, 6))
    return wave + noise * torch.randn(n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("f0", [75.0, 110.0, 180.0, 260.0, 350.0, 450.0])
def test_tracker_finds_the_pitch_of_a_noisy_buzz_without_octave_errors(f0):
    estimate, clarity = track_pitch(buzz(torch.tensor(f0)), RATE, HOP)
    inner = slice(5, -5)
    assert ((estimate[inner] / f0 - 1).abs() < 0.03).float().mean() > 0.95
    assert clarity[inner].min() > 0.7


def test_tracker_follows_a_glide_on_the_frame_grid():
    estimate, _ = track_pitch(buzz(torch.linspace(100.0, 200.0, RATE)), RATE, HOP)
    assert estimate.shape == (RATE // HOP + 1,)  # frame i is centred on sample i * hop
    expected = 100.0 + 100.0 * torch.arange(estimate.shape[0]) * HOP / RATE
    assert torch.allclose(estimate[5:-5], expected[5:-5], rtol=0.03)


def test_noise_and_silence_are_unvoiced():
    noise = 0.3 * torch.randn(RATE, generator=torch.Generator().manual_seed(1))
    assert (track_pitch(noise, RATE)[1] > VOICED_CLARITY).float().mean() < 0.05
    assert (track_pitch(torch.zeros(RATE), RATE)[1] == 0).all()
    assert math.isnan(median_pitch(torch.zeros(RATE), RATE))
    assert median_pitch(buzz(torch.tensor(150.0)), RATE) == pytest.approx(150.0, rel=0.02)


def test_tracker_refuses_a_window_too_short_for_its_lowest_pitch():
    with pytest.raises(ValueError, match="too short"):
        track_pitch(torch.zeros(RATE), RATE, f_min=30.0)
