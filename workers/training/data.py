"""The training corpus in memory: manifest rows, decoded waves at model rate, balanced batches."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from backend.audio import decode_audio
from backend.domain.emotions import SPEECH_TO_MUSIC, get_emotion
from workers.embedding import preprocess

MANIFEST_COLUMNS = ("path", "modality", "split", "label", "valence", "arousal", "group", "source", "transcript")
SPLITS = ("train", "valid", "test")
# Waves are cached as int16 to halve memory; this is the scale.
_INT16 = 32767.0


@dataclass
class Clip:
    """One corpus clip, decoded once and kept at its encoder's sample rate."""

    path: str
    modality: str  # "speech" or "music"
    split: str
    label: str
    transcript: str
    wave16: torch.Tensor  # int16 samples (frames,), see :meth:`wave`

    def wave(self) -> torch.Tensor:
        """Float32 samples (frames,)."""
        return self.wave16.float() / _INT16


def read_manifest(corpus_dir: Path) -> list[dict[str, str]]:
    """Read DIR/manifest.csv, checking columns, modalities, splits and labels."""
    path = Path(corpus_dir) / "manifest.csv"
    if not path.is_file():
        raise ValueError(f"{corpus_dir} has no manifest.csv; build a corpus with `s2m corpus build`")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path} lacks columns {missing}")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        if row["modality"] not in ("speech", "music"):
            raise ValueError(f"{path}:{number}: unknown modality {row['modality']!r}")
        if row["split"] not in SPLITS:
            raise ValueError(f"{path}:{number}: unknown split {row['split']!r}")
        get_emotion(row["label"])
    return rows


def _decode(corpus_dir: Path, row: dict[str, str], rate: int) -> torch.Tensor:
    audio = decode_audio(Path(corpus_dir) / row["path"])
    wave = preprocess.to_model_rate(audio.samples, audio.sample_rate, rate)
    return (wave.clamp(-1, 1) * _INT16).round().to(torch.int16)


def load_clips(
    corpus_dir: Path, rates: dict[str, int], splits: Sequence[str] = SPLITS, progress: bool = True
) -> list[Clip]:
    """Decode every clip of ``splits`` once, resampled to ``rates[modality]``."""
    rows = [row for row in read_manifest(corpus_dir) if row["split"] in splits]
    if not rows:
        raise ValueError(f"{corpus_dir}/manifest.csv has no clips in splits {list(splits)}")
    clips = []
    for row in tqdm(rows, desc="decoding corpus", unit="clip", disable=not progress):
        wave = _decode(corpus_dir, row, rates[row["modality"]])
        clips.append(Clip(row["path"], row["modality"], row["split"], row["label"], row.get("transcript", ""), wave))
    return clips


def random_crop(wave: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """A random ``length``-sample window of ``wave`` (short waves are tiled first)."""
    wave = preprocess.tile_to_length(wave, length)
    start = int(torch.randint(0, wave.numel() - length + 1, (), generator=generator))
    return wave[start : start + length]


@dataclass
class Batch:
    """Indices into the speech and music clip lists; music[i] is the positive of speech[i]."""

    speech: list[int]
    music: list[int]


class BalancedSampler:
    """Draws speech anchors with uniformly chosen labels and, per anchor, a matching music clip."""

    def __init__(self, speech: Sequence[Clip], music: Sequence[Clip]):
        self.speech_by_label: dict[str, list[int]] = defaultdict(list)
        self.music_by_label: dict[str, list[int]] = defaultdict(list)
        for index, clip in enumerate(speech):
            self.speech_by_label[clip.label].append(index)
        for index, clip in enumerate(music):
            self.music_by_label[clip.label].append(index)
        self.matches = {
            label: sorted(SPEECH_TO_MUSIC[label] & set(self.music_by_label)) for label in self.speech_by_label
        }
        self.speech_labels = sorted(label for label, music_labels in self.matches.items() if music_labels)
        if not self.speech_labels:
            raise ValueError("no training speech label has matching music in the corpus")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """Draw one batch of ``batch_size`` (speech, positive music) pairs."""
        speech, music = [], []
        for _ in range(batch_size):
            label = self.speech_labels[_pick(len(self.speech_labels), generator)]
            items = self.speech_by_label[label]
            speech.append(items[_pick(len(items), generator)])
            music_labels = self.matches[label]
            music_items = self.music_by_label[music_labels[_pick(len(music_labels), generator)]]
            music.append(music_items[_pick(len(music_items), generator)])
        return Batch(speech, music)


def _pick(n: int, generator: torch.Generator) -> int:
    return int(torch.randint(0, n, (), generator=generator))


def make_inputs(
    clips: Sequence[Clip],
    seconds: float,
    rate: int,
    generator: torch.Generator,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None,
) -> torch.Tensor:
    """Random crops (b, samples), augmented then loudness-normalised exactly as at inference."""
    length = round(seconds * rate)
    # Take some slack so speed jitter still leaves a full crop.
    slack = math.ceil(length * 1.12) if augment is not None else length
    out = []
    for clip in clips:
        wave = random_crop(clip.wave(), slack, generator)
        if augment is not None:
            wave = random_crop(augment(wave, generator), length, generator)
        out.append(wave[:length])
    return preprocess.normalise_loudness(torch.stack(out))


def as_numpy(clip: Clip) -> np.ndarray:
    """Float32 numpy samples of a cached clip."""
    return clip.wave().numpy()
