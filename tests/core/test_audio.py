import io

import numpy as np
import pytest
import soundfile as sf

from backend.core import audio


def wav_bytes(samples: np.ndarray, sample_rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV")
    return buffer.getvalue()


def test_decodes_stereo_to_frames_by_channels():
    t = np.linspace(0, 1, 16000, endpoint=False)
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)], axis=1) * 0.5
    decoded = audio.decode_audio(wav_bytes(stereo))
    assert decoded.samples.shape == (16000,)
    assert decoded.channels == 2
    assert decoded.sample_rate == 16000
    assert decoded.mono().shape == (16000,)
    audio.check_clip(decoded, min_seconds=0.5, max_seconds=10)


@pytest.mark.parametrize(
    "payload, error",
    [
        (b"", audio.EmptyAudioError),
        (b"this is not audio at all", audio.NotAudioError),
        (wav_bytes(np.zeros(0)), audio.EmptyAudioError),
    ],
)
def test_refuses_unreadable_input(payload, error):
    with pytest.raises(error):
        audio.decode_audio(payload)


@pytest.mark.parametrize(
    "samples, error",
    [
        (np.zeros(16000), audio.SilentAudioError),
        (np.full(1600, 0.3), audio.AudioTooShortError),
        (np.full(16000 * 12, 0.3), audio.AudioTooLongError),
    ],
)
def test_refuses_silent_short_and_long_clips(samples, error):
    decoded = audio.decode_audio(wav_bytes(samples))
    with pytest.raises(error):
        audio.check_clip(decoded, min_seconds=0.5, max_seconds=10)
