"""Build the generated corpus: plan every clip from the seed, render them in a process pool, write
the manifest and the data card."""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from corpus import datacard, music
from corpus.music import MusicClip
from corpus.plan import SIZES, plan_music, plan_speech
from corpus.speech import SpeechEngine, default_engines
from corpus.utterances import SPEECH_RATE, Utterance, render_utterance
from ml.manifest import ManifestRow, write_manifest

log = logging.getLogger(__name__)
OUTPUTS = ("speech", "music", "manifest.csv", "CORPUS.md", ".work")


class CorpusError(RuntimeError):
    """A corpus cannot be built or imported as asked; the message says why."""


def prepare_output(out_dir: Path, force: bool) -> None:
    """Create the output directory; refuse a non-empty one unless ``force`` (then clear our outputs)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise CorpusError(f"output path {out_dir} exists and is not a directory")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not force:
            raise CorpusError(f"output directory {out_dir} is not empty (use --force to overwrite)")
        for name in OUTPUTS:
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class CorpusPlan:
    """Every clip of a corpus, planned from the seed, and what was missing to plan it."""

    jobs: list[tuple[ManifestRow, Utterance | MusicClip]]
    engines: list[SpeechEngine]  # the speech engines found and used
    problems: list[str]  # one line per missing engine or renderer


def plan_corpus(size: str, seed: int, engines: Sequence[SpeechEngine] | None = None) -> CorpusPlan:
    """Plan a corpus of ``size`` from ``seed``, skipping (and reporting) missing engines."""
    if size not in SIZES:
        raise CorpusError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    spec = SIZES[size]
    engines = list(default_engines() if engines is None else engines)
    usable = [e for e in engines if e.available()]
    problems = [e.missing_reason() for e in engines if not e.available()]
    for problem in problems:
        log.warning("speech engine missing, building without it: %s", problem)
    music_jobs: list[tuple[ManifestRow, MusicClip]] = []
    renderer_problem = music.missing_renderer()
    try:
        speech_jobs = plan_speech(usable, spec, seed)
        if renderer_problem:
            log.warning("music renderer missing, building speech only: %s", renderer_problem)
            problems.append(renderer_problem)
        else:
            scores = music.score_catalogue(spec.scores, seed)
            music_jobs = plan_music(scores, music.available_soundfonts(), spec, seed)
    except RuntimeError as error:
        raise CorpusError(str(error)) from None
    music_jobs.sort(key=lambda job: job[1].score_id)  # neighbouring jobs reuse a parsed score
    return CorpusPlan([*speech_jobs, *music_jobs], usable, problems)


def build_corpus(
    out_dir: Path,
    size: str = "small",
    seed: int = 0,
    *,
    engines: Sequence[SpeechEngine] | None = None,
    workers: int = 2,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build the corpus into ``out_dir`` and return the manifest path."""
    started = time.monotonic()
    plan = plan_corpus(size, seed, engines)
    out_dir = Path(out_dir)
    prepare_output(out_dir, force)
    jobs = [(out_dir, row, item) for row, item in plan.jobs]
    rows: list[ManifestRow] = []
    # Spawned, not forked, workers: a fork of a process whose torch/BLAS thread pools are running
    # (a worker, a test session) can deadlock in the child.
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(_render_job, jobs, chunksize=4)
        for row in tqdm(results, total=len(jobs), desc=f"corpus {size}", unit="clip", disable=not progress):
            rows.append(row)
    shutil.rmtree(out_dir / ".work", ignore_errors=True)
    manifest = write_manifest(rows, out_dir / "manifest.csv")
    datacard.write_datacard(
        out_dir / "CORPUS.md",
        rows,
        size=size,
        seed=seed,
        seconds=time.monotonic() - started,
        engines=plan.engines,
        problems=plan.problems,
    )
    return manifest


def render_planned(out_dir: Path, row: ManifestRow, item: Utterance | MusicClip) -> Path:
    """Render one planned clip to its place under ``out_dir`` and return the file path."""
    target = out_dir / row.path
    target.parent.mkdir(parents=True, exist_ok=True)
    work_dir = out_dir / ".work"
    work_dir.mkdir(exist_ok=True)
    try:
        if isinstance(item, Utterance):
            samples, rate = render_utterance(item, work_dir), SPEECH_RATE
        else:
            samples, rate = music.render_clip(item, work_dir), music.MUSIC_RATE
    except Exception as error:
        raise CorpusError(f"rendering {row.path} ({row.source}) failed: {error}") from error
    sf.write(target, samples, rate, subtype="PCM_16")
    return target


def _render_job(job: tuple[Path, ManifestRow, Utterance | MusicClip]) -> ManifestRow:
    out_dir, row, item = job
    render_planned(out_dir, row, item)
    return row
