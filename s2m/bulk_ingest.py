"""Bulk upload of a music folder to a running API: parallel, resumable by content hash."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from backend.core.domain.work import FAILED, FINISHED_STATUSES, PENDING_STATUSES
from s2m.client import ApiClient, ApiError

# Extensions picked up when walking folders (files named explicitly are always tried).
# What the service decodes (backend.core.audio): audio files, and the audio track of video files.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".caf", ".w64", ".aac", ".m4a", ".m4b"}
    | {".mp4", ".mov", ".mkv", ".mka", ".webm"}
)
# Gives the form fields (title, artist, tags, ...) to send with one file.
FieldsFor = Callable[[Path], Mapping[str, str]]


@dataclass
class IngestOutcome:
    """What happened to one file."""

    path: Path
    result: str  # "ingested", "skipped" or "failed"
    track: dict | None = None
    error: str | None = None


@dataclass
class IngestSummary:
    """Counts and per-file outcomes of one bulk ingest."""

    outcomes: list[IngestOutcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        """Return how many files ended with ``result``."""
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def failures(self) -> list[IngestOutcome]:
        return [outcome for outcome in self.outcomes if outcome.result == "failed"]

    def line(self) -> str:
        """Return the one-line summary printed at the end."""
        return (
            f"ingested {self.count('ingested')}, skipped {self.count('skipped')} (already in the"
            f" catalogue), failed {self.count('failed')}"
        )


def find_audio_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders recursively into audio files; keep files as given; raise for missing paths."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {str(path)!r}")
    return list(dict.fromkeys(found))


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def known_tracks_by_hash(client: ApiClient) -> dict[str, dict]:
    """Return the catalogue's tracks keyed by content hash (what makes a rerun resumable)."""
    return {track["content_sha256"]: track for track in client.iter_tracks()}


def _outcome_for_existing(path: Path, track: dict) -> IngestOutcome:
    if track["status"] == FAILED:
        return IngestOutcome(path, "failed", track, f"already in the catalogue as failed: {track['error']}")
    return IngestOutcome(path, "skipped", track)


def title_from_name(path: Path) -> dict[str, str]:
    """Default upload fields: the file name without its extension as the title."""
    return {"title": path.stem}


def ingest_one(
    client: ApiClient, path: Path, known: Mapping[str, dict], fields_for: FieldsFor = title_from_name
) -> IngestOutcome:
    """Upload one file unless its content is already known; never raise."""
    try:
        existing = known.get(sha256_file(path))
        if existing is not None:
            return _outcome_for_existing(path, existing)
        track, is_new = client.upload_track(path, fields_for(path))
    except (ApiError, OSError) as exc:
        return IngestOutcome(path, "failed", error=str(exc))
    return IngestOutcome(path, "ingested", track) if is_new else _outcome_for_existing(path, track)


def ingest_paths(
    client: ApiClient,
    files: list[Path],
    fields_for: FieldsFor = title_from_name,
    workers: int = 4,
    progress: bool = True,
) -> IngestSummary:
    """Upload ``files`` with a thread pool and a progress bar; return the summary."""
    known = known_tracks_by_hash(client)
    summary = IngestSummary()
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(files), unit="file", desc="upload", disable=not progress) as bar,
    ):
        for outcome in pool.map(lambda p: ingest_one(client, p, known, fields_for), files):
            summary.outcomes.append(outcome)
            bar.update(1)
            bar.set_postfix(
                ingested=summary.count("ingested"), skipped=summary.count("skipped"), failed=summary.count("failed")
            )
    return summary


def wait_until_embedded(
    client: ApiClient,
    summary: IngestSummary,
    timeout: float,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll uploaded tracks until each is ready or failed; mark failed and timed-out ones as failed."""
    pending = {o.track["id"]: o for o in summary.outcomes if o.track and o.track["status"] not in FINISHED_STATUSES}
    deadline = time.monotonic() + timeout
    with tqdm(total=len(pending), unit="track", desc="embed", disable=not progress) as bar:
        while pending and time.monotonic() < deadline:
            # Two list calls per round find what is still waiting; only finished tracks are fetched.
            waiting = {t["id"] for status in PENDING_STATUSES for t in client.iter_tracks(status=status)}
            for track_id in [i for i in pending if i not in waiting]:
                outcome = pending.pop(track_id)
                try:
                    outcome.track = client.get_track(track_id)
                except ApiError as exc:
                    outcome.result, outcome.error = "failed", str(exc)
                else:
                    if outcome.track["status"] == FAILED:
                        outcome.result, outcome.error = "failed", f"embedding failed: {outcome.track['error']}"
                bar.update(1)
            if pending:
                sleep(0.5)
    for outcome in pending.values():
        outcome.result, outcome.error = "failed", f"not embedded within {timeout:g} s"
