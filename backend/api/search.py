"""``/v1/search``: synchronous search by emotion label, valence/arousal point, or similar track."""

from __future__ import annotations

from flask import Blueprint, Response

from backend.api import respond, service_context
from backend.api.forms import json_object
from backend.api.schemas import ResultOut, SearchResults
from backend.core.domain.filters import SearchQuery
from backend.core.services import search as search_service

blueprint = Blueprint("search", __name__, url_prefix="/v1")


@blueprint.post("/search")
def search() -> Response:
    """Search the catalogue without audio, with the same filters as recommendations."""
    query = SearchQuery.model_validate(json_object())
    results = search_service.search(service_context(), query)
    return respond(SearchResults(results=[ResultOut.of(r) for r in results]))
