"""``/v1/recommendations``: send speech, get emotion-matched tracks (asynchronously)."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from backend.api import respond, service_context
from backend.api.forms import form_fields, uploaded_file
from backend.api.schemas import RecommendationOut
from backend.core.domain.filters import RecommendationForm
from backend.core.services import recommendations as recommendation_service
from backend.core.services.errors import InvalidInputError

blueprint = Blueprint("recommendations", __name__, url_prefix="/v1/recommendations")


@blueprint.post("")
def create_recommendation() -> Response:
    """Accept a speech clip and filters; 202 with the queued request."""
    data = uploaded_file()
    form = RecommendationForm.model_validate(form_fields())
    created, _enqueued = recommendation_service.create_recommendation_request(service_context(), data, form)
    location = url_for("recommendations.get_recommendation", request_id=created.id)
    return respond(RecommendationOut.of(created), 202, {"Location": location})


def _wait_seconds(max_wait: float) -> float:
    raw = request.args.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise InvalidInputError(f"wait must be a number of seconds, got {raw!r}") from None
    if not 0 <= wait < float("inf"):
        raise InvalidInputError(f"wait must be between 0 and {max_wait:g} seconds, got {raw!r}")
    return min(wait, max_wait)  # long-polling is bounded: larger waits are cut to the maximum


@blueprint.get("/<request_id>")
def get_recommendation(request_id: str) -> Response:
    """Return the request; with ``?wait=SECONDS`` wait (bounded) until it is ready or failed."""
    context = service_context()
    parsed = recommendation_service.parse_request_id(request_id)
    wait = _wait_seconds(context.settings.max_wait_seconds)
    found = recommendation_service.wait_for_request(context, parsed, wait)
    return respond(RecommendationOut.of(found))
