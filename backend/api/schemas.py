"""Request and response bodies as pydantic models.

The routes validate every request with these models (through spectree) and build every JSON
body through them, and the OpenAPI document is generated from the same models, so the document
states exactly what the API enforces. The upload forms add the audio ``file`` to the domain's
field models (:mod:`backend.core.domain.filters`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError
from werkzeug.datastructures import FileStorage

from backend.core.domain.filters import RecommendationForm, TimelineForm, TrackMetadata
from backend.core.domain.text import excerpt
from backend.core.services.errors import InvalidInputError
from backend.core.storage.models import ApiKey, RecommendationRequest, Timeline, Track

Status = Literal["queued", "processing", "ready", "failed"]


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audio_url(track_id: object) -> str:
    return f"/v1/tracks/{track_id}/audio"


class ErrorDetail(BaseModel):
    code: str = Field(description="snake_case error code, e.g. invalid_input, not_audio, not_found, no_model")
    message: str = Field(description="what was wrong, naming the offending value")


class ErrorBody(BaseModel):
    """Every error answer: validation errors (422), bad audio (415/422), unknown ids (404), and so on."""

    error: ErrorDetail


MISSING_FILE = "missing_file"
UPLOAD_FILE = "file"


def _uploaded_file(value: Any) -> FileStorage:
    if not isinstance(value, FileStorage):
        raise PydanticCustomError(MISSING_FILE, "send the audio as a file part named 'file'")
    return value


AudioFile = Annotated[
    FileStorage,
    PlainValidator(_uploaded_file),
    WithJsonSchema(
        {
            "type": "string",
            "format": "binary",
            "description": "the audio file (WAV, FLAC, OGG Vorbis/Opus, MP3, AIFF, AAC/M4A/ALAC, or the audio "
            "of an MP4, MOV, MKV or WebM video); its size and duration limits are in the operation's description",
        }
    ),
]


class _Upload(BaseModel):
    """A multipart upload: the audio ``file`` and text fields, each given once."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    file: AudioFile

    @model_validator(mode="before")
    @classmethod
    def _one_file_one_value_each(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if UPLOAD_FILE not in data or isinstance(data[UPLOAD_FILE], str):
            raise PydanticCustomError(MISSING_FILE, missing_file_message())
        for name, value in data.items():
            if isinstance(value, list) and not _is_list_field(cls, name):
                raise PydanticCustomError(
                    "repeated_field",
                    "field {name} was given {count} times; give it once",
                    {"name": excerpt(name), "count": len(value)},
                )
        return data


def missing_file_message() -> str:
    return (
        f"send the audio as multipart/form-data field 'file' (got content type {excerpt(request.mimetype or 'none')})"
    )


def require_upload(form: Upload | None) -> Upload:
    """The validated upload. spectree validates the form of multipart requests only: any other request
    reaches the route with no form at all (``None``, despite the annotation), which is 422 missing_file."""
    if form is None:
        raise InvalidInputError(missing_file_message(), code=MISSING_FILE)
    return form


def _is_list_field(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and getattr(field.annotation, "__origin__", None) is list


Upload = TypeVar("Upload", bound=_Upload)


class TrackUpload(_Upload, TrackMetadata):
    """The multipart body of ``POST /v1/tracks``: the track's audio and its optional metadata."""


class RecommendationUpload(_Upload, RecommendationForm):
    """The multipart body of ``POST /v1/recommendations``: a speech clip and the catalogue filters."""


class TimelineUpload(_Upload, TimelineForm):
    """The multipart body of ``POST /v1/timelines``: a long recording, the timeline options and the filters."""


class WaitQuery(BaseModel):
    """Query string of ``GET /v1/recommendations/<id>``."""

    wait: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="seconds to wait for the answer (long-poll); waits above the server's maximum are cut to it",
    )


class TrackOut(BaseModel):
    id: str
    status: Status
    error: str | None
    title: str | None
    artist: str | None
    external_id: str | None
    tags: list[str]
    content_sha256: str
    duration_seconds: float
    emotion: str | None
    probabilities: dict[str, float] | None
    valence: float | None
    arousal: float | None
    model_version: str | None
    created_at: datetime
    updated_at: datetime
    audio_url: str

    @classmethod
    def of(cls, track: Track) -> TrackOut:
        return cls(
            id=str(track.id),
            status=track.status,
            error=track.error,
            title=track.title,
            artist=track.artist,
            external_id=track.external_id,
            tags=track.tags,
            content_sha256=track.content_sha256,
            duration_seconds=track.duration_seconds,
            emotion=track.emotion,
            probabilities=track.probabilities,
            valence=track.valence,
            arousal=track.arousal,
            model_version=track.model_version,
            created_at=_utc(track.created_at),
            updated_at=_utc(track.updated_at),
            audio_url=audio_url(track.id),
        )


class TrackPage(BaseModel):
    items: list[TrackOut]
    next_cursor: str | None


class WhyOut(BaseModel):
    """Why a track was chosen."""

    query_emotion: str | None = Field(description="the emotion the query was analysed as (none for a point query)")
    query_probability: float | None = Field(description="the model's probability of that emotion")
    track_emotion: str | None = Field(description="the track's own emotion")
    valence_arousal_distance: float | None = Field(
        description="Euclidean distance between the query's and the track's valence/arousal points"
    )
    filters: list[str] = Field(description="the filters the track passed (names of the filters given)")
    steering: list[str] = Field(
        default_factory=list, description="the steering options that shaped the ranking (positive, negative, ...)"
    )


class ResultOut(BaseModel):
    track_id: str
    title: str | None
    artist: str | None
    score: float = Field(description="higher is closer; results come best first")
    emotion: str | None
    valence: float | None
    arousal: float | None
    duration_seconds: float | None
    why: WhyOut | None
    audio_url: str

    @classmethod
    def of(cls, result: dict[str, Any]) -> ResultOut:
        return cls(**{"duration_seconds": None, "why": None, **result}, audio_url=audio_url(result["track_id"]))


class QueryAnalysis(BaseModel):
    emotion: str
    probabilities: dict[str, float]
    valence: float
    arousal: float


class RecommendationOut(BaseModel):
    id: str
    status: Status
    error: str | None
    created_at: datetime
    updated_at: datetime
    filters: dict[str, Any]
    limit: int
    model_version: str | None
    query: QueryAnalysis | None
    results: list[ResultOut]

    @classmethod
    def of(cls, request: RecommendationRequest) -> RecommendationOut:
        return cls(
            id=str(request.id),
            status=request.status,
            error=request.error,
            created_at=_utc(request.created_at),
            updated_at=_utc(request.updated_at),
            filters=request.filters,
            limit=request.result_limit,
            model_version=request.model_version,
            query=QueryAnalysis(**request.query) if request.query else None,
            results=[ResultOut.of(result) for result in request.results or []],
        )


class SearchResults(BaseModel):
    results: list[ResultOut]


class EmotionOut(BaseModel):
    name: str
    valence: float
    arousal: float
    speech: bool
    music: bool


class EmotionList(BaseModel):
    emotions: list[EmotionOut]


class ReadinessOut(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, Literal["ok", "unavailable"]] = Field(
        description="'ok' or 'unavailable', per dependency: database, broker, qdrant"
    )


class HealthOut(BaseModel):
    status: Literal["ok"]


class SegmentOut(BaseModel):
    """A stretch of speech the voice activity detector found, analysed on its own."""

    start: float = Field(description="seconds from the start of the recording")
    end: float
    emotion: str
    probabilities: dict[str, float]
    valence: float
    arousal: float


class SceneOut(BaseModel):
    """Consecutive segments of one emotion (smoothed, at least the minimum scene length) and its tracks."""

    start: float
    end: float
    emotion: str
    valence: float
    arousal: float
    tracks: list[ResultOut]


class TimelineOut(BaseModel):
    id: str
    status: Status
    error: str | None
    progress: float = Field(ge=0, le=100, description="percent of the recording analysed (100 once ready)")
    duration_seconds: float
    created_at: datetime
    updated_at: datetime
    model_version: str | None
    segments: list[SegmentOut] = Field(description="the speech segments analysed so far, in time order")
    scenes: list[SceneOut] = Field(description="the scenes with their tracks (once ready)")

    @classmethod
    def of(cls, timeline: Timeline, progress: float) -> TimelineOut:
        return cls(
            id=str(timeline.id),
            status=timeline.status,
            error=timeline.error,
            progress=progress,
            duration_seconds=timeline.duration_seconds,
            created_at=_utc(timeline.created_at),
            updated_at=_utc(timeline.updated_at),
            model_version=timeline.model_version,
            segments=[SegmentOut.model_validate(segment, from_attributes=False) for segment in timeline.segments],
            scenes=[
                SceneOut(**{**scene, "tracks": [ResultOut.of(track) for track in scene["tracks"]]})
                for scene in timeline.scenes or []
            ],
        )


class KeyOut(BaseModel):
    """An API key as listed: never the key itself, which only its creation answer carries."""

    id: str
    catalogue: str
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    scopes: list[str]
    rate_limit: str | None = Field(description="requests per period; null: DEFAULT_KEY_RATE_LIMIT")
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> KeyOut:
        return cls(
            id=str(row.id),
            catalogue=row.catalogue.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            rate_limit=row.rate_limit,
            created_at=_utc(row.created_at),
            revoked_at=None if row.revoked_at is None else _utc(row.revoked_at),
        )


class CreatedKey(KeyOut):
    key: str = Field(description="the key: shown in this answer only, store it now")


class KeyList(BaseModel):
    keys: list[KeyOut]
