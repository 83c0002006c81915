"""The receiver without its database, under `worn serve`'s gunicorn: the floor of a verified delivery.

POST /webhooks runs exactly what Worn's receiver runs before it touches the database (read the body once,
check the headers, verify the HMAC with shopify_app, parse the headers and the JSON body) and answers 200;
GET /healthz is the same no-op as Worn's; POST /noop takes the same delivery, reads its body and answers 200
without looking at it (what the HTTP server alone costs for a delivery's bytes); POST /durable verifies it as
/webhooks does and records it with deferred mode's `accept()` (one INSERT, committed before the answer),
deciding nothing and logging nothing: the floor of any receiver that answers only once a delivery is safe.
`benchmarks/webhooks.py` starts it to show how much of the no-op ceiling verification alone, and
verification with the one durable write, leave.

Run: PYTHONPATH=. python benchmarks/webhook_floor.py --port 8001 [--workers 2 --threads 4]
(DATABASE_URL must name a migrated database: `worn serve` checks it before starting.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flask import Flask, Response, request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connector.services import Services  # noqa: E402
from connector.settings import Settings, load_settings  # noqa: E402
from webhooks import health  # noqa: E402
from webhooks.serve import Hooks, serve  # noqa: E402
from webhooks.shopify import accept, parse_payload, read_verified  # noqa: E402


def create_floor_app(settings: Settings) -> Flask:
    """Return a Flask app whose /webhooks verifies a delivery and does nothing else, whose /noop only reads
    it, and whose /durable verifies and records it (its shop must be known: a new shop answers 409)."""
    app = Flask(__name__)
    services = Services.from_settings(settings)  # connects at /durable's first request, in the worker
    app.extensions["worn"] = services  # as Worn's app keeps them (webhooks.app.services_of)
    app.register_blueprint(health.bp)

    @app.post("/noop")
    def read_only() -> Response:
        request.get_data(cache=False)
        return Response(b'{"outcome": "read"}', mimetype="application/json")

    @app.post("/webhooks")
    @app.post("/durable")
    def verify() -> Response:
        verified = read_verified(settings)
        if isinstance(verified, Response):
            return verified
        delivery, text = verified
        parsed = parse_payload(text) is not None
        if request.path == "/webhooks":  # verified, and nothing else
            outcome = "verified" if parsed else "malformed"
            return Response(
                json.dumps({"outcome": outcome, "detail": delivery.webhook_id}), mimetype="application/json"
            )
        if not parsed:
            return Response(b'{"outcome": "malformed"}', status=400, mimetype="application/json")
        if accept(services, delivery, text) is None:  # recorded already, or a shop Worn does not know
            return Response(b'{"outcome": "not_recorded"}', status=409, mimetype="application/json")
        return Response(b'{"outcome": "recorded"}', mimetype="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    settings = load_settings()
    serve(
        settings,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        hooks=Hooks(),
        app_factory=lambda: create_floor_app(settings),
    )


if __name__ == "__main__":
    main()
