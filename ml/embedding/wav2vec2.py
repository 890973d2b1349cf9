"""The optional pretrained wav2vec 2.0 speech backbone, from a local directory only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn


def load_local_wav2vec2(local_dir: Path) -> nn.Module:
    """Load a transformers Wav2Vec2Model saved in ``local_dir`` (never from a hub)."""
    from transformers import Wav2Vec2Model

    local_dir = Path(local_dir)
    if not (local_dir / "config.json").is_file():
        raise ValueError(f"{local_dir} is not a saved wav2vec2 model directory (no config.json)")
    return Wav2Vec2Model.from_pretrained(str(local_dir), local_files_only=True)


def wav2vec2_from_config(config: dict[str, Any]) -> nn.Module:
    """Build a Wav2Vec2Model with the architecture in ``config`` (weights to be loaded after)."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    return Wav2Vec2Model(Wav2Vec2Config.from_dict(config))
