"""The app's shape: no torch on the API side, an honest OpenAPI document, the emotion vocabulary,
race-safe deduplication, and one local Qdrant folder shared by several processes."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.api.app import create_app
from backend.core.config import Settings
from backend.core.domain.emotions import EMOTIONS, MUSIC_LABELS, SPEECH_LABELS
from backend.core.storage.db import Database, upgrade_database
from backend.core.storage.models import Track
from backend.core.storage.vectors import VectorStore
from tests.support.keys import bearer, issue_key, keyed_client
from tests.support.stack import REPO_ROOT, ApiServer
from tests.support.synth import music_wav
from workers.registry import register_model_dir


def test_api_process_never_imports_torch_nor_opens_a_model_file(tmp_path: Path, model_dir: Path) -> None:
    """The API answers emotion search from the registry alone: its model folder is gone, audit hooks see no read."""
    copied = Path(shutil.copytree(model_dir, tmp_path / "model"))
    settings = Settings(data_dir=tmp_path / "data", model_dir=copied, device="cpu")
    upgrade_database(settings.resolved_database_url)
    register_model_dir(Database.from_settings(settings), copied)  # what a worker does at start
    key = issue_key(settings)
    shutil.rmtree(copied)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        opened = []
        sys.addaudithook(lambda event, args: event == "open" and opened.append(str(args[0])))
        from backend.api.app import create_app
        from backend.core.config import Settings
        data_dir, model_dir = Path({str(settings.data_dir)!r}), Path({str(copied)!r})
        app = create_app(Settings(data_dir=data_dir, model_dir=model_dir))
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = "Bearer {key}"
        assert client.post("/v1/search", json={{"emotion": "sad"}}).status_code == 200
        assert client.post("/v1/search", json={{"valence": 0.2, "arousal": 0.3}}).status_code == 200
        assert client.get("/readyz").status_code == 200
        heavy = sorted(m for m in ("torch", "torchaudio", "transformers", "ml.embedding.bundle") if m in sys.modules)
        print("heavy:", heavy)
        print("model files opened:", sorted(p for p in opened if p.startswith(str(model_dir))))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout
    assert "model files opened: []" in result.stdout


def test_search_before_any_model_is_registered_is_503_and_ingest_still_works(tmp_path: Path, model_dir: Path) -> None:
    settings = Settings(data_dir=tmp_path, model_dir=model_dir, device="cpu")
    upgrade_database(settings.resolved_database_url)
    client = keyed_client(create_app(settings))
    for body in ({"emotion": "sad"}, {"valence": 0.5, "arousal": 0.5}):
        response = client.post("/v1/search", json=body)
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "no_model"
        assert "start a worker" in response.get_json()["error"]["message"]
    created = client.post("/v1/tracks", data={"file": (io.BytesIO(music_wav("bright", 3)), "t.wav")})
    assert created.status_code == 202, created.get_data(as_text=True)
    assert created.get_json()["status"] == "queued"


def test_openapi_document_covers_exactly_the_routes(app: Flask, client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("web."):
            continue  # the web page and its static files are not part of the API
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    refs = {
        response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for ops in document["paths"].values()
        for op in ops.values()
        for response in op["responses"].values()
        if "application/json" in response.get("content", {}) and "schema" in response["content"]["application/json"]
    }
    assert refs <= set(document["components"]["schemas"])
    assert {"TrackOut", "RecommendationOut", "ErrorBody"} <= refs


def test_emotions_come_from_the_database_and_match_the_domain(client: FlaskClient) -> None:
    body = client.get("/v1/emotions").get_json()
    served = {e["name"]: e for e in body["emotions"]}
    assert set(served) == set(EMOTIONS)
    for name, emotion in EMOTIONS.items():
        assert served[name]["valence"] == pytest.approx(emotion.valence)
        assert served[name]["arousal"] == pytest.approx(emotion.arousal)
        assert served[name]["speech"] == (name in SPEECH_LABELS)
        assert served[name]["music"] == (name in MUSIC_LABELS)


def test_concurrent_uploads_of_the_same_audio_make_one_track(settings: Settings, api_key: str) -> None:
    data = music_wav("bright", 7)
    with ApiServer(settings) as api:

        def post(_: int) -> requests.Response:
            return requests.post(
                api.base_url + "/v1/tracks", files={"file": ("t.wav", data)}, headers=bearer(api_key), timeout=60
            )

        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(post, range(6)))
        app: Flask = api.app
    assert sorted(r.status_code for r in responses) == [200] * 5 + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    with app.extensions["s2m"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(Track)) == 1


def test_the_embedded_vector_folder_is_shared_by_several_processes(tmp_path: Path) -> None:
    """Two processes write to one embedded folder at once: one owns it, the other writes through it."""
    script = textwrap.dedent("""
        import sys, time, uuid
        from pathlib import Path
        from backend.core.storage.vectors import TrackPoint, VectorStore
        store = VectorStore(path=Path(sys.argv[1]), lock_timeout=60)
        store.ensure_collection("tracks__shared")
        for i in range(10):
            point = TrackPoint(uuid.uuid4(), uuid.uuid4(), [1.0] + [0.0] * 63, "sad", 0.2, 0.3, ("t",))
            store.upsert("tracks__shared", [point])
        # The owner stays until the other has written too, so both really share it.
        while store.count("tracks__shared") < 20:
            time.sleep(0.01)
        print("owner" if store.engine.owns() else "client")
    """)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            cwd=REPO_ROOT,
            env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], [err for _out, err in outputs]
    assert sorted(out.strip() for out, _err in outputs) == ["client", "owner"]
    store = VectorStore(path=tmp_path)
    assert store.count("tracks__shared") == 20
    store.close()
