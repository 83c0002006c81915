"""The `worn` command: one subcommand per job, each imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from renderer.errors import WornError

# name -> (one-line help, "module:function" that adds its arguments, "module:function" that runs it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "migrate": (
        "create or upgrade the database schema (and the SQS queues with --create-queues)",
        "webhooks.commands:add_migrate",
        "webhooks.commands:migrate",
    ),
    "serve": (
        "run the web app (Shopify webhooks, health checks) under gunicorn",
        "webhooks.serve:add_arguments",
        "webhooks.serve:run",
    ),
    "worker": (
        "take render, write-back and maintenance jobs off the queues and do them (--once, --max-jobs N)",
        "connector.cli:add_worker",
        "connector.cli:worker",
    ),
    "backfill": (
        "queue renders for a shop's existing catalog (--shop X [--kind K] [--limit N]); resumable",
        "connector.cli:add_backfill",
        "connector.cli:backfill",
    ),
    "dead-letters": (
        "list the jobs that ran out of attempts, with their last error; --redrive ID puts one back",
        "connector.cli:add_dead_letters",
        "connector.cli:dead_letters",
    ),
    "generate-plates": (
        "generate the house style's recipe plates on a GPU; those that can carry jewelry await approval",
        "connector.cli:add_generate_plates",
        "connector.cli:generate_plates",
    ),
    "render": (
        "put a product photo on the house style's models: images, contact sheet and report (no shop needed)",
        "connector.rendercli:add_arguments",
        "connector.rendercli:run",
    ),
    "demo": (
        "see Worn work end to end: a local Shopify, webhooks, renders, approval, images live on products",
        "webhooks.demo:add_arguments",
        "webhooks.demo:run",
    ),
    "dev-shop": (
        "run a local Shopify (Admin API, webhooks, tokens) seeded with a jewelry catalog, to try Worn",
        "webhooks.commands:add_dev_shop",
        "webhooks.commands:dev_shop",
    ),
}


def _resolve(target: str) -> Callable[..., object]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="worn",
        description="Worn puts the real jewelry piece on the store's models, at true size, as drafts.",
    )
    parser.add_argument(
        "--settings",
        metavar="FILE",
        help="settings file (KEY=value lines; environment variables win over it); or set WORN_SETTINGS_FILE",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_arguments, _run) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        _resolve(add_arguments)(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `worn` command line; WornError becomes a one-line message and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        result = _resolve(COMMANDS[args.command][2])(args)
    except WornError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"worn {args.command}: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"worn {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
