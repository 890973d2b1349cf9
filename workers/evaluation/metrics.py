"""Retrieval metrics of PAPER.md's evaluation: pure functions on labels and rankings (numpy only).

A query is a speech clip with an emotion label; the catalogue is every music track, each with a
mood label. Relevance of a track to a query is either *hard* (the mood is one the speech emotion
maps to, :func:`backend.domain.emotions.is_match`) or *graded* (the emotion similarity
:func:`backend.domain.emotions.similarity`, 1 minus the valence/arousal distance).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from backend.domain.emotions import is_match, similarity

# Metrics reported per query, in the order tables print them.
METRIC_NAMES: tuple[str, ...] = ("mrr", "p_at_5", "ndcg_at_5", "sim_at_5", "ndcg_at_5_hard")

# A catalogue has few distinct labels but many items: look each label pair up once.
_is_match = lru_cache(maxsize=None)(is_match)
_similarity = lru_cache(maxsize=None)(similarity)


def rank_by_cosine(queries: np.ndarray, catalogue: np.ndarray) -> np.ndarray:
    """Return, per query row, catalogue indices from most to least cosine-similar (ties: lower index first)."""
    queries = np.asarray(queries, dtype=np.float64)  # (Q, D)
    catalogue = np.asarray(catalogue, dtype=np.float64)  # (N, D)
    if queries.ndim != 2 or catalogue.ndim != 2 or queries.shape[1] != catalogue.shape[1]:
        raise ValueError(f"need (Q, D) queries and (N, D) catalogue, got {queries.shape} and {catalogue.shape}")
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    c = catalogue / np.maximum(np.linalg.norm(catalogue, axis=1, keepdims=True), 1e-12)
    scores = q @ c.T  # (Q, N)
    return np.argsort(-scores, axis=1, kind="stable")


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    """Return 1 / (1-based rank of the first relevant item), or 0 when none is relevant."""
    hits = np.flatnonzero(np.asarray(relevant, dtype=bool))
    return 0.0 if hits.size == 0 else 1.0 / (hits[0] + 1)


def precision_at_k(relevant: Sequence[bool], k: int = 5) -> float:
    """Return the fraction of relevant items among the first ``k`` (always divided by ``k``)."""
    return float(np.sum(np.asarray(relevant[:k], dtype=bool))) / k


def dcg_at_k(gains: Sequence[float], k: int = 5) -> float:
    """Return the discounted cumulative gain of the first ``k`` gains (linear gain, log2(rank + 1) discount)."""
    top = np.asarray(gains[:k], dtype=np.float64)
    discounts = np.log2(np.arange(2, top.size + 2))
    return float(np.sum(top / discounts))


def ndcg_at_k(ranked_gains: Sequence[float], k: int = 5) -> float:
    """Return DCG@k of ``ranked_gains`` over DCG@k of the best ordering of the same gains (0 if that is 0)."""
    ideal = dcg_at_k(sorted(ranked_gains, reverse=True), k)
    return 0.0 if ideal <= 0 else dcg_at_k(ranked_gains, k) / ideal


def query_scores(query_label: str, ranked_labels: Sequence[str], k: int = 5) -> dict[str, float]:
    """Return every metric of :data:`METRIC_NAMES` for one query whose catalogue labels are in ranked order."""
    relevant = [_is_match(query_label, label) for label in ranked_labels]
    gains = [_similarity(query_label, label) for label in ranked_labels]
    return {
        "mrr": reciprocal_rank(relevant),
        "p_at_5": precision_at_k(relevant, k),
        "ndcg_at_5": ndcg_at_k(gains, k),
        "sim_at_5": float(np.mean(gains[:k])),
        "ndcg_at_5_hard": ndcg_at_k([float(r) for r in relevant], k),
    }


@dataclass(frozen=True)
class RetrievalReport:
    """Mean metrics over all queries, the same per query label, and the catalogue/query counts."""

    overall: dict[str, float]
    per_label: dict[str, dict[str, float]]  # query label -> metric -> mean, plus "n_queries"
    n_queries: int
    n_catalogue: int


def score_rankings(
    query_labels: Sequence[str], catalogue_labels: Sequence[str], rankings: np.ndarray, k: int = 5
) -> RetrievalReport:
    """Average the per-query metrics of full-catalogue ``rankings`` (row i ranks the catalogue for query i)."""
    if len(query_labels) == 0 or len(catalogue_labels) == 0:
        raise ValueError("need at least one query and one catalogue item to score a ranking")
    rankings = np.asarray(rankings)
    if rankings.shape != (len(query_labels), len(catalogue_labels)):
        raise ValueError(
            f"rankings have shape {rankings.shape}; expected one full ranking per query "
            f"{(len(query_labels), len(catalogue_labels))}"
        )
    catalogue = np.asarray(catalogue_labels, dtype=object)
    by_label: dict[str, list[dict[str, float]]] = defaultdict(list)
    every: list[dict[str, float]] = []
    for label, order in zip(query_labels, rankings):
        scores = query_scores(label, list(catalogue[order]), k)
        by_label[label].append(scores)
        every.append(scores)
    per_label = {
        label: {**_mean_scores(rows), "n_queries": len(rows)} for label, rows in sorted(by_label.items())
    }
    return RetrievalReport(
        overall=_mean_scores(every), per_label=per_label,
        n_queries=len(query_labels), n_catalogue=len(catalogue_labels),
    )


def _mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    return {name: float(np.mean([row[name] for row in rows])) for name in METRIC_NAMES}


def confusion_matrix(true_labels: Sequence[str], predicted_labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Return counts[true][predicted] with a row per true label and every seen label as a column."""
    if len(true_labels) != len(predicted_labels):
        raise ValueError(f"{len(true_labels)} true labels but {len(predicted_labels)} predictions")
    columns = sorted(set(true_labels) | set(predicted_labels))
    pairs = Counter(zip(true_labels, predicted_labels))
    return {t: {p: pairs[(t, p)] for p in columns} for t in sorted(set(true_labels))}


def accuracy(true_labels: Sequence[str], predicted_labels: Sequence[str]) -> float:
    """Return the fraction of predictions equal to the true label."""
    if not true_labels:
        raise ValueError("need at least one label to compute an accuracy")
    return sum(t == p for t, p in zip(true_labels, predicted_labels, strict=True)) / len(true_labels)
