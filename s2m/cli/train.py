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
    "corpus_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Corpus directory with manifest.csv (from `s2m corpus build`).",
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
    corpus_dir: Path,
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
