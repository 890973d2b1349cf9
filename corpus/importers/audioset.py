"""AudioSet music mood: a segments CSV (YTID, start, end, label mids) plus already-downloaded clips."""

from __future__ import annotations

import csv
from pathlib import Path

from corpus.build import CorpusError
from corpus.importers.common import SourceClip, require_dir, write_import
from corpus.splits import hash_seed, partition

# AudioSet ontology ids of the seven "music mood" classes.
MOOD_MIDS = {
    "/t/dd00031": "happy",
    "/t/dd00032": "funny",
    "/t/dd00033": "sad",
    "/t/dd00034": "tender",
    "/t/dd00035": "exciting",
    "/t/dd00036": "angry",
    "/t/dd00037": "scary",
}
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def read_segments(csv_path: Path) -> list[tuple[str, float, str]]:
    """Return (YTID, start seconds, mood) for segments carrying exactly one mood label."""
    segments = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = csv.reader((line for line in handle if not line.startswith("#")), skipinitialspace=True)
        for row in rows:
            if len(row) < 4:
                continue
            moods = {MOOD_MIDS[m] for m in row[3].split(",") if m.strip() in MOOD_MIDS}
            if len(moods) == 1:
                segments.append((row[0].strip(), float(row[1]), moods.pop()))
    return segments


def index_clips(clips_dir: Path) -> dict[str, Path]:
    """Map each YTID to its downloaded file: <YTID>.*, Y<YTID>.*, or either followed by _<times>."""
    index: dict[str, Path] = {}
    for path in sorted(clips_dir.rglob("*")):
        if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
            for ytid in _ytid_candidates(path.stem):
                index.setdefault(ytid, path)
    return index


def _ytid_candidates(stem: str) -> list[str]:
    """YouTube ids are 11 characters of [A-Za-z0-9_-], so the id is read by length, not by '_'."""
    out = []
    if len(stem) == 11 or stem[11:12] == "_":
        out.append(stem[:11])
    if stem.startswith("Y") and (len(stem) == 12 or stem[12:13] == "_"):
        out.append(stem[1:12])
    return out


def find_clips(csv_path: Path, clips_dir: Path, seed: int) -> tuple[list[SourceClip], int]:
    """Clips with one mood label and a downloaded file; also how many segments had no file."""
    if not csv_path.is_file():
        raise CorpusError(f"AudioSet segments CSV {csv_path} does not exist")
    segments = read_segments(csv_path)
    if not segments:
        raise CorpusError(f"{csv_path} lists no segment with exactly one music mood label ({', '.join(MOOD_MIDS)})")
    files = index_clips(clips_dir)
    found = [(ytid, start, mood, files[ytid]) for ytid, start, mood in segments if ytid in files]
    if len({f[0] for f in found}) < 3:
        raise CorpusError(
            f"AudioSet: {len(found)} listed clips found in {clips_dir}; "
            "need clips from at least 3 videos to fill train, valid and test"
        )
    split_of = {}
    for split, ids in partition([f[0] for f in found], hash_seed(seed, "audioset")).items():
        split_of.update(dict.fromkeys(ids, split))
    clips = [
        SourceClip(path, f"{ytid}_{int(start * 1000)}", "music", split_of[ytid], mood, f"audioset/{ytid}")
        for ytid, start, mood, path in found
    ]
    return clips, len(segments) - len(found)


def import_audioset_mood(
    src: Path,
    out_dir: Path,
    *,
    segments_csv: Path | None = None,
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Import AudioSet music-mood clips from ``src`` (clips folder, CSV inside unless given)."""
    src = require_dir(Path(src), "AudioSet")
    if segments_csv is None:
        candidates = sorted(src.glob("*.csv"))
        if len(candidates) != 1:
            raise CorpusError(
                f"AudioSet source {src} must hold exactly one segments CSV (found {len(candidates)}); "
                "pass --segments CSV"
            )
        segments_csv = candidates[0]
    clips, missing = find_clips(Path(segments_csv), src, seed)
    return write_import(
        clips,
        Path(out_dir),
        dataset="AudioSet music mood",
        source="audioset",
        force=force,
        progress=progress,
        notes=[
            f"Segments from {Path(segments_csv).name} with exactly one mood label; "
            f"{missing} listed segments had no downloaded file.",
            "Groups are YouTube ids, split 70/15/15 by seed.",
        ],
    )
