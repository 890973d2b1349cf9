"""Checking an uploaded clip before anything is stored, and storing it so that nothing is left behind.

The API checks from the container's header (format, rate, channels, duration) and decodes at most
the first :data:`SCAN_SECONDS`, keeping nothing: that catches files that do not decode, hold invalid
samples, or (when short enough to be scanned whole) are silent or shorter than their header says.
The worker decodes the whole clip. So the API's memory does not depend on the upload's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from backend.core.audio import (
    DURATION_SLACK_SECONDS,
    AudioInfo,
    check_duration,
    check_format,
    check_not_silent,
    probe_audio,
    scan_audio,
)
from backend.core.storage.media import MediaStore, StagedFile

# Seconds of audio the API decodes to check an upload (speech clips are shorter, so fully checked).
SCAN_SECONDS = 60.0


@dataclass(frozen=True)
class AcceptedAudio:
    """An upload whose header and first seconds pass the checks."""

    info: AudioInfo
    duration_seconds: float

    @property
    def format(self) -> str:
        return self.info.format


def accept_audio(source: Path | bytes, *, min_seconds: float, max_seconds: float) -> AcceptedAudio:
    """Check ``source`` (a path or bytes); raises a :class:`backend.core.audio.AudioError` saying what is wrong."""
    info = probe_audio(source)
    check_format(info)
    if info.duration_seconds is not None:
        check_duration(info.duration_seconds, min_seconds=min_seconds, max_seconds=max_seconds)
        budget = min(SCAN_SECONDS, info.duration_seconds + DURATION_SLACK_SECONDS)
    else:  # no length in the header: decode (keeping nothing) up to the limit
        budget = max_seconds + DURATION_SLACK_SECONDS
    scan = scan_audio(source, info, seconds=budget)
    if scan.complete:
        check_duration(scan.seconds, min_seconds=min_seconds, max_seconds=max_seconds)
        check_not_silent(scan.peak)
        return AcceptedAudio(info=info, duration_seconds=scan.seconds)
    if info.duration_seconds is None:
        check_duration(scan.seconds, min_seconds=min_seconds, max_seconds=max_seconds)
    return AcceptedAudio(info=info, duration_seconds=info.duration_seconds or scan.seconds)


@contextmanager
def staged_upload(media: MediaStore, upload: BinaryIO | bytes) -> Iterator[StagedFile]:
    """Stage ``upload`` in the media store; whatever happens in the block, the staging file is removed.

    Publish it (``media.publish``) inside the block once its row is committed.
    """
    staged = media.stage(upload)
    try:
        yield staged
    finally:
        media.discard(staged)


def publish_or_undo(media: MediaStore, kind: str, staged: StagedFile, undo: Callable[[], None]) -> None:
    """Publish a staged file whose row is committed; if that fails, remove the row (``undo``) and re-raise."""
    try:
        media.publish(kind, staged)
    except BaseException:
        undo()
        raise
