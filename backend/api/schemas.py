"""Response bodies as pydantic models: the API builds every JSON body through them, and the
OpenAPI document is generated from the same models, so the two cannot drift apart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.core.storage.models import RecommendationRequest, Track

Status = Literal["queued", "processing", "ready", "failed"]


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audio_url(track_id: object) -> str:
    return f"/v1/tracks/{track_id}/audio"


class ErrorDetail(BaseModel):
    code: str = Field(description="snake_case error code")
    message: str = Field(description="what was wrong, naming the offending value")


class ErrorBody(BaseModel):
    error: ErrorDetail


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


class ResultOut(BaseModel):
    track_id: str
    title: str | None
    artist: str | None
    score: float = Field(description="higher is closer; results come best first")
    emotion: str | None
    valence: float | None
    arousal: float | None
    audio_url: str

    @classmethod
    def of(cls, result: dict[str, Any]) -> ResultOut:
        return cls(**result, audio_url=audio_url(result["track_id"]))


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
    checks: dict[str, str] = Field(description="'ok' or the error, per dependency: database, broker, qdrant")


class HealthOut(BaseModel):
    status: Literal["ok"]
