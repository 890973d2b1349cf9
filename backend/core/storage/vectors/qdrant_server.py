"""The engine for a Qdrant server (production, ``QDRANT_URL``), through qdrant-client.

The same class also drives qdrant-client's local mode (a folder or ``:memory:``), which the
congruence tests and the benchmark use as the reference for the server's API, and which the
upgrade reads an old embedded folder with. Server-only settings for a large catalogue are applied
when the client talks to a server: payload indexes, scalar int8 quantization of the 64-d
embedding (kept in RAM, results rescored with the original vectors), payload on disk, and an
alias that follows the collection queries use.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from backend.core.storage.vectors.points import (
    CATALOGUE_KEY,
    EMBEDDING_SIZE,
    EMOTION_VECTOR,
    FLOAT_FIELDS,
    KEYWORD_FIELDS,
    NO_STEERING,
    VA_VECTOR,
    Conditions,
    HasId,
    Hit,
    InRange,
    LikeTrackQuery,
    MatchAny,
    PointQuery,
    Steering,
    TrackPoint,
    UnknownPointError,
    VectorQuery,
    average_vector,
    mmr_candidates,
    score_of,
)

# Errors worth retrying: the server unreachable or answering with an error.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (ResponseHandlingException, UnexpectedResponse)
PAYLOAD_INDEXES: dict[str, qm.PayloadSchemaType | qm.KeywordIndexParams] = {
    **dict.fromkeys(KEYWORD_FIELDS, qm.PayloadSchemaType.KEYWORD),
    **dict.fromkeys(FLOAT_FIELDS, qm.PayloadSchemaType.FLOAT),
    # The tenant key: the server keeps each catalogue's points together and searches only them.
    CATALOGUE_KEY: qm.KeywordIndexParams(type=qm.KeywordIndexType.KEYWORD, is_tenant=True),
}
# int8 codes for the 64-d embedding: a quarter of the memory, and the top candidates are rescored
# with the original float vectors, so rankings stay those of the full vectors.
EMBEDDING_QUANTIZATION = qm.ScalarQuantization(
    scalar=qm.ScalarQuantizationConfig(type=qm.ScalarType.INT8, quantile=0.99, always_ram=True)
)
RESCORED = qm.SearchParams(quantization=qm.QuantizationSearchParams(rescore=True, oversampling=2.0))


def _condition(condition: Any) -> qm.Condition:
    if isinstance(condition, MatchAny):
        return qm.FieldCondition(key=condition.key, match=qm.MatchAny(any=list(condition.values)))
    if isinstance(condition, InRange):
        return qm.FieldCondition(key=condition.key, range=qm.Range(gte=condition.gte, lte=condition.lte))
    if isinstance(condition, HasId):
        return qm.HasIdCondition(has_id=[str(track_id) for track_id in condition.track_ids])
    raise TypeError(f"no Qdrant form for {condition!r}")


def client_filter(conditions: Conditions) -> qm.Filter | None:
    """The qdrant-client filter of ``conditions`` (None when nothing is filtered)."""
    if not conditions:
        return None
    return qm.Filter(
        must=[_condition(c) for c in conditions.must] or None,
        must_not=[_condition(c) for c in conditions.must_not] or None,
    )


class QdrantClientEngine:
    """Vector operations through one qdrant-client ``QdrantClient``, made on first use (after a fork)."""

    name = "qdrant-client"

    def __init__(self, make_client: Callable[[], QdrantClient], *, server: bool):
        self._make_client = make_client
        self.server = server
        self._client: QdrantClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_server(cls, url: str, api_key: str = "") -> QdrantClientEngine:
        return cls(lambda: QdrantClient(url=url, api_key=api_key or None, timeout=10), server=True)

    @classmethod
    def for_local_folder(cls, path: str) -> QdrantClientEngine:
        """qdrant-client's local mode: a pure-Python engine (``:memory:`` or a folder)."""
        return cls(lambda: QdrantClient(location=path) if path == ":memory:" else QdrantClient(path=path), server=False)

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def ping(self) -> None:
        self.client.get_collections()

    def collection_exists(self, name: str) -> bool:
        return self.client.collection_exists(name)

    def collection_names(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def ensure_collection(self, name: str) -> None:
        """Create the collection; on a server an existing one gets the payload indexes it lacks (one made
        before catalogues existed has no ``catalogue_id`` index)."""
        client = self.client
        if client.collection_exists(name):
            if self.server:
                known = client.get_collection(name).payload_schema or {}
                for field_name, schema in PAYLOAD_INDEXES.items():
                    if field_name not in known:
                        client.create_payload_index(name, field_name, field_schema=schema, wait=True)
            return
        try:
            client.create_collection(
                name,
                vectors_config={
                    EMOTION_VECTOR: qm.VectorParams(
                        size=EMBEDDING_SIZE,
                        distance=qm.Distance.COSINE,
                        quantization_config=EMBEDDING_QUANTIZATION if self.server else None,
                    ),
                    VA_VECTOR: qm.VectorParams(size=2, distance=qm.Distance.EUCLID),
                },
                on_disk_payload=True if self.server else None,
            )
        except (UnexpectedResponse, ValueError):
            if not client.collection_exists(name):  # another worker created it meanwhile otherwise
                raise
        if not self.server:  # local mode scans every point anyway and warns that indexes do nothing
            return
        for field_name, schema in PAYLOAD_INDEXES.items():
            client.create_payload_index(name, field_name, field_schema=schema, wait=True)

    def drop_collection(self, name: str) -> None:
        if self.client.collection_exists(name):
            self.client.delete_collection(name)

    def set_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` in one step (Qdrant applies the pair atomically)."""
        actions: list[Any] = []
        if any(a.alias_name == alias for a in self.client.get_aliases().aliases):
            actions.append(qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias)))
        actions.append(
            qm.CreateAliasOperation(create_alias=qm.CreateAlias(collection_name=collection, alias_name=alias))
        )
        self.client.update_collection_aliases(change_aliases_operations=actions)

    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def upsert(self, collection: str, points: Sequence[TrackPoint]) -> None:
        structs = [qm.PointStruct(id=str(p.track_id), vector=p.vectors(), payload=p.payload()) for p in points]
        self.client.upsert(collection, points=structs, wait=True)

    def delete(self, collection: str, track_ids: Sequence[uuid.UUID]) -> None:
        if self.client.collection_exists(collection):
            selector = qm.PointIdsList(points=[str(track_id) for track_id in track_ids])
            self.client.delete(collection, points_selector=selector, wait=True)

    def embeddings(self, collection: str, track_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[float]]:
        if not self.client.collection_exists(collection):
            return {}
        records = self.client.retrieve(
            collection, ids=[str(t) for t in track_ids], with_vectors=[EMOTION_VECTOR], with_payload=False
        )
        return {uuid.UUID(str(r.id)): list(r.vector[EMOTION_VECTOR]) for r in records}  # type: ignore[index]

    def scroll(
        self, collection: str, offset: Any, limit: int, with_vectors: bool
    ) -> tuple[list[tuple[uuid.UUID, dict[str, list[float]] | None, dict[str, Any]]], Any]:
        """One page of (id, vectors, payload) and the offset of the next page (None at the end)."""
        records, next_offset = self.client.scroll(
            collection, limit=limit, offset=offset, with_payload=True, with_vectors=with_vectors
        )
        page = [(uuid.UUID(str(r.id)), r.vector if with_vectors else None, dict(r.payload or {})) for r in records]
        return page, next_offset  # type: ignore[return-value]

    def point_ids(self, collection: str, conditions: Conditions | None = None, batch: int = 1000) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        if not self.client.collection_exists(collection):
            return found
        offset = None
        while True:
            records, offset = self.client.scroll(
                collection,
                scroll_filter=None if conditions is None else client_filter(conditions),
                limit=batch,
                offset=offset,
                with_payload=False,
                with_vectors=False,
            )
            found.update(uuid.UUID(str(r.id)) for r in records)
            if offset is None:
                return found

    def count(self, collection: str) -> int:
        if not self.client.collection_exists(collection):
            return 0
        return self.client.count(collection, exact=True).count

    def search(
        self,
        collection: str,
        query: VectorQuery,
        conditions: Conditions,
        limit: int,
        steering: Steering = NO_STEERING,
    ) -> list[Hit]:
        """Nearest query, or Qdrant's recommend query (positive/negative), its grouping (per artist) and
        its MMR re-rank (diversity)."""
        client = self.client
        if not client.collection_exists(collection):
            return []
        named = [*steering.positive, *steering.negative]
        if isinstance(query, LikeTrackQuery):
            named.append(query.track_id)
            target: Any = str(query.track_id)  # qdrant-client looks the vector up and leaves the point out
            using = EMOTION_VECTOR
        elif isinstance(query, PointQuery):
            target, using = [query.valence, query.arousal], VA_VECTOR
        else:
            target, using = list(map(float, query.embedding)), EMOTION_VECTOR
        if named:
            found = {str(r.id) for r in client.retrieve(collection, ids=[str(t) for t in named])}
            missing = [t for t in named if str(t) not in found]
            if missing:
                raise UnknownPointError(f"track {missing[0]} has no vector yet")
        if steering.diversity is not None:
            target = qm.NearestQuery(
                nearest=self._steered_vector(collection, target, steering, using),
                mmr=qm.Mmr(diversity=steering.diversity, candidates_limit=mmr_candidates(limit)),
            )
        elif steering.steers:
            target = qm.RecommendQuery(
                recommend=qm.RecommendInput(
                    positive=[target, *map(str, steering.positive)],
                    negative=[str(t) for t in steering.negative] or None,
                    strategy=qm.RecommendStrategy.AVERAGE_VECTOR,
                )
            )
        options: dict[str, Any] = {
            "query": target,
            "using": using,
            "query_filter": client_filter(conditions),
            "with_payload": True,
            "search_params": RESCORED if self.server and using == EMOTION_VECTOR else None,
        }
        if steering.per_artist is not None:
            groups = client.query_points_groups(
                collection, group_by="artist_key", group_size=steering.per_artist, limit=limit, **options
            )
            points = sorted((p for g in groups.groups for p in g.hits), key=lambda p: -score_of(query, p.score))
        else:
            points = client.query_points(collection, limit=limit, **options).points
        return [
            Hit(track_id=uuid.UUID(str(p.id)), score=float(score_of(query, p.score)), payload=dict(p.payload or {}))
            for p in points[:limit]
        ]

    def _steered_vector(self, collection: str, target: Any, steering: Steering, using: str) -> list[float]:
        """The one vector MMR starts from: the target itself, or steered the average-vector way."""
        ids = [*steering.positive, *steering.negative]
        if isinstance(target, str):
            ids.append(uuid.UUID(target))
        records = self.client.retrieve(collection, ids=[str(t) for t in ids], with_vectors=[using]) if ids else []
        vectors = {str(r.id): list(r.vector[using]) for r in records}  # type: ignore[index]
        base = vectors[target] if isinstance(target, str) else target
        positive = [base, *(vectors[str(t)] for t in steering.positive)]
        return average_vector(positive, [vectors[str(t)] for t in steering.negative])
