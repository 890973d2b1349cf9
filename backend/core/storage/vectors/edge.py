"""The embedded engine: Qdrant's own engine in-process (qdrant-edge), one shard per collection.

A folder holds ``collections/<name>/`` (one shard each) and ``aliases.json``. Payload indexes
make filters cheap; the engine has no background optimizer, so once the points written since the
last optimization reach a fifth of the shard (at least ``OPTIMIZE_AFTER_WRITES``), a thread runs
``optimize()`` (segments merged, HNSW built) while queries go on: the indexing cost per written
point stays flat however large the catalogue grows. Only one process may open a shard:
:mod:`.owner` decides which.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from backend.core.storage.vectors.points import (
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
    capped_per_group,
    mmr_candidates,
    score_of,
)

log = logging.getLogger(__name__)

COLLECTIONS_FOLDER = "collections"
ALIASES_FILE = "aliases.json"
OPTIMIZE_AFTER_WRITES = 5000
OPTIMIZE_AFTER_FRACTION = 0.2


def shard_config() -> qe.EdgeConfig:
    return qe.EdgeConfig(
        vectors={
            EMOTION_VECTOR: qe.EdgeVectorParams(size=EMBEDDING_SIZE, distance=qe.Distance.Cosine),
            VA_VECTOR: qe.EdgeVectorParams(size=2, distance=qe.Distance.Euclid),
        },
        # The payload comes back with every hit; for a catalogue it is small enough to cache.
        payload_memory=qe.Memory.Cached,
        # One search thread per query: the API runs queries side by side in its own threads, and on a
        # busy small machine a query that needs several threads scheduled waits longer (measured at
        # 100k points on 2 loaded cores: p99 17 ms with one thread, 22 ms with the default).
        max_search_threads=1,
    )


def _condition(condition: Any) -> Any:
    if isinstance(condition, MatchAny):
        return qe.FieldCondition(key=condition.key, match=qe.MatchAny(any=list(condition.values)))
    if isinstance(condition, InRange):
        return qe.FieldCondition(key=condition.key, range=qe.RangeFloat(gte=condition.gte, lte=condition.lte))
    if isinstance(condition, HasId):
        return qe.HasIdCondition(point_ids={str(track_id) for track_id in condition.track_ids})
    raise TypeError(f"no qdrant-edge form for {condition!r}")


def edge_filter(conditions: Conditions, also_exclude: uuid.UUID | None = None) -> qe.Filter | None:
    """The qdrant-edge filter of ``conditions``, optionally leaving one more point out."""
    must_not = [_condition(c) for c in conditions.must_not]
    if also_exclude is not None:
        must_not.append(qe.HasIdCondition(point_ids={str(also_exclude)}))
    if not conditions.must and not must_not:
        return None
    return qe.Filter(must=[_condition(c) for c in conditions.must] or None, must_not=must_not or None)


class _Shard:
    """One opened shard and the bookkeeping of its background optimization."""

    def __init__(self, shard: qe.EdgeShard):
        self.shard = shard
        self.writes_since_optimize = 0
        self.points_at_optimize = shard.count(qe.CountRequest(exact=False))
        self.optimizing = threading.Lock()

    def due(self) -> bool:
        threshold = max(OPTIMIZE_AFTER_WRITES, OPTIMIZE_AFTER_FRACTION * self.points_at_optimize)
        return self.writes_since_optimize >= threshold and not self.optimizing.locked()


class EdgeEngine:
    """Vector operations on qdrant-edge shards in one folder; this process must own the folder."""

    name = "qdrant-edge"

    def __init__(self, root: Path):
        self.root = Path(root)
        self._shards: dict[str, _Shard] = {}
        self._lock = threading.RLock()
        (self.root / COLLECTIONS_FOLDER).mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / COLLECTIONS_FOLDER / name

    def _open(self, name: str) -> _Shard | None:
        with self._lock:
            opened = self._shards.get(name)
            if opened is None and (self._path(name) / "edge_config.json").is_file():
                opened = self._shards[name] = _Shard(qe.EdgeShard.load(str(self._path(name)), shard_config()))
            return opened

    def close(self) -> None:
        with self._lock:
            for opened in self._shards.values():
                with opened.optimizing:  # never close under a running optimization
                    opened.shard.close()
            self._shards.clear()

    def ping(self) -> None:
        self.root.stat()

    def collection_exists(self, name: str) -> bool:
        return self._open(name) is not None

    def ensure_collection(self, name: str) -> None:
        with self._lock:
            if self._open(name) is not None:
                return
            shutil.rmtree(self._path(name), ignore_errors=True)  # a creation cut short leaves no config
            shard = qe.EdgeShard.create(str(self._path(name)), shard_config())
            for field_name in KEYWORD_FIELDS:
                shard.update(qe.UpdateOperation.create_field_index(field_name, qe.PayloadSchemaType.Keyword))
            for field_name in FLOAT_FIELDS:
                shard.update(qe.UpdateOperation.create_field_index(field_name, qe.PayloadSchemaType.Float))
            shard.flush()
            self._shards[name] = _Shard(shard)

    def drop_collection(self, name: str) -> None:
        with self._lock:
            opened = self._shards.pop(name, None)
            if opened is not None:
                with opened.optimizing:
                    opened.shard.close()
            shutil.rmtree(self._path(name), ignore_errors=True)
            self._write_aliases({a: c for a, c in self.aliases().items() if c != name})

    def aliases(self) -> dict[str, str]:
        try:
            return json.loads((self.root / ALIASES_FILE).read_text())
        except FileNotFoundError:
            return {}

    def _write_aliases(self, aliases: dict[str, str]) -> None:
        staged = self.root / (ALIASES_FILE + ".tmp")
        staged.write_text(json.dumps(aliases, sort_keys=True))
        os.replace(staged, self.root / ALIASES_FILE)  # atomic: readers see the old or the new mapping

    def set_alias(self, alias: str, collection: str) -> None:
        with self._lock:
            self._write_aliases({**self.aliases(), alias: collection})

    def _require(self, name: str) -> _Shard:
        opened = self._open(name)
        if opened is None:
            raise LookupError(f"collection {name} does not exist")
        return opened

    def upsert(self, collection: str, points: Sequence[TrackPoint]) -> None:
        opened = self._require(collection)
        opened.shard.update(
            qe.UpdateOperation.upsert_points(
                [qe.Point(id=str(p.track_id), vector=p.vectors(), payload=p.payload()) for p in points]
            )
        )
        self._note_writes(opened, len(points))

    def write_records(
        self, collection: str, records: Sequence[tuple[uuid.UUID, dict[str, list[float]] | None, dict[str, Any]]]
    ) -> None:
        """Write (id, vectors, payload) records as they are (the upgrade copies whole payloads)."""
        opened = self._require(collection)
        points = [qe.Point(id=str(i), vector=vectors or {}, payload=payload) for i, vectors, payload in records]
        if points:
            opened.shard.update(qe.UpdateOperation.upsert_points(points))

    def delete(self, collection: str, track_ids: Sequence[uuid.UUID]) -> None:
        opened = self._open(collection)
        if opened is not None:
            opened.shard.update(qe.UpdateOperation.delete_points([str(t) for t in track_ids]))
            self._note_writes(opened, len(track_ids))

    def _note_writes(self, opened: _Shard, count: int) -> None:
        opened.writes_since_optimize += count
        if opened.due():
            opened.writes_since_optimize = 0
            threading.Thread(target=self._optimize, args=(opened,), name="qdrant-edge-optimize", daemon=True).start()

    def _optimize(self, opened: _Shard) -> None:
        with opened.optimizing:
            try:
                opened.shard.optimize()
            except Exception:  # the shard still answers unoptimized; say so and go on
                log.exception("optimizing a qdrant-edge shard failed")
            opened.points_at_optimize = opened.shard.count(qe.CountRequest(exact=False))

    def optimize(self, collection: str) -> None:
        """Merge segments and build the index now (the benchmark and the upgrade call it)."""
        opened = self._open(collection)
        if opened is not None:
            self._optimize(opened)

    def embeddings(self, collection: str, track_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[float]]:
        opened = self._open(collection)
        if opened is None:
            return {}
        records = opened.shard.retrieve([str(t) for t in track_ids], with_payload=False, with_vector=[EMOTION_VECTOR])
        return {uuid.UUID(str(r.id)): list(r.vector[EMOTION_VECTOR]) for r in records}  # type: ignore[index]

    def point_ids(self, collection: str, conditions: Conditions | None = None, batch: int = 1000) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        opened = self._open(collection)
        offset = None
        scroll_filter = None if conditions is None else edge_filter(conditions)
        while opened is not None:
            records, offset = opened.shard.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=batch, filter=scroll_filter, with_payload=False, with_vector=False
                )
            )
            found.update(uuid.UUID(str(r.id)) for r in records)
            if offset is None:
                break
        return found

    def count(self, collection: str) -> int:
        opened = self._open(collection)
        return 0 if opened is None else opened.shard.count(qe.CountRequest(exact=True))

    def search(
        self,
        collection: str,
        query: VectorQuery,
        conditions: Conditions,
        limit: int,
        steering: Steering = NO_STEERING,
    ) -> list[Hit]:
        """Nearest query; steering as Qdrant does it: the average-vector target (what the server's
        recommend query computes), MMR for diversity (qdrant-edge's own), and per-artist caps over a
        growing candidate list (qdrant-edge has no grouping)."""
        opened = self._open(collection)
        if opened is None:
            return []
        using = VA_VECTOR if isinstance(query, PointQuery) else EMOTION_VECTOR
        named = [*steering.positive, *steering.negative]
        exclude = None
        if isinstance(query, LikeTrackQuery):
            named.append(query.track_id)
            exclude = query.track_id
        vectors = {}
        if named:
            records = opened.shard.retrieve([str(t) for t in named], with_payload=False, with_vector=[using])
            vectors = {str(r.id): list(r.vector[using]) for r in records}  # type: ignore[index]
            missing = [t for t in named if str(t) not in vectors]
            if missing:
                raise UnknownPointError(f"track {missing[0]} has no vector yet")
        if isinstance(query, LikeTrackQuery):
            base = vectors[str(query.track_id)]
        elif isinstance(query, PointQuery):
            base = [float(query.valence), float(query.arousal)]
        else:
            base = list(map(float, query.embedding))
        if steering.steers:
            base = average_vector(
                [base, *(vectors[str(t)] for t in steering.positive)], [vectors[str(t)] for t in steering.negative]
            )
        if steering.diversity is not None:
            scoring: Any = qe.Mmr(base, 1.0 - steering.diversity, mmr_candidates(limit), using=using)
        else:
            scoring = qe.Query.Nearest(base, using=using)
        point_filter = edge_filter(conditions, exclude)

        def fetch(count: int) -> list[Hit]:
            request = qe.QueryRequest(
                limit=count, query=scoring, filter=point_filter, with_payload=True, with_vector=False
            )
            return [
                Hit(uuid.UUID(str(p.id)), float(score_of(query, p.score)), dict(p.payload or {}))
                for p in opened.shard.query(request)
            ]

        if steering.per_artist is None:
            return fetch(limit)
        count = limit * steering.per_artist
        while True:  # more candidates until the capped list is full or the candidates run out
            hits = fetch(count)
            kept = capped_per_group(hits, steering.per_artist, limit)
            if len(kept) == limit or len(hits) < count:
                return kept
            count *= 4
