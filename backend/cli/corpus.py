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
@click.option("--size", type=click.Choice(["small", "full"]), default="small", show_default=True,
              help="small: about 100 speech and 50 music clips (tests); full: thousands of each.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same corpus.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Render processes.")
@click.option("--force", is_flag=True, help="Overwrite an output directory that is not empty.")
def build(out_dir: Path, size: str, seed: int, workers: int, force: bool) -> None:
    """Generate speech and music clips with emotion labels into OUT."""
    from workers.corpus.build import CorpusError, build_corpus

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        manifest = build_corpus(out_dir, size=size, seed=seed, workers=workers, force=force)
    except CorpusError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {manifest} and {manifest.parent / 'CORPUS.md'}")
