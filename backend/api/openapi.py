"""``/openapi.json``: the OpenAPI 3.1 document, built from a route table and the pydantic models.

The request and response models here are the ones the handlers use; a test checks that every
Flask route appears in the table and nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from backend.api.schemas import (
    EmotionList,
    ErrorBody,
    HealthOut,
    ReadinessOut,
    RecommendationOut,
    SearchResults,
    TrackOut,
    TrackPage,
)
from backend.core.domain.filters import RecommendationForm, SearchQuery, TrackListQuery, TrackMetadata

blueprint = Blueprint("openapi", __name__)
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    responses: dict[int, type[BaseModel] | str | None]  # model, a media type, or no body
    multipart: type[BaseModel] | None = None  # form fields besides the required "file"
    json_body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: tuple[str, ...] = ()
    extra_query: dict[str, dict[str, Any]] = field(default_factory=dict)


UPLOAD_ERRORS: dict[int, type[BaseModel] | str | None] = {413: ErrorBody, 415: ErrorBody, 422: ErrorBody}
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/v1/tracks",
        "Ingest a track (same audio again: 200 with the existing track)",
        {202: TrackOut, 200: TrackOut, **UPLOAD_ERRORS},
        multipart=TrackMetadata,
    ),
    Operation(
        "get",
        "/v1/tracks",
        "List tracks with filters and cursor pagination",
        {200: TrackPage, 422: ErrorBody},
        query=TrackListQuery,
    ),
    Operation(
        "get", "/v1/tracks/{track_id}", "Get a track", {200: TrackOut, 404: ErrorBody}, path_params=("track_id",)
    ),
    Operation(
        "get",
        "/v1/tracks/{track_id}/audio",
        "Download a track's stored audio",
        {200: "audio/*", 404: ErrorBody},
        path_params=("track_id",),
    ),
    Operation(
        "delete",
        "/v1/tracks/{track_id}",
        "Delete a track, its vectors and its audio",
        {204: None, 404: ErrorBody},
        path_params=("track_id",),
    ),
    Operation(
        "post",
        "/v1/recommendations",
        "Send speech; get emotion-matched tracks asynchronously",
        {202: RecommendationOut, **UPLOAD_ERRORS},
        multipart=RecommendationForm,
    ),
    Operation(
        "get",
        "/v1/recommendations/{request_id}",
        "Get a recommendation request (optionally long-poll)",
        {200: RecommendationOut, 404: ErrorBody, 422: ErrorBody},
        path_params=("request_id",),
        extra_query={"wait": {"type": "number", "minimum": 0, "description": "seconds to wait (bounded)"}},
    ),
    Operation(
        "post",
        "/v1/search",
        "Search by emotion label, valence/arousal point or similar track",
        {200: SearchResults, 400: ErrorBody, 404: ErrorBody, 422: ErrorBody},
        json_body=SearchQuery,
    ),
    Operation("get", "/v1/emotions", "List the emotion vocabulary", {200: EmotionList}),
    Operation("get", "/healthz", "Liveness", {200: HealthOut}),
    Operation("get", "/readyz", "Readiness: database, broker and Qdrant", {200: ReadinessOut, 503: ReadinessOut}),
    Operation("get", "/openapi.json", "This document", {200: "application/json"}),
    Operation("get", "/metrics", "Prometheus metrics", {200: "text/plain"}),
)


def _content(target: type[BaseModel] | str | None) -> dict[str, Any]:
    if target is None:
        return {}
    if isinstance(target, str):
        return {"content": {target: {}}}
    return {"content": {"application/json": {"schema": {"$ref": REF.format(model=target.__name__)}}}}


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "summary": op.summary,
        "responses": {str(code): {"description": str(code), **_content(t)} for code, t in op.responses.items()},
    }
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        for n in op.path_params
    ]
    if op.query is not None:
        for name, prop in op.query.model_json_schema()["properties"].items():
            parameters.append({"name": name, "in": "query", "required": False, "schema": prop})
    parameters += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in op.extra_query.items()]
    if parameters:
        spec["parameters"] = parameters
    if op.multipart is not None:
        schema = op.multipart.model_json_schema()
        properties = {"file": {"type": "string", "format": "binary"}}
        properties.update(
            {
                name: {"type": "string", "description": prop.get("description", prop.get("title", ""))}
                for name, prop in schema["properties"].items()
            }
        )
        spec["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": properties}}
            },
        }
    if op.json_body is not None:
        spec["requestBody"] = {"required": True, **_content(op.json_body)}
    return spec


def build_document(version: str) -> dict[str, Any]:
    """Build the OpenAPI document for the routes in OPERATIONS."""
    models = {t for op in OPERATIONS for t in (*op.responses.values(), op.json_body) if isinstance(t, type)}
    _, definitions = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "speech2music",
            "version": version,
            "description": "Send speech, get emotion-matched music from your catalogue.",
        },
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {})},
    }


@blueprint.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package_version = version("speech2music")
    except PackageNotFoundError:
        package_version = "0"
    return current_app.json.response(build_document(package_version))  # type: ignore[return-value]
