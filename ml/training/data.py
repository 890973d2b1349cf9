"""The training corpus in memory: manifest rows, decoded waves at model rate, balanced batches."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from backend.core.audio import decode_audio
from backend.core.domain.emotions import SPEECH_TO_MUSIC, get_emotion, similarity
from ml.embedding import preprocess
from ml.manifest import MODALITIES, SPLITS, ManifestRow, read_manifest

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


def read_rows(corpus_dir: Path) -> list[ManifestRow]:
    """Read DIR/manifest.csv, checking modalities, splits and labels."""
    path = Path(corpus_dir) / "manifest.csv"
    if not path.is_file():
        raise ValueError(f"{corpus_dir} has no manifest.csv; build a corpus with `s2m corpus build`")
    rows = read_manifest(path)
    for number, row in enumerate(rows, start=2):
        if row.modality not in MODALITIES:
            raise ValueError(f"{path}:{number}: unknown modality {row.modality!r}")
        if row.split not in SPLITS:
            raise ValueError(f"{path}:{number}: unknown split {row.split!r}")
        get_emotion(row.label)
    return rows


def load_clips(
    corpus_dir: Path, rates: dict[str, int], splits: Sequence[str] = SPLITS, progress: bool = True
) -> list[Clip]:
    """Decode every clip of ``splits`` once, resampled to ``rates[modality]``, stored as int16."""
    rows = [row for row in read_rows(corpus_dir) if row.split in splits]
    if not rows:
        raise ValueError(f"{corpus_dir}/manifest.csv has no clips in splits {list(splits)}")
    clips = []
    for row in tqdm(rows, desc="decoding corpus", unit="clip", disable=not progress):
        audio = decode_audio(Path(corpus_dir) / row.path, target_rate=rates[row.modality])
        wave = torch.from_numpy(audio.samples)
        wave16 = (wave.clamp(-1, 1) * _INT16).round().to(torch.int16)
        clips.append(Clip(row.path, row.modality, row.split, row.label, row.transcript, wave16))
    return clips


def random_crop(wave: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """A random ``length``-sample window of ``wave`` (short waves are tiled first)."""
    wave = preprocess.tile_to_length(wave, length)
    start = int(torch.randint(0, wave.numel() - length + 1, (), generator=generator))
    return wave[start : start + length]


@dataclass
class Batch:
    """Indices into the speech and music clip lists; ``positive[i]`` indexes ``music`` for speech[i]."""

    speech: list[int]
    music: list[int]
    positive: list[int]


class BalancedSampler:
    """Draws music with uniformly chosen labels, then speech anchors whose match is in the batch.

    Music crops cost the most compute, so each step embeds fewer music items than speech anchors
    and every anchor takes one in-batch matching music item as its positive. With ``nearest_positive``
    that item is one of the matching moods most similar to the anchor's emotion (happy speech pulls
    towards happy music before tender music, both matches), otherwise any match.
    """

    def __init__(self, speech: Sequence[Clip], music: Sequence[Clip], nearest_positive: bool = False):
        self.nearest_positive = nearest_positive
        self.speech_by_label: dict[str, list[int]] = defaultdict(list)
        self.music_by_label: dict[str, list[int]] = defaultdict(list)
        for index, clip in enumerate(speech):
            self.speech_by_label[clip.label].append(index)
        for index, clip in enumerate(music):
            self.music_by_label[clip.label].append(index)
        self.music_labels = sorted(self.music_by_label)
        self.speech_labels = sorted(s for s in self.speech_by_label if SPEECH_TO_MUSIC[s] & set(self.music_by_label))
        if not self.speech_labels:
            raise ValueError("no training speech label has matching music in the corpus")

    def sample(self, n_speech: int, n_music: int, generator: torch.Generator) -> Batch:
        """Draw ``n_music`` music clips and ``n_speech`` speech anchors with in-batch positives."""
        music, music_labels = [], []
        for _ in range(n_music):
            label = self.music_labels[_pick(len(self.music_labels), generator)]
            items = self.music_by_label[label]
            music.append(items[_pick(len(items), generator)])
            music_labels.append(label)
        answerable = [s for s in self.speech_labels if SPEECH_TO_MUSIC[s] & set(music_labels)]
        speech, positive = [], []
        for _ in range(n_speech):
            label = answerable[_pick(len(answerable), generator)]
            items = self.speech_by_label[label]
            speech.append(items[_pick(len(items), generator)])
            matches = [j for j, music_label in enumerate(music_labels) if music_label in SPEECH_TO_MUSIC[label]]
            if self.nearest_positive:
                best = max(similarity(label, music_labels[j]) for j in matches)
                matches = [j for j in matches if similarity(label, music_labels[j]) == best]
            positive.append(matches[_pick(len(matches), generator)])
        return Batch(speech, music, positive)


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
