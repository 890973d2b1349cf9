"""Catalogues and their API keys: create (the key is shown once), list, revoke, authenticate; the audit log.

A key is 32 random bytes (URL-safe text after ``s2m_``). Only its SHA-256 is stored: a key that
random cannot be guessed from its hash, so a slow password hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.domain.access import Caller, check_catalogue_name, check_rate_limit, check_scopes
from backend.core.services.errors import InvalidInputError, NotFoundError
from backend.core.storage.db import Database
from backend.core.storage.models import ApiKey, AuditEvent, Catalogue, utcnow

KEY_PREFIX = "s2m_"
# Characters of a key shown in listings (its prefix and the first few random characters).
SHOWN_CHARACTERS = 12
CLI_ACTOR = "cli"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``key`` is the secret, shown this once."""

    row: ApiKey
    key: str


def record(session: Session, actor: str, action: str, catalogue_id: uuid.UUID | None, target: str) -> None:
    """Add an audit event to ``session`` (committed with the change it records)."""
    session.add(AuditEvent(actor=actor, action=action, catalogue_id=catalogue_id, target=target))


def ensure_catalogue(db: Database, name: str) -> Catalogue:
    """The catalogue called ``name``, created when there is none yet."""
    try:
        check_catalogue_name(name)
    except ValueError as exc:
        raise InvalidInputError(str(exc), code="invalid_catalogue") from None
    with db.session() as session:
        found = session.scalar(select(Catalogue).where(Catalogue.name == name))
        if found is not None:
            return found
        catalogue = Catalogue(name=name)
        session.add(catalogue)
        try:
            session.commit()
        except IntegrityError:  # created concurrently
            session.rollback()
            return session.scalars(select(Catalogue).where(Catalogue.name == name)).one()
        return catalogue


def create_key(db: Database, catalogue_id: uuid.UUID, scopes: list[str], rate_limit: str | None, actor: str) -> NewKey:
    """Make a key for the catalogue with those scopes; the audit log records who made it."""
    try:
        scopes = check_scopes(list(scopes))
        rate_limit = None if rate_limit is None else check_rate_limit(rate_limit)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        catalogue_id=catalogue_id,
        key_sha256=hash_key(key),
        prefix=key[:SHOWN_CHARACTERS],
        scopes=scopes,
        rate_limit=rate_limit,
    )
    with db.session() as session:
        session.add(row)
        session.flush()
        record(session, actor, "key.create", catalogue_id, str(row.id))
        session.commit()
        session.refresh(row)
        row.catalogue  # noqa: B018 (loaded now, for callers that describe the key after the session)
    return NewKey(row=row, key=key)


def list_keys(db: Database, catalogue_id: uuid.UUID | None = None) -> list[ApiKey]:
    """Keys in creation order (of one catalogue, or all), revoked ones included."""
    statement = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if catalogue_id is not None:
        statement = statement.where(ApiKey.catalogue_id == catalogue_id)
    with db.session() as session:
        return list(session.scalars(statement))


def revoke_key(db: Database, key_id: uuid.UUID, actor: str, catalogue_id: uuid.UUID | None = None) -> ApiKey:
    """Revoke a key (of ``catalogue_id`` only, when given: another catalogue's key is "not found")."""
    with db.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None or (catalogue_id is not None and row.catalogue_id != catalogue_id):
            raise NotFoundError(f"no key with id '{key_id}'")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            record(session, actor, "key.revoke", row.catalogue_id, str(row.id))
            session.commit()
        return row


def authenticate(db: Database, key: str) -> Caller | None:
    """The caller a key stands for; None for an unknown or revoked key."""
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_sha256 == hash_key(key)))
        if row is None or row.revoked_at is not None:
            return None
        return Caller(
            key_id=row.id,
            catalogue_id=row.catalogue_id,
            catalogue=row.catalogue.name,
            scopes=frozenset(row.scopes),
            rate_limit=row.rate_limit,
        )


def audit_events(db: Database, catalogue_id: uuid.UUID | None = None, limit: int = 100) -> list[AuditEvent]:
    """The latest audit events, newest first."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if catalogue_id is not None:
        statement = statement.where(AuditEvent.catalogue_id == catalogue_id)
    with db.session() as session:
        return list(session.scalars(statement))
