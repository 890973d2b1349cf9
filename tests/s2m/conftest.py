"""Tests of the CLI, HTTP client, bulk ingest and demo."""

from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="session")
def stack(ship_stack: Stack) -> Stack:
    """These tests share the production-shaped stack (PostgreSQL, Redis, one worker) and its catalogue."""
    return ship_stack
