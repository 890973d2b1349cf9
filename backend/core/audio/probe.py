"""Reading an audio file's header (no decoding): container, codec, sample rate, channels, duration.

libsndfile answers for the formats it reads fastest; FFmpeg (PyAV) for the rest, restricted to the
demuxers of :data:`backend.core.audio.formats.FFMPEG_DEMUXERS`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import av
import soundfile as sf

from backend.core.audio.errors import (
    AudioError,
    AudioTooLongError,
    AudioTooShortError,
    EmptyAudioError,
    NoAudioTrackError,
    NotAudioError,
    UnsupportedAudioError,
)
from backend.core.audio.formats import FFMPEG_DEMUXERS, SOUNDFILE_FORMATS, ffmpeg_format_name

# What the service takes: telephone speech (8 kHz) up to studio masters (192 kHz), mono up to 7.1.
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
# libsndfile reports this many frames (or more) when a stream's length is unknown.
_UNKNOWN_FRAMES = 2**62
FFMPEG_OPTIONS = {"format_whitelist": ",".join(FFMPEG_DEMUXERS)}

AudioSource = str | Path | bytes
Decoder = Literal["soundfile", "ffmpeg"]


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says about its audio."""

    format: str  # stored format name: WAV, FLAC, OGG, MP3, AIFF, MP4, MOV, MKV, WEBM, AAC, ...
    codec: str  # PCM_16, VORBIS, aac, opus, ...
    sample_rate: int  # Hz
    channels: int
    duration_seconds: float | None  # None when the header does not say
    decoder: Decoder


def open_source(source: AudioSource) -> str | BinaryIO:
    """A path string or a fresh in-memory reader for ``source``; a missing path raises FileNotFoundError."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no audio file at {path}")
    return str(path)


def _is_empty(source: AudioSource) -> bool:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source) == 0
    return Path(source).stat().st_size == 0


def _soundfile_info(source: AudioSource) -> AudioInfo | None:
    try:
        info = sf.info(open_source(source))
    except (RuntimeError, TypeError, ValueError, EOFError):  # libsndfile does not know the file
        return None
    stored = SOUNDFILE_FORMATS.get(info.format)
    if stored is None:
        return None
    frames = int(info.frames)
    known = 0 <= frames < _UNKNOWN_FRAMES and info.samplerate > 0
    return AudioInfo(
        format=stored,
        codec=str(info.subtype),
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        duration_seconds=frames / info.samplerate if known else None,
        decoder="soundfile",
    )


def _stream_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def open_container(source: AudioSource) -> av.container.InputContainer:
    """Open ``source`` with FFmpeg, limited to the whitelisted demuxers; tags that are not UTF-8 are replaced."""
    return av.open(open_source(source), container_options=FFMPEG_OPTIONS, metadata_errors="replace")


def _ffmpeg_info(source: AudioSource) -> AudioInfo:
    try:
        with open_container(source) as container:
            stream = container.streams.best("audio")
            if stream is None:
                raise NoAudioTrackError("the file holds no audio track")
            context = stream.codec_context
            if context is None or not context.name:
                raise UnsupportedAudioError("the audio track is in a codec this service cannot decode")
            codecs = {s.codec_context.name for s in container.streams if s.codec_context is not None}
            return AudioInfo(
                format=ffmpeg_format_name(
                    container.format.name, str(container.metadata.get("major_brand", "")), codecs
                ),
                codec=context.name,
                sample_rate=int(context.sample_rate or 0),
                channels=int(context.channels or 0),
                duration_seconds=_stream_duration(container, stream),
                decoder="ffmpeg",
            )
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, EOFError):
        raise NotAudioError(
            "the file is not audio this service can read (WAV, FLAC, OGG, MP3, AIFF, AAC/M4A, Opus,"
            " or the audio of an MP4, MOV, MKV or WebM video)"
        ) from None


def probe_audio(source: AudioSource) -> AudioInfo:
    """Read ``source``'s header (a path or the file's bytes); raise an AudioError when it is not audio."""
    if _is_empty(source):
        raise EmptyAudioError("the file is empty")
    return _soundfile_info(source) or _ffmpeg_info(source)


def check_format(info: AudioInfo) -> None:
    """Refuse a header's sample rate and channel count when outside what the service takes."""
    check_rate_and_channels(info.sample_rate, info.channels)


def check_rate_and_channels(sample_rate: int, channels: int) -> None:
    """Refuse sample rates outside 8..192 kHz and channel counts outside 1..8."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise UnsupportedAudioError(
            f"the sample rate is {sample_rate} Hz; {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz is accepted"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise UnsupportedAudioError(f"the audio has {channels} channels; 1 to {MAX_CHANNELS} are accepted")


def check_duration(seconds: float, *, min_seconds: float, max_seconds: float) -> None:
    """Refuse audio that lasts less than ``min_seconds`` or more than ``max_seconds``."""
    if seconds <= 0:
        raise EmptyAudioError("the file holds no audio samples")
    if seconds < min_seconds:
        raise AudioTooShortError(f"the audio lasts {seconds:.2f} s; at least {min_seconds:g} s is needed")
    if seconds > max_seconds:
        raise AudioTooLongError(f"the audio lasts {seconds:.1f} s; at most {max_seconds:g} s is accepted")
