"""Which embedding model (and so which Qdrant collection) the catalogue answers queries with.

The database holds one ``active_model`` row; reindexing registers a new version, fills its
collection, then switches that row in one transaction. Model directories are read as plain JSON
here (config.json, prototypes.json): the API never loads the model itself.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.services.errors import InvalidInputError, UnavailableError
from backend.core.storage.models import ActiveModel, ModelVersion, utcnow
from backend.core.storage.vectors import collection_name

ACTIVE_ROW_ID = 1


def read_model_version(model_dir: Path) -> str:
    """Return the ``version`` recorded in ``model_dir/config.json``."""
    config_path = Path(model_dir) / "config.json"
    try:
        version = json.loads(config_path.read_text())["version"]
    except FileNotFoundError:
        raise UnavailableError(f"no model at {model_dir}: {config_path} is missing") from None
    except (KeyError, ValueError) as exc:
        raise UnavailableError(f"{config_path} has no readable 'version' ({exc})") from None
    return str(version)


def register_model(session: Session, model_dir: Path) -> ModelVersion:
    """Record the model in ``model_dir`` (once) and return its row; commits."""
    version = read_model_version(model_dir)
    row = session.get(ModelVersion, version)
    if row is not None:
        return row
    row = ModelVersion(version=version, model_dir=str(Path(model_dir).resolve()), collection=collection_name(version))
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another process registered it first
        session.rollback()
        row = session.get(ModelVersion, version)
        assert row is not None
    return row


def active_model(session: Session) -> ModelVersion | None:
    row = session.get(ActiveModel, ACTIVE_ROW_ID)
    return None if row is None else row.model


def ensure_active_model(session: Session, default_model_dir: Path) -> ModelVersion:
    """Return the active model, making ``default_model_dir``'s model active when none is yet."""
    current = active_model(session)
    if current is not None:
        return current
    model = register_model(session, default_model_dir)
    session.add(ActiveModel(id=ACTIVE_ROW_ID, version=model.version))
    try:
        session.commit()
    except IntegrityError:  # another process activated one first: use theirs
        session.rollback()
    current = active_model(session)
    assert current is not None
    return current


def set_active_model(session: Session, version: str) -> None:
    """Point queries at ``version`` (no commit: the caller switches inside its own transaction)."""
    row = session.get(ActiveModel, ACTIVE_ROW_ID)
    if row is None:
        session.add(ActiveModel(id=ACTIVE_ROW_ID, version=version))
    else:
        row.version = version
        row.switched_at = utcnow()


def all_collections(session: Session) -> list[str]:
    return list(session.scalars(select(ModelVersion.collection)))


@lru_cache(maxsize=8)
def _prototypes(path: str, mtime_ns: int) -> dict[str, tuple[float, ...]]:
    data = json.loads(Path(path).read_text())
    return {label: tuple(float(x) for x in vector) for label, vector in data.items()}


def emotion_prototype(model: ModelVersion, label: str) -> tuple[float, ...]:
    """Return the model's mean music embedding for ``label`` (from prototypes.json)."""
    path = Path(model.model_dir) / "prototypes.json"
    try:
        prototypes = _prototypes(str(path), path.stat().st_mtime_ns)
    except (OSError, ValueError) as exc:
        raise UnavailableError(f"the model's emotion prototypes cannot be read from {path} ({exc})") from None
    if label not in prototypes:
        known = ", ".join(sorted(prototypes))
        raise InvalidInputError(
            f"the model has no music prototype for emotion {label!r}; search by one of: {known}",
            code="no_prototype",
        )
    return prototypes[label]
