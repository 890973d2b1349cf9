"""Checking an uploaded clip before anything is stored."""

from __future__ import annotations

import io
from dataclasses import dataclass

import soundfile as sf

from backend.core.audio import DecodedAudio, check_clip, decode_audio


@dataclass(frozen=True)
class AcceptedAudio:
    """An upload that decodes and passes the duration/silence checks."""

    data: bytes
    audio: DecodedAudio
    format: str  # soundfile's container name: WAV, FLAC, OGG, MP3, ...


def accept_audio(data: bytes, *, min_seconds: float, max_seconds: float) -> AcceptedAudio:
    """Decode and check ``data``; raises a :class:`backend.core.audio.AudioError` saying what is wrong."""
    audio = decode_audio(data)
    check_clip(audio, min_seconds=min_seconds, max_seconds=max_seconds)
    return AcceptedAudio(data=data, audio=audio, format=sf.info(io.BytesIO(data)).format)
