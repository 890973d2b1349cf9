"""``s2m keys create|list|revoke|audit``: API keys, straight in the database of DATABASE_URL (or the embedded one).

Keys are shown once, when created; the database keeps only their hash. Creating a key for a
catalogue name that does not exist yet creates the catalogue.
"""

from __future__ import annotations

import json
import uuid

import click

from backend.core.config import Settings
from backend.core.services.errors import ServiceError


def _db():
    from backend.core.storage.db import Database

    return Database.from_settings(Settings.from_env())


def describe(row, key: str | None = None) -> dict:
    """A key as JSON: id, catalogue, scopes, rate limit, dates (and the key itself, once)."""
    described = {
        "id": str(row.id),
        "catalogue": row.catalogue.name,
        "prefix": row.prefix,
        "scopes": list(row.scopes),
        "rate_limit": row.rate_limit,
        "created_at": row.created_at.isoformat(),
        "revoked_at": None if row.revoked_at is None else row.revoked_at.isoformat(),
    }
    return {"key": key, **described} if key is not None else described


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--catalogue", required=True, help="The catalogue the key belongs to (created if new).")
@click.option("--scopes", default="read,query", show_default=True, help="Comma-separated: read,query,ingest,admin.")
@click.option("--rate-limit", default=None, help="Requests this key may make, e.g. 60/minute (default: the setting).")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its details as JSON.")
def create(catalogue: str, scopes: str, rate_limit: str | None, as_json: bool) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    from backend.core.domain.access import parse_scopes
    from backend.core.services import keys as key_service

    db = _db()
    try:
        wanted = parse_scopes(scopes)
        owner = key_service.ensure_catalogue(db, catalogue)
        created = key_service.create_key(db, owner.id, wanted, rate_limit, key_service.CLI_ACTOR)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scopes") from None
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps(describe(created.row, created.key), indent=2))
        return
    click.echo(created.key)
    click.echo(
        f"key {created.row.id} for catalogue {catalogue!r}, scopes {','.join(created.row.scopes)}; "
        "store it now: it is not shown again",
        err=True,
    )


@keys.command("list")
@click.option("--catalogue", default=None, help="Only the keys of this catalogue.")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def list_(catalogue: str | None, as_json: bool) -> None:
    """List keys (never the keys themselves): id, catalogue, scopes, rate limit, state."""
    from sqlalchemy import select

    from backend.core.services import keys as key_service
    from backend.core.storage.models import Catalogue

    db = _db()
    try:
        catalogue_id = None
        if catalogue is not None:
            with db.session() as session:
                catalogue_id = session.scalar(select(Catalogue.id).where(Catalogue.name == catalogue))
            if catalogue_id is None:
                raise click.ClickException(f"no catalogue named {catalogue!r}")
        rows = key_service.list_keys(db, catalogue_id)
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps([describe(row) for row in rows], indent=2))
        return
    for row in rows:
        state = "revoked" if row.revoked_at is not None else "active"
        limit = row.rate_limit or "default"
        click.echo(f"{row.id}  {row.prefix}…  {row.catalogue.name}  {','.join(row.scopes)}  {limit}  {state}")


@keys.command("revoke")
@click.argument("key_id", type=click.UUID)
def revoke(key_id: uuid.UUID) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from backend.core.services import keys as key_service

    db = _db()
    try:
        row = key_service.revoke_key(db, key_id, key_service.CLI_ACTOR)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.dispose()
    click.echo(f"revoked key {row.id}")


@keys.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
def audit(limit: int, as_json: bool) -> None:
    """The audit log, newest first: key creations and revocations and deletes (when, who, what)."""
    from sqlalchemy import select

    from backend.core.services import keys as key_service
    from backend.core.storage.models import Catalogue

    db = _db()
    try:
        events = key_service.audit_events(db, limit=limit)
        with db.session() as session:
            names = dict(session.execute(select(Catalogue.id, Catalogue.name)).all())
    finally:
        db.dispose()
    rows = [
        {
            "at": event.at.isoformat(),
            "actor": event.actor,
            "action": event.action,
            "catalogue": names.get(event.catalogue_id) if event.catalogue_id else None,
            "target": event.target,
        }
        for event in events
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['at']}  {row['actor']}  {row['action']}  {row['catalogue'] or '-'}  {row['target']}")
