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
