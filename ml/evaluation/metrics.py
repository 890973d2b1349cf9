"""Retrieval metrics of the evaluation in docs/method.md#evaluation: pure functions on labels and rankings (numpy only).

A query is a speech clip with an emotion label; the catalogue is every music track, each with a
mood label. Relevance of a track to a query is either *hard* (the mood is one the speech emotion
maps to, :func:`backend.core.domain.emotions.is_match`) or *graded* (the emotion similarity
:func:`backend.core.domain.emotions.similarity`, 1 minus the valence/arousal distance).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from backend.core.domain.emotions import is_match, similarity

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


def reciprocal_rank(relevant: Sequence[bool] | np.ndarray) -> np.ndarray:
    """Return 1 / (1-based rank of the first relevant item), or 0 when none is relevant; one per row."""
    rel = np.asarray(relevant, dtype=bool)  # (..., N) in ranked order
    return np.where(rel.any(axis=-1), 1.0 / (rel.argmax(axis=-1) + 1), 0.0)


def precision_at_k(relevant: Sequence[bool] | np.ndarray, k: int = 5) -> np.ndarray:
    """Return the fraction of relevant items among the first ``k`` (always divided by ``k``); one per row."""
    return np.asarray(relevant, dtype=bool)[..., :k].sum(axis=-1) / k


def dcg_at_k(gains: Sequence[float] | np.ndarray, k: int = 5) -> np.ndarray:
    """Return the discounted cumulative gain of the first ``k`` gains (linear gain, log2(rank + 1) discount)."""
    top = np.asarray(gains, dtype=np.float64)[..., :k]
    return (top / np.log2(np.arange(2, top.shape[-1] + 2))).sum(axis=-1)


def ndcg_at_k(ranked_gains: Sequence[float] | np.ndarray, k: int = 5) -> np.ndarray:
    """Return DCG@k of ``ranked_gains`` over DCG@k of the best ordering of the same gains (0 if that is 0)."""
    gains = np.asarray(ranked_gains, dtype=np.float64)
    ideal = dcg_at_k(-np.sort(-gains, axis=-1), k)
    dcg = dcg_at_k(gains, k)
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def relevance(query_labels: Sequence[str], catalogue_labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return hard (bool) and graded (similarity) relevance of every catalogue item to every query, (Q, N) each."""
    hard = np.array([[_is_match(q, c) for c in catalogue_labels] for q in query_labels], dtype=bool)
    graded = np.array([[_similarity(q, c) for c in catalogue_labels] for q in query_labels], dtype=np.float64)
    return hard.reshape(len(query_labels), -1), graded.reshape(len(query_labels), -1)


def ranking_scores(hard: np.ndarray, graded: np.ndarray, rankings: np.ndarray, k: int = 5) -> dict[str, np.ndarray]:
    """Return each metric of :data:`METRIC_NAMES` per query (Q,) for full-catalogue ``rankings`` (Q, N)."""
    ranked_hard = np.take_along_axis(hard, rankings, axis=1)  # (Q, N) in ranked order
    ranked_graded = np.take_along_axis(graded, rankings, axis=1)
    return {
        "mrr": reciprocal_rank(ranked_hard),
        "p_at_5": precision_at_k(ranked_hard, k),
        "ndcg_at_5": ndcg_at_k(ranked_graded, k),
        "sim_at_5": ranked_graded[:, :k].mean(axis=1),
        "ndcg_at_5_hard": ndcg_at_k(ranked_hard.astype(np.float64), k),
    }


def query_scores(query_label: str, ranked_labels: Sequence[str], k: int = 5) -> dict[str, float]:
    """Return every metric of :data:`METRIC_NAMES` for one query whose catalogue labels are in ranked order."""
    hard, graded = relevance([query_label], ranked_labels)
    identity = np.arange(len(ranked_labels))[None, :]
    return {name: float(values[0]) for name, values in ranking_scores(hard, graded, identity, k).items()}


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
    _check_sizes(query_labels, catalogue_labels)
    rankings = np.asarray(rankings)
    if rankings.shape != (len(query_labels), len(catalogue_labels)):
        raise ValueError(
            f"rankings have shape {rankings.shape}; expected one full ranking per query "
            f"{(len(query_labels), len(catalogue_labels))}"
        )
    scores = ranking_scores(*relevance(query_labels, catalogue_labels), rankings, k)
    labels = np.asarray(query_labels)
    per_label = {
        label: {
            **{name: float(v[labels == label].mean()) for name, v in scores.items()},
            "n_queries": int((labels == label).sum()),
        }
        for label in sorted(set(query_labels))
    }
    return RetrievalReport(
        overall={name: float(v.mean()) for name, v in scores.items()},
        per_label=per_label,
        n_queries=len(query_labels),
        n_catalogue=len(catalogue_labels),
    )


def chance_scores(
    query_labels: Sequence[str], catalogue_labels: Sequence[str], trials: int = 100, seed: int = 0, k: int = 5
) -> dict[str, float]:
    """Return the mean metrics of uniformly random rankings of this catalogue (the chance level), over ``trials``."""
    _check_sizes(query_labels, catalogue_labels)
    hard, graded = relevance(query_labels, catalogue_labels)
    rng = np.random.default_rng(seed)
    totals = dict.fromkeys(METRIC_NAMES, 0.0)
    for _ in range(trials):
        rankings = np.argsort(rng.random(hard.shape), axis=1)  # a random permutation per query
        for name, values in ranking_scores(hard, graded, rankings, k).items():
            totals[name] += float(values.mean()) / trials
    return totals


def _check_sizes(query_labels: Sequence[str], catalogue_labels: Sequence[str]) -> None:
    if len(query_labels) == 0 or len(catalogue_labels) == 0:
        raise ValueError("need at least one query and one catalogue item to score a ranking")


def confusion_matrix(true_labels: Sequence[str], predicted_labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Return counts[true][predicted] with a row per true label and every seen label as a column."""
    if len(true_labels) != len(predicted_labels):
        raise ValueError(f"{len(true_labels)} true labels but {len(predicted_labels)} predictions")
    columns = sorted(set(true_labels) | set(predicted_labels))
    pairs = Counter(zip(true_labels, predicted_labels, strict=True))
    return {t: {p: pairs[(t, p)] for p in columns} for t in sorted(set(true_labels))}


def accuracy(true_labels: Sequence[str], predicted_labels: Sequence[str]) -> float:
    """Return the fraction of predictions equal to the true label."""
    if not true_labels:
        raise ValueError("need at least one label to compute an accuracy")
    return sum(t == p for t, p in zip(true_labels, predicted_labels, strict=True)) / len(true_labels)
