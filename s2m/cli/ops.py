"""Operating the service: ``s2m db upgrade``, ``requeue``, ``reconcile``, ``reindex``, ``worker``, ``api``, ``serve``.

Commands that need the model import the worker code inside the command body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from backend.core.config import Settings


def _settings() -> Settings:
    return Settings.from_env()


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations to DATABASE_URL (or the embedded SQLite database), and convert an
    embedded vector folder of qdrant-client's local mode to qdrant-edge."""
    from backend.core.storage.db import upgrade_database
    from backend.core.storage.vectors import VectorStore

    settings = _settings()
    url = settings.resolved_database_url
    upgrade_database(url, revision)
    click.echo(f"database at {_redacted(url)} is at revision {revision}")
    if settings.qdrant_url:
        return
    store = VectorStore.from_settings(settings)
    try:
        converted = store.upgrade()
    finally:
        store.close()
    if converted is not None:
        counts = ", ".join(f"{name} {count} points" for name, count in converted.items())
        click.echo(f"converted the vector folder to qdrant-edge: {counts or 'no collections'}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _context():
    from backend.core.services.context import ServiceContext

    return ServiceContext.from_settings(_settings())


@click.command()
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds queued/processing work must have waited (default STALE_AFTER_SECONDS).",
)
@click.option("--failed", "include_failed", is_flag=True, help="Also retry failed work, with fresh attempts.")
def requeue(older_than: float | None, include_failed: bool) -> None:
    """Enqueue again work that is stale (its message was lost or its broker was down)."""
    from backend.core.services.maintenance import requeue as requeue_work

    context = _context()
    wait = context.settings.stale_after_seconds if older_than is None else older_than
    report = requeue_work(context, datetime.now(UTC), wait, include_failed)
    click.echo(
        f"requeued {len(report.tracks)} track(s), {len(report.requests)} recommendation request(s)"
        f" and {len(report.timelines)} timeline(s)"
    )
    if report.not_sent:
        raise click.ClickException(f"the broker refused {len(report.not_sent)} item(s); run `s2m requeue` again")


@click.command()
@click.option("--dry-run", is_flag=True, help="Only report what is out of step.")
def reconcile(dry_run: bool) -> None:
    """Re-embed ready tracks without vectors, delete vectors without tracks, delete audio files without rows."""
    from backend.core.services.errors import ServiceError
    from backend.core.services.maintenance import reconcile as reconcile_store

    try:
        report = reconcile_store(_context(), dry_run=dry_run)
    except ServiceError as exc:  # no model registered yet: nothing is indexed to reconcile
        raise click.ClickException(exc.message) from None
    verb = "would" if dry_run else "did"
    click.echo(
        f"{report.collection}: {verb} re-embed {len(report.missing_vectors)} track(s) without a vector, "
        f"{verb} delete {len(report.orphan_vectors)} vector(s) without a track, "
        f"{verb} file {len(report.relabelled_vectors)} vector(s) under their track's catalogue"
    )
    click.echo(
        f"media: {verb} delete {len(report.orphan_files)} audio file(s) no row refers to, "
        f"{len(report.stale_uploads)} staging file(s) of uploads that died"
    )
    for path in [*report.orphan_files, *report.stale_uploads]:
        click.echo(f"  {path}")
    if report.not_sent:
        raise click.ClickException(
            f"the broker refused {len(report.not_sent)} item(s); run `s2m requeue --older-than 0`"
        )


@click.command()
@click.option(
    "--model-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The new model directory.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=None, help="Tracks per forward pass (default EMBED_BATCH_SIZE)."
)
def reindex(model_dir: Path, batch_size: int | None) -> None:
    """Re-embed the catalogue with another model, then switch queries to it in one step."""
    from tqdm import tqdm

    from backend.core.services.maintenance import reindex as reindex_catalogue
    from workers.context import WorkerContext
    from workers.pipeline import music_embedder
    from workers.registry import read_model_description

    context = _context()
    settings = context.settings
    try:
        target = read_model_description(model_dir)
        embed = music_embedder(WorkerContext(settings), model_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    bar = tqdm(unit="track", desc=f"reindex {model_dir.name}")

    def announce(count: int) -> None:
        bar.total = (bar.total or 0) + count
        bar.refresh()

    report = reindex_catalogue(
        context,
        target,
        embed,
        batch_size=batch_size or settings.embed_batch_size,
        progress=bar.update,
        announce=announce,
    )
    bar.close()
    if not report.switched:
        click.echo(f"model {report.version} is already active; nothing to do")
        return
    click.echo(
        f"embedded {report.embedded} track(s) into {report.collection}; queries now use {report.version} "
        f"(was {report.previous or 'none'}); {len(report.requeued)} late track(s) requeued"
    )


@click.command()
@click.option("--queues", default="ingest,query,timeline", show_default=True)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Pool processes (default WORKER_CONCURRENCY: one per CPU core, at most 8).",
)
@click.option("--pool", type=click.Choice(["prefork", "solo", "threads"]), default="prefork", show_default=True)
@click.option("--loglevel", default="INFO", show_default=True)
def worker(queues: str, concurrency: int | None, pool: str, loglevel: str) -> None:
    """Run a Celery worker (same as `celery -A workers.celery_app worker -Q ingest,query,timeline`)."""
    from workers.celery_app import create_worker_celery

    settings = _settings()
    processes = concurrency or settings.resolved_worker_concurrency
    app = create_worker_celery(settings)
    app.worker_main(["worker", "-Q", queues, "-c", str(processes), "-P", pool, "-l", loglevel])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def api(host: str, port: int) -> None:
    """Serve the HTTP API with Werkzeug's threaded server (put a WSGI server in front in production)."""
    from werkzeug.serving import run_simple

    from backend.api.app import create_app
    from backend.api.security import ApiRequestHandler

    app = create_app(_settings())
    app.extensions["s2m"].vectors.own()  # embedded: the serving process owns the vector folder
    run_simple(host, port, app, threaded=True, request_handler=ApiRequestHandler)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the API with supervised workers on this machine (the embedded default, until Ctrl-C).

    A query worker and a catalogue worker sized to the machine (WORKER_CONCURRENCY); a worker that
    dies is restarted and its work sent again. The database is migrated first.
    """
    import signal

    from s2m.local_stack import LocalStack, LocalStackError

    try:
        with LocalStack(_settings(), host=host, port=port) as stack:
            workers = ", ".join(f"{w.spec.name} x{w.spec.concurrency}" for w in stack.workers)
            click.echo(f"Serving {stack.url}/ with workers {workers} (logs: {stack.api_log}, {stack.worker_logs})")
            click.echo("Every /v1 request needs an API key: s2m keys create --catalogue NAME --scopes read,query")
            for stop_signal in (signal.SIGINT, signal.SIGTERM):
                signal.signal(stop_signal, signal.default_int_handler)
            try:
                while True:
                    stack.sleep(1.0)
            except KeyboardInterrupt:
                click.echo("Stopping the workers and the API ...")
    except LocalStackError as exc:
        raise click.ClickException(str(exc)) from None


COMMANDS = (db, requeue, reconcile, reindex, worker, api, serve)
