"""Concurrent claimers never get the same job: two processes drain one database queue."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from connector.db import Database
from connector.queue import RENDER, DbQueue

JOBS_PER_PROCESS = 500


def _drain(url: str, out: str, start: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    db = Database(url)
    queue = DbQueue(db, visibility=300, max_attempts=5)
    done: list[int] = []
    start.wait()
    idle = 0
    while idle < 3:
        batch = queue.receive(RENDER, max_messages=5)
        if not batch:
            idle += 1
            continue
        idle = 0
        for message in batch:
            done.append(message.body["job"])
            assert queue.ack(message)
    Path(out).write_text(json.dumps(done))
    db.dispose()


def _run_two_claimers(url: str, tmp_path: Path, jobs: int) -> tuple[list[int], list[int]]:
    db = Database(url)
    queue = DbQueue(db)
    for job in range(jobs):
        queue.send(RENDER, {"job": job})
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    outs = [str(tmp_path / f"claimer{n}.json") for n in range(2)]
    processes = [context.Process(target=_drain, args=(url, out, start)) for out in outs]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0, "a claimer crashed"
    assert queue.depth(RENDER) == 0
    db.dispose()
    first, second = (json.loads(Path(out).read_text()) for out in outs)
    return first, second


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_on_postgresql_do_each_job_exactly_once(pg_url: str, tmp_path: Path) -> None:
    first, second = _run_two_claimers(pg_url, tmp_path, 2 * JOBS_PER_PROCESS)
    everything = first + second
    assert len(everything) == 2 * JOBS_PER_PROCESS, "a job was done twice or lost"
    assert sorted(everything) == list(range(2 * JOBS_PER_PROCESS))
    assert first and second, "both claimers should have taken a share (SKIP LOCKED, not a global lock)"


@pytest.mark.slow
def test_two_processes_on_sqlite_do_each_job_exactly_once(sqlite_url: str, tmp_path: Path) -> None:
    first, second = _run_two_claimers(sqlite_url, tmp_path, 200)
    assert sorted(first + second) == list(range(200))
