"""Benchmark recording one deferred delivery (`webhooks.shopify.accept`): the cost of a durable write alone.

Deferred processing records a verified delivery as pending with one INSERT ... SELECT ... RETURNING
(`accept`), through `Database.statement()`: on PostgreSQL in autocommit, one round trip. The baseline, in
the same run, is the same statement in an ordinary transaction (`engine.begin()`: BEGIN, the INSERT,
COMMIT), as `accept` ran before. Each delivery is new (a fresh webhook id) and carries a products/update
body of the benchmark's size. Printed per delivery: this process's CPU, PostgreSQL's CPU (all its
processes: keep the machine otherwise idle) and the wall time, each over --count deliveries after 200 to
warm up; the connection pool pre-pings at checkout in both.

Run: PYTHONPATH=. python benchmarks/webhook_accept.py [--count 3000] [--backends sqlite,postgresql]
Needs PostgreSQL at 127.0.0.1:5432 (user postgres) for its rows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhooks import create_pg, drop_pg, postgres_cpu  # noqa: E402
from connector.db import Database  # noqa: E402
from connector.migrate import upgrade  # noqa: E402
from connector.services import Services  # noqa: E402
from connector.settings import load_settings  # noqa: E402
from connector.shops import ensure_shop  # noqa: E402
from tests.webhooks import payloads  # noqa: E402
from webhooks.delivery import Delivery, delivery_from_headers  # noqa: E402
from webhooks.shopify import _accept_sql, _delivery_values, accept  # noqa: E402

SHOP = "bench-jewels.myshopify.com"


def deliveries(count: int) -> list[tuple[Delivery, str]]:
    """Return `count` verified-delivery stand-ins: (Delivery, body) of products/update, each new."""
    out: list[tuple[Delivery, str]] = []
    for product_id in range(1, count + 1):
        body = payloads.encode(payloads.product(product_id, title=f"Pearl Drop Necklace {product_id}"))
        head = payloads.headers("products/update", body, shop=SHOP, webhook_id=str(uuid.uuid4()))
        out.append((delivery_from_headers(head), body.decode()))
    return out


def in_transaction(services: Services, delivery: Delivery, body: str) -> int | None:
    """The baseline: `accept`'s statement in BEGIN ... COMMIT."""
    values = {**_delivery_values(delivery), "domain": SHOP, "payload": body}
    with services.db.engine.begin() as conn:
        return conn.execute(_accept_sql(services.db.dialect), values).scalar()  # type: ignore[no-any-return]


def measure(
    services: Services, record: Callable[[Services, Delivery, str], int | None], count: int
) -> tuple[float, float, float]:
    """Return (this process's CPU, PostgreSQL's CPU, wall) in µs per delivery."""
    for delivery, body in deliveries(200):
        record(services, delivery, body)
    batch = deliveries(count)
    cpu, pg, wall = time.process_time(), postgres_cpu(), time.perf_counter()
    for delivery, body in batch:
        if record(services, delivery, body) is None:
            raise SystemExit("a new delivery was not recorded")
    per = 1e6 / count
    return (time.process_time() - cpu) * per, (postgres_cpu() - pg) * per, (time.perf_counter() - wall) * per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print("| database | recording | this process's CPU µs | PostgreSQL's CPU µs | wall µs |")
    print("| --- | --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="worn-accept-") as tmp:
        for backend in args.backends.split(","):
            pg_name = None
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'accept.sqlite'}"
            else:
                pg_name, url = create_pg()
            try:
                upgrade(Database(url))
                services = Services.from_settings(load_settings(DATABASE_URL=url, DATA_DIR=str(Path(tmp))))
                with services.db.session() as session:
                    ensure_shop(session, SHOP, active=True)
                for label, record in (
                    ("BEGIN, INSERT, COMMIT (baseline)", in_transaction),
                    ("accept(): Database.statement()", accept),
                ):
                    client, server, wall = measure(services, record, args.count)
                    shown = f"{server:.0f}" if backend == "postgresql" else "–"
                    print(f"| {backend} | {label} | {client:.0f} | {shown} | {wall:.0f} |")
                services.db.dispose()
            finally:
                if pg_name:
                    drop_pg(pg_name)


if __name__ == "__main__":
    main()
