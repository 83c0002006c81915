"""`worn serve` as a subprocess on a free port: real HTTP, real gunicorn, real concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from connector.db import Database
from connector.migrate import head_revision
from connector.models import RenderJob, WebhookDelivery
from tests.support.moto import free_port
from tests.webhooks import payloads

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    db: Database
    log: Path

    def count(self, model: type) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"worn serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"worn serve did not answer within 60 s:\n{log.read_text()}")


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(database_url, tmp_path, WEBHOOK_MAX_BODY_BYTES="8192") as started:
        yield started


@contextmanager
def running_server(database_url: str, tmp_path: Path, **settings: str) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "var"),
        "LOG_FORMAT": "json",
        **settings,
    }
    process = start(
        [
            sys.executable,
            "-m",
            "webhooks.cli",
            "serve",
            "--no-scheduler",
            "--port",
            str(port),
            "--workers",
            "2",
            "--threads",
            "4",
        ],
        env,
        log,
    )
    url = f"http://127.0.0.1:{port}"
    db = Database(database_url)
    try:
        wait_until_up(url, process, log)
        yield Server(url, process, db, log)
    finally:
        assert stop(process) == 0, log.read_text()
        db.dispose()


def post(server: Server, topic: str, payload: object, **header_args: object) -> httpx.Response:
    body = payloads.encode(payload)
    return httpx.post(
        f"{server.url}/webhooks",
        content=body,
        headers=payloads.headers(topic, body, **header_args),
        timeout=10,
    )


def test_every_topic_over_http(server: Server) -> None:
    assert post(server, "products/create", payloads.product(9001)).json()["outcome"] == "queued"
    assert (
        post(server, "products/update", payloads.product(9001, title="Renamed")).json()["outcome"]
        == "unchanged"
    )
    assert post(server, "products/delete", payloads.product_delete(9001)).json()["outcome"] == "deleted"
    assert (
        post(server, "customers/data_request", payloads.customers_data_request()).json()["outcome"]
        == "no_customer_data"
    )
    assert (
        post(server, "customers/redact", payloads.customers_redact()).json()["outcome"] == "no_customer_data"
    )
    assert post(server, "app/uninstalled", payloads.shop_resource()).json()["outcome"] == "uninstalled"
    assert post(server, "shop/redact", payloads.shop_redact()).json()["outcome"] == "redaction_queued"
    body = payloads.encode(payloads.product(9002))
    tampered = httpx.post(
        f"{server.url}/webhooks", content=body + b" ", headers=payloads.headers("products/update", body)
    )
    assert tampered.status_code == 401
    assert httpx.get(f"{server.url}/webhooks").status_code == 405
    assert httpx.get(f"{server.url}/readyz").text == "ready\n"
    assert server.count(WebhookDelivery) == 7


def test_identical_deliveries_at_once_are_recorded_once(server: Server) -> None:
    """Twenty copies of one delivery (same webhook id) and twenty of one change (new ids), all at once."""
    body = payloads.encode(payloads.product(9003))
    same = payloads.headers("products/update", body, webhook_id="one-and-the-same")
    barrier = threading.Barrier(40)
    statuses: list[tuple[str, int, str]] = []

    def send(kind: str) -> None:
        head = same if kind == "same" else payloads.headers("products/update", body)
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            response = client.post(f"{server.url}/webhooks", content=body, headers=head)
            statuses.append((kind, response.status_code, response.json()["outcome"]))

    threads = [threading.Thread(target=send, args=("same" if i % 2 else "new",)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for _, status, _ in statuses} == {200}
    same_outcomes = sorted(o for kind, _, o in statuses if kind == "same")
    new_outcomes = [o for kind, _, o in statuses if kind == "new"]
    assert same_outcomes.count("duplicate") >= 19
    assert server.count(WebhookDelivery) == 21  # one for the 20 copies, one each for the 20 new ids
    assert server.count(RenderJob) == 1
    assert (same_outcomes + new_outcomes).count("queued") == 1


def test_deferred_deliveries_are_decided_by_the_background_process(database_url: str, tmp_path: Path) -> None:
    """WEBHOOK_PROCESSING=deferred: answered `accepted` at once, decided by `worn serve`'s background process
    (which runs for it even with --no-scheduler)."""
    with running_server(database_url, tmp_path, WEBHOOK_PROCESSING="deferred") as server:
        assert post(server, "customers/redact", payloads.customers_redact()).json()["outcome"] == (
            "no_customer_data"  # the shop's first delivery creates it
        )
        accepted = [post(server, "products/update", payloads.product(9100 + i)) for i in range(5)]
        assert [response.json()["outcome"] for response in accepted] == ["accepted"] * 5
        deadline = time.monotonic() + 30
        while server.count(RenderJob) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.count(RenderJob) == 5
        with server.db.session() as session:
            outcomes = session.scalars(
                select(WebhookDelivery.outcome).where(WebhookDelivery.topic == "products/update")
            )
            assert sorted(outcomes) == ["queued"] * 5


def stream(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_body_limits_declared_and_chunked(server: Server) -> None:
    big = payloads.encode(payloads.product(9004, title="x" * 9000))
    head = payloads.headers("products/update", big)
    assert httpx.post(f"{server.url}/webhooks", content=big, headers=head).status_code == 413
    chunked = httpx.post(f"{server.url}/webhooks", content=stream(big), headers=head, timeout=10)
    assert chunked.status_code == 413
    fits = payloads.encode(payloads.product(9004))
    ok = httpx.post(
        f"{server.url}/webhooks", content=stream(fits), headers=payloads.headers("products/update", fits)
    )
    assert ok.status_code == 200 and ok.json()["outcome"] == "queued"
    assert server.count(WebhookDelivery) == 1


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    process = start(
        [sys.executable, "-m", "webhooks.cli", "serve", "--no-scheduler", "--port", str(free_port())],
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}", "DATA_DIR": str(tmp_path)},
        log,
    )
    assert process.wait(timeout=60) == 2
    expected = f"database schema is at revision none, the code needs {head_revision()}: run `worn migrate`"
    assert expected in log.read_text()


def test_hooks_run_in_the_master_and_in_each_worker(sqlite_url: str, tmp_path: Path) -> None:
    """What the lead wires the scheduler and the in-process worker into."""
    marks = tmp_path / "marks"
    marks.mkdir()
    port = free_port()
    script = tmp_path / "serve_with_hooks.py"
    script.write_text(
        textwrap.dedent(f"""
        import os, pathlib
        from connector.settings import load_settings
        from webhooks.app import services_of
        from webhooks.serve import Hooks, serve

        marks = pathlib.Path({str(marks)!r})

        def ready(arbiter):
            (marks / f"ready-{{os.getpid()}}").write_text("scheduler would start here")

        def worker_started(worker):
            services = services_of(worker.wsgi)
            (marks / f"worker-{{os.getpid()}}").write_text(services.db.dialect)

        serve(load_settings(DATABASE_URL={sqlite_url!r}, DATA_DIR={str(tmp_path)!r}), port={port}, workers=2,
              threads=2, hooks=Hooks(when_ready=[ready], post_worker_init=[worker_started]))
    """)
    )
    log = tmp_path / "serve.log"
    process = start([sys.executable, str(script)], {}, log)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + 20
        while len(list(marks.glob("worker-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        ready = list(marks.glob("ready-*"))
        workers = list(marks.glob("worker-*"))
        assert [path.name for path in ready] == [f"ready-{process.pid}"]
        assert len(workers) == 2 and {path.read_text() for path in workers} == {"sqlite"}
    finally:
        assert stop(process) == 0, log.read_text()


def test_serve_command_rejects_bad_options() -> None:
    from webhooks.cli import main

    assert main(["serve", "--workers", "0"]) == 2
