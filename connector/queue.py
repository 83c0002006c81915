"""Move jobs between processes: a table in the database by default, Amazon SQS when QUEUE_URL says sqs://.

Delivery is at least once. A received message stays invisible for the visibility timeout; if it is not
acknowledged by then (the worker crashed) it is delivered again. Each delivery counts an attempt, and a
message delivered `max_attempts` times without success moves to the dead-letter queue.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from connector.db import Database
from connector.models import QueueMessage
from renderer.errors import ConfigError, WornError

RENDER = "render"
WRITEBACK = "writeback"
MAINTENANCE = "maintenance"
QUEUES = (RENDER, WRITEBACK, MAINTENANCE)


class QueueError(WornError):
    """The queue backend failed; the message names the backend and the cause."""


@dataclass(frozen=True)
class Message:
    """One delivery of a message: its body (JSON), how many times it was delivered, and its receipt."""

    id: str
    queue: str
    body: dict[str, Any]
    attempts: int
    receipt: str


@dataclass(frozen=True)
class DeadLetter:
    """A message that ran out of attempts, with the last error recorded for it."""

    id: str
    queue: str
    body: dict[str, Any]
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed job is retried: exponential backoff from `base` seconds up to `cap`."""

    max_attempts: int = 5
    base: float = 5.0
    cap: float = 900.0
    factor: float = 3.0

    def delay(self, attempts: int) -> float:
        """Return the wait before the next attempt after `attempts` deliveries."""
        return min(self.cap, self.base * self.factor ** max(0, attempts - 1))


class Queue(Protocol):
    """What Worn needs from a queue; every backend passes tests/test_queue_contract.py."""

    max_attempts: int

    def send(
        self, queue: str, body: dict[str, Any], *, shop_id: int | None = None, delay: float = 0
    ) -> str: ...
    def receive(
        self, queue: str, *, max_messages: int = 1, visibility: float | None = None, wait: float = 0
    ) -> list[Message]: ...
    def ack(self, message: Message) -> bool: ...
    def retry(self, message: Message, *, delay: float, error: str | None = None) -> None: ...
    def fail(self, message: Message, error: str) -> None: ...
    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]: ...
    def redrive(self, queue: str, message_id: str) -> bool: ...
    def depth(self, queue: str) -> int: ...


def _check_body(body: dict[str, Any]) -> str:
    if not isinstance(body, dict):
        raise TypeError(f"a message body is a JSON object of ids, got {type(body).__name__}")
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _check_queue(queue: str) -> str:
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; expected one of {', '.join(QUEUES)}")
    return queue


# Built once: it runs inside every webhook request that queues a render.
_INSERT_MESSAGE = (
    insert(QueueMessage)
    .values(
        queue=bindparam("queue"),
        shop_id=bindparam("shop_id"),
        body=bindparam("body"),
        state="ready",
        attempts=0,
        available_at=bindparam("now"),
        created_at=bindparam("now"),
    )
    .returning(QueueMessage.id)
)


