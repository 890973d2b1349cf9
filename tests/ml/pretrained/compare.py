"""Strict comparison of a port's output with a reference output."""

from __future__ import annotations

import numpy as np


def summary(values: np.ndarray, time_axis: int) -> dict[str, np.ndarray]:
    """The summary make_references.py stores for long clips: mean, std and 8 evenly spaced frames."""
    indices = np.linspace(0, values.shape[time_axis] - 1, 8).round().astype(int)
    return {
        "mean": values.mean(axis=time_axis),
        "std": values.std(axis=time_axis),
        "frames": np.take(values, indices, axis=time_axis),
    }


def assert_close(
    actual, expected, *, max_abs: float, what: str, min_cosine: float | None = None, axis: int = -1
) -> None:
    """Max-abs difference within ``max_abs`` and, if given, cosine >= ``min_cosine`` of every vector along ``axis``."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, reference {expected.shape}"
    assert np.isfinite(actual).all(), f"{what}: non-finite values"
    difference = float(np.abs(actual - expected).max())
    assert difference <= max_abs, f"{what}: max abs difference {difference:.3g} > {max_abs:.3g}"
    if min_cosine is not None:
        cosine = (actual * expected).sum(axis) / (
            np.linalg.norm(actual, axis=axis) * np.linalg.norm(expected, axis=axis)
        )
        assert float(cosine.min()) >= min_cosine, f"{what}: cosine {float(cosine.min()):.7f} < {min_cosine}"
