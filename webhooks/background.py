"""The work `worn serve` runs beside the web workers: the scheduler, the deferred deliveries and, optionally,
a queue worker.

They run in one separate process that gunicorn's master starts once it is ready and stops as it exits. A
process, not threads: renders would hold the web workers' GIL and slow webhook answers down, and the master,
which forks the web workers, must never hold database connections.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from connector.settings import Settings
from webhooks.serve import Hooks

log = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0


#: How much lower than the web workers' this process's CPU priority is (nice(2) increment).
NICENESS = 10

#: How long the delivery processor sleeps when nothing is pending: deferred deliveries are decided within
#: this of their arrival; in inline mode it only picks up what a deferred run left behind.
IDLE_SECONDS = {"deferred": 0.05, "inline": 5.0}


def process_deliveries(services: Any, stop: threading.Event, idle: float) -> None:
    """Decide pending webhook deliveries until `stop` is set; wait `idle` s when none are pending."""
    from webhooks.shopify import database_down, process_pending

    while not stop.is_set():
        try:
            pending = process_pending(services)
        except Exception as exc:
            if database_down(exc):
                log.warning("deferred deliveries wait: the database is unavailable (%s)", exc)
            else:
                log.exception("deferred deliveries: unexpected error; retrying in 5 s")
            stop.wait(5.0)
            continue
        if not pending:
            stop.wait(idle)


def _main(settings: Settings, scheduler: bool, worker: bool) -> None:
    from connector.logs import configure_logging
    from connector.scheduler import start_scheduler
    from connector.services import Services
    from connector.worker import run_worker

    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT, secrets=(settings.SHOPIFY_API_SECRET,))
    # Shopify waits on the web workers, nobody waits on this process by the millisecond: when the CPU is
    # short, answering webhooks goes first and renders and deferred decisions take what is left.
    os.nice(NICENESS)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    services = Services.from_settings(settings)
    running = start_scheduler(services) if scheduler else None
    deliveries = threading.Thread(
        target=process_deliveries,
        args=(services, stop, IDLE_SECONDS[settings.WEBHOOK_PROCESSING]),
        name="worn-deliveries",
    )
    deliveries.start()
    try:
        if worker:
            run_worker(services, stop)
        else:
            stop.wait()
    finally:
        stop.set()
        deliveries.join(STOP_TIMEOUT)
        if running is not None:
            running.shutdown(wait=False)
        services.close()


@dataclass
class Background:
    """Start and stop the background process; `hooks()` plugs it into gunicorn's lifecycle."""

    settings: Settings
    scheduler: bool = True
    worker: bool = False
    _process: Any = field(default=None, init=False)

    def start(self, _arbiter: Any = None) -> None:
        """Start the process (gunicorn's when_ready, in the master)."""
        deferred = self.settings.WEBHOOK_PROCESSING == "deferred"
        if not (self.scheduler or self.worker or deferred) or self._process is not None:
            return
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the master's state
        self._process = context.Process(
            target=_main,
            args=(self.settings, self.scheduler, self.worker),
            name="worn-background",
            daemon=False,
        )
        self._process.start()
        log.info(
            "background process %s started (scheduler: %s, queue worker: %s, webhook processing: %s)",
            self._process.pid,
            "on" if self.scheduler else "off",
            "on" if self.worker else "off",
            self.settings.WEBHOOK_PROCESSING,
        )

    def stop(self, _arbiter: Any = None) -> None:
        """Ask the process to finish the job in hand and exit (gunicorn's on_exit)."""
        process, self._process = self._process, None
        if process is None or not process.is_alive():
            return
        process.terminate()  # SIGTERM: the worker finishes its current message, then stops
        process.join(STOP_TIMEOUT)
        if process.is_alive():
            log.warning("background process %s did not stop in %ss; killing it", process.pid, STOP_TIMEOUT)
            process.kill()
            process.join(5)

    def hooks(self) -> Hooks:
        """Return the gunicorn hooks that run this beside the web workers."""
        return Hooks(when_ready=[self.start], on_exit=[self.stop])
