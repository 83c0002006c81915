"""The worker: take maintenance, write-back and render messages off the queues and do them, one at a time.

Delivery is at least once, so every handler is idempotent. A failing message is retried with the declared
backoff (`RetryPolicy`) while its error may pass, then dead-lettered; either way the reason is written on the
RenderJob / WriteBack / Draft row where the merchant sees it. One failing job never stops the worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.exc import OperationalError

from connector.db import DatabaseUnavailable
from connector.logs import log_context
from connector.models import Draft, RenderJob, WriteBack, utcnow
from connector.queue import MAINTENANCE, RENDER, WRITEBACK, Message, RetryPolicy
from connector.renderjob import RenderedImage, RenderRequest, RenderStep, run_render_job
from connector.services import Services
from connector.writeback import run_write_back
from renderer.errors import WornError

log = logging.getLogger(__name__)

#: How many renders a GPU worker does between two throughput log lines.
THROUGHPUT_EVERY = 10

#: Order of service: deleting a shop's data first, then what the merchant is waiting to see, then renders.
QUEUE_ORDER = (MAINTENANCE, WRITEBACK, RENDER)


@dataclass
class WorkerStats:
    """Counts of what a worker did, by outcome: done, skipped, retried, dead (dead-lettered)."""

    handled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        """Count one message with `outcome`."""
        self.handled += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def is_retryable(exc: BaseException) -> bool:
    """Say whether trying the same message later may succeed (network, throttling, a database blip)."""
    flag = getattr(exc, "retryable", None)
    if isinstance(flag, bool):
        return flag
    return isinstance(exc, httpx.TransportError | DatabaseUnavailable | OperationalError | TimeoutError)


def default_render_step(services: Services, device: str = "cpu") -> RenderStep:
    """Return the renderer's step for `device` (imported only when a render job runs)."""
    from connector.render_step import make_render_step

    return make_render_step(device, services.settings.MODELS_DIR, services.settings.GPU_COMPILE)


