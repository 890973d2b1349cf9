"""Emotion timelines of long recordings: accept the recording, let the workers go through it chunk by
chunk, read the timeline (with its progress while it is being made)."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy import select

from backend.core.domain.filters import TimelineForm
from backend.core.domain.work import FINISHED_STATUSES, QUEUED, READY
from backend.core.services.context import ServiceContext
from backend.core.services.lookup import delete_row, get_row
from backend.core.services.recommendations import POLL_INTERVAL_SECONDS
from backend.core.services.uploads import accept_audio, publish_or_undo, staged_upload
from backend.core.storage.models import Timeline

# The recording is speech, stored with the speech clips.
MEDIA_KIND = "speech"


def chunk_count(duration_seconds: float, chunk_seconds: float) -> int:
    """Chunks of ``chunk_seconds`` that cover the recording (a last chunk of under a second is not made)."""
    return max(1, math.ceil((duration_seconds - 1.0) / chunk_seconds))


def create_timeline(
    ctx: ServiceContext, catalogue_id: uuid.UUID, upload: BinaryIO | bytes, form: TimelineForm
) -> tuple[Timeline, bool]:
    """Validate and store the recording, commit the timeline, enqueue its first chunk."""
    settings = ctx.settings
    with staged_upload(ctx.media, upload) as staged:
        accepted = accept_audio(
            staged.path, min_seconds=settings.min_audio_seconds, max_seconds=settings.max_timeline_seconds
        )
        timeline = Timeline(
            catalogue_id=catalogue_id,
            status=QUEUED,
            speech_sha256=staged.sha256,
            media_format=accepted.format,
            duration_seconds=accepted.duration_seconds,
            transcript=form.transcript,
            filters=form.filters_only().model_dump(mode="json"),
            options=form.options_only().model_dump(mode="json"),
            chunk_seconds=settings.timeline_chunk_seconds,
            chunks_total=chunk_count(accepted.duration_seconds, settings.timeline_chunk_seconds),
            chunks_done=0,
            segments=[],
        )
        with ctx.db.session() as session:
            session.add(timeline)
            session.commit()
        publish_or_undo(ctx.media, MEDIA_KIND, staged, lambda: delete_row(ctx, Timeline, timeline.id))
    return timeline, ctx.queue.timeline_chunk(timeline.id)


def progress_percent(timeline: Timeline) -> float:
    """How much of the recording has been analysed: 100 only once the scenes and tracks are there too."""
    if timeline.status == READY:
        return 100.0
    return round(min(99.0, 100.0 * timeline.chunks_done / max(1, timeline.chunks_total)), 1)


def get_timeline(ctx: ServiceContext, catalogue_id: uuid.UUID, timeline_id: uuid.UUID) -> Timeline:
    return get_row(ctx, Timeline, timeline_id, "timeline", catalogue_id)


def wait_for_timeline(
    ctx: ServiceContext,
    catalogue_id: uuid.UUID,
    timeline_id: uuid.UUID,
    wait_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Timeline:
    """Return the timeline once it is ready or failed, or as it is after ``wait_seconds``."""
    deadline = clock() + wait_seconds
    while clock() < deadline:
        with ctx.db.session() as session:  # only the status: the row's segments may be megabytes
            status = session.scalar(  # another catalogue's timeline is not waited for: it is not found
                select(Timeline.status).where(Timeline.id == timeline_id, Timeline.catalogue_id == catalogue_id)
            )
        if status is None or status in FINISHED_STATUSES:
            break
        sleep(min(POLL_INTERVAL_SECONDS * 5, max(0.0, deadline - clock())))
    return get_timeline(ctx, catalogue_id, timeline_id)
