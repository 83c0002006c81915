"""SQLite writers are let in one at a time across threads and processes, and a stuck lock times out."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from connector.db import Database, DatabaseUnavailable, SqliteWriterLock

ROOT = Path(__file__).resolve().parent.parent
COUNTER = """
import sys
from sqlalchemy import text
from connector.db import Database
db = Database(sys.argv[1])
for _ in range(int(sys.argv[2])):
    with db.session() as session:
        conn = session.connection()
        value = conn.execute(text("SELECT n FROM counter")).scalar_one()
        conn.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
"""


def test_read_modify_write_from_threads_and_processes_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    db = Database(url)
    with db.session() as session:
        session.connection().execute(text("CREATE TABLE counter (n INTEGER)"))
        session.connection().execute(text("INSERT INTO counter VALUES (0)"))
    script = tmp_path / "count.py"
    script.write_text(COUNTER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, str(script), url, "150"], env=env) for _ in range(2)]

    def bump() -> None:
        for _ in range(150):
            with db.session() as session:
                conn = session.connection()
                value = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    with db.session() as session:
        assert session.connection().execute(text("SELECT n FROM counter")).scalar_one() == 2 * 150 + 4 * 150
    db.dispose()


def test_a_lock_held_elsewhere_times_out_as_unavailable(tmp_path: Path) -> None:
    lock = SqliteWriterLock(tmp_path / "x.sqlite", timeout=0.2)
    fd = os.open(lock.lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer, in effect (a separate open file)
    try:
        with pytest.raises(DatabaseUnavailable, match="stayed locked for 0 s"), lock.held():
            pass
    finally:
        os.close(fd)
    with lock.held(), lock.held():  # free again, and re-entrant within a thread
        pass
