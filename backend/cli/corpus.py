"""``s2m corpus``: build the generated training corpus, or import a real dataset."""

from __future__ import annotations

import click


@click.group()
def corpus() -> None:
    """Build or import a labelled speech/music emotion corpus."""
