"""``s2m train``: train the emotion model on a corpus directory and write a model directory."""

from __future__ import annotations

import json
from pathlib import Path

import click

# Same choices as ml.model.config, repeated so the CLI does not import model code at start.
METHODS = ("triplet", "emosim", "classify", "regress")
MODALITIES = ("audio", "text", "fusion")


@click.command()
@click.option(
    "--corpus",
    "corpus_dirs",
    required=True,
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Corpus directory with manifest.csv (`s2m corpus build` or `s2m corpus import`); repeat it to train "
    "on several (pretrained encoders only).",
)
@click.option(
    "--encoders",
    default="trained",
    show_default=True,
    type=click.Choice(["trained", "pretrained"]),
    help="trained: compact encoders trained from scratch on one corpus; pretrained: frozen Whisper tiny.en "
    "(speech) and musicnn (music) from their packages, heads trained on one or more corpora.",
)
@click.option(
    "--feature-cache",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="pretrained: folder that keeps the frozen encoders' features between runs.",
)
@click.option(
    "--whisper-layer",
    default=None,
    type=click.IntRange(1, 4),
    help="pretrained: Whisper hidden layer read for speech (default 2).",
)
@click.option(
    "--musicnn-model",
    "musicnn_models",
    multiple=True,
    type=click.Choice(["MSD_musicnn", "MTT_musicnn"]),
    help="pretrained: musicnn tagger(s) read for music; repeat for both (default MSD_musicnn).",
)
@click.option(
    "--patch-hop",
    default=None,
    type=click.FloatRange(min=0.5),
    help="pretrained: seconds between musicnn's 3 s patches over a track (default 12; smaller is slower).",
)
@click.option(
    "--musicnn-output",
    "musicnn_outputs",
    multiple=True,
    type=click.Choice(["logits", "penultimate"]),
    help="pretrained: musicnn outputs per patch; repeat for both (default both).",
)
@click.option(
    "--music-statistics",
    default=None,
    type=click.Choice(["mean", "mean_std"]),
    help="pretrained: pooling of the patches over a track (default mean_std).",
)
@click.option(
    "--max-music-per-label",
    default=None,
    type=click.IntRange(min=1),
    help="pretrained: at most this many music clips per split and label of each corpus (a seeded sample).",
)
@click.option(
    "--max-speech-per-label",
    default=None,
    type=click.IntRange(min=1),
    help="pretrained: at most this many speech clips per split and label of each corpus (a seeded sample).",
)
@click.option(
    "--corpus-weight",
    "corpus_weights",
    multiple=True,
    metavar="NAME=WEIGHT",
    help="pretrained: within a label, draw the corpus folder NAME this much more often (default 1 each); repeatable.",
)
@click.option(
    "--speech-views",
    default=None,
    type=click.IntRange(min=1),
    help="pretrained: feature views per speech clip (the clip plus augmented copies; default 2).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model directory to write.",
)
@click.option(
    "--method",
    default="emosim",
    show_default=True,
    type=click.Choice(METHODS),
    help="Training method: triplet, triplet + EmoSim, or a baseline.",
)
@click.option(
    "--modality",
    default="audio",
    show_default=True,
    type=click.Choice(MODALITIES),
    help="Speech side: voice audio, transcript text, or masking fusion of both.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same model).")
