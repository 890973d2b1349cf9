"""model registry: each model's labels, valence/arousal points and music prototypes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

The API answers emotion search from these rows instead of reading prototypes.json from the
model directory. Models registered before this revision get their labels here, read from the
model directory recorded on their row when it is still there; otherwise the next worker start
or `s2m reindex` that registers the model fills them in.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _read(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _labels_of(version: str, model_dir: str) -> list[dict]:
    """The label rows of one registered model, from its directory (empty when it cannot be read)."""
    folder = Path(model_dir)
    config, points, prototypes = (_read(folder / name) for name in ("config.json", "labels.json", "prototypes.json"))
    if not isinstance(config, dict) or config.get("version") != version or not isinstance(points, dict):
        return []
    prototypes = prototypes if isinstance(prototypes, dict) else {}
    speech, music = set(config.get("speech_labels") or ()), set(config.get("music_labels") or ())
    names = list(dict.fromkeys([*(config.get("labels") or ()), *points, *prototypes]))
    rows = []
    for position, name in enumerate(names):
        point = points.get(name)
        if not isinstance(point, dict) or not {"valence", "arousal"} <= set(point):
            return []
        prototype = prototypes.get(name)
        rows.append(
            {
                "version": version,
                "label": name,
                "position": position,
                "valence": float(point["valence"]),
                "arousal": float(point["arousal"]),
                "speech": name in speech,
                "music": name in music or prototype is not None,
                "prototype": None if prototype is None else [float(x) for x in prototype],
            }
        )
    return rows


def upgrade() -> None:
    model_labels = op.create_table(
        "model_labels",
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("valence", sa.Float(), nullable=False),
        sa.Column("arousal", sa.Float(), nullable=False),
        sa.Column("speech", sa.Boolean(), nullable=False),
        sa.Column("music", sa.Boolean(), nullable=False),
        sa.Column("prototype", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version"],
            ["model_versions.version"],
            name=op.f("fk_model_labels_version_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version", "label", name=op.f("pk_model_labels")),
    )
    connection = op.get_bind()
    existing = connection.execute(sa.text("SELECT version, model_dir FROM model_versions")).all()
    rows = [row for version, model_dir in existing for row in _labels_of(version, model_dir)]
    if rows:
        op.bulk_insert(model_labels, rows)


def downgrade() -> None:
    op.drop_table("model_labels")
