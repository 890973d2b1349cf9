"""``s2m evaluate`` (retrieval metrics of a model on labelled audio) and ``s2m analyze`` (one clip).

Both import the model code inside the command, so loading the CLI never imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from backend.core.audio import AudioError, check_clip, decode_audio
from backend.core.config import ConfigError, Settings

# Row titles of the metrics table, in print order.
METRIC_TITLES = {
    "mrr": "MRR",
    "p_at_5": "P@5",
    "ndcg_at_5": "nDCG@5",
    "sim_at_5": "sim@5",
    "ndcg_at_5_hard": "nDCG@5 (hard)",
}

existing_dir = click.Path(exists=True, file_okay=False, path_type=Path)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _load_model(model_dir: Path | None, device: str) -> Any:
    """Load the emotion model from ``model_dir`` (default: Settings.model_dir) or exit with why not."""
    from ml.embedding.bundle import load_model

    model_dir = model_dir or _settings().model_dir
    try:
        return load_model(Path(model_dir), device=device)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        # RuntimeError: weights that do not fit this code's architecture (torch's load_state_dict).
        raise click.ClickException(f"cannot load the model from {str(model_dir)!r}: {exc}") from None


@click.command()
@click.option("--model", "model_dir", type=existing_dir, help="Model directory (default: MODEL_DIR setting).")
@click.option("--queries", "queries_dir", type=existing_dir, help="Speech tree QDIR/<label>/<file>.")
@click.option("--catalogue", "catalogue_dir", type=existing_dir, help="Music tree CDIR/<label>/<file>.")
@click.option(
    "--corpus",
    "corpus_dir",
    type=existing_dir,
    help="A built corpus: queries = DIR/speech/SPLIT, catalogue = DIR/music/SPLIT.",
)
@click.option(
    "--split",
    default="test",
    show_default=True,
    type=click.Choice(["train", "valid", "test"]),
    help="Corpus split evaluated with --corpus.",
)
@click.option(
    "--batch-size", default=8, show_default=True, type=click.IntRange(min=1), help="Music tracks per model call."
)
@click.option("--device", default="cpu", show_default=True, help="Torch device for the model.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--markdown", is_flag=True, help="Print Markdown tables (for a model card) instead of plain text.")
def evaluate(
    model_dir: Path | None,
    queries_dir: Path | None,
    catalogue_dir: Path | None,
    corpus_dir: Path | None,
    split: str,
    batch_size: int,
    device: str,
    as_json: bool,
    markdown: bool,
) -> None:
    """Rank the whole music catalogue for every speech query and report retrieval metrics."""
    from ml.evaluation.dataset import DatasetError
    from ml.evaluation.runner import ClipError, collect_corpus, collect_trees, evaluate_clips

    if corpus_dir is not None and (queries_dir or catalogue_dir):
        raise click.UsageError("give either --corpus or --queries with --catalogue, not both")
    if corpus_dir is None and not (queries_dir and catalogue_dir):
        raise click.UsageError("give --queries and --catalogue (folder-per-label trees), or --corpus")
    try:
        # Check both trees before spending time on loading the model.
        if corpus_dir is not None:
            queries, catalogue = collect_corpus(corpus_dir, split)
        else:
            queries, catalogue = collect_trees(queries_dir, catalogue_dir)
        result = evaluate_clips(_load_model(model_dir, device), queries, catalogue, batch_size=batch_size)
    except (DatasetError, ClipError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json and markdown:
        raise click.UsageError("give --json or --markdown, not both")
    report = result.to_dict()
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(format_markdown(report) if markdown else format_report(report))


def format_markdown(report: dict[str, Any]) -> str:
    """Render an evaluation report as Markdown tables: metrics against chance, per speech label, and both
    modalities' top-1 accuracy with their confusion."""
    lines = [
        f"{report['n_queries']} speech queries ranked against {report['n_catalogue']} music tracks.",
        "",
        "| metric | model | random ranking |",
        "|---|---|---|",
        *(f"| {title} | {report[key]:.3f} | {report['chance'][key]:.3f} |" for key, title in METRIC_TITLES.items()),
        f"| speech top-1 accuracy | {report['speech_accuracy']:.3f} | |",
        f"| music top-1 accuracy | {report['music_accuracy']:.3f} | |",
        "",
        "| speech label | queries | MRR | P@5 | nDCG@5 |",
        "|---|---|---|---|---|",
    ]
    for label, row in report["per_label"].items():
        lines.append(
            f"| {label} | {row['n_queries']} | {row['mrr']:.3f} | {row['p_at_5']:.3f} | {row['ndcg_at_5']:.3f} |"
        )
    for kind, key in (("speech", "confusion"), ("music", "music_confusion")):
        confusion = report[key]
        columns = list(next(iter(confusion.values())))
        lines += [
            "",
            f"{kind.capitalize()} confusion (rows: true label, columns: predicted; last column: top-1 accuracy):",
            "",
            f"| {kind} | " + " | ".join(columns) + " | accuracy |",
            "|---" * (len(columns) + 2) + "|",
        ]
        for label, counts in confusion.items():
            right = counts.get(label, 0) / max(1, sum(counts.values()))
            lines.append(f"| {label} | " + " | ".join(str(counts[c]) for c in columns) + f" | {right:.2f} |")
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    """Render an evaluation report as plain-text tables."""
    lines = [
        f"model {report['model_version'] or '(unversioned)'}: "
        f"{report['n_queries']} speech queries, {report['n_catalogue']} music tracks",
        "",
        f"{'metric':<14}{'model':>8}{'chance':>8}",
        *(f"{title:<14}{report[key]:>8.3f}{report['chance'][key]:>8.3f}" for key, title in METRIC_TITLES.items()),
        "",
        f"{'query label':<12}{'n':>5}{'MRR':>8}{'P@5':>8}{'nDCG@5':>8}",
    ]
    for label, row in report["per_label"].items():
        lines.append(f"{label:<12}{row['n_queries']:>5}{row['mrr']:>8.3f}{row['p_at_5']:>8.3f}{row['ndcg_at_5']:>8.3f}")
    for kind in ("speech", "music"):
        confusion = report["confusion" if kind == "speech" else "music_confusion"]
        columns = list(next(iter(confusion.values())))
        width = max(len(c) for c in columns) + 2
        lines += [
            "",
            f"{kind} emotion accuracy {report[f'{kind}_accuracy']:.3f}; confusion (rows true, columns predicted):",
            " " * 12 + "".join(f"{c:>{width}}" for c in columns),
        ]
        for label, counts in confusion.items():
            lines.append(f"{label:<12}" + "".join(f"{counts[c]:>{width}}" for c in columns))
    return "\n".join(lines)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    default="speech",
    show_default=True,
    type=click.Choice(["speech", "music"]),
    help="Whether FILE is a speech clip or a music track.",
)
@click.option("--model", "model_dir", type=existing_dir, help="Model directory (default: MODEL_DIR setting).")
@click.option("--transcript", help="What the speech says (speech only; used by text/fusion models).")
@click.option("--device", default="cpu", show_default=True, help="Torch device for the model.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def analyze(file: Path, kind: str, model_dir: Path | None, transcript: str | None, device: str, as_json: bool) -> None:
    """Print the emotion label probabilities, valence and arousal of one audio file."""
    if transcript is not None and kind != "speech":
        raise click.UsageError("--transcript only applies to --kind speech")
    settings = _settings()
    max_seconds = settings.max_speech_seconds if kind == "speech" else settings.max_track_seconds
    try:
        audio = decode_audio(file, max_seconds=max_seconds)
        check_clip(audio, min_seconds=settings.min_audio_seconds, max_seconds=max_seconds)
    except AudioError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    model = _load_model(model_dir, device)
    if kind == "speech":
        analysis = model.embed_speech(audio.samples, audio.sample_rate, transcript=transcript)
    else:
        analysis = model.embed_music(audio.samples, audio.sample_rate)
    if as_json:
        click.echo(
            json.dumps(
                {"file": str(file), "kind": kind, "model_version": model.version, **analysis.to_dict()}, indent=2
            )
        )
        return
    click.echo(f"{file} ({kind}, {audio.duration_seconds:.1f} s): {analysis.label}")
    click.echo(f"valence {analysis.valence:.3f}  arousal {analysis.arousal:.3f}")
    # Labels the model cannot give this kind of clip have probability 0: leave them out.
    for label, p in sorted(analysis.probabilities.items(), key=lambda item: -item[1]):
        if p <= 0:
            continue
        click.echo(f"  {label:<10}{p:6.3f}  {'#' * round(p * 40)}")
