"""IEMOCAP: Session1..5, labels from dialog/EmoEvaluation, audio in sentences/wav, 4 classes."""

from __future__ import annotations

import re
from pathlib import Path

from corpus.build import CorpusError
from corpus.importers.common import SourceClip, require_dir, write_import

# The paper's four classes: happy and excited merged; other IEMOCAP labels are left out.
LABELS = {"ang": "angry", "hap": "happy", "exc": "happy", "neu": "neutral", "sad": "sad"}
# Sessions are the speaker groups (each holds one actress and one actor): 1-3 train, 4 valid, 5 test,
# matching the common "session 5 held out" protocol.
SESSION_SPLITS = {1: "train", 2: "train", 3: "train", 4: "valid", 5: "test"}
_EVALUATION_LINE = re.compile(r"^\[[\d.]+\s*-\s*[\d.]+\]\s+(Ses\w+)\s+(\w+)\s+\[")
_TRANSCRIPT_LINE = re.compile(r"^(Ses\w+)\s+\[[^\]]*\]:\s*(.*)$")


def read_labels(evaluation_file: Path) -> dict[str, str]:
    """Map utterance id to IEMOCAP's consensus label code from one EmoEvaluation file."""
    out = {}
    for line in evaluation_file.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _EVALUATION_LINE.match(line)
        if match:
            out[match.group(1)] = match.group(2)
    return out


def read_transcripts(transcription_file: Path) -> dict[str, str]:
    """Map utterance id to its spoken text from one dialog transcription file."""
    out = {}
    if transcription_file.exists():
        for line in transcription_file.read_text(encoding="utf-8", errors="replace").splitlines():
            match = _TRANSCRIPT_LINE.match(line.strip())
            if match:
                out[match.group(1)] = match.group(2).strip()
    return out


def find_clips(src: Path) -> list[SourceClip]:
    """Every utterance of a four-class label whose WAV file exists."""
    sessions = [s for s in SESSION_SPLITS if (src / f"Session{s}").is_dir()]
    if not sessions:
        raise CorpusError(f"IEMOCAP source {src} has no Session1..Session5 directories")
    clips = []
    for session in sessions:
        root = src / f"Session{session}"
        for evaluation in sorted((root / "dialog" / "EmoEvaluation").glob("*.txt")):
            dialog = evaluation.stem
            texts = read_transcripts(root / "dialog" / "transcriptions" / f"{dialog}.txt")
            for utterance, code in sorted(read_labels(evaluation).items()):
                wav = root / "sentences" / "wav" / dialog / f"{utterance}.wav"
                if code in LABELS and wav.exists():
                    clips.append(
                        SourceClip(
                            wav,
                            utterance,
                            "speech",
                            SESSION_SPLITS[session],
                            LABELS[code],
                            f"iemocap/Session{session}",
                            texts.get(utterance, ""),
                        )
                    )
    return clips


def import_iemocap(src: Path, out_dir: Path, *, force: bool = False, progress: bool = True) -> Path:
    """Import IEMOCAP's four-class speech into ``out_dir``; return the manifest path."""
    clips = find_clips(require_dir(Path(src), "IEMOCAP"))
    return write_import(
        clips,
        Path(out_dir),
        dataset="IEMOCAP",
        source="iemocap",
        force=force,
        progress=progress,
        notes=[
            "Labels: ang, hap+exc (merged to happy), neu, sad; other labels left out.",
            "Groups are sessions: Session1-3 train, Session4 valid, Session5 test.",
        ],
    )
