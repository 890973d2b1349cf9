"""The OpenAPI document against the live API: `schemathesis run --checks all` finds no failure.

The API runs on the embedded default (SQLite, local Qdrant, filesystem broker) with a registered
model, one track, one recommendation request and one timeline (queued: no worker runs here), so the operations
on an id also reach their handlers. schemathesis sends a key with every scope (and checks that each
operation stating the key refuses requests without it). tests/api/schemathesis.toml lists the rules a schema cannot
state and the answers they bring.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from backend.core.config import Settings
from tests.support.keys import keyed_client
from tests.support.stack import REPO_ROOT, ApiServer
from tests.support.synth import music_wav, speech_wav

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 20
SEED = 15


def _operation_parameters(method: str, path: str, **values: str) -> str:
    lines = ["[[operations]]", f'include-method = "{method}"', f'include-path = "{path}"']
    lines += [f"parameters = {{ {', '.join(f'{name} = {value!r}' for name, value in values.items())} }}"]
    return "\n".join(lines).replace("'", '"') + "\n"


def test_schemathesis_finds_no_failure(tmp_path: Path, settings: Settings, api_key: str) -> None:
    with ApiServer(settings.with_overrides(max_wait_seconds=0.2)) as api:
        http = keyed_client(api.app, api_key)
        kept = http.post("/v1/tracks", data={"file": (io.BytesIO(music_wav("bright", 1)), "a.wav")})
        doomed = http.post("/v1/tracks", data={"file": (io.BytesIO(music_wav("dark", 2)), "b.wav")})
        request = http.post("/v1/recommendations", data={"file": (io.BytesIO(speech_wav("sad")), "s.wav")})
        timeline = http.post("/v1/timelines", data={"file": (io.BytesIO(speech_wav("calm")), "t.wav")})
        spare = http.post("/v1/keys", json={"scopes": ["read"]})
        assert [r.status_code for r in (kept, doomed, request, timeline, spare)] == [202, 202, 202, 202, 201]
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            CONFIG.read_text()
            + "\n# Identifiers that exist, so the operations on an id reach their handlers.\n"
            + _operation_parameters("GET", "/v1/tracks/{track_id}", track_id=kept.json["id"])
            + _operation_parameters("GET", "/v1/tracks/{track_id}/audio", track_id=kept.json["id"])
            + _operation_parameters("DELETE", "/v1/tracks/{track_id}", track_id=doomed.json["id"])
            + _operation_parameters("GET", "/v1/recommendations/{request_id}", request_id=request.json["id"])
            + _operation_parameters("GET", "/v1/timelines/{timeline_id}", timeline_id=timeline.json["id"])
            + _operation_parameters("DELETE", "/v1/keys/{key_id}", key_id=spare.json["id"])
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
                # A key with every scope; the document states which operations need it (and schemathesis
                # checks that they refuse requests without it).
                "--header",
                f"Authorization: Bearer {api_key}",
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


def test_the_document_states_the_constraints_the_models_enforce(client, settings: Settings) -> None:
    document = client.get("/openapi.json").get_json()
    schemas, paths = document["components"]["schemas"], document["paths"]

    upload = paths["/v1/recommendations"]["post"]
    form = schemas[upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert form["additionalProperties"] is False
    assert (form["properties"]["limit"]["minimum"], form["properties"]["limit"]["maximum"]) == (1, 100)
    assert form["properties"]["tags"]["items"]["maxLength"] == 64 and form["properties"]["tags"]["maxItems"] == 32
    assert {"type": "null"} not in form["properties"]["transcript"].get("anyOf", [])  # a form field is never null
    assert str(settings.max_upload_bytes) in upload["description"]

    search = schemas["SearchQuery"]
    assert len(search["oneOf"]) == 3  # exactly one of emotion, valence+arousal, like_track
    assert search["properties"]["emotion"]["anyOf"][0]["enum"] == [
        "happy",
        "funny",
        "sad",
        "tender",
        "exciting",
        "angry",
        "scary",
        "calm",
    ]

    listing = {p["name"]: p for p in paths["/v1/tracks"]["get"]["parameters"]}
    assert listing["status"]["schema"]["anyOf"][0]["enum"] == ["queued", "processing", "ready", "failed"]
    assert (listing["limit"]["schema"]["minimum"], listing["limit"]["schema"]["maximum"]) == (1, 500)
    wait = paths["/v1/recommendations/{request_id}"]["get"]["parameters"]
    assert {p["name"]: p["schema"]["format"] for p in wait if p["in"] == "path"} == {"request_id": "uuid"}

    error_ref = "#/components/schemas/ErrorBody"
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4") or (status == "503" and path != "/readyz"):
                    assert response["content"]["application/json"]["schema"]["$ref"] == error_ref, (
                        path,
                        method,
                        status,
                    )
