"""The embedded stack heals itself: a killed worker is restarted and the work it held is sent again."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import requests
from sqlalchemy import func, select

from backend.core.config import Settings
from backend.core.services.model_versions import active_model
from backend.core.storage.models import Track
from s2m.local_stack import LocalStack, WorkerSpec
from tests.support.keys import bearer
from tests.support.stack import wait_until
from tests.support.synth import music_wav

TRACKS = 12


def test_a_killed_worker_is_restarted_its_tracks_end_ready_once_and_the_api_keeps_answering(
    settings: Settings, api_key: str
) -> None:
    settings = settings.with_overrides(embed_batch_size=4)
    workers = (WorkerSpec("query", ("query",), 1), WorkerSpec("ingest", ("ingest",), 2))
    with LocalStack(settings, workers=workers) as stack:
        http = requests.Session()
        http.headers.update(bearer(api_key))
        ids = []
        for n in range(TRACKS):
            response = http.post(
                stack.url + "/v1/tracks",
                files={"file": (f"t{n}.wav", music_wav(("bright", "dark", "noisy")[n % 3], 300 + n, seconds=6.0))},
                data={"title": f"track {n}"},
                timeout=30,
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        ingest = stack.workers[1]
        first_pid = ingest.pid

        def statuses() -> list[str]:
            return [http.get(f"{stack.url}/v1/tracks/{tid}", timeout=10).json()["status"] for tid in ids]

        wait_until(lambda: "processing" in statuses(), 120, 0.05, "the worker to start on the catalogue")
        os.kill(first_pid, signal.SIGKILL)  # the worker's main process, mid-ingest, no clean shutdown

        # The API answers all along while the supervisor restarts the worker.
        answers: list[int] = []
        done = threading.Event()

        def keep_asking() -> None:
            while not done.is_set():
                answers.append(http.get(stack.url + "/healthz", timeout=10).status_code)
                time.sleep(0.1)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            wait_until(lambda: set(statuses()) == {"ready"}, 300, 0.5, "every track to be ready")
        finally:
            done.set()
            asker.join()
        assert answers and set(answers) == {200}
        assert ingest.restarts == 1 and ingest.pid != first_pid
        assert stack.workers[1].process is not None and stack.workers[1].process.poll() is None

        # Exactly once: one row and one vector per upload, every row ready with its analysis.
        context = stack._context
        assert context is not None
        with context.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Track)) == TRACKS
            rows = list(session.scalars(select(Track)))
        assert {str(r.id) for r in rows} == set(ids) and {r.status for r in rows} == {"ready"}
        assert all(r.emotion and r.model_version for r in rows)
        with context.db.session() as session:
            collection = active_model(session).collection
        assert context.vectors.point_ids(collection) == {uuid.UUID(t) for t in ids}
        # And the restart sent the dead worker's work again (no manual `s2m requeue`).
        assert "sent again after a worker died" in (settings.data_dir / "api.log").read_text()
