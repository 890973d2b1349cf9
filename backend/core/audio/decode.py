"""Decoding in bounded blocks: mix down to mono and resample as the blocks arrive.

Memory is bounded by the block size, not by the file: a block is at most :data:`BLOCK_FRAMES` frames
of at most 8 channels, and only the mono signal at the target rate is kept. Every block is checked
(finite samples, no absurd levels), and decoding stops at the duration limit instead of reading on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
import soundfile as sf

from backend.core.audio.errors import (
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    InvalidSamplesError,
    NotAudioError,
    SilentAudioError,
    UnsupportedAudioError,
)
from backend.core.audio.probe import (
    AudioInfo,
    AudioSource,
    check_duration,
    check_format,
    check_rate_and_channels,
    open_container,
    open_source,
    probe_audio,
)
from backend.core.audio.resample import StreamResampler

# Frames per block read from libsndfile (FFmpeg hands out its own frames, a few thousand at most).
BLOCK_FRAMES = 65_536
# Peak level below which a clip counts as silent (about -60 dBFS).
SILENCE_PEAK = 1e-3
# Float files may go a little past full scale; beyond this (+24 dBFS) the numbers are not audio.
MAX_ABS_SAMPLE = 16.0
# Decoders may give a little more than the header's duration (codec padding); beyond this it is too long.
DURATION_SLACK_SECONDS = 1.0

_INTEGER_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "s64": 2.0**63}


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded clip: mono float32 samples (frames,) at ``sample_rate``, and what its header said."""

    samples: np.ndarray
    sample_rate: int
    info: AudioInfo

    @property
    def duration_seconds(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    @property
    def channels(self) -> int:
        """Channels of the source file (the samples are mixed down to mono)."""
        return self.info.channels

    def mono(self) -> np.ndarray:
        return self.samples


def _frame_array(frame: av.AudioFrame) -> np.ndarray:
    """An FFmpeg audio frame as float32 (frames, channels) in [-1, 1] for integer formats."""
    array = frame.to_ndarray()
    channels = frame.layout.nb_channels
    array = array.T if frame.format.is_planar else array.reshape(-1, channels)
    kind = frame.format.name.rstrip("p")
    if kind == "u8":
        return (array.astype(np.float32) - 128.0) / 128.0
    if kind in _INTEGER_SCALE:
        return (array.astype(np.float64) / _INTEGER_SCALE[kind]).astype(np.float32)
    return array.astype(np.float32, copy=False)


def _soundfile_blocks(source: AudioSource, start_seconds: float = 0.0) -> Iterator[tuple[np.ndarray, int]]:
    with sf.SoundFile(open_source(source)) as handle:
        if start_seconds > 0:
            if not handle.seekable():
                raise UnsupportedAudioError("this file cannot be read from the middle")
            handle.seek(min(round(start_seconds * handle.samplerate), handle.frames))
        while True:
            block = handle.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            if not block.shape[0]:
                return
            yield block, handle.samplerate


# Seek this far before a range's start: some demuxers land a little after the point asked for.
SEEK_PREROLL_SECONDS = (1.0, 10.0)


def _seek(container: av.container.InputContainer, stream: av.audio.stream.AudioStream, seconds: float) -> bool:
    """Seek to the last decodable point at or before ``seconds``; False when the container cannot seek."""
    if stream.time_base is None:
        return False
    try:
        container.seek(int(max(0.0, seconds) / stream.time_base), stream=stream, backward=True)
    except (av.FFmpegError, ValueError):
        return False
    return True


def _cut(array: np.ndarray, rate: int, begins: float, start_seconds: float) -> np.ndarray:
    """The part of a frame that begins at ``begins`` seconds from ``start_seconds`` on."""
    skip = round((start_seconds - begins) * rate)
    return array[max(0, skip) :]


def _frames_from(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, start_seconds: float
) -> Iterator[tuple[np.ndarray, int]]:
    """Decoded frames as (frames, channels) arrays, cut to begin at ``start_seconds``.

    The decoder seeks a little before the start; each frame's timestamp says where it begins, so the
    frames before the start are dropped and the one that straddles it is cut. When the seek landed
    after the start anyway (or frames carry no timestamps), it seeks further back, and last decodes
    from the beginning counting samples.
    """
    if start_seconds > 0:
        for preroll in SEEK_PREROLL_SECONDS:
            if not _seek(container, stream, start_seconds - preroll):
                break
            frames = container.decode(stream)
            first = next(frames, None)
            if first is None or first.time is None or first.time > start_seconds:
                continue
            for frame in _chain(first, frames):
                array = _frame_array(frame)
                rate = frame.sample_rate or 1
                begins = float(frame.time) if frame.time is not None else start_seconds
                if begins + array.shape[0] / rate <= start_seconds:
                    continue
                yield _cut(array, rate, begins, start_seconds), rate
            return
        _seek(container, stream, 0.0)
    position = 0.0  # seconds of audio before the next frame
    for frame in container.decode(stream):
        array = _frame_array(frame)
        rate = frame.sample_rate or 1
        begins, position = position, position + array.shape[0] / rate
        if position <= start_seconds:
            continue
        yield _cut(array, rate, begins, start_seconds), rate


def _chain(first: av.AudioFrame, rest: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    yield first
    yield from rest


def _ffmpeg_blocks(source: AudioSource, start_seconds: float = 0.0) -> Iterator[tuple[np.ndarray, int]]:
    """FFmpeg's frames (about a thousand samples each), gathered into blocks of up to BLOCK_FRAMES."""
    with open_container(source) as container:
        stream = container.streams.best("audio")
        if stream is None:
            raise NotAudioError("the file holds no audio track")
        pending: list[np.ndarray] = []
        pending_frames, shape = 0, (0, 0)
        for array, sample_rate in _frames_from(container, stream, start_seconds):
            if pending and (array.shape[1], sample_rate) != shape:  # the layout or rate changed
                yield np.concatenate(pending), shape[1]
                pending, pending_frames = [], 0
            shape = (array.shape[1], sample_rate)
            pending.append(array)
            pending_frames += array.shape[0]
            if pending_frames >= BLOCK_FRAMES:
                yield np.concatenate(pending), shape[1]
                pending, pending_frames = [], 0
        if pending:
            yield np.concatenate(pending), shape[1]


def native_blocks(source: AudioSource, info: AudioInfo, start_seconds: float = 0.0) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (float32 (frames, channels), sample rate) blocks from ``start_seconds`` on; damaged data raises
    NotAudioError."""
    blocks = (_soundfile_blocks if info.decoder == "soundfile" else _ffmpeg_blocks)(source, start_seconds)
    seconds = 0.0
    while True:
        try:
            block, rate = next(blocks)
        except StopIteration:
            return
        except AudioError:
            raise
        except (RuntimeError, av.FFmpegError, EOFError, ValueError):
            raise NotAudioError(f"the audio data is damaged: decoding stops after {seconds:.1f} s") from None
        if rate <= 0:
            raise NotAudioError("the audio data is damaged: a block has no sample rate")
        seconds += block.shape[0] / rate
        yield block, rate


def mix_to_mono(block: np.ndarray) -> np.ndarray:
    """Check a (frames, channels) block's values and return its channel mean (frames,) as float32."""
    if block.size:
        peak = max(float(block.max()), -float(block.min()))  # NaN stays NaN, and fails the test below
        if not peak <= MAX_ABS_SAMPLE:
            what = "not finite numbers" if not np.isfinite(peak) else f"values up to {peak:.3g}"
            raise InvalidSamplesError(
                f"the samples are {what}; audio stays within ±{MAX_ABS_SAMPLE:g} (full scale is 1)"
            )
    channels = block.shape[1]
    # Summing columns is much faster than mean(axis=1) over interleaved frames.
    mono = block[:, 0].astype(np.float32, copy=True)
    for channel in range(1, channels):
        mono += block[:, channel]
    if channels > 1:
        mono *= np.float32(1.0 / channels)
    return mono


def mono_blocks(
    source: AudioSource, info: AudioInfo, *, max_seconds: float | None = None, start_seconds: float = 0.0
) -> Iterator[tuple[np.ndarray, int]]:
    """Yield checked mono blocks at the file's own rate from ``start_seconds`` on; past ``max_seconds``
    (+slack, counted from the start of the file) raise AudioTooLongError."""
    first_rate = None
    frames = 0
    for block, rate in native_blocks(source, info, start_seconds):
        if first_rate is None:
            frames = round(start_seconds * rate)
        check_rate_and_channels(rate, block.shape[1])  # decoders may disagree with their header
        if first_rate is None:
            first_rate = rate
        elif rate != first_rate:
            raise UnsupportedAudioError(f"the sample rate changes inside the file ({first_rate} Hz, then {rate} Hz)")
        frames += block.shape[0]
        if max_seconds is not None and frames > (max_seconds + DURATION_SLACK_SECONDS) * rate:
            raise AudioTooLongError(f"the audio lasts more than {max_seconds:g} s, the most accepted")
        yield mix_to_mono(block), rate


def _checked_header(source: AudioSource, max_seconds: float | None) -> AudioInfo:
    info = probe_audio(source)
    check_format(info)
    known = info.duration_seconds
    if max_seconds is not None and known is not None and known > max_seconds + DURATION_SLACK_SECONDS:
        raise AudioTooLongError(f"the audio lasts {known:.1f} s; at most {max_seconds:g} s is accepted")
    return info


def _resampled(
    source: AudioSource,
    info: AudioInfo,
    target_rate: int | None,
    max_seconds: float | None,
    start_seconds: float = 0.0,
) -> Iterator[tuple[np.ndarray, int]]:
    """Mono blocks at ``target_rate`` (default: the file's rate), each with that rate; the filter's tail last."""
    resampler: StreamResampler | None = None
    for mono, rate in mono_blocks(source, info, max_seconds=max_seconds, start_seconds=start_seconds):
        if resampler is None:
            resampler = StreamResampler(rate, target_rate or rate)
        yield resampler.push(mono), resampler.target_rate
    if resampler is not None:
        yield resampler.flush(), resampler.target_rate


def stream_audio(
    source: AudioSource,
    *,
    target_rate: int,
    max_seconds: float | None = None,
    start_seconds: float = 0.0,
    end_seconds: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield ``source`` as mono float32 blocks at ``target_rate``, never holding more than a block.

    For recordings too long to keep whole (an hour-long episode): the header is checked first, and
    decoding stops past ``max_seconds``. Block lengths vary (the decoder's frames, resampled).
    ``start_seconds`` and ``end_seconds`` read just that range (the decoder seeks to the start
    where the container allows it), so a long file can be processed in independent chunks.
    """
    if start_seconds < 0 or (end_seconds is not None and end_seconds <= start_seconds):
        raise ValueError(f"the range {start_seconds:g}..{end_seconds} s is empty or negative")
    info = _checked_header(source, max_seconds)
    remaining = None if end_seconds is None else round((end_seconds - start_seconds) * target_rate)
    for block, _rate in _resampled(source, info, target_rate, max_seconds, start_seconds):
        if remaining is not None:
            block = block[:remaining]
            remaining -= block.shape[0]
        if block.size:
            yield block
        if remaining is not None and remaining <= 0:
            return


def decode_audio(
    source: AudioSource, *, target_rate: int | None = None, max_seconds: float | None = None
) -> DecodedAudio:
    """Decode ``source`` (a path or the file's bytes) to mono float32 at ``target_rate`` (default: its own).

    The header is checked first (rate, channels, duration); decoding stops past ``max_seconds``.
    """
    info = _checked_header(source, max_seconds)
    blocks = list(_resampled(source, info, target_rate, max_seconds))
    samples = np.concatenate([block for block, _rate in blocks]) if blocks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise EmptyAudioError("the file decodes to no audio samples")
    # The rate the decoder gave (its header may disagree), or the target rate.
    return DecodedAudio(samples=samples, sample_rate=blocks[-1][1], info=info)


@dataclass(frozen=True)
class ScanResult:
    """What decoding the start of a file found."""

    seconds: float  # audio decoded
    peak: float  # largest absolute mono sample
    complete: bool  # the whole file was decoded


def scan_audio(source: AudioSource, info: AudioInfo, *, seconds: float) -> ScanResult:
    """Decode at most the first ``seconds`` of ``source``, keeping nothing: does it decode, and to what?"""
    frames, peak, rate = 0, 0.0, info.sample_rate
    for mono, rate in mono_blocks(source, info):
        frames += mono.shape[0]
        if mono.size:
            peak = max(peak, float(np.abs(mono).max()))
        if frames >= seconds * rate:
            return ScanResult(seconds=frames / rate, peak=peak, complete=False)
    return ScanResult(seconds=frames / rate, peak=peak, complete=True)


def check_clip(audio: DecodedAudio, *, min_seconds: float, max_seconds: float) -> None:
    """Refuse decoded clips that are too short, too long or silent."""
    check_duration(audio.duration_seconds, min_seconds=min_seconds, max_seconds=max_seconds)
    check_not_silent(float(np.abs(audio.samples).max()))


def check_not_silent(peak: float) -> None:
    if peak < SILENCE_PEAK:
        raise SilentAudioError(f"the audio is silent (its peak level is below {SILENCE_PEAK:g} of full scale)")
