"""Reading request bodies the route models cannot see: the JSON body must parse and be an object."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel

from backend.core.services.errors import InvalidInputError, ServiceError

View = TypeVar("View", bound=Callable[..., Any])
Body = TypeVar("Body", bound=BaseModel)


def check_json_object() -> None:
    """Refuse a body that is not JSON (400) or not a JSON object (422), whatever its content type.

    On success the parsed body is cached on the request, where the route's model validation reads it.
    """
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(f"the body is not valid JSON ({exc})", code="invalid_json", status=400) from None
    if not isinstance(body, dict):
        raise InvalidInputError(f"the body must be a JSON object, got {type(body).__name__}")
    request.get_json(force=True, cache=True)  # the validator's get_json() now finds it parsed


def json_object_body(view: View) -> View:
    """Check the JSON body before the route's model validates it (decorate outside ``spec.validate``)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        check_json_object()
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def validated_body(body: Body | None, model: type[Body]) -> Body:
    """The validated JSON body. spectree validates JSON bodies sent as JSON or as unlabelled data; a body
    labelled as a form reaches the route unvalidated (``None``), and is validated here the same way."""
    return body if body is not None else model.model_validate(request.get_json(force=True, cache=True))
