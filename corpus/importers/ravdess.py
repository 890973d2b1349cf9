"""RAVDESS speech: Actor_XX/03-01-EE-II-SS-RR-AA.wav, eight emotions, the actor as group."""

from __future__ import annotations

import re
from pathlib import Path

from corpus.build import CorpusError
from corpus.importers.common import SourceClip, require_dir, write_import

EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
# Actors are the groups; odd numbers are men, even are women, so each split gets both.
ACTOR_SPLITS = {
    **dict.fromkeys(range(1, 17), "train"),
    **dict.fromkeys(range(17, 21), "valid"),
    **dict.fromkeys(range(21, 25), "test"),
}
# modality 03 = audio only, vocal channel 01 = speech (02 = song, not imported).
_NAME = re.compile(r"^03-01-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)$")


def parse_name(stem: str) -> tuple[str, str, int] | None:
    """Return (label, transcript, actor) for an audio-only speech file name, else None."""
    match = _NAME.match(stem)
    if not match:
        return None
    emotion, _, statement, _, actor = match.groups()
    return EMOTIONS[emotion], STATEMENTS[statement], int(actor)


def find_clips(src: Path) -> list[SourceClip]:
    """Every audio-only speech file under Actor_XX directories."""
    actors = sorted(p for p in src.glob("Actor_*") if p.is_dir())
    if not actors:
        raise CorpusError(f"RAVDESS source {src} has no Actor_XX directories")
    clips = []
    for actor_dir in actors:
        for wav in sorted(actor_dir.glob("*.wav")):
            parsed = parse_name(wav.stem)
            if parsed is None:
                continue
            label, transcript, actor = parsed
            if actor not in ACTOR_SPLITS:
                raise CorpusError(f"RAVDESS file {wav} names actor {actor}; RAVDESS has actors 1-24")
            clips.append(
                SourceClip(
                    wav, wav.stem, "speech", ACTOR_SPLITS[actor], label, f"ravdess/Actor_{actor:02d}", transcript
                )
            )
    return clips


def import_ravdess(src: Path, out_dir: Path, *, force: bool = False, progress: bool = True) -> Path:
    """Import RAVDESS audio-only speech into ``out_dir``; return the manifest path."""
    clips = find_clips(require_dir(Path(src), "RAVDESS"))
    return write_import(
        clips,
        Path(out_dir),
        dataset="RAVDESS",
        source="ravdess",
        force=force,
        progress=progress,
        notes=[
            "Audio-only speech files (03-01-*); song files are left out.",
            "Groups are actors: 1-16 train, 17-20 valid, 21-24 test.",
        ],
    )
