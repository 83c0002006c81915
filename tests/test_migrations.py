"""Migrations: up from empty, down to nothing and up again, and in step with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from connector.db import Database
from connector.migrate import current_revision, downgrade, head_revision, upgrade
from connector.models import Base


def test_up_from_empty_down_and_up_again(db: Database) -> None:
    assert current_revision(db) == head_revision()
    downgrade(db, "base")
    assert current_revision(db) is None
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(db)
    upgrade(db)  # idempotent
    assert current_revision(db) == head_revision()
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_models_match_the_migrations(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
