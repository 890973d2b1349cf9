"""Catalogues and keys against the real service (PostgreSQL + Redis and the embedded default, a real
worker): two catalogues never see, search, download, recommend from or delete each other's tracks;
keys are checked (401), scopes enforced (403), and a burst over a key's limit gets 429, then recovers.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support.keys import bearer, issue_key
from tests.support.stack import Stack, wait_until
from tests.support.synth import music_wav, speech_wav

# Every /v1 route and method, with the scope it needs. The test below fails when a route is added
# without being listed here, so no new route escapes these checks.
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v1/tracks"): "ingest",
    ("GET", "/v1/tracks"): "read",
    ("GET", "/v1/tracks/{track_id}"): "read",
    ("GET", "/v1/tracks/{track_id}/audio"): "read",
    ("DELETE", "/v1/tracks/{track_id}"): "ingest",
    ("POST", "/v1/search"): "query",
    ("POST", "/v1/recommendations"): "query",
    ("GET", "/v1/recommendations/{request_id}"): "query",
    ("POST", "/v1/timelines"): "query",
    ("GET", "/v1/timelines/{timeline_id}"): "query",
    ("GET", "/v1/emotions"): "read",
    ("GET", "/v1/keys"): "admin",
    ("POST", "/v1/keys"): "admin",
    ("DELETE", "/v1/keys/{key_id}"): "admin",
}


@dataclass
class Tenant:
    """One catalogue's key and what it put in its catalogue."""

    name: str
    key: str
    http: requests.Session
    tracks: list[str]
    request_id: str = ""
    timeline_id: str = ""


def _tenant(stack: Stack, name: str) -> Tenant:
    http = requests.Session()
    http.headers.update(bearer(issue_key(stack.settings, catalogue=name)))
    return Tenant(name=name, key=http.headers["Authorization"].split()[1], http=http, tracks=[])


def _upload(stack: Stack, tenant: Tenant, data: bytes) -> requests.Response:
    return tenant.http.post(stack.url("/v1/tracks"), files={"file": ("t.wav", data)}, data={"title": tenant.name})


@pytest.fixture(scope="module")
def tenants(stack: Stack) -> tuple[Tenant, Tenant]:
    """Catalogues alpha and beta: the same audio in both (a track of each), plus one track of their own,
    all embedded; and one answered recommendation request each."""
    suffix = uuid.uuid4().hex[:6]
    alpha, beta = _tenant(stack, f"alpha-{suffix}"), _tenant(stack, f"beta-{suffix}")
    shared = music_wav("bright", 301)
    for tenant, own in ((alpha, music_wav("dark", 302)), (beta, music_wav("noisy", 303))):
        for data in (shared, own):
            response = _upload(stack, tenant, data)
            assert response.status_code == 202, response.text  # new in this catalogue, even when known in another
            tenant.tracks.append(response.json()["id"])
    for tenant in (alpha, beta):
        for track_id in tenant.tracks:
            wait_until(
                lambda track_id=track_id, tenant=tenant: (
                    tenant.http.get(stack.url(f"/v1/tracks/{track_id}")).json()["status"] == "ready"
                ),
                120,
                0.2,
                f"track {track_id}",
            )
        created = tenant.http.post(stack.url("/v1/recommendations"), files={"file": ("s.wav", speech_wav("sad"))})
        assert created.status_code == 202, created.text
        tenant.request_id = created.json()["id"]
        answer = tenant.http.get(stack.url(f"/v1/recommendations/{tenant.request_id}"), params={"wait": 60}).json()
        assert answer["status"] == "ready", answer
        timeline = tenant.http.post(stack.url("/v1/timelines"), files={"file": ("t.wav", speech_wav("calm"))})
        assert timeline.status_code == 202, timeline.text  # (no worker here reads the timeline queue)
        tenant.timeline_id = timeline.json()["id"]
    return alpha, beta


def test_every_v1_route_is_listed_and_needs_its_scope(stack: Stack) -> None:
    document = stack.http.get(stack.url("/openapi.json")).json()
    listed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    }
    assert listed == set(ROUTES)
    for (method, path), scope in ROUTES.items():
        operation = document["paths"][path][method.lower()]
        assert operation["security"] == [{"apiKey": []}], (method, path)
        assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
        assert f"`{scope}`" in operation["description"], (method, path)
    assert "security" not in document["paths"]["/healthz"]["get"]