@dataclass
class DbQueue:
    """Messages as rows of `queue_messages`; PostgreSQL claims with FOR UPDATE SKIP LOCKED."""

    db: Database
    visibility: float = 300.0
    max_attempts: int = 5
    poll_interval: float = 0.2
    clock: Callable[[], float] = field(default=time.time)

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def send(self, queue: str, body: dict[str, Any], *, shop_id: int | None = None, delay: float = 0) -> str:
        """Add a message, visible after `delay` seconds; return its id."""
        _check_body(body)
        with self.db.session() as session:
            row = QueueMessage(
                queue=_check_queue(queue),
                shop_id=shop_id,
                body=body,
                available_at=self._now() + dt.timedelta(seconds=delay),
                created_at=self._now(),
            )
            session.add(row)
            session.flush()
            return str(row.id)

    def send_in(
        self, connection: Connection, queue: str, body: dict[str, Any], *, shop_id: int | None = None
    ) -> str:
        """Add a message inside the caller's open transaction on this queue's database; return its id.

        The message becomes visible when that transaction commits, together with the rows it names, and
        disappears with them if it rolls back (a transactional outbox: nothing to lose in between).
        """
        _check_body(body)
        now = self._now()
        values = {"queue": _check_queue(queue), "shop_id": shop_id, "body": body, "now": now}
        return str(connection.execute(_INSERT_MESSAGE, values).scalar_one())

    def receive(
        self, queue: str, *, max_messages: int = 1, visibility: float | None = None, wait: float = 0
    ) -> list[Message]:
        """Claim up to `max_messages` visible messages, waiting up to `wait` seconds for the first."""
        deadline = self.clock() + wait
        while True:
            messages = self._claim(
                _check_queue(queue), max_messages, self.visibility if visibility is None else visibility
            )
            if messages or self.clock() >= deadline:
                return messages
            time.sleep(self.poll_interval)

    def _claim(self, queue: str, limit: int, visibility: float) -> list[Message]:
        now = self._now()
        claimed: list[Message] = []
        with self.db.session() as session:
            candidates = select(QueueMessage).where(
                QueueMessage.queue == queue, QueueMessage.state == "ready", QueueMessage.available_at <= now
            )
            candidates = candidates.order_by(QueueMessage.available_at, QueueMessage.id).limit(limit * 2 + 5)
            if self.db.dialect == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            for row in session.scalars(candidates):
                if len(claimed) == limit:
                    break
                if row.attempts >= self.max_attempts:
                    # Delivered max_attempts times and never acknowledged: it goes to the dead letters.
                    row.state = "dead"
                    row.last_error = row.last_error or "visibility timeout expired on every attempt"
                    continue
                row.attempts += 1
                row.receipt = uuid.uuid4().hex
                row.available_at = now + dt.timedelta(seconds=visibility)
                claimed.append(Message(str(row.id), queue, dict(row.body), row.attempts, row.receipt))
        return claimed

    def ack(self, message: Message) -> bool:
        """Delete a processed message; False when its receipt is stale (it was delivered again since)."""
        with self.db.session() as session:
            result = session.execute(
                delete(QueueMessage).where(
                    QueueMessage.id == int(message.id), QueueMessage.receipt == message.receipt
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def retry(self, message: Message, *, delay: float, error: str | None = None) -> None:
        """Make a message visible again after `delay` seconds (or dead-letter it when out of attempts)."""
        with self.db.session() as session:
            row = session.get(QueueMessage, int(message.id))
            if row is None or row.receipt != message.receipt:
                return
            row.last_error = error
            row.receipt = None
            if row.attempts >= self.max_attempts:
                row.state = "dead"
            else:
                row.available_at = self._now() + dt.timedelta(seconds=delay)

    def fail(self, message: Message, error: str) -> None:
        """Dead-letter a message at once (the error will not go away by retrying)."""
        with self.db.session() as session:
            session.execute(
                update(QueueMessage)
                .where(QueueMessage.id == int(message.id), QueueMessage.receipt == message.receipt)
                .values(state="dead", last_error=error, receipt=None)
            )

    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        """Return the dead-lettered messages of `queue`, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(QueueMessage)
                .where(QueueMessage.queue == _check_queue(queue), QueueMessage.state == "dead")
                .order_by(QueueMessage.id)
                .limit(limit)
            )
            return [DeadLetter(str(r.id), queue, dict(r.body), r.attempts, r.last_error) for r in rows]

    def redrive(self, queue: str, message_id: str) -> bool:
        """Put a dead-lettered message back on its queue with fresh attempts; False when not found."""
        if not message_id.isdigit():
            return False
        with self.db.session() as session:
            result = session.execute(
                update(QueueMessage)
                .where(
                    QueueMessage.id == int(message_id),
                    QueueMessage.queue == queue,
                    QueueMessage.state == "dead",
                )
                .values(state="ready", attempts=0, receipt=None, available_at=self._now())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def depth(self, queue: str) -> int:
        """Return how many live (not dead) messages the queue holds."""
        with self.db.session() as session:
            return (
                session.scalar(
                    select(func.count()).where(
                        QueueMessage.queue == _check_queue(queue), QueueMessage.state == "ready"
                    )
                )
                or 0
            )


class SqsQueue:
    """Messages in Amazon SQS queues named PREFIX+queue, each with a PREFIX+queue+'-dlq' redrive target."""

    def __init__(
        self,
        prefix: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        visibility: float = 300.0,
        max_attempts: int = 5,
        create: bool = False,
    ) -> None:
        from connector.aws import client

        self.prefix = prefix
        self.visibility = visibility
        self.max_attempts = max_attempts
        self._client = client("sqs", endpoint_url=endpoint_url, region=region)
        self._urls: dict[str, str] = {}
        if create:
            self.create_queues()

    def __repr__(self) -> str:
        return f"SqsQueue(prefix={self.prefix!r})"

    def _call(self, action: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, action)(**kwargs)
        except Exception as exc:
            raise QueueError(f"{self!r}: {action} failed: {exc}") from exc

    def create_queues(self) -> None:
        """Create every queue and its dead-letter queue (in development; serverless.yml declares them)."""
        for queue in QUEUES:
            dlq = self._call("create_queue", QueueName=f"{self.prefix}{queue}-dlq")["QueueUrl"]
            dlq_arn = self._call("get_queue_attributes", QueueUrl=dlq, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(self.max_attempts)})
            self._call(
                "create_queue",
                QueueName=f"{self.prefix}{queue}",
                Attributes={"VisibilityTimeout": str(int(self.visibility)), "RedrivePolicy": redrive},
            )

    def _url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self._call("get_queue_url", QueueName=name)["QueueUrl"]
        return self._urls[name]

    def send(self, queue: str, body: dict[str, Any], *, shop_id: int | None = None, delay: float = 0) -> str:
        """Add a message, visible after `delay` seconds (SQS allows up to 900); return its id."""
        attributes = {}
        if shop_id is not None:
            attributes["shop_id"] = {"DataType": "Number", "StringValue": str(shop_id)}
        result = self._call(
            "send_message",
            QueueUrl=self._url(self.prefix + _check_queue(queue)),
            MessageBody=_check_body(body),
            DelaySeconds=min(900, max(0, int(delay))),
            MessageAttributes=attributes,
        )
        return str(result["MessageId"])

    def receive(
        self, queue: str, *, max_messages: int = 1, visibility: float | None = None, wait: float = 0
    ) -> list[Message]:
        """Receive up to `max_messages` (at most 10), long-polling up to `wait` seconds (at most 20)."""
        result = self._call(
            "receive_message",
            QueueUrl=self._url(self.prefix + _check_queue(queue)),
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            VisibilityTimeout=int(self.visibility if visibility is None else visibility),
            WaitTimeSeconds=max(0, min(20, int(wait))),
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            Message(
                raw["MessageId"],
                queue,
                json.loads(raw["Body"]),
                int(raw["Attributes"]["ApproximateReceiveCount"]),
                raw["ReceiptHandle"],
            )
            for raw in result.get("Messages", [])
        ]

    def ack(self, message: Message) -> bool:
        """Delete a processed message."""
        self._call(
            "delete_message", QueueUrl=self._url(self.prefix + message.queue), ReceiptHandle=message.receipt
        )
        return True

    def retry(self, message: Message, *, delay: float, error: str | None = None) -> None:
        """Make a message visible again after `delay` seconds; SQS's redrive policy dead-letters it."""
        self._call(
            "change_message_visibility",
            QueueUrl=self._url(self.prefix + message.queue),
            ReceiptHandle=message.receipt,
            VisibilityTimeout=min(43200, max(0, int(delay))),
        )

    def fail(self, message: Message, error: str) -> None:
        """Dead-letter a message at once: copy it to the DLQ with its error, then delete it."""
        self._call(
            "send_message",
            QueueUrl=self._url(f"{self.prefix}{message.queue}-dlq"),
            MessageBody=json.dumps(message.body, sort_keys=True),
            MessageAttributes={"last_error": {"DataType": "String", "StringValue": error[:1000] or "failed"}},
        )
        self.ack(message)

    def _show(self, url: str, raw: dict[str, Any]) -> None:
        self._call(
            "change_message_visibility", QueueUrl=url, ReceiptHandle=raw["ReceiptHandle"], VisibilityTimeout=0
        )

    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        """Peek at the dead-letter queue (messages stay there)."""
        out: list[DeadLetter] = []
        url = self._url(f"{self.prefix}{_check_queue(queue)}-dlq")
        seen: set[str] = set()
        while len(out) < limit:
            result = self._call(
                "receive_message",
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=2,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            received = result.get("Messages", [])
            for raw in received:
                self._show(url, raw)  # peeking must not hide the message
            batch = [raw for raw in received if raw["MessageId"] not in seen]
            if not batch:
                break
            for raw in batch:
                seen.add(raw["MessageId"])
                error = raw.get("MessageAttributes", {}).get("last_error", {}).get("StringValue")
                body = json.loads(raw["Body"])
                out.append(DeadLetter(raw["MessageId"], queue, body, self.max_attempts, error))
        return out[:limit]

    def redrive(self, queue: str, message_id: str) -> bool:
        """Move one dead-lettered message back to its queue; False when it is not in the DLQ."""
        url = self._url(f"{self.prefix}{_check_queue(queue)}-dlq")
        passed_over: list[dict[str, Any]] = []  # kept invisible while searching, shown again after
        found: dict[str, Any] | None = None
        while found is None:
            result = self._call("receive_message", QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
            messages = result.get("Messages", [])
            if not messages:
                break
            for raw in messages:
                if raw["MessageId"] == message_id and found is None:
                    found = raw
                else:
                    passed_over.append(raw)
        for raw in passed_over:
            self._show(url, raw)
        if found is None:
            return False
        self._call("send_message", QueueUrl=self._url(self.prefix + queue), MessageBody=found["Body"])
        self._call("delete_message", QueueUrl=url, ReceiptHandle=found["ReceiptHandle"])
        return True

    def depth(self, queue: str) -> int:
        """Return the approximate number of visible plus in-flight messages."""
        attrs = self._call(
            "get_queue_attributes",
            QueueUrl=self._url(self.prefix + _check_queue(queue)),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def make_queue(url: str, db: Database, *, visibility: float = 300.0, max_attempts: int = 5) -> Queue:
    """Build the queue backend that QUEUE_URL names: 'db' or sqs://PREFIX[?endpoint=..&region=..&create=1]."""
    if url == "db":
        return DbQueue(db, visibility=visibility, max_attempts=max_attempts)
    if url.startswith("sqs://"):
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        prefix = parts.netloc + parts.path.strip("/")
        if not prefix:
            raise ConfigError(f"setting QUEUE_URL: expected sqs://NAME-PREFIX, got {url!r}")
        return SqsQueue(
            prefix,
            endpoint_url=query.get("endpoint", [None])[0],
            region=query.get("region", [None])[0],
            visibility=visibility,
            max_attempts=max_attempts,
            create=query.get("create", ["0"])[0] in ("1", "true", "yes"),
        )
    raise ConfigError(f"setting QUEUE_URL: expected 'db' or sqs://NAME-PREFIX, got {url!r}")
