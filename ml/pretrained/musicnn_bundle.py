"""Build the musicnn taggers from the TensorFlow checkpoints that ship in the musicnn package."""

from __future__ import annotations

import ast
from pathlib import Path

import torch

from ml.pretrained.musicnn import Musicnn, MusicnnConfig
from ml.pretrained.packages import musicnn_package_dir
from ml.pretrained.tf_checkpoint import TFCheckpoint, read_tf_checkpoint

# Model name -> the list in the package's configuration.py that names its 50 tags.
MUSICNN_MODELS = {"MSD_musicnn": "MSD_LABELS", "MTT_musicnn": "MTT_LABELS"}

# tf.compat.v1.layers names variables by creation order in build_musicnn:
# (our module, TensorFlow layer, how the TensorFlow kernel maps onto the torch weight).
_CONV2D = "conv2d"  # (frames, bins, 1, filters) -> (filters, 1, frames, bins)
_CONV1D = "conv1d"  # (frames, channels, 1, filters) -> (filters, channels, frames)
_DENSE = "dense"  # (in, out) -> (out, in)
_LAYERS: tuple[tuple[str, str, str | None], ...] = (
    ("input_norm", "batch_normalization", None),
    ("timbral.0.conv", "conv2d", _CONV2D),
    ("timbral.0.norm", "batch_normalization_1", None),
    ("timbral.1.conv", "conv2d_1", _CONV2D),
    ("timbral.1.norm", "batch_normalization_2", None),
    ("temporal.0.conv", "conv2d_2", _CONV2D),
    ("temporal.0.norm", "batch_normalization_3", None),
    ("temporal.1.conv", "conv2d_3", _CONV2D),
    ("temporal.1.norm", "batch_normalization_4", None),
    ("temporal.2.conv", "conv2d_4", _CONV2D),
    ("temporal.2.norm", "batch_normalization_5", None),
    ("midend.0.conv", "conv2d_5", _CONV1D),
    ("midend.0.norm", "batch_normalization_6", None),
    ("midend.1.conv", "conv2d_6", _CONV1D),
    ("midend.1.norm", "batch_normalization_7", None),
    ("midend.2.conv", "conv2d_7", _CONV1D),
    ("midend.2.norm", "batch_normalization_8", None),
    ("pool_norm", "batch_normalization_9", None),
    ("dense", "dense", _DENSE),
    ("dense_norm", "batch_normalization_10", None),
    ("classifier", "dense_1", _DENSE),
)
_BATCH_NORM = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


def musicnn_tags(name: str, package_dir: str | Path | None = None) -> tuple[str, ...]:
    """The tag names of model ``name``, read from the package's ``configuration.py`` without importing it."""
    list_name = _check_name(name)
    path = Path(package_dir or musicnn_package_dir()) / "configuration.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == list_name for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise ValueError(f"{path}: no {list_name} list of tags")


def musicnn_state_dict(checkpoint: TFCheckpoint) -> dict[str, torch.Tensor]:
    """Map a ``build_musicnn`` checkpoint's variables onto ``Musicnn``'s parameter names."""
    tensors = checkpoint.tensors
    state: dict[str, torch.Tensor] = {}

    def variable(name: str) -> torch.Tensor:
        if name not in tensors:
            raise ValueError(f"{checkpoint.prefix}: not a musicnn checkpoint: it has no variable {name!r}")
        return tensors[name]

    for ours, theirs, kernel_layout in _LAYERS:
        if kernel_layout is None:
            for torch_name, tf_name in _BATCH_NORM.items():
                state[f"{ours}.{torch_name}"] = variable(f"{theirs}/{tf_name}")
            state[f"{ours}.num_batches_tracked"] = torch.tensor(0)
            continue
        kernel = variable(f"{theirs}/kernel")
        if kernel_layout == _CONV2D:
            weight = kernel.permute(3, 2, 0, 1)
        elif kernel_layout == _CONV1D:
            weight = kernel[:, :, 0, :].permute(2, 1, 0)
        else:
            weight = kernel.T
        state[f"{ours}.weight"] = weight.contiguous()
        state[f"{ours}.bias"] = variable(f"{theirs}/bias")
    return state


def load_musicnn(name: str = "MSD_musicnn", package_dir: str | Path | None = None) -> Musicnn:
    """A pretrained musicnn tagger (``MSD_musicnn`` or ``MTT_musicnn``) in eval mode.

    Reads only the model's own variables (the checkpoints also hold Adam's slots) from
    ``<package>/<name>/``, an installed ``musicnn`` package found without importing it.
    """
    _check_name(name)
    package = Path(package_dir) if package_dir is not None else musicnn_package_dir()
    layers = {theirs for _, theirs, _ in _LAYERS}
    checkpoint = read_tf_checkpoint(
        package / name, keep=lambda variable: variable.split("/")[0] in layers and "/Adam" not in variable
    )
    config = MusicnnConfig(tags=musicnn_tags(name, package))
    model = Musicnn(config)
    model.load_state_dict(musicnn_state_dict(checkpoint), strict=True)
    return model.eval()


def _check_name(name: str) -> str:
    if name not in MUSICNN_MODELS:
        raise ValueError(f"unknown musicnn model {name!r}; choose one of {', '.join(MUSICNN_MODELS)}")
    return MUSICNN_MODELS[name]
