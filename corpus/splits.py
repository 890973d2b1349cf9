"""Split assignment: which group (voice, score) and which sentence goes to train, valid or test.

Pure functions of their inputs and a seed, so the same seed always gives the same corpus.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from ml.manifest import SPLITS

DEFAULT_FRACTIONS: Mapping[str, float] = {"train": 0.7, "valid": 0.15, "test": 0.15}


def split_counts(total: int, fractions: Mapping[str, float] = DEFAULT_FRACTIONS) -> dict[str, int]:
    """Divide ``total`` items into split sizes, giving every split at least one when total >= 3."""
    if total < len(SPLITS):
        raise ValueError(f"need at least {len(SPLITS)} items to fill every split, got {total}")
    counts = {s: max(1, int(total * fractions[s])) for s in SPLITS[1:]}
    counts["train"] = total - sum(counts.values())
    if counts["train"] < 1:
        raise ValueError(f"{total} items leave no training items with fractions {dict(fractions)}")
    return {s: counts[s] for s in SPLITS}


def partition(
    items: Sequence[str], seed: int, fractions: Mapping[str, float] = DEFAULT_FRACTIONS
) -> dict[str, list[str]]:
    """Shuffle distinct items by seed and cut them into train/valid/test lists."""
    unique = sorted(set(items))
    random.Random(f"partition:{seed}").shuffle(unique)
    counts = split_counts(len(unique), fractions)
    out, start = {}, 0
    for split in SPLITS:
        out[split] = unique[start : start + counts[split]]
        start += counts[split]
    return out


def assign_groups(
    strata: Mapping[str, Iterable[str]], seed: int, fractions: Mapping[str, float] = DEFAULT_FRACTIONS
) -> dict[str, str]:
    """Map each group to a split, partitioning each stratum on its own so each spans all splits.

    Strata too small to fill every split are pooled and partitioned together; if even the pool
    is too small, its groups go to train.
    """
    assignment: dict[str, str] = {}
    leftovers: list[str] = []
    for name in sorted(strata):
        groups = sorted(set(strata[name]))
        if len(groups) < len(SPLITS):
            leftovers += groups
            continue
        for split, members in partition(groups, seed=hash_seed(seed, name), fractions=fractions).items():
            assignment.update(dict.fromkeys(members, split))
    if len(leftovers) < len(SPLITS):
        assignment.update(dict.fromkeys(leftovers, "train"))
    else:
        for split, members in partition(leftovers, seed=hash_seed(seed, "leftovers"), fractions=fractions).items():
            assignment.update(dict.fromkeys(members, split))
    return assignment


def hash_seed(seed: int, *parts: object) -> int:
    """Derive a stable sub-seed from a seed and names (Python's hash() is salted per process)."""
    return random.Random(":".join([str(seed), *map(str, parts)])).getrandbits(31)
