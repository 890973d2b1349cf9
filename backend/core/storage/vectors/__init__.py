"""The vector store: collections per model version, track points, filtered queries.

Nothing outside this package knows which engine runs. ``QDRANT_URL`` set: a Qdrant server
through qdrant-client (:mod:`.qdrant_server`). Empty (the embedded default): Qdrant's engine
in-process, qdrant-edge (:mod:`.edge`), in the folder ``QDRANT_PATH``, owned by one process that
serves the others (:mod:`.owner`); an old qdrant-client local-mode folder is converted on first
open (:mod:`.upgrade`). Only this package imports ``qdrant_client`` and ``qdrant_edge``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qdrant_client import models as qm

from backend.core.config import Settings
from backend.core.domain.filters import TrackFilters
from backend.core.storage.vectors.owner import EmbeddedEngine, OwnerUnavailableError, RemoteOperationError
from backend.core.storage.vectors.points import (
    COLLECTION_PREFIX,
    EMBEDDING_SIZE,
    EMOTION_VECTOR,
    NO_STEERING,
    VA_VECTOR,
    Conditions,
    EmbeddingQuery,
    HasId,
    Hit,
    LikeTrackQuery,
    PointQuery,
    Steering,
    TrackPoint,
    UnknownPointError,
    VectorQuery,
    collection_name,
    filter_conditions,
    in_catalogue,
)
from backend.core.storage.vectors.qdrant_server import TRANSIENT_ERRORS as SERVER_ERRORS
from backend.core.storage.vectors.qdrant_server import QdrantClientEngine, client_filter

__all__ = [
    "ACTIVE_ALIAS",
    "COLLECTION_PREFIX",
    "EMBEDDING_SIZE",
    "EMOTION_VECTOR",
    "NO_STEERING",
    "TRANSIENT_ERRORS",
    "VA_VECTOR",
    "EmbeddingQuery",
    "Hit",
    "LikeTrackQuery",
    "PointQuery",
    "Steering",
    "TrackPoint",
    "UnknownPointError",
    "VectorQuery",
    "VectorStore",
    "build_filter",
    "collection_name",
]

# Errors worth retrying: the server unreachable, or the embedded folder's owner not answering.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    *SERVER_ERRORS,
    OwnerUnavailableError,
    RemoteOperationError,
    ConnectionError,
    TimeoutError,
)
# Follows the collection that answers queries, switched with the model at a reindex.
ACTIVE_ALIAS = COLLECTION_PREFIX + "active"


def build_filter(filters: TrackFilters, catalogue_id: uuid.UUID | None = None) -> qm.Filter | None:
    """The Qdrant (qdrant-client) filter of track filters and the catalogue; None when nothing is filtered."""
    return client_filter(filter_conditions(filters, catalogue_id))


class VectorStore:
    """Vector access for the service, safe to share between threads; one per process is enough."""

    def __init__(
        self,
        *,
        url: str = "",
        api_key: str = "",
        path: Path | None = None,
        lock_timeout: float = 60.0,
        engine: Any = None,
    ):
        if engine is None:
            if url:
                engine = QdrantClientEngine.for_server(url, api_key)
            elif path is not None:
                engine = EmbeddedEngine(Path(path), wait_seconds=lock_timeout)
            else:
                raise ValueError("VectorStore needs a Qdrant url or a local path")
        self.engine = engine

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorStore:
        return cls(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            path=settings.resolved_qdrant_path,
            lock_timeout=settings.qdrant_lock_timeout,
        )

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def own(self) -> bool:
        """Embedded: make this process the folder's owner if none is (the serving process calls it)."""
        return self.engine.own() if isinstance(self.engine, EmbeddedEngine) else False

    def upgrade(self) -> dict[str, int] | None:
        """Embedded: convert an old local-mode folder now (if this process can own it); the report."""
        if isinstance(self.engine, EmbeddedEngine) and self.engine.own():
            return self.engine.upgrade_report()
        self.engine.ping()
        return None

    def close(self) -> None:
        self.engine.close()

    def ping(self) -> None:
        """Raises when the vector engine cannot be reached."""
        self.engine.ping()

    def ensure_collection(self, name: str) -> None:
        """Create the collection with both named vectors and the payload indexes, unless it exists."""
        self.engine.ensure_collection(name)

    def collection_exists(self, name: str) -> bool:
        return self.engine.collection_exists(name)

    def drop_collection(self, name: str) -> None:
        self.engine.drop_collection(name)

    def set_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` in one step (the reindex switch-over)."""
        self.engine.set_alias(alias, collection)

    def aliases(self) -> dict[str, str]:
        return self.engine.aliases()

    def upsert(self, collection: str, points: Iterable[TrackPoint]) -> None:
        """Write points; they are visible to queries when this returns."""
        points = list(points)
        if points:
            self.engine.upsert(collection, points)

    def delete(self, collection: str, track_ids: Iterable[uuid.UUID], catalogue_id: uuid.UUID | None = None) -> None:
        """Delete points (missing ones are fine; of that catalogue only, when given)."""
        ids = list(track_ids)
        if ids and catalogue_id is not None:  # the engine picks the catalogue's own among them
            ids = sorted(
                self.engine.point_ids(collection, Conditions(must=(HasId(tuple(ids)), in_catalogue(catalogue_id))))
            )
        if ids:
            self.engine.delete(collection, ids)

    def embeddings(self, collection: str, track_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[float]]:
        """Return the stored emotion embeddings of those tracks that have a point."""
        ids = list(track_ids)
        return self.engine.embeddings(collection, ids) if ids else {}

    def point_ids(self, collection: str, catalogue_id: uuid.UUID | None = None) -> set[uuid.UUID]:
        """Return every point id in the collection, or of one catalogue (empty when it does not exist)."""
        if catalogue_id is None:
            return self.engine.point_ids(collection)
        return self.engine.point_ids(collection, Conditions(must=(in_catalogue(catalogue_id),)))

    def count(self, collection: str) -> int:
        return self.engine.count(collection)

    def optimize(self, collection: str) -> None:
        """Embedded: merge segments and build the index now (the server optimizes by itself)."""
        if isinstance(self.engine, EmbeddedEngine):
            self.engine.optimize(collection)

    def search(
        self,
        collection: str,
        query: VectorQuery,
        filters: TrackFilters,
        limit: int,
        steering: Steering = NO_STEERING,
        *,
        catalogue_id: uuid.UUID,
    ) -> list[Hit]:
        """Return up to ``limit`` hits of the catalogue passing ``filters``, best first (higher score is better).

        ``steering`` moves the target toward its positive tracks and away from its negative ones,
        caps the tracks per artist and re-ranks for diversity (see :class:`Steering`); the tracks
        it names are left out of the results. A like-track query's track and the steering tracks must
        be points of the same catalogue.
        """
        named = (*steering.positive, *steering.negative)
        references = (query.track_id,) if isinstance(query, LikeTrackQuery) else ()
        if references or named:
            wanted = {*references, *named}
            own = Conditions(must=(HasId(tuple(wanted)), in_catalogue(catalogue_id)))
            missing = wanted - self.engine.point_ids(collection, own)
            if missing:
                raise UnknownPointError(f"track {sorted(missing)[0]} has no vector yet")
        conditions = filter_conditions(filters, catalogue_id)
        if named:
            conditions = dataclasses.replace(conditions, must_not=(*conditions.must_not, HasId(tuple(named))))
        if steering == NO_STEERING:
            return self.engine.search(collection, query, conditions, limit)
        return self.engine.search(collection, query, conditions, limit, steering)
