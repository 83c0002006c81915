"""Run the periodic passes inside `worn serve` with APScheduler (on AWS an EventBridge schedule runs them).

Each job is one function of `connector.reconcile` or `connector.auth`, safe to run in several processes at
once; APScheduler only decides when. A job that raises is logged and runs again at its next time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from connector import auth, reconcile
from connector.services import Services

log = logging.getLogger(__name__)

TOKEN_MINUTES = 5
STUCK_MINUTES = 5
EXPIRE_MINUTES = 60


def jobs(services: Services) -> dict[str, tuple[Callable[[], Any], dt.timedelta]]:
    """Return the periodic jobs: name -> (function, interval)."""
    return {
        "reconcile": (
            lambda: reconcile.reconcile_all(services),
            dt.timedelta(minutes=services.settings.RECONCILE_MINUTES),
        ),
        "refresh-tokens": (lambda: auth.refresh_due_tokens(services), dt.timedelta(minutes=TOKEN_MINUTES)),
        "requeue-stuck": (lambda: reconcile.requeue_stuck(services), dt.timedelta(minutes=STUCK_MINUTES)),
        "expire-drafts": (lambda: reconcile.expire_drafts(services), dt.timedelta(minutes=EXPIRE_MINUTES)),
    }


def _report_error(event: JobExecutionEvent) -> None:
    log.error("scheduled job %s failed: %r", event.job_id, event.exception, exc_info=event.exception)


def start_scheduler(
    services: Services, *, start: bool = True, first_run_in: float = 30.0
) -> BackgroundScheduler:
    """Build the scheduler with every periodic job (first runs after `first_run_in` s) and start it."""
    scheduler = BackgroundScheduler(
        timezone=dt.UTC,
        # One run at a time per job; runs missed while busy are folded into one.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=first_run_in)
    for name, (function, interval) in jobs(services).items():
        scheduler.add_job(
            function,
            IntervalTrigger(seconds=interval.total_seconds(), timezone=dt.UTC),
            id=name,
            name=name,
            next_run_time=first,
        )
    scheduler.add_listener(_report_error, EVENT_JOB_ERROR)
    if start:
        scheduler.start()
        log.info(
            "scheduler started: %s",
            ", ".join(f"{job.id} every {job.trigger.interval}" for job in scheduler.get_jobs()),
        )
    return scheduler
