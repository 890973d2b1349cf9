"""Reading a model directory into the registry: what is stored, and folders that are not models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backend.core.config import Settings
from backend.core.services.errors import UnavailableError
from backend.core.services.model_versions import active_model, require_active_model
from backend.core.storage.db import Database, upgrade_database
from workers.registry import ModelDirError, read_model_description, register_model_dir


def test_the_description_holds_every_label_with_its_point_and_side(model_dir: Path) -> None:
    description = read_model_description(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    points = json.loads((model_dir / "labels.json").read_text())
    prototypes = json.loads((model_dir / "prototypes.json").read_text())
    assert description.version == config["version"]
    assert [label.name for label in description.labels] == config["labels"]
    for label in description.labels:
        assert (label.valence, label.arousal) == (points[label.name]["valence"], points[label.name]["arousal"])
        assert label.speech == (label.name in config["speech_labels"])
        assert label.music == (label.name in config["music_labels"])
        assert (label.prototype is None) == (label.name not in prototypes)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "config.json").unlink(), "config.json is missing"),
        (lambda d: (d / "config.json").write_text("{not json"), "cannot be read as JSON"),
        (lambda d: (d / "config.json").write_text('{"labels": []}'), "has no readable 'version'"),
        (lambda d: (d / "labels.json").write_text('{"sad": {"valence": 0.2}}'), "no valence/arousal point"),
    ],
)
def test_a_folder_that_is_not_a_model_is_refused_naming_the_file(
    model_dir: Path, tmp_path: Path, damage, message: str
) -> None:
    broken = Path(shutil.copytree(model_dir, tmp_path / "broken"))
    damage(broken)
    with pytest.raises(ModelDirError, match=message):
        read_model_description(broken)


def test_the_first_registered_model_becomes_active_and_later_ones_do_not(model_dir: Path, tmp_path: Path) -> None:
    from ml.embedding.bundle import write_untrained_model

    settings = Settings(data_dir=tmp_path)
    upgrade_database(settings.resolved_database_url)
    db = Database.from_settings(settings)
    with db.session() as session, pytest.raises(UnavailableError, match="no embedding model is registered"):
        require_active_model(session)
    first = register_model_dir(db, model_dir)
    again = register_model_dir(db, model_dir)  # registering twice changes nothing
    second = register_model_dir(db, write_untrained_model(tmp_path / "other", seed=3))
    with db.session() as session:
        assert active_model(session).version == first.version == again.version != second.version
    db.dispose()
