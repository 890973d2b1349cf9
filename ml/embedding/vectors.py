"""How each training method's outputs become the 64-d unit vector whose cosine ranks music.

- triplet / emosim: the joint embedding itself.
- classify (baseline): a music track's vector is the square root of its music-label probabilities
  (unit norm because they sum to 1); a speech query's vector is one-hot on the music label matching
  its predicted speech label, so cosine = sqrt(P(track has that label)): ranking by classifier score.
- regress (baseline): with query point q and track point p in the valence/arousal plane, the query
  vector is (2q, -1, 0)/|.| and the track vector (p, |p|^2, w)/sqrt(6) with w filling the unit norm,
  so their dot product is (|q|^2 - |q - p|^2) / const: ranking by VA distance.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from backend.core.domain.emotions import SPEECH_TO_MUSIC, similarity

# Upper bound of |p|^2 + |p|^4 for p in [0, 1]^2; keeps the regress track vectors unit-norm.
_VA_RADIUS = 6.0


def matching_music_label(speech_label: str) -> str:
    """The one music label that answers ``speech_label``: the most similar of its hard matches."""
    return max(sorted(SPEECH_TO_MUSIC[speech_label]), key=lambda music: similarity(speech_label, music))


def _pad(vectors: torch.Tensor, dim: int) -> torch.Tensor:
    if vectors.shape[-1] > dim:
        raise ValueError(f"{vectors.shape[-1]} values do not fit a {dim}-d vector")
    return F.pad(vectors, (0, dim - vectors.shape[-1]))


def classify_music_vectors(probabilities: torch.Tensor, dim: int) -> torch.Tensor:
    """Label probabilities (b, n_labels), summing to 1 -> unit vectors (b, dim)."""
    return _pad(probabilities.clamp_min(0).sqrt(), dim)


def classify_speech_vectors(predicted: list[str], labels: tuple[str, ...], dim: int) -> torch.Tensor:
    """Predicted speech labels -> one-hot vectors (b, dim) on their matching music label."""
    vectors = torch.zeros(len(predicted), dim)
    for row, label in enumerate(predicted):
        vectors[row, labels.index(matching_music_label(label))] = 1.0
    return vectors


def regress_music_vectors(va: torch.Tensor, dim: int) -> torch.Tensor:
    """Valence/arousal points (b, 2) in [0, 1] -> unit vectors (b, dim) for distance ranking."""
    squared = va.pow(2).sum(dim=-1, keepdim=True)
    fill = (_VA_RADIUS - squared - squared.pow(2)).clamp_min(0).sqrt()
    return _pad(torch.cat([va, squared, fill], dim=-1) / _VA_RADIUS**0.5, dim)


def regress_speech_vectors(va: torch.Tensor, dim: int) -> torch.Tensor:
    """Valence/arousal points (b, 2) -> unit query vectors (b, dim) for distance ranking."""
    query = torch.cat([2 * va, -torch.ones_like(va[:, :1]), torch.zeros_like(va[:, :1])], dim=-1)
    return _pad(F.normalize(query, dim=-1), dim)
