"""PostgreSQL for tests: one migrated template database per run, cloned for each test."""

from __future__ import annotations

import os
import uuid

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get("WORN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def in_ci() -> bool:
    """Say whether the tests run in CI, where PostgreSQL is required, never skipped."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable() -> str | None:
    """Return None when the admin database answers, else the reason it does not."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def url_for(name: str) -> str:
    """Return the SQLAlchemy URL of database `name` on the admin server."""
    base = ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]
    return f"postgresql+psycopg://{base}/{name}"


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(statement)


def create(name: str, template: str | None = None) -> None:
    """Create database `name`, as a copy of `template` when one is given."""
    if template:
        _admin(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        )
    else:
        _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(name: str) -> None:
    """Drop database `name`, closing any connection still open to it."""
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def unique_name(prefix: str) -> str:
    """Return a database name no other test run uses."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
