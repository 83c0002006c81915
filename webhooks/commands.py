"""The small subcommands of `worn` (the large ones live beside what they run)."""

from __future__ import annotations

import argparse

from connector.cli import settings_from
from connector.db import Database
from connector.migrate import current_revision, head_revision, upgrade
from connector.queue import SqsQueue


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


def add_dev_shop(parser: argparse.ArgumentParser) -> None:
    from devshop.cli import add_arguments

    add_arguments(parser)
    # Unless given, the app's credentials, webhook address and data folder come from Worn's own settings.
    parser.set_defaults(api_key=None, api_secret=None, webhook_url=None, data_dir=None)


def dev_shop(args: argparse.Namespace) -> int:
    """Run the local Shopify simulator, seeded, signing with Worn's own app credentials."""
    from devshop.cli import config_from_args
    from devshop.server import serve

    settings = settings_from(args)
    args.api_key = args.api_key or settings.SHOPIFY_API_KEY
    args.api_secret = args.api_secret or settings.SHOPIFY_API_SECRET
    args.webhook_url = args.webhook_url or f"{settings.SHOPIFY_APP_URL}/webhooks"
    args.data_dir = args.data_dir or settings.DATA_DIR / "devshop"
    serve(args.host, args.port, config_from_args(args))
    return 0
