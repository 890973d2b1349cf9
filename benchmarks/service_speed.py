"""The embedded default end to end over HTTP: ingest speed, and query latency with a large catalogue.

    PYTHONPATH=$PWD python benchmarks/service_speed.py [--points 100000] [--tracks 24] [--seconds 60] [--json]

Starts ``s2m serve``'s stack (``s2m.local_stack.LocalStack``: the API, a query worker and a
catalogue worker sized to the machine) on the embedded default in a temporary folder, with the
bundled model (or ``--model DIR``). Then:

1. fills the catalogue to 1,000 ready tracks (rows and vectors written directly, as if ingested),
   uploads ``--tracks`` synthetic music files of ``--seconds`` s at 44.1 kHz over HTTP, 8 at a
   time, and times first upload to all ready: audio seconds per wall second, per CPU core;
2. fills the catalogue to ``--points`` tracks and does the same with as many new files (the ratio
   of the two throughputs is the "flat cost" target);
3. at that size: ``POST /v1/search`` (an emotion with a valence range) p50/p99, and a speech
   recommendation of a 10 s clip (upload, worker, answer) p50/p99.

The 1,000-track run is the same-run baseline. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
import soundfile as sf

from backend.core.config import Settings
from backend.core.domain.emotions import MUSIC_LABELS
from backend.core.services import keys as key_service
from backend.core.services.context import ServiceContext
from backend.core.services.model_versions import active_model
from backend.core.storage.models import Track
from backend.core.storage.vectors import EMBEDDING_SIZE, TrackPoint
from s2m.local_stack import LocalStack

RATE = 44100
FILL_BATCH = 5000
UPLOADERS = 8
UNLIMITED = "999999999/minute"  # the largest count a limit may give (nine digits)


def music_file(seed: int, seconds: float) -> bytes:
    """A distinct stereo 'track': chords with a beat and some noise (content differs per seed)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    root = 110 * 2 ** (rng.integers(0, 24) / 12)
    tone = sum(np.sin(2 * np.pi * root * ratio * t) / (k + 1) for k, ratio in enumerate((1, 1.25, 1.5, 2)))
    beat = (np.sin(2 * np.pi * rng.uniform(1, 3) * t) > 0.9).astype(float)
    mono = 0.2 * tone * (0.6 + 0.4 * beat) + 0.02 * rng.normal(size=t.size)
    buffer = io.BytesIO()
    sf.write(buffer, np.stack([mono, np.roll(mono, 7)], axis=1).astype(np.float32), RATE, format="WAV")
    return buffer.getvalue()


