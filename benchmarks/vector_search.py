"""Filtered vector search through ``VectorStore`` on each engine, with qdrant-client's local mode as the baseline.

    PYTHONPATH=$PWD python benchmarks/vector_search.py [--points N] [--json]

Builds N synthetic track points (64-d emotion embedding, valence/arousal, emotion and tags) through
``backend.core.storage.vectors.VectorStore`` on the embedded engine ("qdrant-edge") and on
qdrant-client's local mode ("qdrant-local", capped at --local-cap points so the run stays short),
then measures filtered queries (an emotion embedding, two allowed emotions and a valence range),
one-point upserts, and opening the folder again until the first answer. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from backend.core.domain.filters import TrackFilters
from backend.core.storage.vectors import EMBEDDING_SIZE, EmbeddingQuery, TrackPoint, VectorStore
from backend.core.storage.vectors.qdrant_server import QdrantClientEngine

COLLECTION = "tracks__bench"
EMOTIONS = ("sad", "calm", "happy", "angry", "tender", "scary", "funny", "exciting")
TAGS = tuple(f"tag{i}" for i in range(20))
BATCH = 1000
CATALOGUE = uuid.UUID(int=1)  # one catalogue: every query filters by it, as the service's do
FILTERS = TrackFilters(emotions=["sad", "calm"], valence_min=0.2, valence_max=0.7)


def synthetic_points(count: int, rng: random.Random) -> list[TrackPoint]:
    return [
        TrackPoint(
            uuid.UUID(int=rng.getrandbits(128)),
            CATALOGUE,
            [rng.gauss(0, 1) for _ in range(EMBEDDING_SIZE)],
            rng.choice(EMOTIONS),
            rng.random(),
            rng.random(),
            tuple(rng.sample(TAGS, 2)),
        )
        for _ in range(count)
    ]


def open_store(engine: str, folder: Path) -> VectorStore:
    if engine == "qdrant-edge":
        return VectorStore(path=folder)
    return VectorStore(engine=QdrantClientEngine.for_local_folder(str(folder)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(engine: str, points: int, queries: int, folder: Path, progress: bool) -> dict:
    rng = random.Random(0)
    store = open_store(engine, folder)
    store.ensure_collection(COLLECTION)
    started = time.perf_counter()
    for start in range(0, points, BATCH):
        store.upsert(COLLECTION, synthetic_points(min(BATCH, points - start), rng))
        if progress:
            print(f"{engine}: {start + BATCH:,} / {points:,} points", file=sys.stderr, end="\r")
    store.optimize(COLLECTION)  # what the embedded engine's own optimizer does after bulk writes
    build_seconds = time.perf_counter() - started
    assert store.count(COLLECTION) == points

    timings = []
    for _ in range(queries):
        query = EmbeddingQuery([rng.gauss(0, 1) for _ in range(EMBEDDING_SIZE)])
        began = time.perf_counter()
        hits = store.search(COLLECTION, query, FILTERS, 10, catalogue_id=CATALOGUE)
        timings.append((time.perf_counter() - began) * 1000)
        assert all(h.payload["emotion"] in ("sad", "calm") and 0.2 <= h.payload["valence"] <= 0.7 for h in hits)
    upserts = []
    for point in synthetic_points(30, rng):
        began = time.perf_counter()
        store.upsert(COLLECTION, [point])
        upserts.append((time.perf_counter() - began) * 1000)
    store.close()

    began = time.perf_counter()
    reopened = open_store(engine, folder)
    reopened.search(COLLECTION, EmbeddingQuery([1.0] * EMBEDDING_SIZE), FILTERS, 10, catalogue_id=CATALOGUE)
    open_ms = (time.perf_counter() - began) * 1000
    reopened.close()
    if progress:
        print(file=sys.stderr)
    return {
        "engine": engine,
        "points": points,
        "query_p50_ms": round(statistics.median(timings), 3),
        "query_p99_ms": round(percentile(timings, 0.99), 3),
        "upsert_ms": round(statistics.median(upserts), 3),
        "open_ms": round(open_ms, 1),
        "build_points_per_s": round(points / build_seconds),
        "queries": queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--local-cap", type=int, default=20_000, help="most points for qdrant-client local mode")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="s2m-vector-bench-") as tmp:
        edge = measure("qdrant-edge", args.points, args.queries, Path(tmp) / "edge", not args.json)
        local_points = min(args.points, args.local_cap)
        local = measure("qdrant-local", local_points, max(20, args.queries // 10), Path(tmp) / "local", not args.json)
    report = {
        "benchmark": "vector_search",
        "filter": FILTERS.model_dump(exclude_defaults=True),
        "engines": [edge, local],
        "ratio_local_over_edge_query_p50": round(local["query_p50_ms"] / edge["query_p50_ms"], 1),
        "ratio_local_over_edge_upsert": round(local["upsert_ms"] / edge["upsert_ms"], 1),
        "targets_met": {"edge_query_p99_under_20ms": edge["query_p99_ms"] < 20},
    }
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
