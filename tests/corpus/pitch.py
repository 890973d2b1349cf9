"""A pitch (F0) tracker for checking what the speech engines render: the instrument of the voice tests.

Normalised cross-correlation of each frame with itself shifted by every lag of the pitch range
(as in RAPT): the best lag gives F0 and its correlation the voicing clarity.
"""

from __future__ import annotations

import math

import torch

# A frame whose best correlation is below this is unvoiced.
VOICED_CLARITY = 0.5
# Bonus per octave of candidate frequency (Praat's "octave cost"): a periodic frame correlates as
# well at two or three periods as at one, and the shortest lag is the true period.
OCTAVE_COST = 0.03


def track_pitch(
    wave: torch.Tensor,
    sample_rate: int,
    hop: int = 160,
    f_min: float = 60.0,
    f_max: float = 500.0,
    window_seconds: float = 0.04,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return F0 in Hz and voicing clarity (0..1) of ``wave`` (samples,), one per frame centred on ``i * hop``."""
    window = round(window_seconds * sample_rate)
    if window < 2 * sample_rate / f_min:
        raise ValueError(f"a {window_seconds} s window is too short for pitch down to {f_min} Hz")
    min_lag, max_lag = max(2, math.floor(sample_rate / f_max)), math.ceil(sample_rate / f_min)
    half = window // 2
    padded = torch.nn.functional.pad(wave, (half, window - half))
    frames = padded.unfold(-1, window, hop)[: wave.shape[-1] // hop + 1]
    frames = frames - frames.mean(dim=-1, keepdim=True)  # (frames, window)
    lags = torch.arange(min_lag, max_lag + 1)
    spectrum = torch.fft.rfft(frames, n=2 * window)
    correlation = torch.fft.irfft(spectrum.abs().pow(2), n=2 * window)[:, lags]  # (frames, lags)
    # Energies of the two overlapping parts, x[:n - lag] and x[lag:], from one cumulative sum.
    cumulative = frames.pow(2).cumsum(dim=-1)
    energy = cumulative[:, -1:]
    head = cumulative[:, window - 1 - lags]
    tail = energy - cumulative[:, lags - 1]
    normalised = correlation / (head * tail).clamp_min(1e-12).sqrt()
    octave_bonus = OCTAVE_COST * torch.log2(sample_rate / lags / f_min)
    best = (normalised + octave_bonus).argmax(dim=-1)
    clarity = normalised.gather(-1, best.unsqueeze(-1)).squeeze(-1).clamp(0.0, 1.0)
    return sample_rate / lags[best].float(), clarity


def median_pitch(wave: torch.Tensor, sample_rate: int) -> float:
    """Median F0 (Hz) over the voiced frames of ``wave``; NaN when no frame is voiced."""
    f0, clarity = track_pitch(wave, sample_rate)
    voiced = f0[clarity > VOICED_CLARITY]
    return float(voiced.median()) if voiced.numel() else math.nan
