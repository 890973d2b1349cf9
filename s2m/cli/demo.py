"""``s2m demo``: a small catalogue, the API and a worker on the embedded default, one query per emotion."""

from __future__ import annotations

import csv
import shutil
import signal
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import click

from backend.core.config import DEFAULT_DATA_DIR, Settings
from backend.core.domain.emotions import SPEECH_LABELS, SPEECH_TO_MUSIC
from backend.core.domain.work import READY
from s2m.bulk_ingest import ingest_paths, wait_until_embedded
from s2m.cli.client import format_recommendation
from s2m.client import ApiClient, ApiError
from s2m.local_stack import LocalStack, LocalStackError

CATALOGUE_SPLITS = ("test", "valid")
EMBED_TIMEOUT_SECONDS = 1800.0
QUERY_TIMEOUT_SECONDS = 300.0
TOP_K = 5


@dataclass(frozen=True)
class DemoCorpus:
    """The demo's inputs: catalogue music clips and one speech query per emotion, each with its label."""

    catalogue: dict[Path, str]
    queries: dict[str, Path]


def load_demo_corpus(corpus_dir: Path, per_label: int | None, query_labels: tuple[str, ...]) -> DemoCorpus:
    """Pick music test/valid clips as the catalogue and the first speech test clip of each emotion."""
    manifest = corpus_dir / "manifest.csv"
    if not manifest.is_file():
        raise click.UsageError(f"no manifest.csv in corpus folder {str(corpus_dir)!r}")
    music: dict[str, list[Path]] = defaultdict(list)
    speech: dict[str, list[Path]] = defaultdict(list)
    with manifest.open(newline="") as handle:
        for row in csv.DictReader(handle):
            path = corpus_dir / row["path"]
            if row["modality"] == "music" and row["split"] in CATALOGUE_SPLITS:
                music[row["label"]].append(path)
            elif row["modality"] == "speech" and row["split"] == "test":
                speech[row["label"]].append(path)
    catalogue = {p: label for label, paths in music.items() for p in sorted(paths)[:per_label]}
    queries = {label: sorted(speech[label])[0] for label in query_labels if speech.get(label)}
    if not catalogue or not queries:
        raise click.UsageError(f"corpus {str(corpus_dir)!r} has no music test/valid clips or no speech test clips")
    return DemoCorpus(catalogue, queries)


def ensure_corpus(corpus_dir: Path | None, work_dir: Path) -> Path:
    """Return a corpus folder: the one given, or the small generated corpus (built once, then reused)."""
    if corpus_dir is not None:
        return corpus_dir
    built = work_dir / "corpus"
    if not (built / "manifest.csv").is_file():
        from corpus.build import build_corpus  # torch-free but heavy: only when needed

        click.echo(f"Building the small demo corpus under {built} (a minute or two, once) ...")
        build_corpus(built, size="small")
    return built


def hard_matches(speech_label: str, results: list[dict], mood_of_track: dict[str, str]) -> int:
    """Count top results made as a mood that answers ``speech_label`` (docs/method.md: hard match)."""
    return sum(1 for r in results[:TOP_K] if mood_of_track.get(r["track_id"]) in SPEECH_TO_MUSIC[speech_label])


def _parse_labels(value: str | None) -> tuple[str, ...]:
    if not value:
        return SPEECH_LABELS
    labels = tuple(label.strip() for label in value.split(",") if label.strip())
    unknown = [label for label in labels if label not in SPEECH_LABELS]
    if unknown:
        raise click.BadParameter(f"unknown speech emotion {unknown[0]!r}; known: {', '.join(SPEECH_LABELS)}")
    return labels


@click.command()
@click.option("--serve", is_flag=True, help="Keep serving the web page after the demo, until Ctrl-C.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="API port (0: any free port)."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR / "demo",
    show_default=True,
    help="Where the corpus is cached and the demo's data lives.",
)
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Use this corpus folder instead of building the small one.",
)
@click.option("--per-label", type=click.IntRange(1), default=None, help="Catalogue clips per mood (default: all).")
@click.option(
    "--queries", "query_labels", default=None, help="Speech emotions to query (comma-separated; default: all)."
)
def demo(
    serve: bool,
    port: int,
    host: str,
    work_dir: Path,
    corpus_dir: Path | None,
    per_label: int | None,
    query_labels: str | None,
) -> None:
    """Build a small catalogue, ingest it, and ask for music with a speech clip of each emotion."""
    labels = _parse_labels(query_labels)
    data_dir = work_dir / "data"
    # The embedded default, whatever the environment says: SQLite, local Qdrant, filesystem broker.
    settings = Settings.from_env(
        data_dir=data_dir, database_url="", celery_broker_url="", qdrant_url="", qdrant_path="", media_dir=""
    )
    if not (settings.model_dir / "config.json").is_file():
        raise click.ClickException(f"no model in {settings.model_dir}; set MODEL_DIR to a model folder (s2m train)")
    corpus = load_demo_corpus(ensure_corpus(corpus_dir, work_dir), per_label, labels)
    shutil.rmtree(data_dir, ignore_errors=True)
    click.echo(
        f"Demo catalogue: {len(corpus.catalogue)} music clips; {len(corpus.queries)} speech queries; data in {data_dir}"
    )

    try:
        _run_demo(settings, corpus, host, port, serve)
    except (LocalStackError, ApiError) as exc:
        raise click.ClickException(str(exc)) from None


