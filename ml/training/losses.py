"""Losses of the joint emotion space (pure functions of tensors and a random generator).

Embeddings passed in are L2-normalised, so dot products are cosine similarities.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from backend.core.domain.emotions import similarity

# Triplet margin on cosine similarity (docs/method.md#losses).
TRIPLET_MARGIN = 0.4


def label_similarity(labels_a: Sequence[str], labels_b: Sequence[str]) -> torch.Tensor:
    """Emotion similarity S_y[i, j] = sim(labels_a[i], labels_b[j]), shape (len a, len b)."""
    cache: dict[tuple[str, str], float] = {}
    rows = []
    for a in labels_a:
        rows.append([cache.setdefault((a, b), similarity(a, b)) for b in labels_b])
    return torch.tensor(rows, dtype=torch.float32)


def sample_negatives(
    anchor_sim: torch.Tensor, negative_mask: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick one negative per anchor with probability proportional to (1 + cosine) / 2.

    ``anchor_sim`` (n, m) holds anchor-candidate cosines, ``negative_mask`` (n, m) which candidates
    may serve as negatives. Returns (chosen column (n,), whether the anchor had any negative (n,)).
    """
    weights = ((anchor_sim.detach() + 1) / 2).clamp_min(1e-6) * negative_mask
    has_negative = negative_mask.any(dim=1)
    weights = torch.where(has_negative.unsqueeze(1), weights, torch.ones_like(weights))
    chosen = torch.multinomial(weights.cpu(), 1, generator=generator).squeeze(1).to(anchor_sim.device)
    return chosen, has_negative


def triplet_loss(
    anchors: torch.Tensor,
    candidates: torch.Tensor,
    positive: torch.Tensor,
    relevant: torch.Tensor,
    generator: torch.Generator,
    margin: float = TRIPLET_MARGIN,
) -> torch.Tensor:
    """Triplet loss on cosine with similarity-weighted in-batch negatives.

    anchors (n, d) and candidates (m, d) are unit vectors; ``positive`` (n,) is each anchor's
    positive candidate; ``relevant`` (n, m) marks candidates of a matching emotion (never negatives).
    Anchors without any non-matching candidate are skipped.
    """
    sim = anchors @ candidates.T  # (n, m)
    negative, has_negative = sample_negatives(sim, ~relevant, generator)
    rows = torch.arange(sim.shape[0], device=sim.device)
    losses = F.relu(margin - sim[rows, positive] + sim[rows, negative])  # (n,)
    if not bool(has_negative.any()):
        return sim.sum() * 0.0
    return losses[has_negative].mean()


def emosim_pairs(target: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick, per anchor row of ``target`` (n, m), one column for each distinct value in that row.

    Returns (rows, columns) index tensors of equal length, so frequent labels do not dominate.
    """
    rows, columns = [], []
    noise = torch.rand(target.shape, generator=generator)
    for i, row in enumerate(target.cpu()):
        values, group = torch.unique(row, return_inverse=True)
        for value_index in range(values.numel()):
            members = (group == value_index).nonzero().squeeze(1)
            columns.append(int(members[noise[i, members].argmax()]))
            rows.append(i)
    device = target.device
    return torch.tensor(rows, device=device), torch.tensor(columns, device=device)


def emosim_loss(
    anchors: torch.Tensor, candidates: torch.Tensor, target: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """EmoSim regularisation: MSE of cosine S_z[i, j] onto emotion similarity S_y[i, j] (``target``)."""
    rows, columns = emosim_pairs(target, generator)
    predicted = (anchors[rows] * candidates[columns]).sum(dim=-1)
    return F.mse_loss(predicted, target[rows, columns].to(predicted.dtype))


def label_loss(logits: torch.Tensor, targets: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the ``allowed`` (n_labels,) bool subset of the logits (b, n_labels)."""
    return F.cross_entropy(logits.masked_fill(~allowed, float("-inf")), targets)


def valence_arousal_loss(predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error of (b, 2) valence/arousal predictions."""
    return F.mse_loss(predicted, targets)
