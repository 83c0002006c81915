"""The small subcommands of `worn` (the large ones live beside what they run)."""

from __future__ import annotations

import argparse

from connector.db import Database
from connector.logs import configure_logging
from connector.migrate import current_revision, head_revision, upgrade
from connector.queue import SqsQueue
from connector.settings import Settings, load_settings


def settings_from(args: argparse.Namespace) -> Settings:
    """Load the settings named on the command line and set up logging from them."""
    settings = load_settings(getattr(args, "settings", None))
    configure_logging(
        settings.LOG_LEVEL,
        settings.LOG_FORMAT,
        secrets=tuple(s for s in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_OLD) if s),
    )
    return settings


def add_migrate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--create-queues", action="store_true", help="also create the SQS queues (QUEUE_URL=sqs://)"
    )


def migrate(args: argparse.Namespace) -> int:
    """Upgrade the database to the newest schema; optionally create the SQS queues and their DLQs."""
    settings = settings_from(args)
    db = Database(settings.database_url)
    try:
        db.check()
        before = current_revision(db)
        upgrade(db)
        after = current_revision(db)
    finally:
        db.dispose()
    shown = settings.database_url.split("@")[-1]
    if before == after:
        print(f"database {shown} is up to date (revision {after})")
    else:
        print(f"database {shown} migrated from {before or 'empty'} to {after} (head {head_revision()})")
    if args.create_queues:
        from connector.queue import make_queue

        queue = make_queue(settings.QUEUE_URL, db, max_attempts=settings.QUEUE_MAX_ATTEMPTS)
        if isinstance(queue, SqsQueue):
            queue.create_queues()
            print(f"SQS queues ready under prefix {queue.prefix!r}")
        else:
            print("QUEUE_URL is 'db': the queue is a table, nothing to create")
    return 0
