"""``s2m ingest`` and ``s2m recommend``: client commands against a running API."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tqdm import tqdm

from backend.core.domain.work import READY
from s2m.bulk_ingest import find_audio_files, ingest_paths, title_from_name, wait_until_embedded
from s2m.client import ApiClient, ApiError

DEFAULT_API = "http://127.0.0.1:8000"
api_option = click.option(
    "--api", "api_url", default=DEFAULT_API, show_default=True, envvar="S2M_API", help="Base URL of the API."
)
api_key_option = click.option(
    "--api-key",
    envvar="S2M_API_KEY",
    default=None,
    help="API key (`s2m keys create`); default: the S2M_API_KEY variable.",
)


def format_recommendation(answer: dict) -> str:
    """Render a recommendation request object as readable lines: the query, then ranked tracks."""
    if answer["status"] != READY:
        reason = f": {answer['error']}" if answer.get("error") else ""
        return f"request {answer['id']} is {answer['status']}{reason}"
    query = answer["query"]
    lines = [
        f"speech emotion: {query['emotion']} (valence {query['valence']:.2f}, arousal {query['arousal']:.2f})",
    ]
    if not answer["results"]:
        lines.append("  no track matches (is the catalogue empty, or are the filters too narrow?)")
    for rank, result in enumerate(answer["results"], start=1):
        artist = f" - {result['artist']}" if result.get("artist") else ""
        lines.append(
            f"  {rank:2d}. {result['score']:.3f}  {result['emotion'] or '?':<9} "
            f"v={result['valence']:.2f} a={result['arousal']:.2f}  {result['title'] or result['track_id']}{artist}"
        )
    return "\n".join(lines)


def _split(value: str | None) -> str | None:
    """Normalise a comma-separated option: strip blanks, drop empty items."""
    if value is None:
        return None
    return ",".join(item.strip() for item in value.split(",") if item.strip())


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@api_option
@api_key_option
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64), help="Parallel uploads.")
@click.option("--tags", default=None, help="Comma-separated tags for every uploaded track.")
@click.option("--artist", default=None, help="Artist for every uploaded track.")
@click.option("--wait/--no-wait", default=False, help="Wait until the uploaded tracks are embedded.")
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds --wait waits at most.")
def ingest(
    paths: tuple[Path, ...],
    api_url: str,
    api_key: str | None,
    workers: int,
    tags: str | None,
    artist: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Upload audio files and folders (recursively) to the catalogue; rerun to resume."""
    try:
        files = find_audio_files(paths)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    if not files:
        raise click.UsageError(f"no audio files found in {', '.join(map(str, paths))}")
    fields = {name: value for name, value in (("tags", _split(tags)), ("artist", artist)) if value}
    try:
        client = ApiClient(api_url, api_key=api_key)
        summary = ingest_paths(client, files, lambda path: {**title_from_name(path), **fields}, workers=workers)
        if wait:
            wait_until_embedded(client, summary, timeout)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from None
    for failure in summary.failures:
        click.echo(f"failed: {failure.path}: {failure.error}", err=True)
    click.echo(summary.line())
    if summary.failures:
        raise SystemExit(1)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@api_option
@api_key_option
@click.option("--emotions", default=None, help="Only tracks with these emotions (comma-separated).")
@click.option("--valence-min", type=click.FloatRange(0, 1), default=None)
@click.option("--valence-max", type=click.FloatRange(0, 1), default=None)
@click.option("--arousal-min", type=click.FloatRange(0, 1), default=None)
@click.option("--arousal-max", type=click.FloatRange(0, 1), default=None)
@click.option("--tags", default=None, help="Only tracks with these tags (comma-separated).")
@click.option("--exclude", default=None, help="Track ids to leave out (comma-separated).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--transcript", default=None, help="What the speech says, if known.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the result.")
@click.option("--json", "as_json", is_flag=True, help="Print the request object as JSON.")
def recommend(file: Path, api_url: str, api_key: str | None, timeout: float, as_json: bool, **options: object) -> None:
    """Send a speech clip and print the catalogue tracks whose emotion matches it best."""
    for name in ("emotions", "tags", "exclude"):
        options[name] = _split(options[name])  # type: ignore[arg-type]
    fields = {name: str(value) for name, value in options.items() if value not in (None, "")}
    try:
        client = ApiClient(api_url, api_key=api_key)
        answer = client.wait_for_recommendation(client.recommend(file, fields)["id"], timeout)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(answer, indent=2) if as_json else format_recommendation(answer))
    if answer["status"] != READY:
        raise SystemExit(1)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


def format_timeline(answer: dict) -> str:
    """Render a timeline object as readable lines: each scene, then its tracks."""
    if answer["status"] != READY:
        reason = f": {answer['error']}" if answer.get("error") else ""
        return f"timeline {answer['id']} is {answer['status']} ({answer['progress']:.0f}%){reason}"
    lines = [
        f"{_clock(answer['duration_seconds'])} of audio, {len(answer['segments'])} speech segments, "
        f"{len(answer['scenes'])} scenes"
    ]
    for scene in answer["scenes"]:
        lines.append(
            f"{_clock(scene['start'])}-{_clock(scene['end'])}  {scene['emotion']:<9} "
            f"v={scene['valence']:.2f} a={scene['arousal']:.2f}"
        )
        if not scene["tracks"]:
            lines.append("    no track matches (is the catalogue empty, or are the filters too narrow?)")
        for result in scene["tracks"]:
            artist = f" - {result['artist']}" if result.get("artist") else ""
            name = result["title"] or result["track_id"]
            lines.append(f"    {result['score']:.3f}  {result['emotion'] or '?':<9} {name}{artist}")
    return "\n".join(lines)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@api_option
@api_key_option
@click.option("--segment-seconds", type=click.FloatRange(2, 60), default=None, help="Longest speech segment.")
@click.option("--min-scene-seconds", type=click.FloatRange(0, 600), default=None, help="Shortest scene.")
@click.option("--tracks-per-scene", type=click.IntRange(1, 20), default=None)
@click.option("--cover-scene", is_flag=True, default=None, help="Prefer tracks at least as long as their scene.")
@click.option("--emotions", default=None, help="Only tracks with these emotions (comma-separated).")
@click.option("--tags", default=None, help="Only tracks with these tags (comma-separated).")
@click.option("--exclude", default=None, help="Track ids to leave out (comma-separated).")
@click.option("--transcript", default=None, help="What the recording says, if known.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait for the timeline.")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline object as JSON.")
def timeline(file: Path, api_url: str, api_key: str | None, timeout: float, as_json: bool, **options: object) -> None:
    """Send a long recording and print its emotion timeline: scenes, with tracks for each."""
    for name in ("emotions", "tags", "exclude"):
        options[name] = _split(options[name])  # type: ignore[arg-type]
    fields = {
        name: ("true" if value is True else str(value)) for name, value in options.items() if value not in (None, "")
    }
    try:
        client = ApiClient(api_url, api_key=api_key)
        created = client.create_timeline(file, fields)
        with tqdm(total=100, unit="%", desc="timeline", disable=as_json, leave=False) as bar:

            def show(answer: dict) -> None:
                bar.update(answer["progress"] - bar.n)

            answer = client.wait_for_timeline(created["id"], timeout, show)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(answer, indent=2) if as_json else format_timeline(answer))
    if answer["status"] != READY:
        raise SystemExit(1)
