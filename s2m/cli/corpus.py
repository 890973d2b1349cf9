"""``s2m corpus``: build the generated training corpus, or import a real dataset."""

from __future__ import annotations

import logging
from pathlib import Path

import click


@click.group()
def corpus() -> None:
    """Build or import a labelled speech/music emotion corpus."""


@corpus.command("build")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output directory.")
@click.option(
    "--size",
    type=click.Choice(["small", "full"]),
    default="small",
    show_default=True,
    help="small: about 100 speech and 50 music clips (tests); full: thousands of each.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same corpus.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Render processes.")
@click.option("--force", is_flag=True, help="Overwrite an output directory that is not empty.")
def build(out_dir: Path, size: str, seed: int, workers: int, force: bool) -> None:
    """Generate speech and music clips with emotion labels into OUT."""
    from corpus.build import CorpusError, build_corpus

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        manifest = build_corpus(out_dir, size=size, seed=seed, workers=workers, force=force)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {manifest} and {manifest.parent / 'CORPUS.md'}")


@corpus.command("import")
@click.argument("dataset", type=click.Choice(["iemocap", "ravdess", "audioset-mood", "debian-audio"]))
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output directory.")
@click.option(
    "--segments",
    "segments_csv",
    type=click.Path(path_type=Path),
    help="audioset-mood only: the segments CSV (default: the one CSV inside SRC).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="audioset-mood and debian-audio: split seed.")
@click.option(
    "--set",
    "package_set",
    type=click.Choice(["benchmark", "train"]),
    help="debian-audio only (required there): the held-out benchmark packages or the training ones.",
)
@click.option(
    "--no-unlabelled",
    is_flag=True,
    help="debian-audio --set train: skip the files no rule labels (faster; they only serve self-training).",
)
@click.option("--force", is_flag=True, help="Overwrite an output directory that is not empty.")
def import_(
    dataset: str,
    src: Path,
    out_dir: Path,
    segments_csv: Path | None,
    seed: int,
    package_set: str | None,
    no_unlabelled: bool,
    force: bool,
) -> None:
    """Convert a real dataset at SRC into the corpus layout in OUT."""
    from corpus.build import CorpusError
    from corpus.importers import IMPORTERS

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if not src.exists():
        raise click.BadParameter(f"source {src} does not exist", param_hint="SRC")
    if segments_csv is not None and dataset != "audioset-mood":
        raise click.BadParameter("--segments only applies to audioset-mood", param_hint="--segments")
    if (package_set is not None) != (dataset == "debian-audio"):
        raise click.BadParameter("--set is required for debian-audio and only applies to it", param_hint="--set")
    extra: dict[str, object] = {}
    if dataset == "audioset-mood":
        extra = {"segments_csv": segments_csv, "seed": seed}
    elif dataset == "debian-audio":
        extra = {"role": package_set, "seed": seed, "unlabelled": not no_unlabelled}
    elif no_unlabelled:
        raise click.BadParameter("--no-unlabelled only applies to debian-audio", param_hint="--no-unlabelled")
    try:
        manifest = IMPORTERS[dataset](src, out_dir, force=force, **extra)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {manifest} and {manifest.parent / 'CORPUS.md'}")
