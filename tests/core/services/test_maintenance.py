"""`s2m reconcile` and `s2m reindex` against PostgreSQL + Redis with a real worker."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from backend.core.storage.models import Track
from backend.core.storage.vectors import ACTIVE_ALIAS, TrackPoint
from tests.support.stack import Stack, run_cli, wait_until
from tests.support.synth import music_wav


def _ready_track(stack: Stack, data: bytes, title: str) -> dict:
    response = stack.http.post(stack.url("/v1/tracks"), files={"file": ("t.wav", data)}, data={"title": title})
    assert response.status_code in (200, 202), response.text
    track = stack.wait_track(response.json()["id"], timeout=60)
    assert track["status"] == "ready", track
    return track


def test_reconcile_repairs_missing_and_orphan_vectors(fault_stack: Stack) -> None:
    stack = fault_stack
    track = _ready_track(stack, music_wav("dark", 60), "loses its vector")
    collection = stack.active_collection()
    stack.context.vectors.delete(collection, [uuid.UUID(track["id"])])
    orphan = uuid.uuid4()
    stack.context.vectors.upsert(
        collection, [TrackPoint(orphan, uuid.uuid4(), [1.0] + [0.0] * 63, "sad", 0.2, 0.3, ())]
    )

    dry = run_cli(stack.settings, "reconcile", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would re-embed 1 track(s)" in dry.stdout and "would delete 1 vector(s)" in dry.stdout
    assert orphan in stack.context.vectors.point_ids(collection)

    done = run_cli(stack.settings, "reconcile")
    assert done.returncode == 0, done.stderr
    assert orphan not in stack.context.vectors.point_ids(collection)
    wait_until(lambda: stack.context.vectors.embeddings(collection, [track["id"]]), 60, 0.2, "the re-embedded vector")
    assert stack.wait_track(track["id"])["status"] == "ready"
    again = run_cli(stack.settings, "reconcile", "--dry-run")
    assert "would re-embed 0 track(s)" in again.stdout and "would delete 0 vector(s)" in again.stdout


def test_reconcile_files_a_vector_under_its_tracks_catalogue(fault_stack: Stack) -> None:
    """A vector without its track's catalogue (as written before catalogues existed) is found by no
    query of that catalogue; reconcile gives it the catalogue, without re-embedding."""
    stack = fault_stack
    track = _ready_track(stack, music_wav("dark", 62), "filed elsewhere")
    track_id = uuid.UUID(track["id"])
    collection = stack.active_collection()
    embedding = stack.context.vectors.embeddings(collection, [track_id])[track_id]
    with stack.context.db.session() as session:
        catalogue_id = session.get(Track, track_id).catalogue_id
    stray = TrackPoint(track_id, uuid.uuid4(), embedding, track["emotion"], track["valence"], track["arousal"], ())
    stack.context.vectors.upsert(collection, [stray])
    assert track_id not in stack.context.vectors.point_ids(collection, catalogue_id=catalogue_id)
    like = {"like_track": track["id"], "limit": 100}
    assert stack.http.post(stack.url("/v1/search"), json=like).json()["error"]["code"] == "track_not_ready"

    dry = run_cli(stack.settings, "reconcile", "--dry-run")
    assert "would file 1 vector(s) under their track's catalogue" in dry.stdout, dry.stdout
    assert "would re-embed 0 track(s)" in dry.stdout
    done = run_cli(stack.settings, "reconcile")
    assert done.returncode == 0, done.stderr
    assert track_id in stack.context.vectors.point_ids(collection, catalogue_id=catalogue_id)
    assert stack.context.vectors.embeddings(collection, [track_id])[track_id] == embedding
    assert stack.http.post(stack.url("/v1/search"), json=like).status_code == 200


def test_reindex_fills_a_new_collection_then_switches(fault_stack: Stack, tmp_path: Path) -> None:
    from ml.embedding.bundle import write_untrained_model

    stack = fault_stack
    _ready_track(stack, music_wav("bright", 61), "before reindex")
    old = stack.active_collection()
    new_model = write_untrained_model(tmp_path / "next-model", seed=1)
    with stack.context.db.session() as session:
        ready = {str(t.id) for t in session.scalars(select(Track).where(Track.status == "ready"))}

    result = run_cli(stack.settings, "reindex", "--model-dir", str(new_model), timeout=300)
    assert result.returncode == 0, result.stderr
    new = stack.active_collection()
    assert new != old and "queries now use" in result.stdout
    assert {str(i) for i in stack.context.vectors.point_ids(new)} == ready
    assert stack.context.vectors.aliases()[ACTIVE_ALIAS] == new  # the engine's alias switched too
    assert stack.context.vectors.count(old) >= len(ready)  # the old collection stays for a rollback
    version = new.removeprefix("tracks__")
    tracks = [stack.http.get(stack.url(f"/v1/tracks/{tid}")).json() for tid in ready]
    assert {t["model_version"] for t in tracks} == {version}
    assert stack.http.post(stack.url("/v1/search"), json={"emotion": "sad"}).json()["results"]

    # The worker notices the switch and embeds new tracks with the new model.
    fresh = _ready_track(stack, music_wav("noisy", 62), "after reindex")
    assert fresh["model_version"] == version
    assert stack.context.vectors.embeddings(new, [fresh["id"]])


def test_reindex_refuses_a_folder_that_is_not_a_model(fault_stack: Stack, tmp_path: Path) -> None:
    result = run_cli(fault_stack.settings, "reindex", "--model-dir", str(tmp_path))
    assert result.returncode != 0
    assert "config.json is missing" in result.stderr
