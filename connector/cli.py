"""The `worn worker` and `worn backfill` commands (registered in webhooks/cli.py COMMANDS)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from connector.logs import configure_logging, log_context
from connector.queue import QUEUES
from connector.services import Services
from connector.settings import Settings, load_settings
from connector.styles import KINDS
from renderer.errors import InputError


def settings_from(args: argparse.Namespace) -> Settings:
    """Load the settings named on the command line (--settings) and set up logging from them."""
    settings = load_settings(getattr(args, "settings", None))
    configure_logging(
        settings.LOG_LEVEL,
        settings.LOG_FORMAT,
        secrets=tuple(s for s in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_OLD) if s),
    )
    return settings


@contextmanager
def stop_on_signals(stop: threading.Event, what: str) -> Iterator[None]:
    """Set `stop` on the first SIGTERM/SIGINT (finish the current item); a second one interrupts at once."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        name = signal.Signals(signum).name
        print(
            f"{what}: {name} received, stopping after the current item (again to stop now)", file=sys.stderr
        )

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def add_worker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--max-jobs", type=_positive, metavar="N", help="stop after N messages")
    parser.add_argument(
        "--queues",
        default=",".join(("maintenance", "writeback", "render")),
        help=f"comma-separated queues to serve, in order of priority (of {', '.join(QUEUES)})",
    )
    parser.add_argument("--device", default="cpu", help="where the renderer runs: cpu (default) or cuda[:N]")
    parser.add_argument("--idle", type=float, default=1.0, metavar="SECONDS", help="wait between empty polls")


def worker(args: argparse.Namespace) -> int:
    """Serve the queues until stopped (SIGTERM/SIGINT finish the current job first)."""
    from connector.worker import Worker

    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = [q for q in queues if q not in QUEUES]
    if unknown or not queues:
        raise InputError(f"--queues {args.queues!r}: expected a comma-separated list of {', '.join(QUEUES)}")
    services = Services.from_settings(settings_from(args))
    stop = threading.Event()
    try:
        with stop_on_signals(stop, "worn worker"):
            stats = Worker(
                services, queues=queues, device=args.device, stop_event=stop, idle_wait=args.idle
            ).run(once=args.once, max_jobs=args.max_jobs)
    finally:
        services.close()
    shown = ", ".join(f"{outcome} {n}" for outcome, n in sorted(stats.outcomes.items())) or "nothing to do"
    print(f"worn worker: {stats.handled} message(s): {shown}")
    return 0


def add_backfill(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop", required=True, help="the shop, e.g. acme or acme.myshopify.com")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only queue this kind (repeatable)")
    parser.add_argument("--limit", type=_positive, metavar="N", help="stop after N products (rerun to go on)")
    parser.add_argument("--restart", action="store_true", help="start over instead of resuming")
    parser.add_argument(
        "--page-size", type=_positive, default=25, metavar="N", help="products per request (≤ 40)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def backfill(args: argparse.Namespace) -> int:
    """Queue renders for the shop's existing catalog, with a progress bar; Ctrl-C stops, a rerun resumes."""
    from tqdm import tqdm

    from connector.backfill import BackfillCounts, run_backfill

    services = Services.from_settings(settings_from(args))
    stop = threading.Event()
    bar = tqdm(desc=f"backfill {args.shop}", unit=" products", disable=args.no_progress, file=sys.stderr)

    def progress(counts: BackfillCounts) -> None:
        bar.update(counts.seen - bar.n)
        bar.set_postfix(jewelry=counts.jewelry, queued=counts.queued, skipped=sum(counts.skipped.values()))

    try:
        with stop_on_signals(stop, "worn backfill"), log_context(shop=args.shop):
            result = run_backfill(
                services,
                args.shop,
                kinds=args.kind,
                limit=args.limit,
                page_size=args.page_size,
                restart=args.restart,
                stop_event=stop,
                on_product=progress,
            )
    finally:
        bar.close()
        services.close()
    print(f"worn backfill: {result.state} (run {result.run_id}): {result.counts.line()}")
    if result.state != "done":
        print("worn backfill: run the same command again to resume")
    return 0


def add_dead_letters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue", choices=QUEUES, action="append", help="only this queue (repeatable)")
    parser.add_argument("--redrive", metavar="ID", action="append", help="put this message back (repeatable)")
    parser.add_argument("--redrive-all", action="store_true", help="put every listed message back")


def dead_letters(args: argparse.Namespace) -> int:
    """List the dead-lettered messages with their last error; put them back on their queue on request."""
    services = Services.from_settings(settings_from(args))
    try:
        found = 0
        for queue in args.queue or QUEUES:
            letters = services.queue.dead_letters(queue)
            for letter in letters:
                body = json.dumps(letter.body, sort_keys=True)
                print(f"{queue:<12} {letter.id:<38} attempts {letter.attempts}  {body}")
                print(f"{'':<12} last error: {letter.last_error or '(none recorded)'}")
            found += len(letters)
            wanted = [letter.id for letter in letters] if args.redrive_all else (args.redrive or [])
            for message_id in wanted:
                if services.queue.redrive(queue, message_id):
                    print(f"{queue}: {message_id} is back on the queue")
                elif not args.redrive_all and len(args.queue or QUEUES) == 1:
                    raise InputError(f"--redrive {message_id}: no such dead letter on {queue}")
        if not found:
            print("no dead letters")
    finally:
        services.close()
    return 0


def add_generate_plates(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shop", required=True, help="the shop, e.g. acme or acme.myshopify.com")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cuda[:N] or cpu")
    parser.add_argument(
        "--allow-cpu", action="store_true", help="run diffusion on the CPU (minutes per image)"
    )
    parser.add_argument(
        "--count", type=_positive, metavar="N", help="candidates per recipe (default: the recipe's)"
    )


def generate_plates(args: argparse.Namespace) -> int:
    """Generate the shop's recipe plates; the ones the analysis accepts await the merchant's approval."""
    from connector.plategen import generate_for_shop
    from connector.shops import shop_by_domain

    services = Services.from_settings(settings_from(args))
    try:
        with services.db.session() as session:
            shop = shop_by_domain(session, args.shop)
            if shop is None:
                raise InputError(f"--shop {args.shop!r}: Worn is not installed in this shop")
            shop_id = shop.id
        report = generate_for_shop(
            services, shop_id, device=args.device, allow_cpu=args.allow_cpu, count=args.count
        )
    finally:
        services.close()
    if not report.recipes:
        print(f"{report.shop}: its house style has no recipe plates (a plate with `generate:`)")
    for recipe in report.recipes:
        line = f"{report.shop} {recipe.recipe}: {recipe.code}"
        if recipe.added:
            line += f"; awaiting approval: {', '.join(recipe.added)}"
        print(line + (f" ({recipe.detail})" if recipe.detail else ""))
        for reason in recipe.rejected:
            print(f"  rejected {reason}")
    return 0
