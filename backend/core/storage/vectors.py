"""The one Qdrant adapter: collections per model version, track points, filtered queries.

Nothing else imports ``qdrant_client``. Each track is one point (id = track id) with two named
vectors: ``emotion`` (the model's 64-d embedding, cosine) and ``va`` (valence, arousal; Euclidean,
so "tracks near this valence/arousal point" is a native query). Filters run inside Qdrant.

Local mode (``QDRANT_PATH``) lets only one client open a folder at a time, across processes, and
the API and the workers both need it. So in local mode every unit of work opens a client under a
cross-process file lock and closes it afterwards; server mode (``QDRANT_URL``) keeps one client,
created on first use (after a worker forks).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import portalocker
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from backend.core.config import Settings
from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.filters import TrackFilters

EMOTION_VECTOR = "emotion"
VA_VECTOR = "va"
EMBEDDING_SIZE = 64
COLLECTION_PREFIX = "tracks__"
# Payload fields that filters use, and the index each gets.
PAYLOAD_INDEXES: dict[str, qm.PayloadSchemaType] = {
    "emotion": qm.PayloadSchemaType.KEYWORD,
    "tags": qm.PayloadSchemaType.KEYWORD,
    "valence": qm.PayloadSchemaType.FLOAT,
    "arousal": qm.PayloadSchemaType.FLOAT,
}
# Errors worth retrying: Qdrant unreachable or a lock held too long by another process.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    ResponseHandlingException,
    UnexpectedResponse,
    portalocker.exceptions.LockException,
    ConnectionError,
    TimeoutError,
)


def collection_name(model_version: str) -> str:
    """Name the collection that holds the vectors of ``model_version``."""
    return COLLECTION_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", model_version)


@dataclass(frozen=True)
class TrackPoint:
    """What Qdrant stores for one ready track."""

    track_id: uuid.UUID
    embedding: Sequence[float]
    emotion: str
    valence: float
    arousal: float
    tags: Sequence[str] = ()

    @classmethod
    def from_analysis(cls, track_id: uuid.UUID, analysis: ClipAnalysis, tags: Sequence[str]) -> TrackPoint:
        return cls(track_id, analysis.vector, analysis.label, analysis.valence, analysis.arousal, tuple(tags))

    def to_point(self) -> qm.PointStruct:
        return qm.PointStruct(
            id=str(self.track_id),
            vector={EMOTION_VECTOR: list(map(float, self.embedding)), VA_VECTOR: [self.valence, self.arousal]},
            payload={
                "emotion": self.emotion,
                "valence": self.valence,
                "arousal": self.arousal,
                "tags": list(self.tags),
            },
        )


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


def build_filter(filters: TrackFilters) -> qm.Filter | None:
    """Translate catalogue filters into a Qdrant filter (None when nothing is filtered)."""
    must: list[qm.Condition] = []
    if filters.emotions:
        must.append(qm.FieldCondition(key="emotion", match=qm.MatchAny(any=list(filters.emotions))))
    if filters.tags:
        must.append(qm.FieldCondition(key="tags", match=qm.MatchAny(any=list(filters.tags))))
    for axis in ("valence", "arousal"):
        low, high = getattr(filters, f"{axis}_min"), getattr(filters, f"{axis}_max")
        if low is not None or high is not None:
            must.append(qm.FieldCondition(key=axis, range=qm.Range(gte=low, lte=high)))
    must_not: list[qm.Condition] = []
    if filters.exclude:
        must_not.append(qm.HasIdCondition(has_id=[str(track_id) for track_id in filters.exclude]))
    if not must and not must_not:
        return None
    return qm.Filter(must=must or None, must_not=must_not or None)


class UnknownPointError(LookupError):
    """A query referred to a track that has no vector in the collection."""


class VectorStore:
    """Qdrant access for the service; safe to share between threads and (in local mode) processes."""

    def __init__(self, *, url: str = "", api_key: str = "", path: Path | None = None, lock_timeout: float = 60.0):
        if not url and path is None:
            raise ValueError("VectorStore needs a Qdrant url or a local path")
        self.url = url
        self.api_key = api_key
        self.path = None if url else Path(path)  # type: ignore[arg-type]
        self.lock_timeout = lock_timeout
        self._server_client: QdrantClient | None = None
        self._thread_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorStore:
        return cls(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            path=settings.resolved_qdrant_path,
            lock_timeout=settings.qdrant_lock_timeout,
        )

    @property
    def local(self) -> bool:
        return self.path is not None

    @contextmanager
    def _client(self) -> Iterator[QdrantClient]:
        if not self.local:
            if self._server_client is None:
                with self._thread_lock:
                    if self._server_client is None:
                        self._server_client = QdrantClient(url=self.url, api_key=self.api_key or None, timeout=10)
            yield self._server_client
            return
        assert self.path is not None
        self.path.mkdir(parents=True, exist_ok=True)
        # The thread lock orders this process's threads; the file lock orders the processes.
        with self._thread_lock, portalocker.Lock(self.path / ".s2m-access.lock", mode="a", timeout=self.lock_timeout):
            client = QdrantClient(path=str(self.path))
            try:
                yield client
            finally:
                client.close()

    def close(self) -> None:
        if self._server_client is not None:
            self._server_client.close()
            self._server_client = None

    def ping(self) -> None:
        """List collections; raises when Qdrant cannot be reached."""
        with self._client() as client:
            client.get_collections()

    def ensure_collection(self, name: str) -> None:
        """Create the collection with both named vectors and the payload indexes, unless it exists."""
        with self._client() as client:
            if client.collection_exists(name):
                return
            try:
                client.create_collection(
                    name,
                    vectors_config={
                        EMOTION_VECTOR: qm.VectorParams(size=EMBEDDING_SIZE, distance=qm.Distance.COSINE),
                        VA_VECTOR: qm.VectorParams(size=2, distance=qm.Distance.EUCLID),
                    },
                )
            except (UnexpectedResponse, ValueError):
                if not client.collection_exists(name):  # another worker created it meanwhile otherwise
                    raise
            if self.local:  # local mode scans every point anyway and warns that indexes do nothing
                return
            for field_name, schema in PAYLOAD_INDEXES.items():
                client.create_payload_index(name, field_name, field_schema=schema, wait=True)

    def collection_exists(self, name: str) -> bool:
        with self._client() as client:
            return client.collection_exists(name)

    def drop_collection(self, name: str) -> None:
        with self._client() as client:
            if client.collection_exists(name):
                client.delete_collection(name)

    def upsert(self, collection: str, points: Iterable[TrackPoint]) -> None:
        """Write points and wait until Qdrant has applied them."""
        structs = [point.to_point() for point in points]
        if not structs:
            return
        with self._client() as client:
            client.upsert(collection, points=structs, wait=True)

    def delete(self, collection: str, track_ids: Iterable[uuid.UUID]) -> None:
        """Delete points (missing ones are fine) and wait for Qdrant to apply it."""
        ids = [str(track_id) for track_id in track_ids]
        if not ids:
            return
        with self._client() as client:
            if client.collection_exists(collection):
                client.delete(collection, points_selector=qm.PointIdsList(points=ids), wait=True)

    def embeddings(self, collection: str, track_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[float]]:
        """Return the stored emotion embeddings of those tracks that have a point."""
        ids = [str(track_id) for track_id in track_ids]
        if not ids:
            return {}
        with self._client() as client:
            if not client.collection_exists(collection):
                return {}
            records = client.retrieve(collection, ids=ids, with_vectors=[EMOTION_VECTOR], with_payload=False)
        return {uuid.UUID(str(r.id)): list(r.vector[EMOTION_VECTOR]) for r in records}  # type: ignore[index]

    def point_ids(self, collection: str, batch: int = 1000) -> set[uuid.UUID]:
        """Return every point id in the collection (empty when it does not exist)."""
        found: set[uuid.UUID] = set()
        with self._client() as client:
            if not client.collection_exists(collection):
                return found
            offset = None
            while True:
                records, offset = client.scroll(
                    collection, limit=batch, offset=offset, with_payload=False, with_vectors=False
                )
                found.update(uuid.UUID(str(r.id)) for r in records)
                if offset is None:
                    return found

    def count(self, collection: str) -> int:
        with self._client() as client:
            if not client.collection_exists(collection):
                return 0
            return client.count(collection, exact=True).count

    def search(self, collection: str, query: VectorQuery, filters: TrackFilters, limit: int) -> list[Hit]:
        """Return up to ``limit`` hits passing ``filters``, best first (higher score is better)."""
        query_filter = build_filter(filters)
        with self._client() as client:
            if not client.collection_exists(collection):
                return []
            if isinstance(query, LikeTrackQuery):
                if not client.retrieve(collection, ids=[str(query.track_id)]):
                    raise UnknownPointError(f"track {query.track_id} has no vector yet")
                target: Any = str(query.track_id)
                using = EMOTION_VECTOR
            elif isinstance(query, PointQuery):
                target, using = [query.valence, query.arousal], VA_VECTOR
            else:
                target, using = list(map(float, query.embedding)), EMOTION_VECTOR
            response = client.query_points(
                collection, query=target, using=using, query_filter=query_filter, limit=limit, with_payload=True
            )
        hits = []
        for point in response.points:
            score = 1.0 - point.score if isinstance(query, PointQuery) else point.score
            hits.append(Hit(track_id=uuid.UUID(str(point.id)), score=float(score), payload=dict(point.payload or {})))
        return hits
