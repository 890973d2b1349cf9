"""``/v1/timelines``: send a long recording, get its emotion timeline with music per scene (asynchronously)."""

from __future__ import annotations

import uuid

from flask import Blueprint, url_for
from spectree import Response as Responses

from backend.api import service_context
from backend.api.auth import current_caller, requires
from backend.api.forms import allow_upload_bytes, upload_stream
from backend.api.limits import QUERY, UPLOAD, counted_as
from backend.api.openapi import spec
from backend.api.schemas import ErrorBody, TimelineOut, TimelineUpload, WaitQuery, require_upload
from backend.core.domain.filters import TimelineForm
from backend.core.services import timelines as timeline_service

blueprint = Blueprint("timelines", __name__, url_prefix="/v1/timelines")


@blueprint.before_request
def _long_recordings() -> None:
    """Recordings are larger than clips: MAX_TIMELINE_UPLOAD_BYTES instead of MAX_UPLOAD_BYTES."""
    allow_upload_bytes(service_context().settings.max_timeline_upload_bytes)


@blueprint.post("")
@requires("query")
@counted_as(UPLOAD)
@spec.validate(resp=Responses(HTTP_202=TimelineOut, HTTP_413=ErrorBody, HTTP_415=ErrorBody, HTTP_422=ErrorBody))
def create_timeline(form: TimelineUpload) -> tuple[TimelineOut, int, dict[str, str]]:
    """Send a long recording (up to hours); get its emotion timeline and music for each scene asynchronously.

    The speech is found by voice activity detection and analysed in segments of at most
    ``segment_seconds``; consecutive segments of one emotion become scenes (smoothed, at least
    ``min_scene_seconds`` long), and each scene gets ``tracks_per_scene`` tracks that pass the filters,
    preferring tracks no earlier scene got (and, with ``cover_scene``, tracks at least as long as the
    scene). Recordings have their own limits: MAX_TIMELINE_UPLOAD_BYTES and MAX_TIMELINE_SECONDS.
    """
    form = require_upload(form)
    fields = TimelineForm.model_validate(form.model_dump(include=set(TimelineForm.model_fields)))
    created, _enqueued = timeline_service.create_timeline(
        service_context(), current_caller().catalogue_id, upload_stream(form.file), fields
    )
    location = url_for("timelines.get_timeline", timeline_id=created.id)
    return TimelineOut.of(created, timeline_service.progress_percent(created)), 202, {"Location": location}


@blueprint.get("/<uuid:timeline_id>")
@requires("query")
@counted_as(QUERY)
@spec.validate(resp=Responses(HTTP_200=TimelineOut, HTTP_404=ErrorBody, HTTP_422=ErrorBody))
def get_timeline(timeline_id: uuid.UUID, query: WaitQuery) -> TimelineOut:
    """Return the timeline (with ``progress`` while it is made); ``?wait=SECONDS`` waits (bounded) until it
    is ready or failed."""
    context = service_context()
    wait = min(query.wait, context.settings.max_wait_seconds)
    timeline = timeline_service.wait_for_timeline(context, current_caller().catalogue_id, timeline_id, wait)
    return TimelineOut.of(timeline, timeline_service.progress_percent(timeline))
