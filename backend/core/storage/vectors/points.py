"""What the vector store stores and asks, independent of the engine that runs it.

Each track is one point (id = track id) with two named vectors: ``emotion`` (the model's 64-d
embedding, cosine) and ``va`` (valence, arousal; Euclidean, so "tracks near this valence/arousal
point" is a native query). Catalogue filters become engine-neutral conditions here
(:func:`filter_conditions`); each engine translates those, so a new filter field is added once.
Every point carries its ``catalogue_id`` and every query of a catalogue filters by it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.filters import TrackFilters

EMOTION_VECTOR = "emotion"
VA_VECTOR = "va"
EMBEDDING_SIZE = 64
COLLECTION_PREFIX = "tracks__"
# The payload field naming a point's catalogue (the tenant key of a Qdrant server).
CATALOGUE_KEY = "catalogue_id"
# Payload fields that filters use: keyword fields match values, float fields take ranges; artist_key
# is what "at most N tracks per artist" groups by.
KEYWORD_FIELDS = (CATALOGUE_KEY, "emotion", "tags", "artist_key")
FLOAT_FIELDS = ("valence", "arousal")


def collection_name(model_version: str) -> str:
    """Name the collection that holds the vectors of ``model_version``."""
    return COLLECTION_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", model_version)


@dataclass(frozen=True)
class TrackPoint:
    """What the vector store keeps for one ready track."""

    track_id: uuid.UUID
    catalogue_id: uuid.UUID
    embedding: Sequence[float]
    emotion: str
    valence: float
    arousal: float
    tags: Sequence[str] = ()
    artist: str | None = None

    @classmethod
    def from_analysis(
        cls,
        track_id: uuid.UUID,
        catalogue_id: uuid.UUID,
        analysis: ClipAnalysis,
        tags: Sequence[str],
        artist: str | None = None,
    ) -> TrackPoint:
        return cls(
            track_id,
            catalogue_id,
            analysis.vector,
            analysis.label,
            analysis.valence,
            analysis.arousal,
            tuple(tags),
            artist,
        )

    @property
    def artist_key(self) -> str:
        """What "at most N tracks per artist" groups by: the artist's name case-folded; a track with no
        artist is a group of its own."""
        return artist_key(self.artist, self.track_id)

    def vectors(self) -> dict[str, list[float]]:
        return {EMOTION_VECTOR: list(map(float, self.embedding)), VA_VECTOR: [float(self.valence), float(self.arousal)]}

    def payload(self) -> dict[str, Any]:
        return {
            CATALOGUE_KEY: str(self.catalogue_id),
            "emotion": self.emotion,
            "valence": self.valence,
            "arousal": self.arousal,
            "tags": list(self.tags),
            "artist_key": self.artist_key,
        }


def artist_key(artist: str | None, track_id: uuid.UUID) -> str:
    name = " ".join((artist or "").split()).casefold()
    return f"artist:{name}" if name else f"track:{track_id}"


@dataclass(frozen=True)
class Hit:
    """One search result: a track id, a score where higher is better, and the stored payload."""

    track_id: uuid.UUID
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EmbeddingQuery:
    """Rank by cosine similarity to an emotion embedding."""

    embedding: Sequence[float]


@dataclass(frozen=True)
class PointQuery:
    """Rank by closeness in the valence/arousal plane; score = 1 - Euclidean distance."""

    valence: float
    arousal: float


@dataclass(frozen=True)
class LikeTrackQuery:
    """Rank by cosine similarity to a stored track's embedding (the track itself is left out)."""

    track_id: uuid.UUID


VectorQuery = EmbeddingQuery | PointQuery | LikeTrackQuery


@dataclass(frozen=True)
class Steering:
    """How a query is steered beyond its target: "more like these, less like those" (positive and
    negative tracks), at most ``per_artist`` tracks per artist, and a diversity re-rank (maximal
    marginal relevance). The tracks named are never among the results."""

    positive: Sequence[uuid.UUID] = ()
    negative: Sequence[uuid.UUID] = ()
    per_artist: int | None = None
    diversity: float | None = None  # 0: by relevance only, 1: as varied as possible

    @property
    def steers(self) -> bool:
        return bool(self.positive or self.negative)


NO_STEERING = Steering()
# Candidates the diversity re-rank chooses from, per result asked for (at least MIN_MMR_CANDIDATES).
MMR_CANDIDATES_PER_RESULT = 5
MIN_MMR_CANDIDATES = 100


def mmr_candidates(limit: int) -> int:
    return max(MIN_MMR_CANDIDATES, MMR_CANDIDATES_PER_RESULT * limit)


def average_vector(positive: Sequence[Sequence[float]], negative: Sequence[Sequence[float]]) -> list[float]:
    """The target of "more like ``positive``, less like ``negative``", as Qdrant's average-vector
    recommend strategy makes it: mean(positive) + (mean(positive) - mean(negative))."""
    mean = [sum(column) / len(positive) for column in zip(*positive, strict=True)]
    if not negative:
        return mean
    away = [sum(column) / len(negative) for column in zip(*negative, strict=True)]
    return [2 * m - a for m, a in zip(mean, away, strict=True)]


def capped_per_group(hits: Sequence[Hit], per_group: int, limit: int) -> list[Hit]:
    """The best hits, at most ``per_group`` of each artist (hits best first)."""
    counts: dict[str, int] = {}
    kept = []
    for hit in hits:
        group = str(hit.payload.get("artist_key") or f"track:{hit.track_id}")
        if counts.get(group, 0) < per_group:
            counts[group] = counts.get(group, 0) + 1
            kept.append(hit)
            if len(kept) == limit:
                break
    return kept


class UnknownPointError(LookupError):
    """A query referred to a track that has no vector in the collection."""


@dataclass(frozen=True)
class MatchAny:
    """The payload field holds (one of) these values."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class InRange:
    """The payload field lies within ``[gte, lte]`` (either end open when None)."""

    key: str
    gte: float | None
    lte: float | None


@dataclass(frozen=True)
class HasId:
    """The point is one of these tracks."""

    track_ids: tuple[uuid.UUID, ...]


Condition = MatchAny | InRange | HasId


@dataclass(frozen=True)
class Conditions:
    """A filter as the engines take it: every ``must`` holds and no ``must_not`` does."""

    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.must or self.must_not)


def in_catalogue(catalogue_id: uuid.UUID) -> MatchAny:
    return MatchAny(CATALOGUE_KEY, (str(catalogue_id),))


def filter_conditions(filters: TrackFilters, catalogue_id: uuid.UUID | None = None) -> Conditions:
    """Translate track filters (and the catalogue, when given) into conditions that run inside the query."""
    must: list[Condition] = [] if catalogue_id is None else [in_catalogue(catalogue_id)]
    if filters.emotions:
        must.append(MatchAny("emotion", tuple(filters.emotions)))
    if filters.tags:
        must.append(MatchAny("tags", tuple(filters.tags)))
    for axis in FLOAT_FIELDS:
        low, high = getattr(filters, f"{axis}_min"), getattr(filters, f"{axis}_max")
        if low is not None or high is not None:
            must.append(InRange(axis, low, high))
    must_not: list[Condition] = []
    if filters.exclude:
        must_not.append(HasId(tuple(filters.exclude)))
    return Conditions(tuple(must), tuple(must_not))


def score_of(query: VectorQuery, raw: float) -> float:
    """Turn an engine's score into ours (higher is better): the va query returns a distance."""
    return 1.0 - raw if isinstance(query, PointQuery) else raw
