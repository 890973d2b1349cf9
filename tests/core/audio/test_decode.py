"""Every format the service takes decodes to the right duration, rate and content; odd files are refused.

The fixtures are made by the test (tests/audio/encode.py): speech from espeak-ng and a tone melody,
encoded with PyAV in each container and codec, then decoded with the service's decoder.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from backend.core import audio
from tests.support.audio_files import (
    FORMATS,
    Format,
    concat_script,
    encode,
    hls_playlist,
    live_webm,
    long_flac,
    soundfile_bytes,
    tone,
    video_without_audio,
    wav_header_only,
)
from tests.support.synth import MUSIC_RATE, music_clip, speech_wav

TARGET_RATE = 16_000
# Lossy codecs delay the signal by their priming samples (AAC about 1024, Opus 312 at 48 kHz).
MAX_LAG_SECONDS = 0.1


@pytest.fixture(scope="module")
def contents() -> dict[str, tuple[np.ndarray, int]]:
    """Mono float32 speech (espeak-ng) and music (tones) at their own rates."""
    speech = audio.decode_audio(speech_wav("happy"))
    return {"speech": (speech.samples, speech.sample_rate), "music": (music_clip("bright", 1, 3.0), MUSIC_RATE)}


def _aligned_correlation(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> tuple[float, int]:
    """The Pearson correlation of ``decoded`` against ``reference`` at the best lag in 0..max_lag, and that lag."""
    size = 1 << int(np.ceil(np.log2(reference.size + decoded.size)))
    cross = np.fft.irfft(np.fft.rfft(decoded, size) * np.conj(np.fft.rfft(reference, size)), size)
    lag = int(np.argmax(cross[: max_lag + 1]))
    n = min(reference.size, decoded.size - lag)
    return float(np.corrcoef(reference[:n], decoded[lag : lag + n])[0, 1]), lag


@pytest.mark.parametrize("content", ["speech", "music"])
@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_every_format_round_trips(fmt: Format, content: str, contents: dict[str, tuple[np.ndarray, int]]) -> None:
    samples, rate = contents[content]
    source = audio.resample(samples, rate, fmt.rate)
    data = encode(source, fmt.rate, fmt)

    info = audio.probe_audio(data)
    assert (info.format, info.sample_rate, info.channels) == (fmt.stored, fmt.rate, 2)
    seconds = source.size / fmt.rate
    assert info.duration_seconds == pytest.approx(seconds, abs=fmt.header_tolerance)

    decoded = audio.decode_audio(data, target_rate=TARGET_RATE)
    assert decoded.sample_rate == TARGET_RATE and decoded.samples.dtype == np.float32
    assert decoded.duration_seconds == pytest.approx(seconds, abs=0.1)
    reference = audio.resample(source, fmt.rate, TARGET_RATE)
    correlation, lag = _aligned_correlation(reference, decoded.samples, int(MAX_LAG_SECONDS * TARGET_RATE))
    if fmt.lossless:
        assert lag == 0 and correlation > 0.999
        n = min(reference.size, decoded.samples.size)
        assert np.abs(reference[:n] - decoded.samples[:n]).max() < 2e-3
    else:
        assert correlation > 0.9, (fmt.name, correlation, lag)
    # The level survives: RMS within 1 dB.
    assert np.sqrt(np.mean(decoded.samples**2)) == pytest.approx(np.sqrt(np.mean(reference**2)), rel=0.12)


def test_channels_are_mixed_down_and_rates_converted_as_the_blocks_stream() -> None:
    rate = 44_100
    left, right = tone(3.0, rate, 440.0, 0.4), tone(3.0, rate, 660.0, 0.2)
    data = soundfile_bytes(np.stack([left, right], axis=1), rate, "FLAC")
    decoded = audio.decode_audio(data, target_rate=22_050)
    expected = audio.resample((left + right) / 2, rate, 22_050)
    assert decoded.channels == 2 and decoded.samples.shape == expected.shape
    assert np.abs(decoded.samples - expected).max() < 2e-3


@pytest.mark.parametrize("rate", [22_051, 16_001, 8_000, 192_000])
def test_odd_rates_resample_quickly(rate: int) -> None:
    data = soundfile_bytes(tone(2.0, rate), rate)
    started = time.perf_counter()
    decoded = audio.decode_audio(data, target_rate=22_050)
    assert time.perf_counter() - started < 2.0
    assert decoded.duration_seconds == pytest.approx(2.0, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    assert np.argmax(spectrum) / decoded.samples.size * 22_050 == pytest.approx(330.0, abs=1.0)


def test_stream_resampler_matches_one_shot() -> None:
    signal = tone(3.0, 22_051) + tone(3.0, 22_051, 1234.0, 0.1)
    one_shot = audio.resample(signal, 22_051, 16_000)
    stream = audio.StreamResampler(22_051, 16_000)
    parts = [stream.push(signal[i : i + 1000]) for i in range(0, signal.size, 1000)] + [stream.flush()]
    streamed = np.concatenate(parts)
    assert abs(streamed.size - one_shot.size) <= 1
    n = min(streamed.size, one_shot.size)
    assert np.abs(streamed[100 : n - 100] - one_shot[100 : n - 100]).max() < 1e-3


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [
        (b"", audio.EmptyAudioError, "empty_audio"),
        (b"plain text, not audio\n" * 40, audio.NotAudioError, "not_audio"),
        (b"\x89PNG\r\n\x1a\n" + bytes(300), audio.NotAudioError, "not_audio"),
        (bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8)), audio.NotAudioError, "not_audio"),
        (hls_playlist("file:///etc/passwd"), audio.NotAudioError, "not_audio"),
        (concat_script("/etc/passwd"), audio.NotAudioError, "not_audio"),
        (video_without_audio(), audio.NoAudioTrackError, "no_audio_track"),
    ],
    ids=["empty", "text", "png", "random", "hls_playlist", "concat_script", "video_only"],
)
def test_what_is_not_audio_is_refused(data: bytes, error: type[audio.AudioError], code: str) -> None:
    with pytest.raises(error) as refused:
        audio.probe_audio(data)
    assert refused.value.code == code
    assert "0x" not in str(refused.value) and "object at" not in str(refused.value)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (wav_header_only(1, 1, 20), "1 Hz"),
        (wav_header_only(4_000, 1, 8_000), "4000 Hz"),
        (wav_header_only(384_000, 1, 384_000), "384000 Hz"),
        (wav_header_only(16_000, 9, 16_000), "9 channels"),
    ],
    ids=["1hz", "4khz", "384khz", "9_channels"],
)
def test_rates_and_channel_counts_outside_the_limits_are_refused_from_the_header(data: bytes, needle: str) -> None:
    info = audio.probe_audio(data)
    with pytest.raises(audio.UnsupportedAudioError, match=needle):
        audio.check_format(info)
    with pytest.raises(audio.UnsupportedAudioError, match=needle):
        audio.decode_audio(data)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 3e38, 17.0])
def test_non_finite_and_absurd_samples_are_refused(value: float) -> None:
    samples = tone(1.0, 16_000)
    samples[8000] = value
    with pytest.raises(audio.InvalidSamplesError):
        audio.decode_audio(soundfile_bytes(samples, 16_000, "WAV", "FLOAT"))


def test_float_samples_a_little_past_full_scale_are_audio() -> None:
    decoded = audio.decode_audio(soundfile_bytes(tone(1.0, 16_000, amplitude=1.5), 16_000, "WAV", "FLOAT"))
    assert np.abs(decoded.samples).max() == pytest.approx(1.5, rel=1e-3)


def test_damaged_audio_data_is_not_audio() -> None:
    noise = tone(2.0, 16_000) + 0.05 * np.random.default_rng(0).normal(size=32_000).astype(np.float32)
    whole = soundfile_bytes(noise, 16_000, "FLAC")
    with pytest.raises(audio.NotAudioError, match="damaged"):
        audio.decode_audio(whole[: len(whole) // 3])


def test_a_two_hour_file_is_refused_from_its_header_without_decoding() -> None:
    data = long_flac(2 * 3600.0)
    started = time.perf_counter()
    assert audio.probe_audio(data).duration_seconds == pytest.approx(7200.0)
    with pytest.raises(audio.AudioTooLongError, match=r"7200\.0 s"):
        audio.decode_audio(data, target_rate=16_000, max_seconds=900.0)
    assert time.perf_counter() - started < 1.0


def test_decoding_stops_at_the_limit_when_the_header_has_no_length() -> None:
    """A live-written WebM (a browser recording) says nothing of its length: decoding stops past the limit."""
    data = live_webm(30.0)
    assert audio.probe_audio(data).duration_seconds is None
    assert audio.decode_audio(data).duration_seconds == pytest.approx(30.0, abs=0.05)
    with pytest.raises(audio.AudioTooLongError, match="more than 10 s"):
        audio.decode_audio(data, max_seconds=10.0)


def test_check_clip_refuses_short_long_and_silent_clips() -> None:
    with pytest.raises(audio.AudioTooShortError):
        audio.check_clip(audio.decode_audio(soundfile_bytes(tone(0.2, 16_000), 16_000)), min_seconds=0.5, max_seconds=9)
    with pytest.raises(audio.AudioTooLongError):
        audio.check_clip(
            audio.decode_audio(soundfile_bytes(tone(10.0, 16_000), 16_000)), min_seconds=0.5, max_seconds=9
        )
    with pytest.raises(audio.SilentAudioError):
        silent = soundfile_bytes(np.zeros(16_000, np.float32), 16_000)
        audio.check_clip(audio.decode_audio(silent), min_seconds=0.5, max_seconds=9)


def test_stored_formats_are_served_with_audio_or_video_types() -> None:
    for fmt in FORMATS:
        assert audio.mime_type(fmt.stored).split("/")[0] in {"audio", "video"}, fmt
    assert audio.mime_type("SOMETHING-OLD") == "application/octet-stream"


def test_streaming_gives_the_decoded_signal_block_by_block() -> None:
    data = soundfile_bytes(tone(200.0, 8_000), 8_000, "FLAC")
    blocks = list(audio.stream_audio(data, target_rate=16_000))
    assert len(blocks) > 10 and max(block.size for block in blocks) < 16_000 * 20
    whole = audio.decode_audio(data, target_rate=16_000).samples
    assert np.array_equal(np.concatenate(blocks), whole)
    with pytest.raises(audio.AudioTooLongError):
        next(audio.stream_audio(data, target_rate=16_000, max_seconds=100.0))


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_a_range_decodes_to_that_part_of_the_whole(fmt: Format) -> None:
    rng = np.random.default_rng(5)
    signal = audio.resample((0.2 * rng.standard_normal(8 * 8_000)).astype(np.float32), 8_000, fmt.rate)
    data = encode(signal, fmt.rate, fmt)
    whole = audio.decode_audio(data, target_rate=TARGET_RATE).samples
    start, end = 3.0, 5.5
    part = np.concatenate(list(audio.stream_audio(data, target_rate=TARGET_RATE, start_seconds=start, end_seconds=end)))
    assert part.size == round((end - start) * TARGET_RATE)
    # The part starts where the whole has it: searched 5 ms either way, the best match is within 1 ms
    # (Matroska stores times in milliseconds).
    window = round(0.005 * TARGET_RATE)
    reference = whole[round(start * TARGET_RATE) - window :]
    n = part.size - 2 * window
    scores = [float(np.corrcoef(part[:n], reference[lag : lag + n])[0, 1]) for lag in range(2 * window + 1)]
    best = int(np.argmax(scores))
    assert scores[best] > 0.9, (fmt.name, max(scores))
    assert abs(best - window) <= 0.001 * TARGET_RATE, (fmt.name, (best - window) / TARGET_RATE)


def test_a_range_past_the_end_is_empty_and_a_bad_range_is_refused() -> None:
    data = soundfile_bytes(tone(2.0, 8_000), 8_000, "FLAC")
    assert list(audio.stream_audio(data, target_rate=TARGET_RATE, start_seconds=5.0)) == []
    with pytest.raises(ValueError, match="empty or negative"):
        next(audio.stream_audio(data, target_rate=TARGET_RATE, start_seconds=1.0, end_seconds=1.0))