def _same_as_unknown(response: requests.Response, unknown: requests.Response) -> None:
    """404 exactly as for an id that does not exist: the same code and the same words (the id aside)."""
    assert response.status_code == unknown.status_code == 404
    assert response.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
    assert set(response.headers) - {"Date", "X-Request-ID"} == set(unknown.headers) - {"Date", "X-Request-ID"}


def test_catalogues_never_see_each_others_tracks_or_requests(stack: Stack, tenants: tuple[Tenant, Tenant]) -> None:
    alpha, beta = tenants
    nobody = str(uuid.uuid4())
    for me, other in ((alpha, beta), (beta, alpha)):
        # Listing: only my tracks; the shared audio is a track of my own.
        listed = me.http.get(stack.url("/v1/tracks"), params={"limit": 500}).json()["items"]
        assert sorted(t["id"] for t in listed) == sorted(me.tracks)
        for theirs in other.tracks:
            for method, path in (
                ("GET", "/v1/tracks/{}"),
                ("GET", "/v1/tracks/{}/audio"),
                ("DELETE", "/v1/tracks/{}"),
            ):
                response = me.http.request(method, stack.url(path.format(theirs)))
                unknown = me.http.request(method, stack.url(path.format(nobody)))
                _same_as_unknown(response, unknown)
                assert response.json()["error"]["message"].replace(theirs, "ID") == unknown.json()["error"][
                    "message"
                ].replace(nobody, "ID")
            # Not a "like" reference for my search either.
            _same_as_unknown(
                me.http.post(stack.url("/v1/search"), json={"like_track": theirs}),
                me.http.post(stack.url("/v1/search"), json={"like_track": nobody}),
            )
        _same_as_unknown(
            me.http.get(stack.url(f"/v1/recommendations/{other.request_id}")),
            me.http.get(stack.url(f"/v1/recommendations/{nobody}")),
        )
        _same_as_unknown(
            me.http.get(stack.url(f"/v1/timelines/{other.timeline_id}"), params={"wait": 1}),
            me.http.get(stack.url(f"/v1/timelines/{nobody}"), params={"wait": 1}),
        )
        assert me.http.get(stack.url(f"/v1/timelines/{me.timeline_id}")).status_code == 200
        # Their tracks steer nothing of mine: refused as an id that does not exist.
        for field in ("positive", "negative"):
            steered = me.http.post(stack.url("/v1/search"), json={"emotion": "sad", field: [other.tracks[1]]})
            unknown = me.http.post(stack.url("/v1/search"), json={"emotion": "sad", field: [nobody]})
            assert steered.status_code == unknown.status_code == 422
            assert steered.json()["error"]["code"] == unknown.json()["error"]["code"]
        # Searching and recommending find my tracks only.
        for body in ({"emotion": "sad", "limit": 100}, {"valence": 0.5, "arousal": 0.5, "limit": 100}):
            found = me.http.post(stack.url("/v1/search"), json=body).json()["results"]
            assert sorted(r["track_id"] for r in found) == sorted(me.tracks), body
        liked = me.http.post(stack.url("/v1/search"), json={"like_track": me.tracks[0], "limit": 100}).json()
        assert [r["track_id"] for r in liked["results"]] == [me.tracks[1]]
        answer = me.http.get(stack.url(f"/v1/recommendations/{me.request_id}")).json()
        assert sorted(r["track_id"] for r in answer["results"]) == sorted(me.tracks)
        # Keys: mine only; theirs cannot be revoked from here.
        listed_keys = me.http.get(stack.url("/v1/keys")).json()["keys"]
        assert {k["catalogue"] for k in listed_keys} == {me.name}
        their_key = other.http.get(stack.url("/v1/keys")).json()["keys"][0]["id"]
        _same_as_unknown(
            me.http.delete(stack.url(f"/v1/keys/{their_key}")), me.http.delete(stack.url(f"/v1/keys/{nobody}"))
        )
    # Nothing of either was touched by the other's attempts.
    for tenant in tenants:
        for track_id in tenant.tracks:
            track = tenant.http.get(stack.url(f"/v1/tracks/{track_id}"))
            assert track.status_code == 200 and track.json()["status"] == "ready"
            assert tenant.http.get(stack.url(f"/v1/tracks/{track_id}/audio")).status_code == 200
        assert tenant.http.get(stack.url("/v1/keys")).status_code == 200


