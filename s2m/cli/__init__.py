"""The ``s2m`` command line: one click group, one module per family of commands.

Commands that need torch import the worker code inside the command, so ``s2m --help`` and the
API-side commands stay light.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="speech2music")
def main() -> None:
    """Speech-to-music emotion recommendation: corpus, model, service and client commands."""


def _register() -> None:
    from s2m.cli import corpus, evaluate, train

    main.add_command(corpus.corpus)
    main.add_command(evaluate.evaluate)
    main.add_command(evaluate.analyze)
    main.add_command(train.train)

    from s2m.cli import ops  # service operations: db, requeue, reconcile, reindex, worker, api

    for command in ops.COMMANDS:
        main.add_command(command)

    from s2m.cli import client, demo, keys

    main.add_command(keys.keys)
    main.add_command(client.ingest)
    main.add_command(client.recommend)
    main.add_command(client.timeline)
    main.add_command(demo.demo)


_register()

if __name__ == "__main__":
    main()
