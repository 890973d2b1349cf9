"""Why an audio file cannot be used; each error has a code, and its message is meant for the person who sent it.

Messages never carry a library's exception text or an object's repr: they say what is wrong with the
file in words, and name the numbers that matter (rate, channels, seconds).
"""

from __future__ import annotations


class AudioError(ValueError):
    """A clip cannot be used; the message says why."""

    code = "invalid_audio"


class NotAudioError(AudioError):
    """Neither decoder recognises the file as audio, or its audio data is damaged."""

    code = "not_audio"


class NoAudioTrackError(NotAudioError):
    """A media container (a video, say) that holds no audio track."""

    code = "no_audio_track"


class UnsupportedAudioError(AudioError):
    """Audio the service does not take: a sample rate or channel count outside the limits, no decoder."""

    code = "unsupported_audio"


class InvalidSamplesError(AudioError):
    """Samples that are not finite or far beyond full scale."""

    code = "invalid_samples"


class EmptyAudioError(AudioError):
    code = "empty_audio"


class SilentAudioError(AudioError):
    code = "silent_audio"


class AudioTooShortError(AudioError):
    code = "audio_too_short"


class AudioTooLongError(AudioError):
    code = "audio_too_long"