DEMO_CATALOGUE = "demo"


def demo_key(settings: Settings) -> str:
    """A key with every scope for the demo's catalogue (the database is the demo's own, made afresh)."""
    from backend.core.domain.access import SCOPES
    from backend.core.services import keys as key_service
    from backend.core.storage.db import Database

    db = Database.from_settings(settings)
    try:
        catalogue = key_service.ensure_catalogue(db, DEMO_CATALOGUE)
        return key_service.create_key(db, catalogue.id, list(SCOPES), None, key_service.CLI_ACTOR).key
    finally:
        db.dispose()


def signed_in_link(url: str, key: str) -> str:
    """The web page with the key in the fragment: the browser keeps it and never sends it in a URL."""
    return f"{url}/#key={key}"


def _run_demo(settings: Settings, corpus: DemoCorpus, host: str, port: int, serve: bool) -> None:
    """Start the stack, ingest the catalogue, run one query per emotion, optionally keep serving."""
    with LocalStack(settings, host=host, port=port) as stack:
        key = demo_key(settings)
        client = ApiClient(stack.url, api_key=key)
        workers = ", ".join(f"{w.spec.name} x{w.spec.concurrency} (pid {w.pid})" for w in stack.workers)
        click.echo(f"API on {stack.url} (log: {stack.api_log}); workers {workers} (logs: {stack.worker_logs})")
        click.echo(f"Catalogue {DEMO_CATALOGUE!r}, API key (every scope): {key}")
        click.echo(f"Web page, signed in: {signed_in_link(stack.url, key)}")
        started = time.monotonic()
        summary = ingest_paths(
            client,
            list(corpus.catalogue),
            lambda path: {"title": f"{corpus.catalogue[path]}/{path.stem}", "tags": f"demo,{corpus.catalogue[path]}"},
        )
        wait_until_embedded(client, summary, EMBED_TIMEOUT_SECONDS, sleep=stack.sleep)
        click.echo(f"{summary.line()} in {time.monotonic() - started:.0f} s (titles read <mood it was made as>/<clip>)")
        if summary.failures:
            for failure in summary.failures:
                click.echo(f"failed: {failure.path}: {failure.error}", err=True)
            raise click.ClickException("some catalogue clips could not be ingested")

        # Judge results by the mood each clip was made as, not by what the model says of it.
        mood_of_track = {o.track["id"]: corpus.catalogue[o.path] for o in summary.outcomes}
        matched = 0
        for label, path in corpus.queries.items():
            stack.check_workers()
            answer = client.wait_for_recommendation(client.recommend(path, {"limit": "8"})["id"], QUERY_TIMEOUT_SECONDS)
            click.echo(f"\n== {label} speech ({path.name})")
            click.echo(format_recommendation(answer))
            if answer["status"] != READY:
                raise click.ClickException(f"the {label} query did not finish")
            hits = hard_matches(label, answer["results"], mood_of_track)
            matched += hits
            click.echo(f"  top {TOP_K}: {hits} of {TOP_K} made as {'/'.join(sorted(SPEECH_TO_MUSIC[label]))}")
        click.echo(
            f"\nHard-match precision@{TOP_K} over {len(corpus.queries)} queries: "
            f"{matched / (TOP_K * len(corpus.queries)):.2f}"
        )

        if serve:
            click.echo(f"\nServing the web page at {signed_in_link(stack.url, key)} (Ctrl-C to stop)")
            # Ctrl-C or `kill` stop the worker too (it runs in a session of its own), also when the
            # demo was started from a script that left SIGINT ignored.
            for stop_signal in (signal.SIGINT, signal.SIGTERM):
                signal.signal(stop_signal, signal.default_int_handler)
            try:
                while True:
                    stack.sleep(1.0)
            except KeyboardInterrupt:
                click.echo("Stopping the workers and the API ...")
