"""The schedule and SQS-consumer Lambdas: a real-shaped event in, the work done, partial failures reported."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.models import Shop
from connector.queue import MAINTENANCE, WRITEBACK, SqsQueue
from connector.services import Services
from connector.shops import get_or_create_shop
from webhooks import lambdas


@pytest.fixture
def backends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, aws: str
) -> Iterator[Services]:
    """Point the Lambda module at this test's database and a moto SQS, through the environment."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(
        "QUEUE_URL", f"sqs://t{uuid.uuid4().hex[:6]}-?endpoint={aws}&region=us-east-1&create=1"
    )
    monkeypatch.setattr(lambdas, "_services", None)
    monkeypatch.setattr(lambdas, "_app", None)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    services = lambdas._backends()
    yield services
    services.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def sqs_event(services: Services, queue: str, bodies: list[str]) -> dict[str, Any]:
    """Send `bodies` to the queue and receive them back as the Lambda SQS event would carry them."""
    sqs = services.queue
    assert isinstance(sqs, SqsQueue)
    url = sqs._url(sqs.prefix + queue)
    for body in bodies:
        sqs._client.send_message(QueueUrl=url, MessageBody=body)
    records = []
    while len(records) < len(bodies):
        answer = sqs._client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], VisibilityTimeout=60
        )
        for raw in answer.get("Messages", []):
            records.append(
                {
                    "messageId": raw["MessageId"],
                    "receiptHandle": raw["ReceiptHandle"],
                    "body": raw["Body"],
                    "attributes": raw["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": raw["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{sqs.prefix}{queue}",
                    "awsRegion": "us-east-1",
                }
            )
    return {"Records": records}


def test_a_maintenance_batch_with_one_bad_message_reports_only_that_one(backends: Services) -> None:
    with backends.db.session() as session:
        first, second = (get_or_create_shop(session, name).id for name in ("gone-a", "gone-b"))
        keeper = get_or_create_shop(session, "keeper").id
    for shop_id in (first, second, keeper):
        backends.storage.put(f"shops/{shop_id}/drafts/1/grace.jpg", b"jpeg")
    event = sqs_event(
        backends,
        MAINTENANCE,
        [json.dumps({"redact_shop": first}), "{not json", json.dumps({"redact_shop": second})],
    )
    bad = next(r["messageId"] for r in event["Records"] if r["body"] == "{not json")

    result = lambdas.maintenance(event, None)

    assert result == {"batchItemFailures": [{"itemIdentifier": bad}]}
    with backends.db.session() as session:
        assert [s.id for s in session.scalars(select(Shop))] == [keeper]
    assert list(backends.storage.keys("shops/")) == [f"shops/{keeper}/drafts/1/grace.jpg"]
    [dead] = backends.queue.dead_letters(MAINTENANCE)  # the bad one went to the DLQ with its reason
    assert "unknown maintenance message" in (dead.last_error or "")


def test_a_writeback_for_a_draft_that_is_gone_is_done_not_retried(backends: Services) -> None:
    event = sqs_event(backends, WRITEBACK, [json.dumps({"write_back_id": 424242}), "[]"])
    result = lambdas.writeback(event, None)
    bad = next(r["messageId"] for r in event["Records"] if r["body"] == "[]")
    assert result == {"batchItemFailures": [{"itemIdentifier": bad}]}


def test_the_schedule_runs_every_periodic_task_once(backends: Services) -> None:
    summary = lambdas.schedule({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, None)
    assert summary == {
        "tokens_refreshed": 0,
        "token_failures": [],
        "requeued_jobs": 0,
        "requeued_write_backs": 0,
        "reconciled_products": 0,
        "reconcile_failures": [],
        "expired_drafts": 0,
        "pending_deliveries": 0,
    }


def test_every_handler_serverless_names_is_importable() -> None:
    from cfnlint.decode.cfn_yaml import load

    functions = load(str(Path(__file__).resolve().parents[2] / "serverless.yml"))["functions"]
    for name, function in functions.items():
        module, _, attribute = function["handler"].rpartition(".")
        assert module == "webhooks.lambdas", name
        assert callable(getattr(lambdas, attribute)), function["handler"]
