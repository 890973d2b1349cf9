"""Balanced batches: every anchor gets an in-batch positive of a matching mood, the nearest when asked."""

from __future__ import annotations

import torch

from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS, is_match, similarity
from ml.training.data import BalancedSampler, Clip


def clips(modality: str, labels: tuple[str, ...], per_label: int = 3) -> list[Clip]:
    silence = torch.zeros(8, dtype=torch.int16)
    return [
        Clip(f"{modality}/{label}/{i}.wav", modality, "train", label, "", silence)
        for label in labels
        for i in range(per_label)
    ]


def positive_pairs(nearest: bool, steps: int = 200) -> list[tuple[str, str, list[str]]]:
    """(speech label, positive mood, the batch's moods) for every anchor of ``steps`` batches."""
    speech, music = clips("speech", SPEECH_LABELS), clips("music", MUSIC_LABELS)
    sampler = BalancedSampler(speech, music, nearest_positive=nearest)
    generator = torch.Generator().manual_seed(0)
    pairs = []
    for _ in range(steps):
        batch = sampler.sample(16, 6, generator)
        moods = [music[j].label for j in batch.music]
        for i, j in zip(batch.speech, batch.positive, strict=True):
            pairs.append((speech[i].label, moods[j], moods))
    return pairs


def test_every_positive_is_a_hard_match_in_the_batch():
    for nearest in (False, True):
        assert all(is_match(label, mood) for label, mood, _ in positive_pairs(nearest))


def test_nearest_positive_takes_the_most_similar_matching_mood():
    for label, mood, moods in positive_pairs(nearest=True):
        best = max(similarity(label, m) for m in moods if is_match(label, m))
        assert similarity(label, mood) == best
    # Happy speech with happy music in the batch: tender (a match, but far) is never its positive.
    happy = [(mood, moods) for label, mood, moods in positive_pairs(nearest=True) if label == "happy"]
    assert all(mood == "happy" for mood, moods in happy if "happy" in moods)


def test_uniform_positive_takes_any_match():
    happy = [mood for label, mood, moods in positive_pairs(nearest=False) if label == "happy" and "happy" in moods]
    assert {"happy", "tender"} <= set(happy)
