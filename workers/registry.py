"""Reading a model directory into the model registry (worker start and ``s2m reindex``).

Only the worker side (and the CLI) reads model files: ``config.json`` for the version and the
speech/music label lists, ``labels.json`` for each label's valence/arousal point and
``prototypes.json`` for the music prototypes. What they say is stored in the database by
:func:`backend.core.services.model_versions.register_model`, where the API reads it. Plain JSON:
nothing here imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backend.core.services.context import ServiceContext
from backend.core.services.model_versions import (
    LabelInfo,
    ModelDescription,
    activate_if_none,
    register_model,
)
from backend.core.storage.db import Database
from backend.core.storage.models import ModelVersion

CONFIG_FILE = "config.json"
LABELS_FILE = "labels.json"
PROTOTYPES_FILE = "prototypes.json"


class ModelDirError(ValueError):
    """A folder is not a readable model directory; the message names the file and the problem."""


def _read_json(path: Path, required: bool = True) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not required:
            return None
        raise ModelDirError(f"no model at {path.parent}: {path} is missing") from None
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{path} cannot be read as JSON ({exc})") from None


def read_model_description(model_dir: Path) -> ModelDescription:
    """Describe the model in ``model_dir`` for the registry (version, labels, prototypes)."""
    model_dir = Path(model_dir)
    config = _read_json(model_dir / CONFIG_FILE)
    if not isinstance(config, dict) or not config.get("version"):
        raise ModelDirError(f"{model_dir / CONFIG_FILE} has no readable 'version'")
    points = _read_json(model_dir / LABELS_FILE, required=False) or {}
    prototypes = _read_json(model_dir / PROTOTYPES_FILE, required=False) or {}
    speech = set(config.get("speech_labels") or ())
    music = set(config.get("music_labels") or ())
    names = list(dict.fromkeys([*(config.get("labels") or ()), *points, *prototypes]))
    labels = []
    for name in names:
        point = points.get(name)
        if not isinstance(point, dict) or not {"valence", "arousal"} <= set(point):
            raise ModelDirError(f"{model_dir / LABELS_FILE} has no valence/arousal point for label {name!r}")
        prototype = prototypes.get(name)
        labels.append(
            LabelInfo(
                name=name,
                valence=float(point["valence"]),
                arousal=float(point["arousal"]),
                speech=name in speech,
                music=name in music or prototype is not None,
                prototype=None if prototype is None else tuple(float(x) for x in prototype),
            )
        )
    return ModelDescription(version=str(config["version"]), model_dir=str(model_dir.resolve()), labels=tuple(labels))


def register_model_dir(db: Database, model_dir: Path, activate: bool = True) -> ModelVersion:
    """Register the model in ``model_dir``; with ``activate``, it answers queries if no model does yet."""
    description = read_model_description(model_dir)
    with db.session() as session:
        row = register_model(session, description)
        if activate:
            activate_if_none(session, row.version)
        return row


def register_configured_model(services: ServiceContext) -> ModelVersion:
    """Register (and activate, if none is) the model of the ``MODEL_DIR`` setting."""
    return register_model_dir(services.db, services.settings.model_dir)