def test_deleting_the_shared_audio_in_one_catalogue_keeps_the_others(stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:6]
    one, two = _tenant(stack, f"one-{suffix}"), _tenant(stack, f"two-{suffix}")
    data = music_wav("bright", 304)
    first, second = (_upload(stack, tenant, data).json()["id"] for tenant in (one, two))
    assert first != second
    assert one.http.delete(stack.url(f"/v1/tracks/{first}")).status_code == 204
    assert one.http.get(stack.url(f"/v1/tracks/{first}")).status_code == 404
    served = two.http.get(stack.url(f"/v1/tracks/{second}/audio"))
    assert served.status_code == 200 and served.content == data
    again = _upload(stack, one, data)  # ingested afresh in the catalogue that deleted it
    assert again.status_code == 202 and again.json()["id"] not in (first, second)


def _request(session: requests.Session, stack: Stack, method: str, path: str, **headers: str) -> requests.Response:
    filled = path.format(track_id=uuid.uuid4(), request_id=uuid.uuid4(), key_id=uuid.uuid4(), timeline_id=uuid.uuid4())
    return session.request(method, stack.url(filled), headers=headers, json={} if method == "POST" else None)


def test_keys_are_required_checked_and_scoped_on_every_route(stack: Stack) -> None:
    anonymous = requests.Session()
    name = f"scopes-{uuid.uuid4().hex[:6]}"
    admin = _tenant(stack, name)
    for (method, path), scope in ROUTES.items():
        missing = _request(anonymous, stack, method, path)
        assert missing.status_code == 401, (method, path)
        assert missing.json()["error"]["code"] == "unauthorized"
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = _request(anonymous, stack, method, path, Authorization="Bearer s2m_not-a-key")
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["error"]["message"]
        others = [s for s in ("read", "query", "ingest", "admin") if s != scope]
        lacking = bearer(issue_key(stack.settings, catalogue=name, scopes=others))
        refused = _request(anonymous, stack, method, path, **lacking)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"]["code"] == "forbidden" and scope in refused.json()["error"]["message"]
        allowed = bearer(issue_key(stack.settings, catalogue=name, scopes=[scope]))
        assert _request(anonymous, stack, method, path, **allowed).status_code not in (401, 403), (method, path)

    # An admin key makes a key over HTTP (shown once), and revokes it: 401 from then on.
    created = admin.http.post(stack.url("/v1/keys"), json={"scopes": ["read"], "rate_limit": "100/minute"})
    assert created.status_code == 201, created.text
    made = created.json()
    assert made["catalogue"] == name and made["scopes"] == ["read"] and made["key"].startswith(made["prefix"])
    assert "key" not in admin.http.get(stack.url("/v1/keys")).json()["keys"][0]
    assert requests.get(stack.url("/v1/tracks"), headers=bearer(made["key"])).status_code == 200
    assert admin.http.delete(stack.url(f"/v1/keys/{made['id']}")).status_code == 204
    revoked = requests.get(stack.url("/v1/tracks"), headers=bearer(made["key"]))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
    own = admin.http.get(stack.url("/v1/keys")).json()["keys"][0]["id"]
    itself = admin.http.delete(stack.url(f"/v1/keys/{own}"))
    assert itself.status_code == 409 and itself.json()["error"]["code"] == "own_key"
    bad = admin.http.post(stack.url("/v1/keys"), json={"scopes": ["everything"]})
    assert bad.status_code == 422 and "scopes" in bad.json()["error"]["message"]


def test_a_burst_over_the_keys_limit_gets_429_with_retry_after_then_recovers(stack: Stack) -> None:
    key = issue_key(stack.settings, catalogue=f"burst-{uuid.uuid4().hex[:6]}", rate_limit="5 per 3 seconds")
    http = requests.Session()
    http.headers.update(bearer(key))
    answers: list[Any] = [http.get(stack.url("/v1/tracks")) for _ in range(8)]
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 5 and statuses[5:] == [429, 429, 429], statuses
    limited = answers[5]
    assert limited.json()["error"]["code"] == "rate_limited" and "5 per 3 second" in limited.json()["error"]["message"]
    retry_after = int(limited.headers["Retry-After"])
    assert 0 <= retry_after <= 3
    # Another key is not slowed down by this one.
    assert stack.http.get(stack.url("/v1/tracks")).status_code == 200
    time.sleep(retry_after + 1.0)
    assert http.get(stack.url("/v1/tracks")).status_code == 200
