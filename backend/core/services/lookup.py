"""Finding a row by the id in a URL; anything unknown (or not even a UUID) is "not found"."""

from __future__ import annotations

import uuid
from typing import TypeVar

from backend.core.domain.text import excerpt
from backend.core.services.context import ServiceContext
from backend.core.services.errors import NotFoundError

Row = TypeVar("Row")


def parse_id(raw: str, what: str) -> uuid.UUID:
    """Parse the id of a ``what`` (e.g. "track") from a URL."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFoundError(f"no {what} with id {excerpt(raw)}") from None


def get_row(ctx: ServiceContext, model: type[Row], row_id: uuid.UUID, what: str) -> Row:
    """Load a row by primary key or raise :class:`NotFoundError` naming the id."""
    with ctx.db.session() as session:
        row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"no {what} with id '{row_id}'")
    return row
