"""``/v1/tracks``: ingest, read, list, fetch audio, delete."""

from __future__ import annotations

from flask import Blueprint, Response, send_file, url_for

from backend.api import respond, service_context
from backend.api.forms import form_fields, query_args, uploaded_file
from backend.api.schemas import TrackOut, TrackPage
from backend.core.domain.filters import TrackListQuery, TrackMetadata
from backend.core.services import tracks as track_service
from backend.core.services.errors import NotFoundError

blueprint = Blueprint("tracks", __name__, url_prefix="/v1/tracks")

# soundfile container names -> MIME types for GET /v1/tracks/<id>/audio.
MIME_TYPES = {"WAV": "audio/wav", "FLAC": "audio/flac", "OGG": "audio/ogg", "MP3": "audio/mpeg"}


@blueprint.post("")
def create_track() -> Response:
    """Ingest a track: 202 and a queued track, or 200 with the existing track for known audio."""
    data = uploaded_file()
    metadata = TrackMetadata.model_validate(form_fields())
    result = track_service.ingest_track(service_context(), data, metadata)
    location = url_for("tracks.get_track", track_id=result.track.id)
    return respond(TrackOut.of(result.track), 202 if result.created else 200, {"Location": location})


@blueprint.get("")
def list_tracks() -> Response:
    """List tracks in ingest order, filtered by emotion, status or tag, a page at a time."""
    query = TrackListQuery.model_validate(query_args())
    tracks, next_cursor = track_service.list_tracks(service_context(), query)
    return respond(TrackPage(items=[TrackOut.of(t) for t in tracks], next_cursor=next_cursor))


@blueprint.get("/<track_id>")
def get_track(track_id: str) -> Response:
    """Return a track: status, metadata and emotion analysis."""
    track = track_service.get_track(service_context(), track_service.parse_track_id(track_id))
    return respond(TrackOut.of(track))


@blueprint.get("/<track_id>/audio")
def get_track_audio(track_id: str) -> Response:
    """Return the stored audio file of a track."""
    context = service_context()
    track = track_service.get_track(context, track_service.parse_track_id(track_id))
    path = context.media.path(track_service.MEDIA_KIND, track.content_sha256)
    if not path.is_file():
        raise NotFoundError(f"the audio of track '{track.id}' is missing from the media store")
    return send_file(path, mimetype=MIME_TYPES.get(track.media_format, "application/octet-stream"))


@blueprint.delete("/<track_id>")
def delete_track(track_id: str) -> Response:
    """Delete a track: its vectors, its row and its stored audio."""
    track_service.delete_track(service_context(), track_service.parse_track_id(track_id))
    return Response(status=204)
