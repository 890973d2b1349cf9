"""Post-processing of a spoken utterance: voice quality, intonation, room, microphone and noise.

The sox argument list is built by pure functions; the numpy stages (pauses, breath, noise, level)
take their randomness as a ``numpy.random.Generator`` so a seed fixes the result.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfilt

from corpus.prosody import Prosody

REFERENCE_DBFS = -23.0  # corpus reference RMS level; prosody loudness is relative to it
NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")
EFFORT_TILT = 0.5  # dB of high-shelf gain per dB of vocal effort


@dataclass(frozen=True)
class Acoustics:
    """The room, microphone and background of one recording."""

    reverb: tuple[float, float, float] | None  # reverberance %, room scale %, pre-delay ms
    highpass_hz: float
    lowpass_hz: float
    eq: tuple[float, float, float]  # centre Hz, width (q), gain dB: microphone colouring
    noise_kind: str
    snr_db: float


def draw_acoustics(rng: random.Random) -> Acoustics:
    """Draw a recording situation: a dry booth, a room, a phone line, a noisy street."""
    reverb = None
    if rng.random() < 0.6:
        reverb = (rng.uniform(10, 80), rng.uniform(15, 100), rng.uniform(0, 30))
    telephone = rng.random() < 0.15
    return Acoustics(
        reverb=reverb,
        highpass_hz=rng.uniform(250, 400) if telephone else rng.uniform(40, 200),
        lowpass_hz=rng.uniform(3200, 3800) if telephone else rng.uniform(5000, 7900),
        eq=(rng.uniform(300, 5000), rng.uniform(0.5, 2.0), rng.uniform(-6, 6)),
        noise_kind=rng.choice(NOISE_KINDS),
        snr_db=rng.uniform(8, 40) if rng.random() < 0.8 else rng.uniform(40, 60),
    )


def sox_effects(
    prosody: Prosody,
    acoustics: Acoustics,
    duration_s: float,
    *,
    pitch_done: bool,
    rate_done: bool,
    rng: random.Random,
) -> list[str]:
    """Return the sox effect chain that applies prosody and acoustics to a voice recording.

    ``pitch_done``/``rate_done`` say the engine already applied the pitch shift / speaking rate.
    """
    # Headroom first (later stages boost; the level is set afterwards), then the corpus rate so
    # every filter below sees the same Nyquist frequency whatever the engine's rate.
    effects: list[str] = ["gain", "-8", "rate", "-h", "16k", "channels", "1"]
    if not rate_done and abs(prosody.rate - 1.0) > 0.01:
        effects += ["tempo", "-s", f"{prosody.rate:.3f}"]
        duration_s /= prosody.rate
    if not pitch_done and abs(prosody.pitch_semitones) > 0.05:
        # sox's pitch changes the sample rate internally: restore it before the filters below.
        effects += ["pitch", f"{prosody.pitch_semitones * 100:.0f}", "rate", "-h", "16k"]
    effects += _bends(prosody, duration_s, rng)
    if prosody.tremor > 0.2:
        effects += ["tremolo", f"{rng.uniform(4.5, 8.0):.2f}", f"{15 + 45 * prosody.tremor:.1f}"]
    if prosody.tension > 0.2:
        effects += [
            "overdrive",
            f"{4 + 16 * prosody.tension:.1f}",
            "20",
            "equalizer",
            "2500",
            "1q",
            f"{5 * prosody.tension:.1f}",
        ]
    if abs(prosody.loudness_db) > 0.5:
        # Vocal effort changes the voice's spectral tilt, not only its level: a raised voice has
        # relatively more energy above ~1.5 kHz. Without this, loudness would vanish under the
        # loudness normalisation every real recording needs.
        effects += ["treble", f"{EFFORT_TILT * prosody.loudness_db:.1f}", "1500"]
    if prosody.darkness > 0.2:
        effects += ["lowpass", f"{4500 - 2500 * prosody.darkness:.0f}"]
    centre, width, gain = acoustics.eq
    effects += [
        "highpass",
        f"{acoustics.highpass_hz:.0f}",
        "lowpass",
        f"{acoustics.lowpass_hz:.0f}",
        "equalizer",
        f"{centre:.0f}",
        f"{width:.2f}q",
        f"{gain:.1f}",
    ]
    if acoustics.reverb is not None:
        reverberance, room, predelay = acoustics.reverb
        effects += ["reverb", f"{reverberance:.0f}", "50", f"{room:.0f}", "100", f"{predelay:.0f}"]
    return effects


def _bends(prosody: Prosody, duration_s: float, rng: random.Random) -> list[str]:
    """Intonation: random pitch movements scaled by the range, then the final rise or fall."""
    final_len = min(0.45, duration_s * 0.25)
    body = duration_s - final_len - 0.05
    specs: list[str] = []
    excursion = 140.0 * max(prosody.pitch_range - 0.6, 0.0)
    steps = int(body / 0.35)
    if excursion > 5 and steps >= 2:
        step = body / steps
        sign = rng.choice((-1, 1))
        for _ in range(steps):
            specs.append(f"0,{sign * excursion * rng.uniform(0.4, 1.0):.0f},{step:.3f}")
            sign = -sign
        delay = 0.0
    else:
        delay = max(body, 0.0)
    if abs(prosody.final_bend_cents) > 5 and final_len > 0.1:
        specs.append(f"{delay:.3f},{prosody.final_bend_cents:.0f},{final_len:.3f}")
    return ["bend", *specs] if specs else []


def run_sox(src: Path, dst: Path, effects: list[str]) -> None:
    """Run sox without dither (so output is reproducible), writing 32-bit float."""
    args = ["sox", "-D", "-V1", str(src), "-e", "floating-point", "-b", "32", str(dst), *effects]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sox failed on {src}: {done.stderr.strip()}")


def trim_silence(samples: np.ndarray, sample_rate: int, threshold: float = 0.02) -> np.ndarray:
    """Cut leading and trailing stretches quieter than ``threshold`` of the peak (20 ms frames)."""
    frame = max(1, int(0.02 * sample_rate))
    frames = len(samples) // frame
    if frames < 2:
        return samples
    energy = np.abs(samples[: frames * frame]).reshape(frames, frame).max(axis=1)
    loud = np.flatnonzero(energy > threshold * (energy.max() + 1e-12))
    if loud.size == 0:
        return samples
    return samples[max(0, loud[0] - 1) * frame : min(frames, loud[-1] + 2) * frame]


def stretch_pauses(samples: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Lengthen (or shorten) the silent gaps inside an utterance by ``factor``."""
    frame = int(0.02 * sample_rate)
    frames = len(samples) // frame
    if frames < 3 or abs(factor - 1.0) < 0.05:
        return samples
    energy = np.sqrt(np.mean(samples[: frames * frame].reshape(frames, frame) ** 2, axis=1) + 1e-12)
    silent = energy < energy.max() * 0.03
    voiced = np.flatnonzero(~silent)
    if voiced.size == 0:
        return samples
    pieces: list[np.ndarray] = []
    cursor = 0
    run_start = None
    for i in range(voiced[0], voiced[-1] + 1):
        if silent[i] and run_start is None:
            run_start = i
        elif not silent[i] and run_start is not None:
            if i - run_start >= 2:
                gap = samples[run_start * frame : i * frame]
                pieces.append(samples[cursor : run_start * frame])
                pieces.append(_resize_gap(gap, factor))
                cursor = i * frame
            run_start = None
    pieces.append(samples[cursor:])
    return np.concatenate(pieces)


