"""Cheap on-the-fly waveform augmentation, so the model learns emotion rather than one recording chain.

Each transform takes a 1-d wave at the model rate and a ``torch.Generator``; :class:`Augmenter`
applies a random subset. Loudness normalisation comes after, as at inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torchaudio.functional as AF

_VOCODER_FFT, _VOCODER_HOP = 512, 128


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _fast_fft_size(length: int) -> int:
    """The next power of two: FFTs of awkward lengths are several times slower."""
    return 1 << (length - 1).bit_length()


def coloured_noise(length: int, exponent: float, generator: torch.Generator) -> torch.Tensor:
    """Unit-RMS noise with a 1/f^exponent power spectrum (0 white, 1 pink, 2 brown)."""
    size = _fast_fft_size(length)
    spectrum = torch.fft.rfft(torch.randn(size, generator=generator))
    freqs = torch.arange(spectrum.numel(), dtype=torch.float32).clamp_min(1.0)
    noise = torch.fft.irfft(spectrum / freqs.pow(exponent / 2), n=size)[:length]
    return noise / noise.pow(2).mean().sqrt().clamp_min(1e-8)


def add_noise(wave: torch.Tensor, snr_db: float, exponent: float, generator: torch.Generator) -> torch.Tensor:
    """Add coloured noise at ``snr_db`` dB below the signal."""
    rms = wave.pow(2).mean().sqrt()
    return wave + coloured_noise(wave.numel(), exponent, generator) * rms * 10 ** (-snr_db / 20)


def synthetic_impulse_response(rate: int, rt60: float, generator: torch.Generator) -> torch.Tensor:
    """Exponentially decaying noise reaching -60 dB after ``rt60`` seconds, direct path first."""
    length = max(2, int(rt60 * rate))
    t = torch.arange(length, dtype=torch.float32) / rate
    response = torch.randn(length, generator=generator) * torch.exp(-6.9 * t / rt60)
    response[0] = 1.0
    return response / response.norm()


def reverberate(wave: torch.Tensor, rate: int, rt60: float, wet: float, generator: torch.Generator) -> torch.Tensor:
    """Mix the wave with its convolution by a synthetic room response."""
    response = synthetic_impulse_response(rate, rt60, generator)
    size = _fast_fft_size(wave.numel() + response.numel())
    echoed = torch.fft.irfft(torch.fft.rfft(wave, n=size) * torch.fft.rfft(response, n=size), n=size)[: wave.numel()]
    return (1 - wet) * wave + wet * echoed


def change_speed(wave: torch.Tensor, factor: float) -> torch.Tensor:
    """Play ``factor`` times faster (pitch and tempo together) by resampling; factor in about 0.9-1.1."""
    step = round(factor * 100)
    return wave if step == 100 else AF.resample(wave, step, 100)


def shift_pitch(wave: torch.Tensor, semitones: float) -> torch.Tensor:
    """Move the pitch by about ``semitones`` and keep the tempo: phase-vocoder stretch, then resample.

    The factor is rounded to whole percent so the resampling kernel stays small.
    """
    step = round(100 * 2 ** (semitones / 12))
    if step == 100 or wave.numel() < _VOCODER_FFT:
        return wave
    window = torch.hann_window(_VOCODER_FFT)
    spec = torch.stft(wave, _VOCODER_FFT, _VOCODER_HOP, window=window, return_complex=True)
    advance = torch.linspace(0, math.pi * _VOCODER_HOP, spec.shape[0]).unsqueeze(-1)
    stretched = AF.phase_vocoder(spec, 100 / step, advance)  # step/100 times longer
    longer = torch.istft(stretched, _VOCODER_FFT, _VOCODER_HOP, window=window)
    return change_speed(longer, step / 100)  # back to the original length, pitch moved


def band_limit(wave: torch.Tensor, rate: int, low_hz: float, high_hz: float) -> torch.Tensor:
    """Keep roughly ``low_hz``..``high_hz`` (telephone and low-bitrate-codec like)."""
    if high_hz < rate / 2:
        wave = AF.lowpass_biquad(wave, rate, high_hz)
    if low_hz > 0:
        wave = AF.highpass_biquad(wave, rate, low_hz)
    return wave


def mu_law_round_trip(wave: torch.Tensor, channels: int) -> torch.Tensor:
    """Quantise through mu-law with ``channels`` levels (8-bit telephony at 256)."""
    peak = wave.abs().max().clamp_min(1e-8)
    coded = AF.mu_law_encoding(wave / peak, channels)
    return AF.mu_law_decoding(coded, channels) * peak


@dataclass
class Augmenter:
    """Random chain of the transforms above; each fires with its own probability."""

    rate: int  # Hz of the waves it gets
    p_speed: float = 0.5  # speed jitter within +-max_speed
    max_speed: float = 0.06
    # Pitch moves of up to a few semitones at constant tempo (speech: a voice's own pitch level
    # says little about its emotion, so the model should read pitch relative to the clip).
    p_pitch: float = 0.0
    max_pitch_semitones: float = 4.0
    p_reverb: float = 0.3
    p_noise: float = 0.4  # white/pink/brown noise at 5-30 dB SNR
    p_band: float = 0.25
    p_mu_law: float = 0.1
    p_gain: float = 0.3  # gain change with soft clipping

    def __call__(self, wave: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Return an augmented copy of the 1-d ``wave`` (its length may change with speed jitter)."""
        fire = lambda p: float(torch.rand((), generator=generator)) < p  # noqa: E731
        if fire(self.p_speed):
            wave = change_speed(wave, _uniform(generator, 1 - self.max_speed, 1 + self.max_speed))
        if fire(self.p_pitch):
            wave = shift_pitch(wave, _uniform(generator, -self.max_pitch_semitones, self.max_pitch_semitones))
        if fire(self.p_reverb):
            wave = reverberate(
                wave, self.rate, _uniform(generator, 0.15, 0.9), _uniform(generator, 0.2, 0.6), generator
            )
        if fire(self.p_band):
            wave = band_limit(wave, self.rate, _uniform(generator, 0, 300), _uniform(generator, 2500, 7000))
        if fire(self.p_noise):
            exponent = float(torch.randint(0, 3, (), generator=generator))
            wave = add_noise(wave, _uniform(generator, 5, 30), exponent, generator)
        if fire(self.p_gain):
            gain = 10 ** (_uniform(generator, -6, 12) / 20)
            wave = torch.tanh(wave * gain / 0.5) * 0.5  # soft clipping when pushed hot
        if fire(self.p_mu_law):
            wave = mu_law_round_trip(wave, int(torch.randint(32, 257, (), generator=generator)))
        return wave
