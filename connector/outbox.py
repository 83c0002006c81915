"""Send a queue message with the commit of the transaction whose rows it names.

With the database queue (QUEUE_URL=db) the message row is written inside that same transaction: it
becomes visible exactly when the rows do, and vanishes with them on a rollback. Other queues (SQS) cannot
join a database transaction, so the message is sent right after the commit — never before (a worker would
look for a row that is not there yet, or was rolled back) and never after a rollback. A crash, or a queue
outage, between that commit and the send leaves a row in state `queued` with no message: the scheduler
finds such rows by age and sends them again, and consumers are idempotent by the id in the message.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from connector.queue import DbQueue, Queue

log = logging.getLogger(__name__)
_PENDING = "worn_outbox"


def send_on_commit(
    session: Session, queue: Queue, name: str, body: dict[str, Any], *, shop_id: int | None = None
) -> None:
    """Make `body` a message of queue `name` when `session` commits; nothing if it rolls back."""
    if isinstance(queue, DbQueue) and queue.db.engine is session.get_bind():
        queue.send_in(session.connection(), name, body, shop_id=shop_id)
        return
    if _PENDING not in session.info:
        session.info[_PENDING] = []
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
    session.info[_PENDING].append((queue, name, body, shop_id))


def pending_messages(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """Return the (queue name, body) pairs waiting for this session's commit (queues outside the database)."""
    return [(name, body) for _queue, name, body, _shop in session.info.get(_PENDING, [])]


def _send_pending(session: Session) -> None:
    pending, session.info[_PENDING] = session.info.get(_PENDING, []), []
    for queue, name, body, shop_id in pending:
        try:
            queue.send(name, body, shop_id=shop_id)
        except Exception:
            # The row is committed: losing the message only delays the work until the scheduler re-sends it,
            # while raising here would turn a recorded, answered delivery into an error.
            log.exception(
                "queue send failed after commit; the scheduler will send it again",
                extra={"queue": name, "body": body},
            )


def _drop_pending(session: Session, previous: SessionTransaction) -> None:
    # Only the outermost rollback drops them; a message added inside a savepoint that rolled back is still
    # sent, and its consumer, finding no row, does nothing.
    if previous.parent is None:
        session.info[_PENDING] = []
