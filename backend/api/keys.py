"""``/v1/keys``: an admin-scoped key lists, creates and revokes the keys of its own catalogue."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response
from spectree import Response as Responses

from backend.api import service_context
from backend.api.auth import current_caller, requires
from backend.api.forms import json_object_body, validated_body
from backend.api.openapi import spec
from backend.api.schemas import CreatedKey, ErrorBody, KeyList, KeyOut
from backend.core.domain.access import KeyRequest
from backend.core.services import keys as key_service
from backend.core.services.errors import ServiceError

blueprint = Blueprint("keys", __name__, url_prefix="/v1/keys")


@blueprint.get("")
@requires("admin")
@spec.validate(resp=Responses(HTTP_200=KeyList))
def list_keys() -> KeyList:
    """List the keys of this key's catalogue (revoked ones too, never the keys themselves)."""
    rows = key_service.list_keys(service_context().db, current_caller().catalogue_id)
    return KeyList(keys=[KeyOut.of(row) for row in rows])


@blueprint.post("")
@requires("admin")
@json_object_body
@spec.validate(resp=Responses(HTTP_201=CreatedKey, HTTP_400=ErrorBody, HTTP_422=ErrorBody))
def create_key(json: KeyRequest) -> tuple[CreatedKey, int]:
    """Create a key for this key's catalogue; the answer carries the key, once."""
    body = validated_body(json, KeyRequest)
    caller = current_caller()
    created = key_service.create_key(
        service_context().db, caller.catalogue_id, list(body.scopes), body.rate_limit, caller.actor
    )
    return CreatedKey(**KeyOut.of(created.row).model_dump(), key=created.key), 201


@blueprint.delete("/<uuid:key_id>")
@requires("admin")
@spec.validate(resp=Responses("HTTP_204", HTTP_404=ErrorBody, HTTP_409=ErrorBody))
def revoke_key(key_id: uuid.UUID) -> Response:
    """Revoke a key of this catalogue (another catalogue's key id is not found).

    A key cannot revoke itself here (409), so an admin cannot lock the catalogue out by mistake:
    revoke it with another admin key or with `s2m keys revoke`.
    """
    caller = current_caller()
    if key_id == caller.key_id:
        raise ServiceError(
            "a key cannot revoke itself; revoke it with another admin key or `s2m keys revoke`",
            code="own_key",
            status=409,
        )
    key_service.revoke_key(service_context().db, key_id, caller.actor, caller.catalogue_id)
    return Response(status=204)
