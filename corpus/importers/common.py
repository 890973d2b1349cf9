"""What every importer shares: decoding and resampling to the corpus rate, writing clips and the card."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from backend.core.audio import AudioError, decode_audio
from corpus.build import CorpusError, prepare_output
from corpus.datacard import summary
from ml.manifest import SAMPLE_RATES, ManifestRow, make_row, write_manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceClip:
    """One clip found in a dataset: where it is and what the dataset says about it."""

    audio_path: Path
    clip_id: str
    modality: str
    split: str
    label: str
    group: str
    transcript: str = ""


def require_dir(src: Path, what: str) -> Path:
    """Return ``src`` if it is a directory, else raise a CorpusError naming it."""
    if not src.is_dir():
        raise CorpusError(f"{what} source {src} is not a directory")
    return src


def write_import(
    clips: Sequence[SourceClip],
    out_dir: Path,
    *,
    dataset: str,
    source: str,
    force: bool,
    notes: Iterable[str] = (),
    progress: bool = True,
) -> Path:
    """Convert the clips into the corpus layout and write manifest.csv and CORPUS.md."""
    if not clips:
        raise CorpusError(f"{dataset}: no labelled clips found in the source")
    started = time.monotonic()
    prepare_output(out_dir, force)
    rows: list[ManifestRow] = []
    skipped: list[str] = []
    for clip in tqdm(clips, desc=f"import {dataset}", unit="clip", disable=not progress):
        row = make_row(clip.clip_id, clip.modality, clip.split, clip.label, clip.group, source, clip.transcript)
        rate = SAMPLE_RATES[clip.modality]
        try:  # decoded, mixed down and resampled to the corpus rate as it streams (the service's decoder)
            audio = decode_audio(clip.audio_path, target_rate=rate)
        except AudioError as error:
            skipped.append(f"{clip.audio_path}: {error}")
            continue
        target = out_dir / row.path
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, audio.samples, rate, subtype="PCM_16")
        rows.append(row)
    for line in skipped:
        log.warning("skipped unreadable clip %s", line)
    if not rows:
        raise CorpusError(f"{dataset}: none of the {len(clips)} clips could be read; first: {skipped[0]}")
    manifest = write_manifest(rows, out_dir / "manifest.csv")
    card = [
        f"# {dataset} imported into the corpus layout",
        "",
        f"Imported by `s2m corpus import` in {time.monotonic() - started:.0f} s; "
        f"{len(rows)} clips written, {len(skipped)} unreadable clips skipped.",
        "",
        *[f"- {n}" for n in notes],
        "",
        "## Counts",
        "",
        summary(rows),
    ]
    if skipped:
        card += ["## Skipped", "", *[f"- {s}" for s in skipped[:50]]]
    (out_dir / "CORPUS.md").write_text("\n".join(card) + "\n", encoding="utf-8")
    return manifest
