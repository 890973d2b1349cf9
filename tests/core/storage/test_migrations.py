"""Migration 0002 gives models registered before it their labels and prototypes, from their folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from backend.core.config import DEFAULT_MODEL_DIR, Settings
from backend.core.services.model_versions import emotion_prototype, register_model
from backend.core.storage.db import Database, upgrade_database
from backend.core.storage.models import ModelVersion
from workers.registry import read_model_description


def _register_at_0001(db: Database, version: str, model_dir: Path) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO model_versions (version, model_dir, collection, created_at) "
                "VALUES (:version, :model_dir, :collection, CURRENT_TIMESTAMP)"
            ),
            {"version": version, "model_dir": str(model_dir), "collection": f"tracks__{version}"},
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_older_rows_get_their_labels_from_the_model_folder(
    backend: str, tmp_path: Path, postgres_schema, model_dir: Path
) -> None:
    url = postgres_schema() if backend == "postgres" else Settings(data_dir=tmp_path).resolved_database_url
    upgrade_database(url, "0001")
    db = Database(url)
    bundled = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["version"]
    moved = shutil.copytree(model_dir, tmp_path / "gone")
    untrained = json.loads((moved / "config.json").read_text())["version"]
    _register_at_0001(db, bundled, DEFAULT_MODEL_DIR)
    _register_at_0001(db, untrained, moved)
    shutil.rmtree(moved)  # this model's folder is no longer there

    upgrade_database(url)
    with db.session() as session:
        kept = session.get(ModelVersion, bundled)
        assert [label.label for label in kept.labels] == list(
            json.loads((DEFAULT_MODEL_DIR / "labels.json").read_text())
        )
        prototypes = json.loads((DEFAULT_MODEL_DIR / "prototypes.json").read_text())
        assert emotion_prototype(kept, "sad") == pytest.approx(prototypes["sad"])
        assert {label.label for label in kept.labels if label.music} == set(prototypes)
        assert session.get(ModelVersion, untrained).labels == []  # nothing to read: filled at registration

        # The next registration of that model (a worker start, `s2m reindex`) fills them in.
        register_model(session, read_model_description(model_dir))
        assert len(session.get(ModelVersion, untrained).labels) == len(kept.labels)
    db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_existing_rows_move_into_the_default_catalogue(backend: str, tmp_path: Path, postgres_schema) -> None:
    """Migration 0004: tracks and requests of an older install belong to "default" afterwards; the same
    audio may then be a track of each catalogue, but only once in one."""
    import uuid

    from sqlalchemy.exc import IntegrityError

    from backend.core.storage.models import DEFAULT_CATALOGUE_ID, Catalogue, RecommendationRequest, Track

    url = postgres_schema() if backend == "postgres" else Settings(data_dir=tmp_path).resolved_database_url
    upgrade_database(url, "0003")
    db = Database(url)
    track_id, request_id = uuid.uuid4(), uuid.uuid4()
    uuid_value = (lambda value: str(value)) if backend == "postgres" else (lambda value: value.hex)
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tracks (id, status, attempts, media_format, duration_seconds, content_sha256, "
                "created_at, updated_at) VALUES (:id, 'ready', 1, 'WAV', 2.0, :sha, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            {"id": uuid_value(track_id), "sha": "ab" * 32},
        )
        connection.execute(
            text(
                "INSERT INTO recommendation_requests (id, status, attempts, media_format, duration_seconds, "
                "speech_sha256, filters, result_limit, created_at, updated_at) VALUES (:id, 'queued', 0, 'WAV', "
                "1.0, :sha, '{}', 10, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": uuid_value(request_id), "sha": "cd" * 32},
        )

    upgrade_database(url)
    with db.session() as session:
        default = session.get(Catalogue, DEFAULT_CATALOGUE_ID)
        assert default is not None and default.name == "default"
        track = session.get(Track, track_id)
        assert track.catalogue_id == DEFAULT_CATALOGUE_ID and track.size_bytes == 0  # no media store here
        assert session.get(RecommendationRequest, request_id).catalogue_id == DEFAULT_CATALOGUE_ID

        other = Catalogue(name="other")
        session.add(other)
        session.commit()
        row = {"media_format": "WAV", "duration_seconds": 2.0, "content_sha256": "ab" * 32, "status": "queued"}
        session.add(Track(catalogue_id=other.id, **row))
        session.commit()  # the same audio in another catalogue is another track
        session.add(Track(catalogue_id=other.id, **row))
        with pytest.raises(IntegrityError):  # but once per catalogue
            session.commit()
    db.dispose()