class Worker:
    """Poll the queues and handle one message at a time until stopped."""

    def __init__(
        self,
        services: Services,
        *,
        queues: Sequence[str] = QUEUE_ORDER,
        render_step: RenderStep | None = None,
        device: str = "cpu",
        stop_event: threading.Event | None = None,
        retry: RetryPolicy | None = None,
        idle_wait: float = 1.0,
    ) -> None:
        self.services = services
        self.queues = tuple(queues)
        self._render_step = render_step
        self.device = device
        self.stop_event = stop_event or threading.Event()
        self.retry = retry or RetryPolicy(max_attempts=services.queue.max_attempts)
        self.idle_wait = idle_wait
        self.stats = WorkerStats()
        # On a GPU the worker reports its render throughput every few jobs (images per second, failures).
        self.throughput: Any = None
        self._renders = 0
        if device != "cpu":
            from renderer.diffusion import Throughput

            self.throughput = Throughput()
        self._handlers: dict[str, Callable[[dict[str, Any]], str]] = {
            RENDER: self._render,
            WRITEBACK: self._write_back,
            MAINTENANCE: self._maintenance,
        }

    def render(self, request: RenderRequest) -> list[RenderedImage]:
        """Run the render step; the renderer (and its models) load on the first job that gets this far."""
        if self._render_step is None:
            self._render_step = default_render_step(self.services, self.device)
        if self.throughput is None:
            return self._render_step(request)
        with self.throughput.measure(len(request.plates)):
            images = self._render_step(request)
        self._renders += 1
        if self._renders % THROUGHPUT_EVERY == 0:
            log.info("render throughput on %s: %s", self.device, self.throughput.summary())
        return images

    def stop(self) -> None:
        """Ask the worker to stop after the message it is handling."""
        self.stop_event.set()

    def run(self, *, once: bool = False, max_jobs: int | None = None) -> WorkerStats:
        """Handle messages until stopped (`once`: until the queues are empty; `max_jobs`: at most N)."""
        log.info("worker started on %s (device %s)", ", ".join(self.queues), self.device)
        while not self.stop_event.is_set():
            if max_jobs is not None and self.stats.handled >= max_jobs:
                break
            if self.poll_once():
                continue
            if once:
                break
            self.stop_event.wait(self.idle_wait)
        log.info("worker stopped after %d message(s): %s", self.stats.handled, self.stats.outcomes)
        return self.stats

    def poll_once(self) -> bool:
        """Take and handle one message from the first queue that has one; False when all are empty."""
        for queue in self.queues:
            messages = self.services.queue.receive(queue, max_messages=1)
            if messages:
                self.handle(messages[0])
                return True
        return False

    def handle(self, message: Message) -> str:
        """Handle one message; acknowledge it, retry it later, or dead-letter it. Return the outcome."""
        body = message.body
        with log_context(
            shop=self._shop_of(message), job=body.get("render_job") or body.get("write_back_id")
        ):
            started = time.monotonic()
            try:
                handler = self._handlers[message.queue]
                outcome = handler(body)
            except Exception as exc:
                outcome = self._failed(message, exc)
            else:
                self.services.queue.ack(message)
                log.info(
                    "%s message %s: %s in %.2f s",
                    message.queue,
                    message.id,
                    outcome,
                    time.monotonic() - started,
                )
        self.stats.count(outcome)
        return outcome

    def _shop_of(self, message: Message) -> int | None:
        """Return the shop a message is about, for the log lines (None when it cannot be told)."""
        body = message.body
        try:
            if message.queue == MAINTENANCE:
                return int(body["redact_shop"]) if "redact_shop" in body else None
            with self.services.db.session() as session:
                if message.queue == RENDER and "render_job" in body:
                    job = session.get(RenderJob, int(body["render_job"]))
                    return job.shop_id if job is not None else None
                if message.queue == WRITEBACK and "write_back_id" in body:
                    write_back = session.get(WriteBack, int(body["write_back_id"]))
                    return write_back.shop_id if write_back is not None else None
                return None
        except Exception:  # logging context only: never a reason to fail the message
            return None

    def _failed(self, message: Message, exc: Exception) -> str:
        # Worn's own errors are written for the merchant; anything else is a bug, shown with its type.
        reason = (str(exc) if isinstance(exc, WornError) else f"{type(exc).__name__}: {exc}")[:2000]
        retryable = is_retryable(exc)
        if retryable and message.attempts < self.retry.max_attempts:
            # An error may say when trying again makes sense (a lease running out, Retry-After).
            delay = max(self.retry.delay(message.attempts), float(getattr(exc, "retry_after", 0) or 0))
            log.warning(
                "%s message %s failed (attempt %d of %d), retrying in %.0f s: %s",
                message.queue,
                message.id,
                message.attempts,
                self.retry.max_attempts,
                delay,
                reason,
            )
            self._note(message, reason, final=False)
            self.services.queue.retry(message, delay=delay, error=reason)
            return "retried"
        if retryable:
            reason = f"gave up after {message.attempts} attempts: {reason}"
        log.error(
            "%s message %s dead-lettered: %s",
            message.queue,
            message.id,
            reason,
            exc_info=not isinstance(exc, WornError),
        )
        self._note(message, reason, final=True)
        self.services.queue.fail(message, reason)
        return "dead"

    def _note(self, message: Message, reason: str, *, final: bool) -> None:
        """Write the failure where the merchant sees it: on the job, or on the write-back and its draft."""
        body = message.body
        try:
            with self.services.db.session() as session:
                if message.queue == RENDER and "render_job" in body:
                    job = session.get(RenderJob, int(body["render_job"]))
                    if job is not None and job.state not in ("done", "superseded", "cancelled"):
                        job.last_error = reason
                        job.state = "failed" if final else "queued"
                        if final:
                            job.finished_at = utcnow()
                elif message.queue == WRITEBACK and "write_back_id" in body:
                    write_back = session.get(WriteBack, int(body["write_back_id"]))
                    if write_back is not None and write_back.state not in ("done", "removed", "cancelled"):
                        write_back.last_error = reason
                        if final:
                            write_back.state = "failed"
                            draft = session.get(Draft, write_back.draft_id)
                            if draft is not None:
                                draft.state, draft.error = (
                                    "failed",
                                    f"writing the image to Shopify failed: {reason}",
                                )
        except Exception:  # the database itself may be what failed; the queue still keeps the message
            log.exception("could not record the failure of %s message %s", message.queue, message.id)

    # --- handlers ----------------------------------------------------------------------------------------

    def _render(self, body: dict[str, Any]) -> str:
        outcome = run_render_job(self.services, int(body["render_job"]), self.render)
        return outcome.code

    def _write_back(self, body: dict[str, Any]) -> str:
        return run_write_back(self.services, int(body["write_back_id"])).code

    def _maintenance(self, body: dict[str, Any]) -> str:
        if "redact_shop" in body:
            from connector.compliance import redact_shop

            redact_shop(self.services, int(body["redact_shop"]))
            return "redacted"
        raise ValueError(f"unknown maintenance message {sorted(body)}; expected redact_shop")


def run_worker(
    services: Services,
    stop_event: threading.Event | None = None,
    *,
    once: bool = False,
    max_jobs: int | None = None,
    **kwargs: Any,
) -> WorkerStats:
    """Run a worker in this thread until `stop_event` is set (or the queues are empty with `once`)."""
    return Worker(services, stop_event=stop_event, **kwargs).run(once=once, max_jobs=max_jobs)
