import math

import pytest
import torch
from torch.nn import functional as F

from backend.core.domain.emotions import similarity
from ml.training import losses


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_label_similarity_is_the_domain_similarity():
    matrix = losses.label_similarity(["happy", "sad"], ["angry", "sad", "happy"])
    assert matrix.shape == (2, 3)
    assert matrix[0, 2] == pytest.approx(1.0)
    assert matrix[1, 0] == pytest.approx(similarity("sad", "angry"))


def test_triplet_loss_by_hand():
    anchors = unit([1.0, 0.0])
    relevant = torch.tensor([[True, False]])
    positive = torch.tensor([0])
    # positive identical to anchor, negative orthogonal: 0.4 - 1 + 0 < 0 -> no loss
    assert losses.triplet_loss(anchors, unit([1.0, 0.0], [0.0, 1.0]), positive, relevant, gen()) == 0.0
    # positive orthogonal, negative identical: 0.4 - 0 + 1 = 1.4
    loss = losses.triplet_loss(anchors, unit([0.0, 1.0], [1.0, 0.0]), positive, relevant, gen())
    assert float(loss) == pytest.approx(1.4)
    # cos(pos) = 0.8, cos(neg) = 0.6: 0.4 - 0.8 + 0.6 = 0.2
    loss = losses.triplet_loss(anchors, unit([0.8, 0.6], [0.6, 0.8]), positive, relevant, gen())
    assert float(loss) == pytest.approx(0.2, abs=1e-6)


def test_triplet_skips_anchors_without_negatives():
    anchors = unit([1.0, 0.0], [0.0, 1.0])
    candidates = unit([1.0, 0.0], [0.0, 1.0])
    relevant = torch.tensor([[True, True], [True, False]])  # anchor 0 has no negative
    loss = losses.triplet_loss(anchors, candidates, torch.tensor([0, 0]), relevant, gen())
    assert float(loss) == pytest.approx(0.4 - 0.0 + 1.0)  # anchor 1 alone: cos(pos) 0, cos(neg) 1
    all_relevant = torch.ones(2, 2, dtype=torch.bool)
    assert float(losses.triplet_loss(anchors, candidates, torch.tensor([0, 1]), all_relevant, gen())) == 0.0


def test_negatives_follow_similarity_and_avoid_relevant_items():
    sim = torch.tensor([[1.0, 0.0, -1.0, 0.9]])
    negative_mask = torch.tensor([[True, True, True, False]])
    g = gen()
    counts = torch.zeros(4)
    for _ in range(3000):
        chosen, has = losses.sample_negatives(sim, negative_mask, g)
        counts[chosen] += 1
    assert has.all()
    assert counts[3] == 0  # never a relevant item
    # weights (1 + cos) / 2: 1.0, 0.5, ~0 -> about 2 : 1 : 0
    assert counts[0] / counts[1] == pytest.approx(2.0, rel=0.15)
    assert counts[2] < 10


def test_emosim_takes_one_item_per_distinct_similarity():
    target = torch.tensor([[0.5, 0.5, 0.5, 1.0, 0.2], [0.3, 0.3, 0.3, 0.3, 0.3]])
    rows, columns = losses.emosim_pairs(target, gen())
    assert rows.tolist().count(0) == 3 and rows.tolist().count(1) == 1
    picked = {float(target[r, c]) for r, c in zip(rows.tolist(), columns.tolist(), strict=True) if r == 0}
    assert sorted(picked) == pytest.approx([0.2, 0.5, 1.0])


def test_emosim_loss_by_hand():
    anchors = unit([1.0, 0.0])
    candidates = unit([1.0, 0.0], [0.0, 1.0])  # cosines 1 and 0
    target = torch.tensor([[0.5, 0.2]])
    expected = ((1 - 0.5) ** 2 + (0 - 0.2) ** 2) / 2
    assert float(losses.emosim_loss(anchors, candidates, target, gen())) == pytest.approx(expected)


def test_label_loss_ignores_labels_outside_the_modality():
    allowed = torch.tensor([True, True, False])
    targets = torch.tensor([0])
    low = losses.label_loss(torch.tensor([[2.0, 0.0, -5.0]]), targets, allowed)
    high = losses.label_loss(torch.tensor([[2.0, 0.0, 50.0]]), targets, allowed)
    assert float(low) == pytest.approx(float(high))
    assert float(low) == pytest.approx(math.log(1 + math.exp(-2.0)))


def test_losses_reach_the_embeddings():
    anchors = torch.randn(4, 8, requires_grad=True)
    candidates = torch.randn(4, 8, requires_grad=True)
    za, zc = F.normalize(anchors, dim=-1), F.normalize(candidates, dim=-1)
    relevant = torch.eye(4, dtype=torch.bool)
    target = losses.label_similarity(["happy", "sad", "angry", "calm"], ["happy", "sad", "angry", "calm"])
    total = losses.triplet_loss(za, zc, torch.arange(4), relevant, gen()) + losses.emosim_loss(za, zc, target, gen())
    total.backward()
    assert anchors.grad.abs().sum() > 0 and candidates.grad.abs().sum() > 0
