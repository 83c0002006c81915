"""Connect to the database (SQLite file by default, PostgreSQL by URL) and hand out sessions."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from renderer.errors import WornError


class DatabaseUnavailable(WornError):
    """The database cannot be reached; the message says which one and why."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web server read while the worker writes; foreign keys make shop deletion cascade.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock at BEGIN so two writers queue up instead of failing half-way with "locked".
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class SqliteWriterLock:
    """Let one SQLite writer in at a time across this machine's threads and processes, promptly.

    Every Worn transaction on SQLite writes (BEGIN IMMEDIATE), and SQLite makes a second writer wait by
    sleeping 1, 2, 5 ... up to 100 ms between tries: under a burst of webhooks most writers sleep while the
    lock is free. Here threads wait on a lock in memory, handed over at once, and each process's one waiting
    thread polls flock(2) on a file beside the database every few tens of microseconds.
    """

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block; raise DatabaseUnavailable after `timeout` seconds of waiting."""
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            raise DatabaseUnavailable(f"database {self.path} stayed locked for {self.timeout:.0f} s")
        try:
            if self._depth == 0:
                self._lock_file(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _lock_file(self, deadline: float) -> None:
        if self._fd is None or self._pid != os.getpid():
            # After a fork the descriptor (and its lock) is shared with the parent: open our own.
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        pause = 0.00005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(
                        f"database {self.path} stayed locked for {self.timeout:.0f} s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    @property
    def lock_path(self) -> Path:
        """Return the file whose flock(2) stands for the write lock."""
        return self.path.with_name(self.path.name + ".writelock")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url`, with SQLite tuned for one machine and PostgreSQL pooled."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **kwargs)


class Database:
    """The engine and the session factory of one database."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        path = make_url(url).database if self.engine.dialect.name == "sqlite" else None
        self._writer = SqliteWriterLock(Path(path)) if path and path != ":memory:" else None

    @property
    def dialect(self) -> str:
        """Return "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits when the block ends and rolls back on an exception."""
        if self._writer is not None:
            with self._writer.held(), self._session() as session:
                yield session
        else:
            with self._session() as session:
                yield session

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """Yield a connection for a single Core statement on a hot path, committed when it has run, without a
        session's bookkeeping.

        On PostgreSQL the connection is in autocommit: the statement is its own transaction, one round trip
        where BEGIN, the statement and COMMIT take three (the pool resets the connection when it is given
        back). A second statement in the block would not share a transaction with the first. On SQLite it
        is a transaction under the writer lock, as every SQLite write is.
        """
        if self._writer is not None:
            with self._writer.held(), self.engine.begin() as conn:
                yield conn
        elif self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def check(self) -> None:
        """Run a trivial query; raise DatabaseUnavailable naming the database when it fails."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except OperationalError as exc:
            shown = make_url(self.url).render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(f"database {shown} is unreachable: {reason}") from None

    def dispose(self) -> None:
        """Close every pooled connection (call after fork and at exit)."""
        self.engine.dispose()


def insert_or_skip(session: Session, model: Any) -> Any:
    """Return an INSERT for `model` on the session's database that takes `.on_conflict_do_nothing(...)`.

    The unique index then decides between two writers racing to create the same row, with no
    read-then-write window (SQLite and PostgreSQL both speak INSERT ... ON CONFLICT DO NOTHING).
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def table_counts(db: Database, tables: list[str]) -> dict[str, int]:
    """Return the row count of each named table (for tests and diagnostics)."""
    with db.engine.connect() as conn:
        return {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in tables}
