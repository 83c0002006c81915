"""One contract for every queue backend: DB table on SQLite, DB table on PostgreSQL, Amazon SQS (moto)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from connector.db import Database
from connector.queue import RENDER, WRITEBACK, DbQueue, Queue, RetryPolicy, SqsQueue, make_queue

MAX_ATTEMPTS = 3


@pytest.fixture(params=["db-sqlite", pytest.param("db-postgresql", marks=pytest.mark.postgres), "sqs"])
def queue(request: pytest.FixtureRequest) -> Iterator[Queue]:
    """Yield each backend, configured with the same visibility timeout and attempt limit."""
    if request.param.startswith("db-"):
        url = request.getfixturevalue("sqlite_url" if request.param == "db-sqlite" else "pg_url")
        db = Database(url)
        yield DbQueue(db, visibility=30, max_attempts=MAX_ATTEMPTS, poll_interval=0.05)
        db.dispose()
    else:
        endpoint = request.getfixturevalue("aws")
        yield SqsQueue(
            f"t{uuid.uuid4().hex[:8]}-",
            endpoint_url=endpoint,
            visibility=30,
            max_attempts=MAX_ATTEMPTS,
            create=True,
        )


def receive_one(queue: Queue, name: str = RENDER, **kwargs: float) -> list:
    return queue.receive(name, max_messages=10, **kwargs)  # type: ignore[arg-type]


def test_send_receive_ack(queue: Queue) -> None:
    queue.send(RENDER, {"job": 1}, shop_id=None)
    [message] = receive_one(queue)
    assert message.body == {"job": 1}
    assert message.attempts == 1
    assert queue.ack(message)
    assert receive_one(queue) == []
    assert queue.depth(RENDER) == 0


def test_queues_are_separate_and_bodies_round_trip(queue: Queue) -> None:
    body = {"draft": 7, "nested": {"ids": [1, 2, 3]}, "text": "collier à 45 cm"}
    queue.send(WRITEBACK, body)
    assert receive_one(queue, RENDER) == []
    [message] = receive_one(queue, WRITEBACK)
    assert message.body == body


def test_received_message_is_invisible_until_visibility_timeout(queue: Queue) -> None:
    queue.send(RENDER, {"job": 2})
    [first] = receive_one(queue, visibility=1)
    assert receive_one(queue) == []  # another worker sees nothing while it is in flight
    time.sleep(1.3)
    [again] = receive_one(queue, wait=2)  # the worker "crashed": it comes back
    assert again.id == first.id
    assert again.attempts == 2
    assert queue.ack(again)


def test_retry_delays_the_next_delivery(queue: Queue) -> None:
    queue.send(RENDER, {"job": 3})
    [message] = receive_one(queue)
    queue.retry(message, delay=1, error="shop throttled")
    assert receive_one(queue) == []
    [again] = receive_one(queue, wait=3)
    assert again.body == {"job": 3}
    assert again.attempts == 2


def test_message_dead_letters_after_max_attempts(queue: Queue) -> None:
    queue.send(RENDER, {"job": 4})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [message] = receive_one(queue, wait=2)
        assert message.attempts == attempt
        queue.retry(message, delay=0, error=f"boom {attempt}")
    assert receive_one(queue) == []
    dead = queue.dead_letters(RENDER)
    assert [d.body for d in dead] == [{"job": 4}]
    assert queue.depth(RENDER) == 0


def test_fail_dead_letters_at_once_with_its_error(queue: Queue) -> None:
    queue.send(RENDER, {"job": 5})
    [message] = receive_one(queue)
    queue.fail(message, "product photo is not an image")
    assert receive_one(queue) == []
    [dead] = queue.dead_letters(RENDER)
    assert dead.body == {"job": 5}
    assert dead.last_error == "product photo is not an image"


def test_redrive_puts_a_dead_letter_back(queue: Queue) -> None:
    queue.send(RENDER, {"job": 6})
    [message] = receive_one(queue)
    queue.fail(message, "bad")
    [dead] = queue.dead_letters(RENDER)
    assert queue.redrive(RENDER, dead.id)
    assert queue.dead_letters(RENDER) == []
    [again] = receive_one(queue, wait=2)
    assert again.body == {"job": 6}
    assert queue.redrive(RENDER, "no-such-message") is False


def test_delayed_send(queue: Queue) -> None:
    queue.send(RENDER, {"job": 8}, delay=1)
    assert receive_one(queue) == []
    [message] = receive_one(queue, wait=3)
    assert message.body == {"job": 8}


def test_receive_batches_and_depth(queue: Queue) -> None:
    for n in range(5):
        queue.send(RENDER, {"job": n})
    assert queue.depth(RENDER) == 5
    seen = []
    while batch := queue.receive(RENDER, max_messages=2):
        assert len(batch) <= 2
        for message in batch:
            seen.append(message.body["job"])
            queue.ack(message)
    assert sorted(seen) == [0, 1, 2, 3, 4]


def test_bad_input_is_refused(queue: Queue) -> None:
    with pytest.raises(TypeError, match="JSON object"):
        queue.send(RENDER, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown queue 'renders'"):
        queue.send("renders", {"job": 1})
    with pytest.raises(TypeError):
        queue.send(RENDER, {"not json": object()})


# --- backend-specific guarantees --------------------------------------------------------------------------


def test_db_ack_with_a_stale_receipt_does_not_delete(db: Database) -> None:
    queue = DbQueue(db, visibility=1, max_attempts=5)
    queue.send(RENDER, {"job": 9})
    [first] = queue.receive(RENDER)
    time.sleep(1.1)
    [second] = queue.receive(RENDER)
    assert queue.ack(first) is False  # the slow first worker must not delete the redelivered copy
    assert queue.ack(second) is True


def test_db_queue_runs_on_a_fake_clock(db: Database) -> None:
    now = [1_000_000.0]
    queue = DbQueue(db, visibility=60, max_attempts=2, clock=lambda: now[0])
    queue.send(RENDER, {"job": 10})
    [_first] = queue.receive(RENDER)
    now[0] += 59
    assert queue.receive(RENDER) == []
    now[0] += 2
    [again] = queue.receive(RENDER)
    assert again.attempts == 2
    now[0] += 61
    assert queue.receive(RENDER) == []  # third delivery would exceed max_attempts: dead-lettered
    [dead] = queue.dead_letters(RENDER)
    assert dead.last_error == "visibility timeout expired on every attempt"


def test_make_queue_reads_the_url(db: Database, aws: str) -> None:
    assert isinstance(make_queue("db", db), DbQueue)
    sqs = make_queue(f"sqs://mk{uuid.uuid4().hex[:6]}-?endpoint={aws}&region=us-east-1&create=1", db)
    assert isinstance(sqs, SqsQueue)
    sqs.send(RENDER, {"job": 1})
    assert sqs.depth(RENDER) == 1


def test_retry_policy_backs_off_exponentially_to_a_cap() -> None:
    policy = RetryPolicy(max_attempts=5, base=2, factor=3, cap=100)
    assert [policy.delay(n) for n in range(1, 6)] == [2, 6, 18, 54, 100]
