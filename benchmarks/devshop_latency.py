"""Measure the dev-shop's answer times through the production client, against a bare-route baseline.

Run: ``PYTHONPATH=. python benchmarks/devshop_latency.py [--rounds 200]``. It prints one table; the
baseline row is a JSON route with no GraphQL, auth or state (the HTTP stack's own floor).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

import httpx
import shopify_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.transport import make_http_client
from devshop import DevShopConfig, start_in_thread

PRODUCT_QUERY = """
query Product($id: ID!) {
  product(id: $id) {
    id title productType tags status updatedAt category { id name fullName }
    media(first: 20) {
      nodes { id alt status mediaContentType ... on MediaImage { image { url width height } } }
    }
    metafields(first: 20) { nodes { namespace key type value } }
  }
}
"""


def _time(fn: Callable[[], object], rounds: int) -> list[float]:
    fn()  # warm up connections and caches
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> int:
    """Print p50/p95/max answer times for the calls Worn makes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds

    arrived = threading.Event()

    def receiver(environ: dict, start_response: Callable) -> object:
        Request(environ).get_data()
        arrived.set()
        return Response("ok")(environ, start_response)

    hook = make_server("127.0.0.1", 0, receiver, threaded=True)
    threading.Thread(target=hook.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    config = DevShopConfig(
        app_webhook_url=f"http://127.0.0.1:{hook.server_port}/webhooks",
        media_processing_delay_s=0.0,
        seed=True,
        seed_shop="bench",
        # The bucket would (rightly) throttle hundreds of back-to-back reads.
        throttle_maximum_available=1e9,
        throttle_restore_rate=1e9,
    )
    running = start_in_thread(config)
    try:
        base = running.base_url
        plain = httpx.Client()
        token = plain.post(f"{base}/_devshop/shops/bench/legacy-token").json()["access_token"]
        client = make_http_client(base)
        product = plain.get(f"{base}/_devshop/shops/bench/products").json()[0]

        def gql(query: str, variables: dict | None = None) -> None:
            result = shopify_app.admin_graphql_request(
                query,
                shop="bench",
                access_token=token,
                api_version="2026-10",
                variables=variables,
                http_client=client,
            )
            assert result.ok, result.log

        def webhook_round_trip() -> None:
            arrived.clear()
            plain.post(
                f"{base}/_devshop/shops/bench/webhooks",
                json={"topic": "products/update", "product_id": product["id"]},
            )
            assert arrived.wait(5)

        rows = [
            ("baseline: GET /_devshop/clock", _time(lambda: plain.get(f"{base}/_devshop/clock"), rounds)),
            ("shop { name }", _time(lambda: gql("{ shop { name myshopifyDomain } }"), rounds)),
            (
                "product(id:) as Worn reads it",
                _time(lambda: gql(PRODUCT_QUERY, {"id": product["gid"]}), rounds),
            ),
            (
                "products(first: 50)",
                _time(lambda: gql("{ products(first: 50) { nodes { id title updatedAt } } }"), rounds),
            ),
            ("webhook trigger -> app receives", _time(webhook_round_trip, rounds)),
        ]
        print(f"dev-shop answer times, {rounds} rounds each (ms)")
        print(f"{'call':36} {'p50':>8} {'p95':>8} {'max':>8}")
        for name, samples in rows:
            samples.sort()
            p95 = samples[int(len(samples) * 0.95) - 1]
            print(f"{name:36} {statistics.median(samples):8.2f} {p95:8.2f} {samples[-1]:8.2f}")
    finally:
        running.stop()
        hook.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