@click.option("--epochs", default=None, type=click.IntRange(min=1), help="Epochs (default: the trainer's).")
@click.option("--steps-per-epoch", default=None, type=click.IntRange(min=1), help="Optimiser steps per epoch.")
@click.option("--batch-size", default=None, type=click.IntRange(min=1), help="Speech anchors per step.")
@click.option("--music-batch-size", default=None, type=click.IntRange(min=2), help="Music clips per step.")
@click.option(
    "--learning-rate",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    help="Peak AdamW learning rate (lower it to fine-tune a trained model gently).",
)
@click.option("--emosim-weight", default=None, type=click.FloatRange(min=0), help="Lambda of the EmoSim term.")
@click.option(
    "--wav2vec2",
    "wav2vec2_dir",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="Local directory of a pretrained Wav2Vec2Model to use as speech backbone.",
)
@click.option(
    "--init",
    "init_dir",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="Start from the weights of this model directory (fine-tune it, e.g. the bundled model on your data).",
)
@click.option("--no-augment", is_flag=True, help="Train without waveform augmentation.")
@click.option(
    "--nearest-positive",
    is_flag=True,
    help="Pull each speech anchor towards its most similar matching music mood in the batch, not any match.",
)
@click.option("--threads", default=None, type=click.IntRange(min=1), help="Torch CPU threads.")
def train(
    corpus_dirs: tuple[Path, ...],
    encoders: str,
    feature_cache: Path | None,
    whisper_layer: int | None,
    musicnn_models: tuple[str, ...],
    patch_hop: float | None,
    musicnn_outputs: tuple[str, ...],
    music_statistics: str | None,
    max_music_per_label: int | None,
    max_speech_per_label: int | None,
    corpus_weights: tuple[str, ...],
    speech_views: int | None,
    out_dir: Path,
    method: str,
    modality: str,
    seed: int,
    epochs: int | None,
    steps_per_epoch: int | None,
    batch_size: int | None,
    music_batch_size: int | None,
    learning_rate: float | None,
    emosim_weight: float | None,
    wav2vec2_dir: str | None,
    init_dir: str | None,
    no_augment: bool,
    nearest_positive: bool,
    threads: int | None,
) -> None:
    """Train the speech/music emotion model and write weights, config, labels and MODEL_CARD.md."""
    if encoders == "pretrained":
        _train_heads(
            corpus_dirs,
            out_dir,
            feature_cache,
            seed=seed,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=batch_size,
            music_batch_size=music_batch_size,
            learning_rate=learning_rate,
            emosim_weight=emosim_weight,
            speech_views=speech_views,
            max_music_per_label=max_music_per_label,
            max_speech_per_label=max_speech_per_label,
            corpus_weights=_weights(corpus_weights) or None,
            threads=threads,
            pretrained={
                "whisper_layer": whisper_layer,
                "musicnn_models": musicnn_models or None,
                "musicnn_patch_hop_seconds": patch_hop,
                "musicnn_outputs": musicnn_outputs or None,
                "music_statistics": music_statistics,
            },
        )
        return
    if len(corpus_dirs) > 1:
        raise click.UsageError("several --corpus folders train together only with --encoders pretrained")
    corpus_dir = corpus_dirs[0]
    from ml.training.trainer import train_model

    options = {
        "steps_per_epoch": steps_per_epoch,
        "batch_size": batch_size,
        "music_batch_size": music_batch_size,
        "learning_rate": learning_rate,
        "emosim_weight": emosim_weight,
        "wav2vec2_dir": wav2vec2_dir,
        "init_dir": init_dir,
        "threads": threads,
    }
    overrides = {key: value for key, value in options.items() if value is not None}
    if no_augment:
        overrides["augment"] = False
    if nearest_positive:
        overrides["nearest_positive"] = True
    try:
        model_dir = train_model(
            corpus_dir, out_dir, method=method, modality=modality, seed=seed, epochs=epochs, **overrides
        )
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    version = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["version"]
    click.echo(f"wrote model {version} to {model_dir}")


def _weights(pairs: tuple[str, ...]) -> dict[str, float]:
    weights = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            raise click.BadParameter(f"{pair!r} is not NAME=WEIGHT", param_hint="--corpus-weight") from None
        if not name or weights[name] <= 0:
            raise click.BadParameter(f"{pair!r}: a corpus name and a positive weight", param_hint="--corpus-weight")
    return weights


def _train_heads(corpus_dirs: tuple[Path, ...], out_dir: Path, feature_cache: Path | None, **options) -> None:
    """``--encoders pretrained``: heads on frozen Whisper and musicnn (ml/training/heads.py)."""
    from ml.model.config import PretrainedConfig
    from ml.training.card import shown_path
    from ml.training.heads import train_heads

    pretrained = {key: value for key, value in options.pop("pretrained").items() if value is not None}
    overrides = {key: value for key, value in options.items() if value is not None}
    # The card's command line, rebuilt from the values (folders as shown_path names them).
    words = ["s2m train --encoders pretrained", *(f"--corpus {shown_path(c)}" for c in corpus_dirs)]
    words.append(f"--out {shown_path(out_dir)}")
    for key, value in {**overrides, **pretrained}.items():
        flag = "--" + HEADS_FLAGS.get(key, key).replace("_", "-")
        if isinstance(value, dict):
            words += [f"{flag} {k}={v:g}" for k, v in value.items()]
        else:
            words += [f"{flag} {v}" for v in value] if isinstance(value, tuple) else [f"{flag} {value}"]
    try:
        model_dir = train_heads(
            corpus_dirs,
            out_dir,
            command=" ".join(words),
            cache_dir=feature_cache,
            pretrained=PretrainedConfig(**pretrained),
            **overrides,
        )
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    version = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["version"]
    click.echo(f"wrote model {version} to {model_dir}")


# Option names of ml.training.heads whose flags differ from the name.
HEADS_FLAGS = {
    "musicnn_models": "musicnn_model",
    "musicnn_patch_hop_seconds": "patch_hop",
    "musicnn_outputs": "musicnn_output",
    "corpus_weights": "corpus_weight",
}
