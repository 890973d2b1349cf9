"""Audio preparation shared by training and inference: mono, resample, loudness, crops.

Training applies augmentation between :func:`to_model_rate` and :func:`normalise_loudness`;
inference skips only the augmentation, so the model sees identically normalised input.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from backend.core.audio import SILENCE_PEAK, SilentAudioError, resample

# RMS level every clip is scaled to before the model (about -20 dBFS).
TARGET_RMS = 0.1
# Scaling never exceeds this gain, so near-silent hiss is not blown up to full level.
MAX_GAIN = 100.0


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Return float32 (frames,) from (frames,) or (frames, channels) samples; reject bad arrays."""
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim == 2:
        if array.shape[1] < 1:
            raise ValueError(f"audio has no channels (shape {array.shape})")
        # Summing whole columns is about ten times faster than mean(axis=1) on interleaved frames.
        mono = array[:, 0].copy()
        for channel in range(1, array.shape[1]):
            mono += array[:, channel]
        array = mono * np.float32(1.0 / array.shape[1])
    elif array.ndim != 1:
        raise ValueError(f"audio must have shape (frames,) or (frames, channels), got {array.shape}")
    if array.size == 0:
        raise ValueError("audio has no samples")
    if not np.isfinite(array).all():
        raise ValueError("audio contains non-finite samples")
    return array


def to_model_rate(samples: np.ndarray, sample_rate: int, target_rate: int) -> torch.Tensor:
    """Mono-mix ``samples`` and resample them (soxr, as everywhere) to ``target_rate``: float32 tensor (frames,)."""
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample rate must be a positive integer, got {sample_rate!r}")
    return torch.from_numpy(resample(to_mono(samples), int(sample_rate), target_rate))


def check_not_silent(wave: torch.Tensor) -> None:
    """Raise :class:`SilentAudioError` when the peak is below the silence threshold."""
    peak = float(wave.abs().max()) if wave.numel() else 0.0
    if peak < SILENCE_PEAK:
        raise SilentAudioError(f"the audio is silent (peak {peak:.2e} below {SILENCE_PEAK:g})")


def normalise_loudness(wave: torch.Tensor) -> torch.Tensor:
    """Scale (..., samples) so each clip's RMS is TARGET_RMS (gain capped at MAX_GAIN)."""
    rms = wave.pow(2).mean(dim=-1, keepdim=True).sqrt()
    gain = (TARGET_RMS / rms.clamp_min(1e-8)).clamp(max=MAX_GAIN)
    return wave * gain


def tile_to_length(wave: torch.Tensor, length: int) -> torch.Tensor:
    """Repeat a short (samples,) clip until it is ``length`` long (longer clips pass unchanged)."""
    if wave.shape[-1] >= length:
        return wave
    repeats = math.ceil(length / wave.shape[-1])
    return wave.repeat(repeats)[:length]


def crop_starts(n_samples: int, crop: int, hop: int) -> list[int]:
    """Start offsets of fixed-hop crops covering the whole clip; the last crop ends at the end."""
    if n_samples <= crop:
        return [0]
    count = math.ceil((n_samples - crop) / hop) + 1
    starts = [i * hop for i in range(count - 1)]
    return [*starts, n_samples - crop]


def music_crops(wave: torch.Tensor, crop: int, hop: int) -> torch.Tensor:
    """A whole track (samples,) -> deterministic crops (n_crops, crop), short tracks tiled."""
    wave = tile_to_length(wave, crop)
    return torch.stack([wave[s : s + crop] for s in crop_starts(wave.shape[-1], crop, hop)])
