"""Finding labelled clips: folder-per-label trees (``ROOT/<label>/<file>``) and corpus splits."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

# Files beside the audio that are not audio: a query's transcript is ``<name>.txt``.
TRANSCRIPT_SUFFIX = ".txt"


class DatasetError(ValueError):
    """A label tree or corpus cannot be evaluated; the message names the offending path or label."""


@dataclass(frozen=True)
class LabelledClip:
    """One audio file, the emotion label of its folder, and its transcript when one exists."""

    path: Path
    label: str
    transcript: str | None = None


def scan_label_tree(
    root: Path, known_labels: tuple[str, ...], kind: str, transcripts: dict[Path, str] | None = None
) -> list[LabelledClip]:
    """List every audio file under ``root/<label>/`` (sorted), refusing labels outside ``known_labels``.

    Every non-hidden file that is not a ``.txt`` transcript counts as audio, so a file that cannot be
    decoded is reported later by name rather than skipped silently. ``transcripts`` (resolved path ->
    text) wins over a ``<name>.txt`` beside the file.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{kind} folder {str(root)!r} does not exist or is not a folder")
    transcripts = transcripts or {}
    clips: list[LabelledClip] = []
    for entry in sorted(_visible(root.iterdir())):
        if not entry.is_dir():
            raise DatasetError(f"{str(entry)!r} is not inside a label folder; {kind} files go in {root}/<label>/")
        if entry.name not in known_labels:
            raise DatasetError(
                f"label folder {str(entry)!r}: {entry.name!r} is not a {kind} emotion; "
                f"known {kind} emotions: {', '.join(known_labels)}"
            )
        for path in sorted(_visible(entry.rglob("*"))):
            if path.is_file() and path.suffix.lower() != TRANSCRIPT_SUFFIX:
                transcript = transcripts.get(path.resolve()) or _read_transcript(path)
                clips.append(LabelledClip(path=path, label=entry.name, transcript=transcript))
    if not clips:
        raise DatasetError(f"no {kind} audio files under {str(root)!r} (expected {root}/<label>/<file>)")
    return clips


def corpus_split_dirs(corpus_dir: Path, split: str) -> tuple[Path, Path]:
    """Return the (speech queries, music catalogue) folders of one split of a built corpus."""
    corpus_dir = Path(corpus_dir)
    return corpus_dir / "speech" / split, corpus_dir / "music" / split


def manifest_transcripts(corpus_dir: Path) -> dict[Path, str]:
    """Return resolved path -> transcript for every manifest row that has one (empty without a manifest)."""
    manifest = Path(corpus_dir) / "manifest.csv"
    if not manifest.is_file():
        return {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        return {
            (Path(corpus_dir) / row["path"]).resolve(): row["transcript"].strip()
            for row in csv.DictReader(handle)
            if (row.get("transcript") or "").strip()
        }


def _visible(paths) -> list[Path]:
    return [p for p in paths if not p.name.startswith(".")]


def _read_transcript(audio_path: Path) -> str | None:
    beside = audio_path.with_suffix(TRANSCRIPT_SUFFIX)
    if not beside.is_file():
        return None
    return beside.read_text(encoding="utf-8").strip() or None
