"""Audio in: read a file's header, decode it in bounded blocks to mono at a chosen rate, check it.

No torch here, so the API can use it: the API checks uploads from the header and a bounded scan
(:func:`probe_audio`, :func:`scan_audio`), the workers, training and importers decode with
:func:`decode_audio` (or :func:`stream_audio`, block by block, for recordings too long to keep whole),
and every resampling goes through :func:`resample` (soxr).
"""

from backend.core.audio.decode import (
    DURATION_SLACK_SECONDS,
    MAX_ABS_SAMPLE,
    SILENCE_PEAK,
    DecodedAudio,
    ScanResult,
    check_clip,
    check_not_silent,
    decode_audio,
    mix_to_mono,
    scan_audio,
    stream_audio,
)
from backend.core.audio.errors import (
    AudioError,
    AudioTooLongError,
    AudioTooShortError,
    EmptyAudioError,
    InvalidSamplesError,
    NoAudioTrackError,
    NotAudioError,
    SilentAudioError,
    UnsupportedAudioError,
)
from backend.core.audio.formats import file_extension, mime_type
from backend.core.audio.probe import (
    MAX_CHANNELS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    AudioInfo,
    AudioSource,
    check_duration,
    check_format,
    probe_audio,
)
from backend.core.audio.resample import StreamResampler, resample

__all__ = [
    "DURATION_SLACK_SECONDS",
    "MAX_ABS_SAMPLE",
    "MAX_CHANNELS",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SILENCE_PEAK",
    "AudioError",
    "AudioInfo",
    "AudioSource",
    "AudioTooLongError",
    "AudioTooShortError",
    "DecodedAudio",
    "EmptyAudioError",
    "InvalidSamplesError",
    "NoAudioTrackError",
    "NotAudioError",
    "ScanResult",
    "SilentAudioError",
    "StreamResampler",
    "UnsupportedAudioError",
    "check_clip",
    "check_duration",
    "check_format",
    "check_not_silent",
    "decode_audio",
    "file_extension",
    "mime_type",
    "mix_to_mono",
    "probe_audio",
    "resample",
    "scan_audio",
    "stream_audio",
]
