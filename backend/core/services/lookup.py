"""Finding a row by the id in a URL; anything unknown (or not even a UUID) is "not found"; undoing a row.

A row of another catalogue is "not found" too, with the very same message, so a caller cannot tell
another catalogue's id from one that does not exist.
"""

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


def get_row(ctx: ServiceContext, model: type[Row], row_id: uuid.UUID, what: str, catalogue_id: uuid.UUID) -> Row:
    """Load a row of the catalogue by primary key or raise :class:`NotFoundError` naming the id."""
    with ctx.db.session() as session:
        row = session.get(model, row_id)
    if row is None or row.catalogue_id != catalogue_id:  # type: ignore[attr-defined]
        raise NotFoundError(f"no {what} with id '{row_id}'")
    return row


def delete_row(ctx: ServiceContext, model: type, row_id: uuid.UUID) -> None:
    """Delete a just-committed row again (its upload could not be published); gone already is fine."""
    with ctx.db.session() as session:
        row = session.get(model, row_id)
        if row is not None:
            session.delete(row)
            session.commit()
