"""Fixtures, layered: settings → database → backends. PostgreSQL and moto are real servers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connector.db import Database
from connector.migrate import upgrade
from connector.settings import Settings, load_settings
from tests.support import pg
from tests.support.moto import free_port, reset

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache"))

# Settings the tests never take from the developer's shell.
_ISOLATED = (
    "DATABASE_URL",
    "QUEUE_URL",
    "STORAGE_URL",
    "TOKEN_ENCRYPTION_KEY",
    "WORN_SETTINGS_FILE",
    "SHOPIFY_BASE_URL",
    "ENVIRONMENT",
)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ISOLATED:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Return a factory of settings rooted in the test's own folder."""

    def factory(**overrides: object) -> Settings:
        overrides.setdefault("DATA_DIR", tmp_path / "var")
        return load_settings(**overrides)

    return factory


# --- databases -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per run; each test copies it."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Migrate one PostgreSQL database per run; each test clones it (skipped off CI when unreachable)."""
    reason = pg.reachable()
    if reason is not None:
        if pg.in_ci():
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {pg.ADMIN_URL}: {reason}")
        pytest.skip(f"PostgreSQL unreachable at {pg.ADMIN_URL}: {reason}")
    name = pg.unique_name("worn_tmpl")
    pg.create(name)
    db = Database(pg.url_for(name))
    upgrade(db)
    db.dispose()
    yield name
    pg.drop(name)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """Return the URL of this test's own migrated SQLite file."""
    path = tmp_path / "worn.sqlite"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """Yield the URL of this test's own migrated PostgreSQL database (a clone of the template)."""
    name = pg.unique_name("worn_t")
    pg.create(name, pg_template)
    yield pg.url_for(name)
    pg.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Return a freshly migrated database URL: the test runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """Yield a Database on a freshly migrated schema."""
    database = Database(database_url)
    yield database
    database.dispose()


# --- AWS (moto server over HTTP) ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Run a moto server on 127.0.0.1 for the session and point boto3 at fake credentials."""
    from moto.server import ThreadedMotoServer

    saved = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def aws(moto_endpoint: str) -> str:
    """Return the moto endpoint, wiped clean for this test."""
    reset(moto_endpoint)
    return moto_endpoint