def speech_file(seed: int, seconds: float = 10.0) -> bytes:
    """A 10 s 'voice': a gliding pitch with formant-like harmonics and pauses, at 16 kHz."""
    rng = np.random.default_rng(seed)
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140 + 40 * np.sin(2 * np.pi * 0.7 * t) + rng.normal(0, 2, t.size)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)) * (np.sin(2 * np.pi * 2.5 * t) > -0.3)
    buffer = io.BytesIO()
    sf.write(buffer, (0.2 * voice).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def fill_catalogue(context: ServiceContext, catalogue_id: uuid.UUID, target: int, rng: random.Random) -> None:
    """Add ready tracks (rows and vectors) until the catalogue holds ``target``."""
    with context.db.session() as session:
        model = active_model(session)
        have = session.query(Track).count()
    assert model is not None
    context.ensure_collection(model.collection)
    while have < target:
        size = min(FILL_BATCH, target - have)
        rows, points = [], []
        for _ in range(size):
            emotion, valence, arousal = rng.choice(MUSIC_LABELS), rng.random(), rng.random()
            track_id = uuid.UUID(int=rng.getrandbits(128))
            rows.append(
                Track(
                    id=track_id,
                    catalogue_id=catalogue_id,
                    title=f"filler {have + len(rows)}",
                    content_sha256=uuid.UUID(int=rng.getrandbits(128)).hex * 2,
                    media_format="wav",
                    duration_seconds=180.0,
                    status="ready",
                    attempts=1,
                    emotion=emotion,
                    valence=valence,
                    arousal=arousal,
                    model_version=model.version,
                )
            )
            vector = [rng.gauss(0, 1) for _ in range(EMBEDDING_SIZE)]
            points.append(TrackPoint(track_id, catalogue_id, vector, emotion, valence, arousal, ()))
        with context.db.session() as session:
            session.add_all(rows)
            session.commit()
        context.vectors.upsert(model.collection, points)
        have += size
        print(f"catalogue: {have:,} / {target:,}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    context.vectors.optimize(model.collection)  # what the owner's optimizer would do after these writes


def ingest_over_http(url: str, key: str, files: list[bytes], seconds: float) -> dict:
    """Upload ``files`` in parallel and wait until every one is ready; audio seconds per wall second."""
    http = keyed_session(key)
    started = time.perf_counter()

    def upload(data: bytes) -> str:
        response = http.post(url + "/v1/tracks", files={"file": ("track.wav", data)}, timeout=120)
        response.raise_for_status()
        return response.json()["id"]

    with ThreadPoolExecutor(UPLOADERS) as pool:
        ids = list(pool.map(upload, files))
    uploaded = time.perf_counter() - started
    waiting = set(ids)
    while waiting:
        for track_id in list(waiting):
            status = http.get(f"{url}/v1/tracks/{track_id}", timeout=30).json()["status"]
            if status == "failed":
                raise RuntimeError(f"track {track_id} failed")
            if status == "ready":
                waiting.discard(track_id)
        time.sleep(0.1)
    wall = time.perf_counter() - started
    cores = len(os.sched_getaffinity(0))
    audio = seconds * len(files)
    return {
        "tracks": len(files),
        "audio_seconds": audio,
        "upload_seconds": round(uploaded, 2),
        "wall_seconds": round(wall, 2),
        "x_real_time": round(audio / wall, 1),
        "x_real_time_per_core": round(audio / wall / cores, 1),
        "cores": cores,
    }


def latency(run, count: int) -> dict:
    timings = []
    for n in range(count):
        began = time.perf_counter()
        run(n)
        timings.append((time.perf_counter() - began) * 1000)
    ordered = sorted(timings)
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 1),
        "n": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--baseline-points", type=int, default=1_000)
    parser.add_argument("--tracks", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--recommendations", type=int, default=20)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="s2m-service-bench-") as tmp:
        overrides = {"model_dir": args.model} if args.model else {}
        settings = Settings.from_env(
            data_dir=Path(tmp),
            database_url="",
            celery_broker_url="",
            qdrant_url="",
            qdrant_path="",
            media_dir="",
            # The benchmark measures the service, not the limits (which it would meet at once).
            default_key_rate_limit=UNLIMITED,
            upload_rate_limit=UNLIMITED,
            query_rate_limit=UNLIMITED,
            **overrides,
        )
        with LocalStack(settings) as stack:
            context = stack._context
            assert context is not None
            # The workers register the model as they start; wait for it.
            while stack_model(context) is None:
                stack.sleep(0.2)
            catalogue = key_service.ensure_catalogue(context.db, "bench")
            key = key_service.create_key(context.db, catalogue.id, ["read", "query", "ingest"], None, "bench").key
            fill_catalogue(context, catalogue.id, args.baseline_points, rng)
            first = [music_file(n, args.seconds) for n in range(args.tracks)]
            small = ingest_over_http(stack.url, key, first, args.seconds)
            fill_catalogue(context, catalogue.id, args.points, rng)
            files = [music_file(1000 + n, args.seconds) for n in range(args.tracks)]
            large = ingest_over_http(stack.url, key, files, args.seconds)

            http = keyed_session(key)
            body = {"emotion": "sad", "valence_min": 0.1, "valence_max": 0.6, "limit": 10}
            http.post(stack.url + "/v1/search", json=body, timeout=30).raise_for_status()
            search = latency(
                lambda _n: http.post(stack.url + "/v1/search", json=body, timeout=30).raise_for_status(),
                args.searches,
            )
            clips = [speech_file(n) for n in range(args.recommendations + 1)]

            def recommend(n: int) -> None:
                posted = http.post(stack.url + "/v1/recommendations", files={"file": ("q.wav", clips[n])}, timeout=60)
                posted.raise_for_status()
                answer = http.get(f"{stack.url}/v1/recommendations/{posted.json()['id']}?wait=30", timeout=60).json()
                if answer["status"] != "ready" or not answer["results"]:
                    raise RuntimeError(f"recommendation not answered: {answer}")

            recommend(args.recommendations)  # the query worker's first call loads its model
            recommendation = latency(recommend, args.recommendations)
            workers = {w.spec.name: w.spec.concurrency for w in stack.workers}
    report = {
        "benchmark": "service_speed",
        "engine": "qdrant-edge",
        "workers": workers,
        "ingest": {f"at_{args.baseline_points}": small, f"at_{args.points}": large},
        "ingest_ratio_large_over_small": round(large["x_real_time"] / small["x_real_time"], 2),
        f"search_at_{args.points}": search,
        f"recommendation_10s_at_{args.points}": recommendation,
        "targets_met": {
            "search_p50_under_50ms": search["p50_ms"] < 50,
            "recommendation_p50_under_500ms": recommendation["p50_ms"] < 500,
            "ingest_large_within_20pct_of_small": large["x_real_time"] >= 0.8 * small["x_real_time"],
            "ingest_at_least_100x_real_time_per_core": large["x_real_time_per_core"] >= 100,
        },
    }
    print(json.dumps(report, indent=None if args.json else 2))


def keyed_session(key: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    return http


def stack_model(context: ServiceContext):
    with context.db.session() as session:
        return active_model(session)


if __name__ == "__main__":
    main()
