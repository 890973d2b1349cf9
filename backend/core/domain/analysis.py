"""What the embedding model says about one clip."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ClipAnalysis:
    """An emotion embedding with the emotion labels and valence/arousal point of the same clip.

    ``vector`` is L2-normalised (cosine similarity is a dot product); ``probabilities`` maps every
    label of the model to its probability; ``label`` is the most probable one.
    """

    vector: list[float]
    probabilities: dict[str, float]
    label: str
    valence: float
    arousal: float
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)
