"""`Database.statement()`: one statement committed on its own, and a pooled connection that stays transactional."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from connector.db import Database


class Boom(Exception):
    pass


def test_a_statement_commits_on_its_own_and_its_connection_goes_back_to_the_pool_transactional(
    database_url: str,
) -> None:
    # One pooled connection on PostgreSQL, so the session below gets the very connection statement() used.
    pool = {"pool_size": 1, "max_overflow": 0} if database_url.startswith("postgresql") else {}
    db = Database(database_url, **pool)
    try:
        with db.statement() as conn:
            conn.execute(text("CREATE TABLE counted (n INTEGER)"))
        with db.statement() as conn:
            if db.dialect == "postgresql":
                # Autocommit: the INSERT is the whole round trip, no BEGIN before it nor COMMIT after.
                assert conn.connection.driver_connection.autocommit is True
            conn.execute(text("INSERT INTO counted VALUES (1)"))
        other = Database(database_url)
        try:
            with other.engine.connect() as reader:  # committed: another connection sees it at once
                assert reader.execute(text("SELECT count(*) FROM counted")).scalar_one() == 1
        finally:
            other.dispose()

        with pytest.raises(Boom), db.session() as session:
            if db.dialect == "postgresql":
                assert session.connection().connection.driver_connection.autocommit is False
            session.connection().execute(text("INSERT INTO counted VALUES (2)"))
            raise Boom
        with db.engine.connect() as conn:  # the session's insert rolled back: the pool reset autocommit
            assert conn.execute(text("SELECT n FROM counted")).scalars().all() == [1]
    finally:
        db.dispose()
