"""Decoding and checking audio clips (soundfile + numpy only, so the API can use it without torch)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

# Peak level below which a clip counts as silent (about -60 dBFS).
SILENCE_PEAK = 1e-3


class AudioError(ValueError):
    """A clip cannot be used; the message says why in words meant for the person who sent it."""

    code = "invalid_audio"


class NotAudioError(AudioError):
    code = "not_audio"


class EmptyAudioError(AudioError):
    code = "empty_audio"


class SilentAudioError(AudioError):
    code = "silent_audio"


class AudioTooShortError(AudioError):
    code = "audio_too_short"


class AudioTooLongError(AudioError):
    code = "audio_too_long"


@dataclass(frozen=True)
class DecodedAudio:
    """Samples as float32 of shape (frames, channels) and their sample rate in Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_seconds(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    @property
    def channels(self) -> int:
        return self.samples.shape[1]

    def mono(self) -> np.ndarray:
        """Return the channel mean as a 1-d float32 array."""
        return self.samples.mean(axis=1, dtype=np.float32)


def decode_audio(source: bytes | str | Path) -> DecodedAudio:
    """Decode a WAV/FLAC/OGG/MP3 file (path or bytes) into float32 samples."""
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise EmptyAudioError("the file is empty")
        handle: object = io.BytesIO(source)
    else:
        handle = str(source)
    try:
        samples, sample_rate = sf.read(handle, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise NotAudioError(f"the file is not audio that can be decoded ({exc})") from None
    if samples.size == 0:
        raise EmptyAudioError("the file decodes to no audio samples")
    if not np.isfinite(samples).all():
        raise NotAudioError("the file decodes to invalid (non-finite) samples")
    return DecodedAudio(samples=samples, sample_rate=int(sample_rate))


def check_clip(audio: DecodedAudio, *, min_seconds: float, max_seconds: float) -> None:
    """Refuse clips that are too short, too long or silent."""
    duration = audio.duration_seconds
    if duration < min_seconds:
        raise AudioTooShortError(f"the audio lasts {duration:.2f} s; at least {min_seconds:g} s is needed")
    if duration > max_seconds:
        raise AudioTooLongError(f"the audio lasts {duration:.1f} s; at most {max_seconds:g} s is accepted")
    if float(np.abs(audio.samples).max()) < SILENCE_PEAK:
        raise SilentAudioError("the audio is silent")
