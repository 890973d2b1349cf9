"""The OpenAPI document against the live API: `schemathesis run --checks all` finds no failure.

The API runs on the embedded default (SQLite, local Qdrant, filesystem broker) with a registered
model, one track and one recommendation request (queued: no worker runs here), so the operations
on an id also reach their handlers. tests/api/schemathesis.toml lists the rules a schema cannot
state and the answers they bring.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from backend.core.config import Settings
from tests.support.stack import REPO_ROOT, ApiServer
from tests.support.synth import music_wav, speech_wav

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 20
SEED = 15


def _operation_parameters(method: str, path: str, **values: str) -> str:
    lines = ["[[operations]]", f'include-method = "{method}"', f'include-path = "{path}"']
    lines += [f"parameters = {{ {', '.join(f'{name} = {value!r}' for name, value in values.items())} }}"]
    return "\n".join(lines).replace("'", '"') + "\n"


def test_schemathesis_finds_no_failure(tmp_path: Path, settings: Settings) -> None:
    with ApiServer(settings.with_overrides(max_wait_seconds=0.2)) as api:
        http = api.app.test_client()
        kept = http.post("/v1/tracks", data={"file": (io.BytesIO(music_wav("bright", 1)), "a.wav")})
        doomed = http.post("/v1/tracks", data={"file": (io.BytesIO(music_wav("dark", 2)), "b.wav")})
        request = http.post("/v1/recommendations", data={"file": (io.BytesIO(speech_wav("sad")), "s.wav")})
        assert [r.status_code for r in (kept, doomed, request)] == [202, 202, 202]
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            CONFIG.read_text()
            + "\n# Identifiers that exist, so the operations on an id reach their handlers.\n"
            + _operation_parameters("GET", "/v1/tracks/{track_id}", track_id=kept.json["id"])
            + _operation_parameters("GET", "/v1/tracks/{track_id}/audio", track_id=kept.json["id"])
            + _operation_parameters("DELETE", "/v1/tracks/{track_id}", track_id=doomed.json["id"])
            + _operation_parameters("GET", "/v1/recommendations/{request_id}", request_id=request.json["id"])
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                f"{api.base_url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
