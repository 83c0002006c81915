"""Benchmark the webhook receiver: signed products/update deliveries against `worn serve`.

For each database (SQLite, PostgreSQL) and each WEBHOOK_PROCESSING mode (inline: decided in the request;
deferred: recorded in the request, decided by the background process) it starts `worn serve` on a free port
and measures, in one run:

1. the ceiling: the same server's no-op route (GET /healthz), closed loop with wrk, best of three runs
   (gunicorn's workers do not always share wrk's keep-alive connections: a run where one worker holds them
   all reads about a third);
2. sustained throughput: pre-signed deliveries, each a product whose photo is new to Worn (so each one
   records a delivery, decides, creates a render job and queues it: the heaviest path), closed loop with
   wrk and N connections, best of three runs on fresh deliveries;
3. latency at a fixed rate: an open-loop sender at 200 deliveries/s, latency measured from each delivery's
   scheduled send time (no coordinated omission);

then checks that nothing was lost: every delivery answered 200 is recorded once, with one job and one
render message each (deferred: once the background process has decided the backlog; how long that took,
alone on the machine, is the deferred mode's decision rate). The load generator's own CPU use is printed so
it can be seen not to be the limit. First, the same measurements of benchmarks/webhook_floor.py: the
receiver's verification alone, without the database, under the same gunicorn: how much of the ceiling any
verified delivery leaves; then verification with deferred mode's one durable write and nothing decided (on
PostgreSQL when its rows are measured): how much any receiver that answers once a delivery is safe leaves.

Run: PYTHONPATH=. python benchmarks/webhooks.py [--seconds 15] [--connections 16] [--workers 2 --threads 4]
     [--backends sqlite,postgresql] [--modes inline,deferred] [--no-floor]
Needs wrk (Debian: apt-get install wrk) and PostgreSQL at 127.0.0.1:5432 (user postgres) for its rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connector.db import Database, table_counts  # noqa: E402
from connector.migrate import upgrade  # noqa: E402
from connector.shops import ensure_shop  # noqa: E402
from tests.support.moto import free_port  # noqa: E402
from tests.webhooks import payloads  # noqa: E402

PG_ADMIN = os.environ.get("WORN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
LUA = Path(__file__).with_name("webhooks_wrk.lua")
SHOP = "bench-jewels.myshopify.com"


@dataclass
class Row:
    backend: str
    mode: str
    noop_rps: float = 0.0
    noop_runs: list[float] = field(default_factory=list)
    closed_runs: list[float] = field(default_factory=list)
    rps: float = 0.0
    closed_p50_ms: float = 0.0
    closed_p99_ms: float = 0.0
    open_rate: float = 0.0
    open_p50_ms: float = 0.0
    open_p99_ms: float = 0.0
    open_max_ms: float = 0.0
    sender_cpu: float = 0.0
    server_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0
    recorded: int = 0
    jobs: int = 0
    messages: int = 0
    lost: int = 0
    drained: int = 0
    drain_rate: float = 0.0
    notes: list[str] = field(default_factory=list)


def delivery(product_id: int, port: int, path: str = "/webhooks") -> tuple[str, bytes]:
    """Return (webhook id, raw HTTP request to `path`) of one signed products/update for a new product."""
    body = payloads.encode(
        payloads.product(
            product_id,
            title=f"Pearl Drop Necklace {product_id}",
            media=[payloads.media_image(product_id * 10 + 1, product_id=product_id)],
        )
    )
    webhook_id = str(uuid.uuid4())
    head = payloads.headers("products/update", body, shop=SHOP, webhook_id=webhook_id)
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    return webhook_id, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_requests(path: Path, first_id: int, count: int, port: int, url_path: str = "/webhooks") -> None:
    with path.open("wb") as out:
        for product_id in range(first_id, first_id + count):
            out.write(delivery(product_id, port, url_path)[1] + b"\0\n")


def wrk(url: str, seconds: int, connections: int, script: Path | None = None, *args: str) -> dict[str, Any]:
    """Run wrk (one thread) closed-loop; return its numbers and its own CPU seconds."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    command += [url]
    if args:
        command += ["--", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    result: dict[str, Any] = {"rps": rps, "cpu": cpu / seconds, "output": output}
    for key, value in re.findall(r"(\w+)=(\d+)", " ".join(re.findall(r"^WORN .*$", output, re.M))):
        summed = key in ("sent", "ok", "other", "exhausted")  # one line per wrk thread
        result[key] = result.get(key, 0) + int(value) if summed else int(value)
    if script is None:
        for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", output, re.M):
            scale = {"us": 1, "ms": 1000, "s": 1_000_000}[unit]
            result[f"p{pct}_us"] = float(value) * scale
    return result


async def open_loop(
    port: int, rate: float, seconds: float, first_id: int, connections: int = 16
) -> dict[str, Any]:
    """Send `rate` deliveries/s for `seconds`; latency runs from each delivery's scheduled time."""
    count = int(rate * seconds)
    prepared = [delivery(first_id + i, port) for i in range(count)]
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    ok_ids: list[str] = []
    failures: list[str] = []
    start = time.perf_counter() + 0.2

    async def one(index: int) -> None:
        scheduled = start + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        reader, writer = await pool.get()
        close = False
        try:
            webhook_id, raw = prepared[index]
            writer.write(raw)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                close |= name.lower() == "connection" and value.strip().lower() == "close"
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - scheduled)
            if status_line.split()[1:2] == [b"200"]:
                ok_ids.append(webhook_id)
            else:
                failures.append(status_line.decode().strip() or "connection closed")
        finally:
            if close:  # gunicorn's sync workers answer one request per connection
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            pool.put_nowait((reader, writer))

    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    latencies.sort()
    return {
        "rate": count / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max": latencies[-1] * 1000,
        "ok_ids": ok_ids,
        "failures": failures,
        "cpu": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / elapsed,
    }


