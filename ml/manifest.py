"""The corpus manifest: one CSV row per clip, the contract every corpus consumer reads."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from backend.core.domain.emotions import get_emotion

SPLITS: tuple[str, ...] = ("train", "valid", "test")
MODALITIES: tuple[str, ...] = ("speech", "music")
SAMPLE_RATES: dict[str, int] = {"speech": 16_000, "music": 22_050}


@dataclass(frozen=True)
class ManifestRow:
    """One clip: where it lies (relative to the corpus root), its split, label and provenance."""

    path: str
    modality: str
    split: str
    label: str
    valence: float
    arousal: float
    group: str
    source: str
    transcript: str


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ManifestRow))


def make_row(
    clip_id: str, modality: str, split: str, label: str, group: str, source: str, transcript: str = ""
) -> ManifestRow:
    """Build the row of a clip stored at ``<modality>/<split>/<label>/<clip_id>.wav``."""
    emotion = get_emotion(label)
    return ManifestRow(
        path=clip_path(modality, split, label, clip_id),
        modality=modality,
        split=split,
        label=label,
        valence=emotion.valence,
        arousal=emotion.arousal,
        group=group,
        source=source,
        transcript=transcript,
    )


def clip_path(modality: str, split: str, label: str, clip_id: str) -> str:
    """Return the relative path of a clip in the corpus layout."""
    return f"{modality}/{split}/{label}/{clip_id}.wav"


def write_manifest(rows: list[ManifestRow], path: Path) -> Path:
    """Write rows sorted by path, so the same corpus always gives the same file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: r.path):
            writer.writerow(asdict(row))
    return path


def read_manifest(path: Path) -> list[ManifestRow]:
    """Read a manifest written by :func:`write_manifest`."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: columns {reader.fieldnames} are not {list(COLUMNS)}")
        return [
            ManifestRow(**{**raw, "valence": float(raw["valence"]), "arousal": float(raw["arousal"])}) for raw in reader
        ]
