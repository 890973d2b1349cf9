"""``/v1/tracks``: ingest, read, list, fetch audio, delete."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, send_file, url_for
from spectree import Response as Responses

from backend.api import service_context
from backend.api.auth import current_caller, requires
from backend.api.forms import upload_stream
from backend.api.limits import UPLOAD, counted_as
from backend.api.openapi import spec
from backend.api.schemas import ErrorBody, TrackOut, TrackPage, TrackUpload, require_upload
from backend.core.audio import file_extension, mime_type
from backend.core.domain.filters import TrackListQuery, TrackMetadata
from backend.core.services import tracks as track_service
from backend.core.services.errors import NotFoundError

blueprint = Blueprint("tracks", __name__, url_prefix="/v1/tracks")

# The stored file is the upload itself: never let a browser run it as a page.
AUDIO_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox"


@blueprint.post("")
@requires("ingest")
@counted_as(UPLOAD)
@spec.validate(
    resp=Responses(HTTP_202=TrackOut, HTTP_200=TrackOut, HTTP_413=ErrorBody, HTTP_415=ErrorBody, HTTP_422=ErrorBody)
)
def create_track(form: TrackUpload) -> tuple[TrackOut, int, dict[str, str]]:
    """Ingest a track: 202 and a queued track, or 200 with the existing track for known audio."""
    form = require_upload(form)
    metadata = TrackMetadata.model_validate(form.model_dump(include=set(TrackMetadata.model_fields)))
    result = track_service.ingest_track(
        service_context(), current_caller().catalogue_id, upload_stream(form.file), metadata
    )
    location = url_for("tracks.get_track", track_id=result.track.id)
    return TrackOut.of(result.track), 202 if result.created else 200, {"Location": location}


@blueprint.get("")
@requires("read")
@spec.validate(resp=Responses(HTTP_200=TrackPage, HTTP_422=ErrorBody))
def list_tracks(query: TrackListQuery) -> TrackPage:
    """List tracks in ingest order, filtered by emotion, status or tag, a page at a time."""
    tracks, next_cursor = track_service.list_tracks(service_context(), current_caller().catalogue_id, query)
    return TrackPage(items=[TrackOut.of(t) for t in tracks], next_cursor=next_cursor)


@blueprint.get("/<uuid:track_id>")
@requires("read")
@spec.validate(resp=Responses(HTTP_200=TrackOut, HTTP_404=ErrorBody))
def get_track(track_id: uuid.UUID) -> TrackOut:
    """Return a track: status, metadata and emotion analysis."""
    return TrackOut.of(track_service.get_track(service_context(), current_caller().catalogue_id, track_id))


@blueprint.get("/<uuid:track_id>/audio")
@requires("read")
@spec.validate(resp=Responses("HTTP_200", "HTTP_206", "HTTP_304", HTTP_404=ErrorBody, HTTP_416=ErrorBody))
def get_track_audio(track_id: uuid.UUID) -> Response:
    """Return the stored audio file of a track, as an attachment of its format's type (byte ranges: 206)."""
    context = service_context()
    track = track_service.get_track(context, current_caller().catalogue_id, track_id)
    path = context.media.path(track_service.MEDIA_KIND, track.content_sha256)
    if not path.is_file():
        raise NotFoundError(f"the audio of track '{track.id}' is missing from the media store")
    response = send_file(
        path,
        mimetype=mime_type(track.media_format),
        as_attachment=True,
        download_name=f"{track.id}.{file_extension(track.media_format)}",
    )
    response.headers["Content-Security-Policy"] = AUDIO_CONTENT_SECURITY_POLICY
    # spectree reads the body of every response it passes on, which a passthrough file response refuses.
    response.direct_passthrough = False
    return response


@blueprint.delete("/<uuid:track_id>")
@requires("ingest")
@spec.validate(resp=Responses("HTTP_204", HTTP_404=ErrorBody))
def delete_track(track_id: uuid.UUID) -> Response:
    """Delete a track: its vectors, its row and its stored audio."""
    caller = current_caller()
    track_service.delete_track(service_context(), caller.catalogue_id, track_id, caller.actor)
    return Response(status=204)
