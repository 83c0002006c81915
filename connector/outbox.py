"""Send queue messages only once the database transaction that asked for them has committed.

A message sent before its rows are committed can be received by a worker that does not see them yet, and a
message sent by a transaction that then rolls back points at nothing. So callers put messages in the
session's outbox; they go out right after the commit and are dropped on a rollback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from connector.queue import Queue

log = logging.getLogger(__name__)
_PENDING = "worn.outbox"


@dataclass(frozen=True)
class Outgoing:
    """One message waiting for its transaction to commit."""

    queue: Queue
    name: str
    body: dict[str, Any]
    shop_id: int | None


def send_after_commit(
    session: Session, queue: Queue, name: str, body: dict[str, Any], *, shop_id: int | None
) -> None:
    """Queue `body` on `name` as soon as `session` commits (never if it rolls back)."""
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _flush)
        event.listen(session, "after_rollback", _drop)
    pending.append(Outgoing(queue, name, body, shop_id))


def pending_messages(session: Session) -> list[Outgoing]:
    """Return the messages that wait for `session` to commit."""
    return list(session.info.get(_PENDING) or [])


def _flush(session: Session) -> None:
    pending: list[Outgoing] = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for message in pending:
        try:
            message.queue.send(message.name, message.body, shop_id=message.shop_id)
        except Exception:
            # The rows are committed in their 'queued' state, which the maintenance sweep re-sends; failing
            # here would report an error for a decision that was in fact recorded.
            log.exception("queue %s: sending %s after commit failed", message.name, message.body)


def _drop(session: Session) -> None:
    session.info[_PENDING] = []
