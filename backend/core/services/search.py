"""Finding catalogue tracks: by emotion label, by valence/arousal point, or like another track."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from backend.core.domain.filters import QueryFilters, SearchQuery, TrackFilters
from backend.core.domain.work import READY
from backend.core.services.context import ServiceContext
from backend.core.services.errors import InvalidInputError
from backend.core.services.lookup import get_row
from backend.core.services.model_versions import emotion_prototype, require_active_model
from backend.core.storage.models import ModelVersion, Track
from backend.core.storage.vectors import (
    NO_STEERING,
    EmbeddingQuery,
    LikeTrackQuery,
    PointQuery,
    Steering,
    UnknownPointError,
    VectorQuery,
)


@dataclass(frozen=True)
class QueryEmotion:
    """What a query was analysed as, for each result's explanation."""

    emotion: str | None
    probability: float | None
    valence: float | None
    arousal: float | None


def applied_filters(filters: TrackFilters) -> list[str]:
    """The names of the filters that narrow the query (those not left at their default)."""
    return sorted(filters.model_dump(exclude_defaults=True))


def steering_of(fields: QueryFilters) -> Steering:
    """The vector store's steering for the validated steering fields."""
    return Steering(
        positive=tuple(fields.positive),
        negative=tuple(fields.negative),
        per_artist=fields.per_artist,
        diversity=fields.diversity,
    )


def explain(
    track: Track, query: QueryEmotion | None, filters: list[str], steering: list[str] | None = None
) -> dict[str, Any]:
    """Why a track was chosen: the query's emotion and its probability, the track's emotion, their
    distance in the valence/arousal plane, and the filters it passed."""
    distance = None
    if query is not None and None not in (query.valence, query.arousal, track.valence, track.arousal):
        distance = math.dist((query.valence, query.arousal), (track.valence, track.arousal))  # type: ignore[arg-type]
    return {
        "query_emotion": query.emotion if query else None,
        "query_probability": query.probability if query else None,
        "track_emotion": track.emotion,
        "valence_arousal_distance": distance,
        "filters": filters,
        "steering": steering or [],
    }


def find_tracks(
    ctx: ServiceContext,
    catalogue_id: uuid.UUID,
    collection: str,
    query: VectorQuery,
    filters: TrackFilters,
    limit: int,
    query_emotion: QueryEmotion | None = None,
    steering: Steering = NO_STEERING,
    steering_names: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Run the filtered (and steered) vector query in the catalogue and describe each hit from its (ready)
    row, best first."""
    hits = ctx.vectors.search(collection, query, filters, limit, steering, catalogue_id=catalogue_id)
    filter_names = applied_filters(filters)
    with ctx.db.session() as session:
        rows = {t.id: t for t in session.scalars(select(Track).where(Track.id.in_([h.track_id for h in hits])))}
    results = []
    for hit in hits:
        track = rows.get(hit.track_id)
        if (
            track is None or track.status != READY or track.catalogue_id != catalogue_id
        ):  # a vector without its row: `s2m reconcile` removes it
            continue
        results.append(
            {
                "track_id": str(track.id),
                "title": track.title,
                "artist": track.artist,
                "score": hit.score,
                "emotion": track.emotion,
                "valence": track.valence,
                "arousal": track.arousal,
                "duration_seconds": track.duration_seconds,
                "why": explain(track, query_emotion, filter_names, steering_names),
            }
        )
    return results


def active_model_version(ctx: ServiceContext) -> ModelVersion:
    """The model queries use; 503 (``no_model``) before any model is registered."""
    with ctx.db.session() as session:
        return require_active_model(session)


def search(ctx: ServiceContext, catalogue_id: uuid.UUID, query: SearchQuery) -> list[dict[str, Any]]:
    """Answer ``POST /v1/search`` synchronously against the active model's collection, in the catalogue."""
    model = active_model_version(ctx)
    vector_query: VectorQuery
    require_ready_tracks(ctx, catalogue_id, [*query.positive, *query.negative])
    if query.mode == "emotion":
        assert query.emotion is not None
        vector_query = EmbeddingQuery(emotion_prototype(model, query.emotion))
        asked = next(label for label in model.labels if label.label == query.emotion)
        query_emotion = QueryEmotion(query.emotion, None, asked.valence, asked.arousal)
    elif query.mode == "va":
        assert query.valence is not None and query.arousal is not None
        vector_query = PointQuery(query.valence, query.arousal)
        query_emotion = QueryEmotion(None, None, query.valence, query.arousal)
    else:
        assert query.like_track is not None
        vector_query = LikeTrackQuery(query.like_track)
        like = require_ready_track(ctx, catalogue_id, query.like_track)
        query_emotion = QueryEmotion(like.emotion, None, like.valence, like.arousal)
    try:
        return find_tracks(
            ctx,
            catalogue_id,
            model.collection,
            vector_query,
            query.filters_only(),
            query.limit,
            query_emotion,
            steering_of(query),
            query.steering_names(),
        )
    except UnknownPointError as exc:
        raise InvalidInputError(str(exc), code="track_not_ready") from None


def require_ready_track(ctx: ServiceContext, catalogue_id: uuid.UUID, track_id: uuid.UUID) -> Track:
    """The track of the catalogue, which must be ready (404 when unknown, 422 ``track_not_ready`` otherwise)."""
    track = get_row(ctx, Track, track_id, "track", catalogue_id)
    if track.status != READY:
        raise InvalidInputError(
            f"track '{track_id}' is {track.status}, not ready: it has no embedding yet", code="track_not_ready"
        )
    return track


def require_ready_tracks(ctx: ServiceContext, catalogue_id: uuid.UUID, track_ids: list[uuid.UUID]) -> None:
    """Every one of the tracks must be a ready track of the catalogue (the first that is not is named; another
    catalogue's track is unknown, as one that does not exist)."""
    if not track_ids:
        return
    with ctx.db.session() as session:
        statuses = dict(
            session.execute(
                select(Track.id, Track.status).where(Track.id.in_(track_ids), Track.catalogue_id == catalogue_id)
            ).all()
        )
    for track_id in track_ids:
        if track_id not in statuses:
            raise InvalidInputError(f"no track with id '{track_id}'", code="unknown_track")
        if statuses[track_id] != READY:
            raise InvalidInputError(
                f"track '{track_id}' is {statuses[track_id]}, not ready: it has no embedding yet",
                code="track_not_ready",
            )
