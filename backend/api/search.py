"""``/v1/search``: synchronous search by emotion label, valence/arousal point, or similar track."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response as Responses

from backend.api import service_context
from backend.api.auth import current_caller, requires
from backend.api.forms import json_object_body, validated_body
from backend.api.limits import QUERY, counted_as
from backend.api.openapi import spec
from backend.api.schemas import ErrorBody, ResultOut, SearchResults
from backend.core.domain.filters import SearchQuery
from backend.core.services import search as search_service

blueprint = Blueprint("search", __name__, url_prefix="/v1")


@blueprint.post("/search")
@requires("query")
@counted_as(QUERY)
@json_object_body
@spec.validate(
    resp=Responses(
        HTTP_200=SearchResults, HTTP_400=ErrorBody, HTTP_404=ErrorBody, HTTP_422=ErrorBody, HTTP_503=ErrorBody
    )
)
def search(json: SearchQuery) -> SearchResults:
    """Search the catalogue without audio, with the same filters as recommendations.

    503 (no_model) until a worker or `s2m reindex` has registered an embedding model.
    """
    results = search_service.search(service_context(), current_caller().catalogue_id, validated_body(json, SearchQuery))
    return SearchResults(results=[ResultOut.of(r) for r in results])
