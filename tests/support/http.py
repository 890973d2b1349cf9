"""Raw HTTP bodies for the tests: multipart forms built byte by byte (any bytes in any field)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping

import numpy as np

from tests.support.audio_files import soundfile_bytes


def multipart(
    fields: Mapping[str, str | bytes], file: bytes | None, filename: str = "clip.wav", file_field: str = "file"
) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and (unless None) ``file``; returns (body, content type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(head.encode("utf-8", "surrogatepass") + raw + b"\r\n")
    if file is not None:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode("utf-8", "surrogatepass") + file + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    """Yield ``body`` in pieces, so `requests` sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def wav_of_size(size: int, rate: int = 16_000) -> bytes:
    """A valid 16-bit stereo WAV of exactly ``size`` bytes (``size`` minus the header must be a multiple of 4)."""
    header = len(soundfile_bytes(np.zeros((1000, 2), np.float32), rate, "WAV", "PCM_16")) - 4000
    frames, rest = divmod(size - header, 4)
    if rest:
        raise ValueError(f"no 16-bit stereo WAV is {size} bytes long (header {header} bytes)")
    t = np.arange(frames) / rate
    tone = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    data = soundfile_bytes(np.stack([tone, tone[::-1]], axis=1), rate, "WAV", "PCM_16")
    assert len(data) == size
    return data
