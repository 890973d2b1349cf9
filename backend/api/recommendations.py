"""``/v1/recommendations``: send speech, get emotion-matched tracks (asynchronously)."""

from __future__ import annotations

import uuid

from flask import Blueprint, url_for
from spectree import Response as Responses

from backend.api import service_context
from backend.api.auth import current_caller, requires
from backend.api.forms import upload_stream
from backend.api.limits import QUERY, UPLOAD, counted_as
from backend.api.openapi import spec
from backend.api.schemas import ErrorBody, RecommendationOut, RecommendationUpload, WaitQuery, require_upload
from backend.core.domain.filters import RecommendationForm
from backend.core.services import recommendations as recommendation_service

blueprint = Blueprint("recommendations", __name__, url_prefix="/v1/recommendations")


@blueprint.post("")
@requires("query")
@counted_as(UPLOAD)
@spec.validate(resp=Responses(HTTP_202=RecommendationOut, HTTP_413=ErrorBody, HTTP_415=ErrorBody, HTTP_422=ErrorBody))
def create_recommendation(form: RecommendationUpload) -> tuple[RecommendationOut, int, dict[str, str]]:
    """Send speech; get emotion-matched tracks asynchronously (202 with the queued request)."""
    form = require_upload(form)
    fields = RecommendationForm.model_validate(form.model_dump(include=set(RecommendationForm.model_fields)))
    created, _enqueued = recommendation_service.create_recommendation_request(
        service_context(), current_caller().catalogue_id, upload_stream(form.file), fields
    )
    location = url_for("recommendations.get_recommendation", request_id=created.id)
    return RecommendationOut.of(created), 202, {"Location": location}


@blueprint.get("/<uuid:request_id>")
@requires("query")
@counted_as(QUERY)
@spec.validate(resp=Responses(HTTP_200=RecommendationOut, HTTP_404=ErrorBody, HTTP_422=ErrorBody))
def get_recommendation(request_id: uuid.UUID, query: WaitQuery) -> RecommendationOut:
    """Return the request; with ``?wait=SECONDS`` wait (bounded) until it is ready or failed."""
    context = service_context()
    wait = min(query.wait, context.settings.max_wait_seconds)  # long-polling is bounded
    return RecommendationOut.of(
        recommendation_service.wait_for_request(context, current_caller().catalogue_id, request_id, wait)
    )
