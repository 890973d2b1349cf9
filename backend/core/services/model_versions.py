"""The model registry: which embedding models exist, what they know, and which one answers queries.

A worker (at start) or ``s2m reindex`` reads a model directory and registers what it found here:
version, collection, label table (label -> valence/arousal, speech/music side) and the music
prototypes. The API answers from these rows alone; it never opens a model file. The database
holds one ``active_model`` row; reindexing registers a new version, fills its collection, then
switches that row in one transaction. Before any model is registered, search answers 503.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.services.errors import InvalidInputError, UnavailableError
from backend.core.storage.models import ActiveModel, ModelLabel, ModelVersion, utcnow
from backend.core.storage.vectors import collection_name

ACTIVE_ROW_ID = 1
NO_MODEL_MESSAGE = (
    "no embedding model is registered yet: start a worker (it registers MODEL_DIR's model) or run `s2m reindex`"
)


@dataclass(frozen=True)
class LabelInfo:
    """One label of a model, as its model directory describes it."""

    name: str
    valence: float
    arousal: float
    speech: bool
    music: bool
    prototype: tuple[float, ...] | None = None  # the mean music embedding (music labels only)


@dataclass(frozen=True)
class ModelDescription:
    """What the registry stores about a model; read from a model directory by the worker side."""

    version: str
    model_dir: str  # where workers load the weights from
    labels: tuple[LabelInfo, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.version:
            raise ValueError("a model needs a non-empty version")
        names = [label.name for label in self.labels]
        if len(set(names)) != len(names):
            raise ValueError(f"model {self.version} lists a label twice: {names}")


def _label_rows(description: ModelDescription) -> list[ModelLabel]:
    return [
        ModelLabel(
            label=info.name,
            position=position,
            valence=info.valence,
            arousal=info.arousal,
            speech=info.speech,
            music=info.music,
            prototype=list(info.prototype) if info.prototype is not None else None,
        )
        for position, info in enumerate(description.labels)
    ]


def register_model(session: Session, description: ModelDescription) -> ModelVersion:
    """Record the model (once) with its labels and prototypes and return its row; commits.

    A version registered before labels were stored (an older database) gets them now.
    """
    row = session.get(ModelVersion, description.version)
    if row is not None:
        if not row.labels and description.labels:
            row.labels = _label_rows(description)
            session.commit()
        return row
    row = ModelVersion(
        version=description.version,
        model_dir=description.model_dir,
        collection=collection_name(description.version),
        labels=_label_rows(description),
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another process registered it first
        session.rollback()
        row = session.get(ModelVersion, description.version)
        assert row is not None
    return row


def active_model(session: Session) -> ModelVersion | None:
    """The model queries use, or None before any model is registered."""
    row = session.get(ActiveModel, ACTIVE_ROW_ID)
    return None if row is None else row.model


def require_active_model(session: Session) -> ModelVersion:
    """The model queries use; :class:`UnavailableError` (503) before any model is registered."""
    model = active_model(session)
    if model is None:
        raise UnavailableError(NO_MODEL_MESSAGE, code="no_model")
    return model


def activate_if_none(session: Session, version: str) -> ModelVersion:
    """Make ``version`` active unless a model already is; return the active model; commits."""
    current = active_model(session)
    if current is not None:
        return current
    session.add(ActiveModel(id=ACTIVE_ROW_ID, version=version))
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


def emotion_prototype(model: ModelVersion, label: str) -> tuple[float, ...]:
    """Return the model's mean music embedding for ``label``, from the registry."""
    prototypes = {row.label: row.prototype for row in model.labels if row.prototype is not None}
    if label not in prototypes:
        known = ", ".join(sorted(prototypes)) or "none (the model has no music prototypes)"
        raise InvalidInputError(
            f"the model has no music prototype for emotion {label!r}; search by one of: {known}",
            code="no_prototype",
        )
    return tuple(float(x) for x in prototypes[label])