def process_cpu(root: int) -> float:
    """Return the CPU seconds used so far by process `root` and its children (gunicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root or ppid == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_cpu() -> float:
    """Return the CPU seconds used so far by every PostgreSQL process (the server is shared: approximate)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def create_pg() -> tuple[str, str]:
    name = f"worn_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = PG_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
    return name, f"postgresql+psycopg://{base}/{name}"


def drop_pg(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def start_server(arguments: list[str], env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    """Start `python ARGUMENTS` (a gunicorn server on env's port) and wait until /healthz answers."""
    server = subprocess.Popen(
        [sys.executable, *arguments], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    port = arguments[arguments.index("--port") + 1]
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit(f"{' '.join(arguments[:3])} did not start: see {log.name}") from None
            time.sleep(0.2)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def noop_ceiling(base: str, args: argparse.Namespace) -> tuple[dict[str, Any], list[float]]:
    """Measure GET /healthz three times; gunicorn's workers do not always share the connections evenly,
    so the best of three is the ceiling. Return the best run and every run's rate."""
    runs = [wrk(f"{base}/healthz", max(3, args.seconds // 3), args.connections) for _ in range(3)]
    return max(runs, key=lambda run: float(run["rps"])), [run["rps"] for run in runs]


@dataclass
class Floor:
    noop_rps: float
    noop_runs: list[float]
    post_rps: float
    post_runs: list[float]
    rps: float
    p50_ms: float
    p99_ms: float
    runs: list[float]
    durable_backend: str
    durable_rps: float
    durable_p50_ms: float
    durable_p99_ms: float
    durable_runs: list[float]


def run_floor(args: argparse.Namespace, work: Path) -> Floor:
    """Measure benchmarks/webhook_floor.py under the same gunicorn: verification alone, no database; and
    verification with deferred mode's one durable write (`accept()`), on PostgreSQL when it is measured."""
    backend = "postgresql" if "postgresql" in args.backends.split(",") else "sqlite"
    pg_name = None
    if backend == "postgresql":
        pg_name, url = create_pg()
    else:
        url = f"sqlite:///{work / 'floor.sqlite'}"
    db = Database(url)
    upgrade(db)
    with db.session() as session:
        ensure_shop(session, SHOP, active=True)  # /durable records deliveries of a known shop only
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "DATA_DIR": str(work / "var")}
    log = (work / "floor.log").open("wb")
    arguments = ["benchmarks/webhook_floor.py", "--port", str(port)]
    server = start_server(
        [*arguments, "--workers", str(args.workers), "--threads", str(args.threads)], env, log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        requests = work / "floor.req"
        write_requests(requests, 1, 4000, port)
        wrk(base, 3, args.connections, LUA, str(requests), "1", "wrap")  # warm up
        noop, runs = noop_ceiling(base, args)
        each = max(3, args.seconds // 3)
        # The same deliveries to POST /noop, which reads the body and answers: the server's cost of the bytes.
        unchecked = work / "noop.req"
        write_requests(unchecked, 1, 4000, port, "/noop")
        posted = [wrk(base, each, args.connections, LUA, str(unchecked), "1", "wrap") for _ in range(3)]
        verified = [wrk(base, each, args.connections, LUA, str(requests), "1", "wrap") for _ in range(3)]
        # Verified and recorded: each delivery new (a webhook id seen before is refused, 409).
        durable, next_id = [], 10_001
        for index in range(3):
            path = work / f"durable-{index}.req"
            write_requests(path, next_id, int(each * args.max_rate), port, "/durable")
            next_id += int(each * args.max_rate)
            durable.append(wrk(base, each, args.connections, LUA, str(path), "1"))
        if any(
            run.get("other") or run.get("errors") or run.get("exhausted")
            for run in verified + posted + durable
        ):
            raise SystemExit(f"the floor answered other than 200 (or ran out of deliveries): see {log.name}")
        result = max(verified, key=lambda run: float(run["rps"]))
        written = max(durable, key=lambda run: float(run["rps"]))
        time.sleep(1)  # let the requests wrk abandoned at the end of a run finish
        recorded = table_counts(db, ["webhook_deliveries"])["webhook_deliveries"]
        answered, sent = sum(run["ok"] for run in durable), sum(run["sent"] for run in durable)
        if not answered <= recorded <= sent:  # every 200 recorded; the abandoned ones may be too
            raise SystemExit(f"/durable: {answered} answered 200, {recorded} recorded, {sent} sent")
    finally:
        stop_server(server)
        log.close()
        db.dispose()
        if pg_name:
            drop_pg(pg_name)
    return Floor(
        noop["rps"],
        runs,
        max(run["rps"] for run in posted),
        [run["rps"] for run in posted],
        result["rps"],
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        [run["rps"] for run in verified],
        backend,
        written["rps"],
        written["p50_us"] / 1000,
        written["p99_us"] / 1000,
        [run["rps"] for run in durable],
    )


def pending(db: Database) -> int:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM webhook_deliveries WHERE outcome = 'pending'")
            ).scalar_one()
        )


def drain(db: Database, timeout: float = 300) -> tuple[int, float]:
    """Wait until the background process has decided every pending delivery; return (count, per second)."""
    began, backlog = time.perf_counter(), pending(db)
    while (left := pending(db)) and time.perf_counter() - began < timeout:
        time.sleep(0.05)
    if left:
        raise SystemExit(f"{left} deliveries still pending after {timeout:.0f} s")
    elapsed = time.perf_counter() - began
    return backlog, backlog / elapsed if backlog else 0.0


def run_backend(backend: str, mode: str, args: argparse.Namespace, work: Path) -> Row:
    row = Row(backend, mode)
    pg_name = None
    if backend == "sqlite":
        url = f"sqlite:///{work / 'bench.sqlite'}"
    else:
        pg_name, url = create_pg()
    db = Database(url)
    upgrade(db)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "DATA_DIR": str(work / "var"),
        "LOG_LEVEL": args.log_level,
        "LOG_FORMAT": "json",
        "WEBHOOK_PROCESSING": mode,
    }
    log = (work / f"serve-{backend}-{mode}.log").open("wb")
    command = ["-m", "webhooks.cli", "serve", "--no-scheduler", "--port", str(port)]
    server = start_server(
        [*command, "--workers", str(args.workers), "--threads", str(args.threads)], env, log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        next_id = 1
        # Warm up: the shop is created and given its style; every worker connects and parses.
        warm = work / "warm.req"
        write_requests(warm, next_id, 400, port)
        wrk(base, 3, args.connections, LUA, str(warm), "1")
        next_id += 400

        noop, row.noop_runs = noop_ceiling(base, args)
        row.noop_rps = noop["rps"]

        # Three closed-loop runs on fresh deliveries; as for the ceiling, the best one counts.
        each = max(3, args.seconds // 3)
        expected = int(each * args.max_rate)
        files = []
        for index in range(3):
            files.append(work / f"closed-{index}.req")
            write_requests(files[-1], next_id, expected, port)
            next_id += expected
        cpu_before, pg_before = process_cpu(server.pid), postgres_cpu()
        runs = [wrk(base, each, args.connections, LUA, str(path), "1") for path in files]
        result = {
            key: sum(run.get(key, 0) for run in runs)
            for key in ("ok", "sent", "other", "errors", "exhausted")
        }
        served = max(1, result["ok"])
        row.server_cpu_ms = 1000 * (process_cpu(server.pid) - cpu_before) / served
        if backend == "postgresql":
            row.db_cpu_ms = 1000 * (postgres_cpu() - pg_before) / served
        best = max(runs, key=lambda run: float(run["rps"]))
        row.rps, row.closed_runs = best["rps"], [run["rps"] for run in runs]
        row.closed_p50_ms, row.closed_p99_ms = best["p50_us"] / 1000, best["p99_us"] / 1000
        row.sender_cpu = max(noop["cpu"], *(run["cpu"] for run in runs))
        if result["exhausted"]:
            row.notes.append(f"closed loop ran out of deliveries ({result['exhausted']}); raise --max-rate")
        if result["other"] or result["errors"]:
            row.notes.append(f"closed loop: {result['other']} non-200, {result['errors']} errors")
        time.sleep(1)  # let the last closed-loop requests wrk abandoned finish
        row.drained, row.drain_rate = drain(db)

        opened = asyncio.run(open_loop(port, args.rate, args.open_seconds, next_id))
        row.open_rate, row.open_p50_ms, row.open_p99_ms, row.open_max_ms = (
            opened["rate"],
            opened["p50"],
            opened["p99"],
            opened["max"],
        )
        if opened["failures"]:
            row.notes.append(f"open loop: {len(opened['failures'])} non-200, e.g. {opened['failures'][0]}")

        drain(db)
        counts = table_counts(db, ["webhook_deliveries", "render_jobs", "queue_messages"])
        row.recorded, row.jobs, row.messages = (
            counts["webhook_deliveries"],
            counts["render_jobs"],
            counts["queue_messages"],
        )
        from sqlalchemy import text

        with db.engine.connect() as conn:
            ids = {r[0] for r in conn.execute(text("SELECT webhook_id FROM webhook_deliveries"))}
        row.lost = sum(1 for webhook_id in opened["ok_ids"] if webhook_id not in ids)
        # Each delivery was a new product: one job and one message per recorded delivery, or one was lost.
        if not (row.recorded == row.jobs == row.messages):
            row.notes.append(f"MISMATCH recorded={row.recorded} jobs={row.jobs} messages={row.messages}")
        answered = 400 + result.get("ok", 0) + len(opened["ok_ids"])
        sent = 400 + result.get("sent", 0) + len(opened["ok_ids"]) + len(opened["failures"])
        if not answered <= row.recorded <= sent:
            row.notes.append(f"MISMATCH answered 200={answered} recorded={row.recorded} sent={sent}")
    finally:
        stop_server(server)
        log.close()
        db.dispose()
        if pg_name:
            drop_pg(pg_name)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--modes", default="inline,deferred", help="WEBHOOK_PROCESSING modes to measure")
    parser.add_argument("--seconds", type=int, default=15, help="closed-loop duration (each)")
    parser.add_argument("--connections", type=int, default=16, help="closed-loop concurrent connections")
    parser.add_argument("--max-rate", type=float, default=3000, help="deliveries prepared per second")
    parser.add_argument("--rate", type=float, default=200, help="open-loop rate (deliveries/s)")
    parser.add_argument("--open-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL (INFO logs every delivery)")
    parser.add_argument("--no-floor", action="store_true", help="skip verification alone (webhook_floor.py)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks/webhooks.py needs wrk: apt-get install wrk")

    print(
        f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores; worn serve --workers "
        f"{args.workers} --threads {args.threads}; {args.connections} connections; LOG_LEVEL={args.log_level}"
    )
    rows = []
    floor = None
    with tempfile.TemporaryDirectory(prefix="worn-bench-") as tmp:
        if not args.no_floor:
            (Path(tmp) / "floor").mkdir()
            floor = run_floor(args, Path(tmp) / "floor")
        for backend in args.backends.split(","):
            for mode in args.modes.split(","):
                work = Path(tmp) / f"{backend}-{mode}"
                work.mkdir()
                rows.append(run_backend(backend, mode, args, work))
    print()
    print(
        "| database | processing | no-op ceiling /s | deliveries /s (closed loop) | % of ceiling "
        f"| p50 / p99 ms closed loop | p50 / p99 / max ms at {args.rate:.0f}/s "
        "| CPU ms per delivery: server + database | sender CPU | backlog decided afterwards "
        "| recorded = jobs = messages | lost |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        backlog = f"{row.drained:,} at {row.drain_rate:,.0f}/s" if row.drained else "none"
        print(
            f"| {row.backend} | {row.mode} | {row.noop_rps:,.0f} | {row.rps:,.0f} "
            f"| {100 * row.rps / row.noop_rps:.0f}% "
            f"| {row.closed_p50_ms:.1f} / {row.closed_p99_ms:.1f} "
            f"| {row.open_p50_ms:.1f} / {row.open_p99_ms:.1f} / {row.open_max_ms:.1f} "
            f"| {row.server_cpu_ms:.2f} + {row.db_cpu_ms:.2f} "
            f"| {100 * row.sender_cpu:.0f}% of a core | {backlog} "
            f"| {row.recorded:,} = {row.jobs:,} = {row.messages:,} "
            f"| {row.lost} |"
        )
    if floor is not None:
        print()
        print(
            "| the receiver's floor (benchmarks/webhook_floor.py) | no-op ceiling /s "
            "| the delivery to POST /noop (read, not checked) /s | deliveries /s | % of ceiling "
            "| % of POST /noop | p50 / p99 ms |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, rps, p50, p99 in (
            ("verify (shopify_app), parse, answer; no database", floor.rps, floor.p50_ms, floor.p99_ms),
            (
                f"verify, parse, record with accept() ({floor.durable_backend}), answer; nothing decided",
                floor.durable_rps,
                floor.durable_p50_ms,
                floor.durable_p99_ms,
            ),
        ):
            print(
                f"| {label} | {floor.noop_rps:,.0f} | {floor.post_rps:,.0f} | {rps:,.0f} "
                f"| {100 * rps / floor.noop_rps:.0f}% | {100 * rps / floor.post_rps:.0f}% "
                f"| {p50:.1f} / {p99:.1f} |"
            )
        print(
            f"floor: no-op runs {', '.join(f'{rps:,.0f}' for rps in floor.noop_runs)} /s; "
            f"POST /noop runs {', '.join(f'{rps:,.0f}' for rps in floor.post_runs)} /s; "
            f"verified runs {', '.join(f'{rps:,.0f}' for rps in floor.runs)} /s; "
            f"recorded runs {', '.join(f'{rps:,.0f}' for rps in floor.durable_runs)} /s"
        )
    for row in rows:
        runs = ", ".join(f"{rps:,.0f}" for rps in row.noop_runs)
        closed = ", ".join(f"{rps:,.0f}" for rps in row.closed_runs)
        print(f"{row.backend} {row.mode}: no-op runs {runs} /s; delivery runs {closed} /s")
    for row in rows:
        for note in row.notes:
            print(f"{row.backend} {row.mode}: {note}")
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")
    return 1 if any(row.notes or row.lost for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