def _resize_gap(gap: np.ndarray, factor: float) -> np.ndarray:
    target = max(1, int(len(gap) * factor))
    if target <= len(gap):
        return gap[:target]
    half = len(gap) // 2
    return np.concatenate([gap[:half], np.zeros(target - len(gap), dtype=gap.dtype), gap[half:]])


def add_breath(samples: np.ndarray, sample_rate: int, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Mix band-limited noise that follows the speech envelope: an airy, breathy voice."""
    if amount < 0.15:
        return samples
    envelope = np.convolve(np.abs(samples), np.ones(int(0.03 * sample_rate)) / (0.03 * sample_rate), "same")
    # Aspiration noise sits in the upper formant region; kept moderate so that it colours the
    # voice rather than covering it (a strong broadband hiss would be an easy, unrealistic cue).
    sos = butter(2, (1500, min(6000, 0.45 * sample_rate)), btype="bandpass", fs=sample_rate, output="sos")
    noise = sosfilt(sos, rng.standard_normal(len(samples))).astype(np.float32)
    noise *= envelope / (np.sqrt(np.mean(noise**2)) + 1e-9)
    return samples + 0.3 * amount * noise


def add_noise(samples: np.ndarray, sample_rate: int, kind: str, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add background noise of a kind at a signal-to-noise ratio."""
    noise = make_noise(kind, len(samples), sample_rate, rng)
    signal_power = np.mean(samples**2) + 1e-12
    noise *= np.sqrt(signal_power / (np.mean(noise**2) + 1e-12) / 10 ** (snr_db / 10))
    return samples + noise


def make_noise(kind: str, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Generate ``length`` samples of white, pink, brown, mains-hum or babble-like noise."""
    white = rng.standard_normal(length)
    if kind == "white":
        return white.astype(np.float32)
    if kind in ("pink", "brown"):
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(length, 1 / sample_rate)
        freqs[0] = freqs[1] if length > 1 else 1.0
        spectrum /= freqs ** (0.5 if kind == "pink" else 1.0)
        return np.fft.irfft(spectrum, length).astype(np.float32)
    t = np.arange(length) / sample_rate
    if kind == "hum":
        mains = rng.choice((50.0, 60.0))
        hum = sum(np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3, 5))
        return (hum + 0.05 * white).astype(np.float32)
    if kind == "babble":
        sos = butter(2, (300, 3000), btype="bandpass", fs=sample_rate, output="sos")
        talkers = sum(
            sosfilt(sos, rng.standard_normal(length))
            * (1 + np.sin(2 * np.pi * rng.uniform(2, 6) * t + rng.uniform(0, 6.3)))
            for _ in range(4)
        )
        return np.asarray(talkers, dtype=np.float32)
    raise ValueError(f"unknown noise kind {kind!r}; known: {', '.join(NOISE_KINDS)}")


def set_level(samples: np.ndarray, level_dbfs: float) -> np.ndarray:
    """Scale to an RMS level in dBFS, then keep peaks below full scale."""
    rms = np.sqrt(np.mean(samples**2)) + 1e-12
    out = samples * (10 ** (level_dbfs / 20) / rms)
    peak = np.max(np.abs(out))
    if peak > 0.98:
        out *= 0.98 / peak
    return out.astype(np.float32)
