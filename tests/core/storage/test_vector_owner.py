"""The embedded folder's one-writer rule across real processes, and the upgrade of an old folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from backend.core.config import Settings
from backend.core.domain.filters import TrackFilters
from backend.core.storage.vectors import EMOTION_VECTOR, VA_VECTOR, PointQuery, TrackPoint, VectorStore
from backend.core.storage.vectors.owner import socket_address
from backend.core.storage.vectors.qdrant_server import QdrantClientEngine
from s2m.cli import main as cli
from tests.core.storage.test_vector_engines import CATALOGUE, random_points
from tests.support.stack import REPO_ROOT

OWNER_SCRIPT = textwrap.dedent("""
    import sys, uuid
    from pathlib import Path
    from backend.core.storage.vectors import TrackPoint, VectorStore
    store = VectorStore(path=Path(sys.argv[1]))
    assert store.own()
    store.ensure_collection("tracks__owned")
    store.upsert("tracks__owned", [TrackPoint(uuid.uuid4(), uuid.uuid4(), [1.0] + [0.0] * 63, "sad", 0.2, 0.3, ())])
    print("owning", flush=True)
    sys.stdin.read()
""")


def _start_owner(folder: Path) -> subprocess.Popen:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, str(folder)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None and owner.stdout.readline() == "owning\n"
    return owner


def test_another_process_works_through_the_owner_and_takes_over_when_it_dies(tmp_path: Path) -> None:
    owner = _start_owner(tmp_path)
    store = VectorStore(path=tmp_path, lock_timeout=20)
    try:
        point = TrackPoint(uuid.uuid4(), CATALOGUE, [0.0, 1.0] + [0.0] * 62, "calm", 0.5, 0.5, ())
        store.upsert("tracks__owned", [point])
        assert store.count("tracks__owned") == 2
        assert not store.engine.owns()  # it asked the owner
        os.kill(owner.pid, signal.SIGKILL)  # no clean shutdown at all
        owner.wait(10)
        # The next call finds nobody listening, takes the folder over, and sees everything written.
        assert store.count("tracks__owned") == 2
        assert store.engine.owns()
        calm = TrackFilters(emotions=["calm"])
        hits = store.search("tracks__owned", PointQuery(0.5, 0.5), calm, 5, catalogue_id=CATALOGUE)
        assert [h.payload["emotion"] for h in hits] == ["calm"]
    finally:
        if owner.poll() is None:
            owner.kill()
        store.close()


def test_a_connection_without_the_folder_key_is_refused(tmp_path: Path) -> None:
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    owner = _start_owner(tmp_path)
    try:
        with pytest.raises((AuthenticationError, EOFError, ConnectionError)):
            connection = Client(socket_address(tmp_path), family="AF_UNIX", authkey=b"a guess")
            connection.send(("count", ("tracks__owned",)))
            connection.recv()
        assert (tmp_path / "owner.key").stat().st_mode & 0o077 == 0  # only the owner's user reads the key
        store = VectorStore(path=tmp_path)  # the key is what lets a local process in
        assert store.count("tracks__owned") == 1
        store.close()
    finally:
        owner.communicate("", timeout=10)


def _write_local_mode_folder(folder: Path, points: list[TrackPoint]) -> None:
    """A folder as the old embedded default wrote it: qdrant-client local mode, two model versions."""
    client = QdrantClient(path=str(folder))
    for name, subset in (("tracks__old-model", points), ("tracks__older", points[:7])):
        client.create_collection(
            name,
            vectors_config={
                EMOTION_VECTOR: qm.VectorParams(size=64, distance=qm.Distance.COSINE),
                VA_VECTOR: qm.VectorParams(size=2, distance=qm.Distance.EUCLID),
            },
        )
        client.upsert(
            name,
            points=[
                # A payload field this version does not know must survive the conversion too.
                qm.PointStruct(id=str(p.track_id), vector=p.vectors(), payload={**p.payload(), "extra": i})
                for i, p in enumerate(subset)
            ],
        )
    client.close()


def test_an_old_local_mode_folder_is_converted_on_first_open_with_nothing_lost(tmp_path: Path) -> None:
    points = random_points(120, seed=11)
    folder = tmp_path / "qdrant"
    _write_local_mode_folder(folder, points)
    reference = VectorStore(engine=QdrantClientEngine.for_local_folder(str(folder)))
    query, filters = PointQuery(0.4, 0.6), TrackFilters(emotions=["sad", "calm", "happy"])
    expected = reference.search("tracks__old-model", query, filters, 30, catalogue_id=CATALOGUE)
    reference.close()

    store = VectorStore(path=folder)
    assert store.upgrade() == {"tracks__old-model": 120, "tracks__older": 7}
    assert store.count("tracks__old-model") == 120 and store.count("tracks__older") == 7
    assert store.point_ids("tracks__old-model") == {p.track_id for p in points}
    found = store.search("tracks__old-model", query, filters, 30, catalogue_id=CATALOGUE)
    assert [h.track_id for h in found] == [h.track_id for h in expected]
    assert [h.payload for h in found] == [h.payload for h in expected]
    assert {h.payload["extra"] for h in found} <= set(range(120))
    store.close()
    # The old files are kept aside, and opening again converts nothing twice.
    assert (folder / "local-mode-backup" / "meta.json").is_file() and not (folder / "meta.json").exists()
    again = VectorStore(path=folder)
    assert again.upgrade() is None and again.count("tracks__old-model") == 120
    again.close()


def test_a_conversion_cut_short_is_redone(tmp_path: Path) -> None:
    points = random_points(30, seed=5)
    folder = tmp_path / "qdrant"
    _write_local_mode_folder(folder, points)
    (folder / ".converting" / "collections" / "tracks__old-model").mkdir(parents=True)  # a crash left this
    store = VectorStore(path=folder)
    assert store.upgrade() == {"tracks__old-model": 30, "tracks__older": 7}
    assert not (folder / ".converting").exists()
    store.close()


def test_s2m_db_upgrade_converts_the_vector_folder_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    _write_local_mode_folder(settings.resolved_qdrant_path, random_points(12, seed=2))
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "converted the vector folder to qdrant-edge: tracks__old-model 12 points, tracks__older 7 points" in (
        result.output
    )
    store = VectorStore.from_settings(settings)
    assert store.count("tracks__old-model") == 12
    store.close()
