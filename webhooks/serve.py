"""`worn serve`: the Flask app under gunicorn, the single-machine production server.

Each gunicorn worker builds its own app and backends after the fork (no connection pool crosses a fork).
Whatever else should run beside the web workers — the scheduler in the master once it is ready, a queue
worker inside each web worker — is handed in as hooks, so this module knows nothing about them.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from connector.db import Database
from connector.migrate import current_revision, head_revision
from connector.settings import Settings
from renderer.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000
# Measured with benchmarks/webhooks.py on 2 cores: two processes use both cores and a few threads each
# overlap the database round trips; 1x8 and 2x8 were no better, 3x2 worse, and sync workers (no keep-alive)
# cost twice the CPU per delivery.
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


@dataclass(frozen=True)
class Hooks:
    """Callables gunicorn runs at its lifecycle points (see gunicorn's server hooks)."""

    #: In the master, once, after the socket is bound (the scheduler starts here). Gets the Arbiter.
    when_ready: Sequence[Callable[[Any], None]] = ()
    #: In each web worker, after it loaded the app (an in-process queue worker starts here). Gets the
    #: gunicorn Worker; `worker.wsgi` is the Flask app, and `webhooks.app.services_of(worker.wsgi)` its
    #: backends.
    post_worker_init: Sequence[Callable[[Any], None]] = ()
    #: In each web worker as it exits. Gets the Arbiter and the Worker.
    worker_exit: Sequence[Callable[[Any, Any], None]] = ()
    #: In the master, just before gunicorn exits. Gets the Arbiter.
    on_exit: Sequence[Callable[[Any], None]] = ()


# gunicorn checks each hook's arity, so the chains take exactly the arguments gunicorn passes.
def _chain1(hooks: Sequence[Callable[[Any], None]]) -> Callable[[Any], None]:
    def run_all(first: Any) -> None:
        for hook in hooks:
            hook(first)

    return run_all


def _chain2(hooks: Sequence[Callable[[Any, Any], None]]) -> Callable[[Any, Any], None]:
    def run_all(first: Any, second: Any) -> None:
        for hook in hooks:
            hook(first, second)

    return run_all


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, app_factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self._factory = app_factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory()


def gunicorn_options(
    settings: Settings, *, host: str, port: int, workers: int, threads: int, hooks: Hooks
) -> dict[str, Any]:
    """Return the gunicorn settings `worn serve` runs with."""
    options: dict[str, Any] = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "threads": threads,
        # gthread keeps connections alive and overlaps database waits; sync with one thread is the minimum.
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.LOG_LEVEL.lower(),
        "proc_name": "worn-serve",
        "when_ready": _chain1(hooks.when_ready),
        "post_worker_init": _chain1(hooks.post_worker_init),
        "worker_exit": _chain2(hooks.worker_exit),
        "on_exit": _chain1(hooks.on_exit),
    }
    if os.path.isdir("/dev/shm"):  # the workers' heartbeat files: in memory, not on a slow disk
        options["worker_tmp_dir"] = "/dev/shm"
    return options


def check_database(settings: Settings) -> None:
    """Refuse to start on an unreachable or unmigrated database, with what to do about it."""
    db = Database(settings.database_url)
    try:
        db.check()
        current, head = current_revision(db), head_revision()
    finally:
        db.dispose()  # before the fork: no pooled connection may be shared by the workers
    if current != head:
        raise ConfigError(
            f"database schema is at revision {current or 'none'}, the code needs {head}: run `worn migrate`"
        )


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    workers: int = DEFAULT_WORKERS,
    threads: int = DEFAULT_THREADS,
    hooks: Hooks = Hooks(),
    app_factory: Callable[[], Any] | None = None,
) -> None:
    """Run the app under gunicorn until it is stopped (SIGINT/SIGTERM); `hooks` run beside it."""
    if not 1 <= workers <= 64:
        raise ConfigError(f"--workers {workers}: expected 1 to 64")
    if not 1 <= threads <= 256:
        raise ConfigError(f"--threads {threads}: expected 1 to 256")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: expected 0 to 65535")
    check_database(settings)

    def factory() -> Any:
        from connector.services import Services
        from webhooks.app import create_app

        return create_app(services=Services.from_settings(settings))

    options = gunicorn_options(settings, host=host, port=port, workers=workers, threads=threads, hooks=hooks)
    log.info("worn serve on http://%s:%s (%s workers x %s threads)", host, port, workers, threads)
    _Server(app_factory or factory, options).run()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `worn serve`'s options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help=f"worker processes (default {DEFAULT_WORKERS})"
    )
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help=f"threads per worker (default {DEFAULT_THREADS})"
    )
    parser.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run reconciliation, token refresh, recovery and draft expiry here (another host does)",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="also take render and write-back jobs off the queue (the single-machine setup)",
    )


def run(args: argparse.Namespace) -> int:
    """Run `worn serve`, with the scheduler and (with --worker) a queue worker in a background process."""
    from connector.cli import settings_from
    from webhooks.background import Background

    settings = settings_from(args)
    background = Background(settings, scheduler=not args.no_scheduler, worker=args.worker)
    serve(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        hooks=background.hooks(),
    )
    return 0
