"""Audio files the tests make: every container and codec the service takes (encoded with PyAV), and odd ones.

Nothing is downloaded: the content is synthesised (a tone melody for music, espeak-ng for speech) and
encoded here, so each format's fixture is a few kilobytes made in milliseconds.
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass

import av
import numpy as np
import soundfile as sf


@dataclass(frozen=True)
class Format:
    """How to make one kind of file, and what the service should call it."""

    name: str  # test id
    container: str  # PyAV (FFmpeg) muxer, or "soundfile:<FORMAT>:<SUBTYPE>"
    codec: str
    stored: str  # the stored format name the service reports
    rate: int = 44100
    video: str | None = None  # a video codec to add a picture track with
    lossless: bool = False
    options: tuple[tuple[str, str], ...] = ()
    # Seconds the header's duration may be off: raw ADTS has no length field, FFmpeg estimates it from the bitrate.
    header_tolerance: float = 0.1


# Every format of the issue: MP3, AAC/M4A/ALAC, Opus, Vorbis, FLAC, WAV/AIFF, and the audio of MP4/MOV/MKV/WebM.
FORMATS: tuple[Format, ...] = (
    Format("mp3", "mp3", "libmp3lame", "MP3"),
    Format("aac_adts", "adts", "aac", "AAC", header_tolerance=0.5),
    Format("m4a_aac", "ipod", "aac", "MP4"),
    Format("m4a_alac", "ipod", "alac", "MP4", lossless=True),
    Format("opus_ogg", "ogg", "libopus", "OGG", rate=48000),
    Format("vorbis_ogg", "ogg", "vorbis", "OGG", options=(("strict", "experimental"),)),
    Format("flac", "flac", "flac", "FLAC", lossless=True),
    Format("wav", "wav", "pcm_s16le", "WAV", lossless=True),
    Format("aiff", "aiff", "pcm_s16be", "AIFF", lossless=True),
    Format("mp4_video", "mp4", "aac", "MP4", video="mpeg4"),
    Format("mov_video", "mov", "aac", "MOV", video="mpeg4"),
    Format("mkv_video", "matroska", "aac", "MKV", video="mpeg4"),
    Format("webm_video", "webm", "libopus", "WEBM", rate=48000, video="libvpx"),
)
FORMATS_BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def encode(samples: np.ndarray, rate: int, fmt: Format, channels: int = 2) -> bytes:
    """Encode mono float32 ``samples`` at ``rate`` (copied to ``channels``) in ``fmt``; the rate must be fmt.rate."""
    if rate != fmt.rate:
        raise ValueError(f"{fmt.name} is made at {fmt.rate} Hz, got samples at {rate} Hz")
    layout = "stereo" if channels == 2 else "mono"
    planes = np.ascontiguousarray(np.tile(samples.astype(np.float32), (channels, 1)))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt.container) as container:
        stream = container.add_stream(fmt.codec, rate=rate, options=dict(fmt.options))
        stream.layout = layout
        video = None
        if fmt.video:
            video = container.add_stream(fmt.video, rate=10)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        frame_size = stream.codec_context.frame_size or 4096
        for start in range(0, planes.shape[1], frame_size):
            chunk = planes[:, start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=layout)
            frame.rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if video is not None:
            picture = np.zeros((48, 64, 3), np.uint8)
            for index in range(int(planes.shape[1] / rate * 10)):
                picture[:] = (index * 7) % 255
                image = av.VideoFrame.from_ndarray(picture, format="rgb24")
                image.pts = index
                container.mux(video.encode(image))
            container.mux(video.encode(None))
    return buffer.getvalue()


def video_without_audio(seconds: float = 1.0) -> bytes:
    """An MP4 holding only a picture track."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for index in range(int(seconds * 10)):
            image = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 20, np.uint8), format="rgb24")
            image.pts = index
            container.mux(video.encode(image))
        container.mux(video.encode(None))
    return buffer.getvalue()


def soundfile_bytes(samples: np.ndarray, rate: int, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def tone(seconds: float, rate: int, freq: float = 330.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_header_only(rate: int, channels: int, frames: int, bits: int = 16) -> bytes:
    """A PCM WAV whose header claims ``frames`` frames, followed by one second of them at most."""
    block = channels * bits // 8
    data = min(frames, rate) * block
    header = b"RIFF" + struct.pack("<I", 36 + frames * block) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
    header += b"data" + struct.pack("<I", frames * block)
    rng = np.random.default_rng(rate + channels)
    return header + (rng.integers(-3000, 3000, data // 2, dtype=np.int16)).tobytes()


@functools.cache
def long_flac(seconds: float, rate: int = 8000, channels: int = 1, level: float = 0.25) -> bytes:
    """A FLAC of ``seconds`` of a constant level: long audio in a small file (FLAC packs constants tightly)."""
    buffer = io.BytesIO()
    block = np.full((rate * 10, channels), round(level * 32767), np.int16)
    with sf.SoundFile(buffer, "w", rate, channels, format="FLAC", subtype="PCM_16") as handle:
        whole, rest = divmod(int(seconds * rate), block.shape[0])
        for _ in range(whole):
            handle.write(block)
        handle.write(block[:rest])
    return buffer.getvalue()


@functools.cache
def long_ogg(seconds: float, rate: int = 8000) -> bytes:
    """An OGG Vorbis of ``seconds`` of a quiet tone, written in blocks (never whole in memory)."""
    buffer = io.BytesIO()
    block = tone(10.0, rate, amplitude=0.2)
    with sf.SoundFile(buffer, "w", rate, 1, format="OGG", subtype="VORBIS") as handle:
        whole, rest = divmod(int(seconds * rate), block.shape[0])
        for _ in range(whole):
            handle.write(block)
        handle.write(block[:rest])
    return buffer.getvalue()


def hls_playlist(target: str) -> bytes:
    """An HLS playlist naming ``target``: FFmpeg must never open what it names."""
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{target}\n#EXT-X-ENDLIST\n".encode()


def concat_script(target: str) -> bytes:
    return f"ffconcat version 1.0\nfile '{target}'\n".encode()


def live_webm(seconds: float, rate: int = 48_000) -> bytes:
    """A WebM written as a live stream (as a browser's MediaRecorder writes it): its header has no duration."""
    buffer = io.BytesIO()
    samples = tone(seconds, rate)[None, :]
    with av.open(buffer, "w", format="webm", container_options={"live": "1"}) as container:
        stream = container.add_stream("libopus", rate=rate)
        stream.layout = "mono"
        for start in range(0, samples.shape[1], 960):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + 960]), format="fltp", layout="mono"
            )
            frame.rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()
