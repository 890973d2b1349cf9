"""Speech-to-music requests: accept a speech clip, let a worker answer it, read the answer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import BinaryIO

from backend.core.domain.filters import RecommendationForm
from backend.core.domain.work import FINISHED_STATUSES, QUEUED
from backend.core.services.context import ServiceContext
from backend.core.services.lookup import delete_row, get_row, parse_id
from backend.core.services.search import require_ready_tracks
from backend.core.services.uploads import accept_audio, publish_or_undo, staged_upload
from backend.core.storage.models import RecommendationRequest

MEDIA_KIND = "speech"
POLL_INTERVAL_SECONDS = 0.1


def parse_request_id(raw: str) -> uuid.UUID:
    return parse_id(raw, "recommendation request")


def create_recommendation_request(
    ctx: ServiceContext, catalogue_id: uuid.UUID, upload: BinaryIO | bytes, form: RecommendationForm
) -> tuple[RecommendationRequest, bool]:
    """Validate and store the speech clip, commit the request, enqueue it; return it and whether it was enqueued.

    As for tracks, the clip is staged and moved into the store only after its row is committed.
    """
    require_ready_tracks(ctx, catalogue_id, [*form.positive, *form.negative])
    with staged_upload(ctx.media, upload) as staged:
        accepted = accept_audio(
            staged.path, min_seconds=ctx.settings.min_audio_seconds, max_seconds=ctx.settings.max_speech_seconds
        )
        request = RecommendationRequest(
            catalogue_id=catalogue_id,
            status=QUEUED,
            speech_sha256=staged.sha256,
            media_format=accepted.format,
            duration_seconds=accepted.duration_seconds,
            transcript=form.transcript,
            filters=form.query_filters().model_dump(mode="json"),
            result_limit=form.limit,
        )
        with ctx.db.session() as session:
            session.add(request)
            session.commit()
        publish_or_undo(ctx.media, MEDIA_KIND, staged, lambda: delete_row(ctx, RecommendationRequest, request.id))
    return request, ctx.queue.answer_request(request.id)


def get_request(ctx: ServiceContext, catalogue_id: uuid.UUID, request_id: uuid.UUID) -> RecommendationRequest:
    return get_row(ctx, RecommendationRequest, request_id, "recommendation request", catalogue_id)


def wait_for_request(
    ctx: ServiceContext,
    catalogue_id: uuid.UUID,
    request_id: uuid.UUID,
    wait_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RecommendationRequest:
    """Return the request once it is ready or failed, or as it is after ``wait_seconds``."""
    deadline = clock() + wait_seconds
    while True:
        request = get_request(ctx, catalogue_id, request_id)
        if request.status in FINISHED_STATUSES or clock() >= deadline:
            return request
        sleep(min(POLL_INTERVAL_SECONDS, max(0.0, deadline - clock())))
