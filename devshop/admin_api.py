"""Serve ``/admin/api/{version}/graphql.json`` like Shopify: auth, cost, throttling, errors."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    execute,
    parse,
    print_ast,
    validate,
)
from graphql.execution.values import get_variable_values

from devshop.config import API_VERSION_PATTERN
from devshop.core import DevShop
from devshop.resolvers import Context
from devshop.store import Shop

bp = Blueprint("admin_api", __name__)

RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/limits#rate-limits"

# graphql-core's validation wording -> Shopify's wording and extension codes.
_VALIDATION_REWRITES: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"^Cannot query field '(\w+)' on type '(\w+)'\."),
        lambda m: (
            f"Field '{m[1]}' doesn't exist on type '{m[2]}'",
            {"code": "undefinedField", "typeName": m[2], "fieldName": m[1]},
        ),
    ),
    (
        re.compile(r"^Unknown argument '(\w+)' on field '(\w+)\.(\w+)'\."),
        lambda m: (
            f"Field '{m[3]}' doesn't accept argument '{m[1]}'",
            {"code": "argumentNotAccepted", "name": m[3], "typeName": "Field", "argumentName": m[1]},
        ),
    ),
    (
        re.compile(
            r"^Field '(\w+)' argument '(\w+)' of type '([^']+)' is required, but it was not provided\."
        ),
        lambda m: (
            f"Field '{m[1]}' is missing required arguments: {m[2]}",
            {"code": "missingRequiredArguments", "className": "Field", "name": m[1], "arguments": m[2]},
        ),
    ),
    (
        re.compile(
            r"^Argument '\w+\.(\w+)\((\w+):\)' of type '([^']+)' is required, but it was not provided\."
        ),
        lambda m: (
            f"Field '{m[1]}' is missing required arguments: {m[2]}",
            {"code": "missingRequiredArguments", "className": "Field", "name": m[1], "arguments": m[2]},
        ),
    ),
    (
        re.compile(r"^Variable '\$(\w+)' of type '([^']+)' used in position expecting type '([^']+)'\."),
        lambda m: (
            f"Type mismatch on variable ${m[1]} and argument ({m[2]} / {m[3]})",
            {"code": "variableMismatch", "variableName": m[1], "typeName": m[2]},
        ),
    ),
]


def _shopify_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    for pattern, rewrite in _VALIDATION_REWRITES:
        match = pattern.match(error.message)
        if match:
            message, extensions = rewrite(match)
            formatted = {**formatted, "message": message, "extensions": extensions}
            break
    return formatted


def _json(body: Any, status: int = 200, version: str | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["X-Request-Id"] = str(uuid.uuid4())
    if version is not None:
        response.headers["X-Shopify-API-Version"] = version
    return response


def served_version(requested: str, current: str) -> str | None:
    """Return the version Shopify would serve for ``requested`` (None: not a version at all).

    Shopify supports each stable version for about a year and serves a request for an
    unsupported older version with the oldest supported one ("fall forward").
    """
    if requested == "unstable":
        return requested
    if not API_VERSION_PATTERN.match(requested):
        return None
    year, month = int(current[:4]), int(current[5:])
    supported = []
    for back in range(-1, 5):  # the release candidate, the current one and the four before it
        index = year * 12 + (month - 1) - back * 3
        supported.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
    if requested in supported:
        return requested
    return min(supported) if requested < min(supported) else None


def _core() -> DevShop:
    return current_app.extensions["devshop"]


@bp.post("/admin/api/<version>/graphql.json")
def graphql(version: str) -> Response:
    """Answer one Admin GraphQL request."""
    core = _core()
    served = served_version(version, core.config.api_version)
    if served is None:
        return _json({"errors": "Not Found"}, 404)
    shop = core.shop_by_domain(request.host)
    if shop is None:
        return _json({"errors": "Not Found"}, 404, served)
    token, problem = core.tokens.authenticate(shop, request.headers.get("X-Shopify-Access-Token", ""))
    if token is None:
        return _json({"errors": problem}, 401, served)
    with core.store.lock:
        core.store.bump(shop, "graphql_requests")
    if core.faults.fire("graphql_error_next", "graphql_error_rate"):
        status = core.faults.switches.graphql_error_status
        return _json(
            {"errors": "Service Unavailable" if status == 503 else "Internal Server Error"}, status, served
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
        return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400, served)
    return _run(core, shop, token, body, served)


def _run(core: DevShop, shop: Shop, token: Any, body: dict[str, Any], version: str) -> Response:
    try:
        document = parse(body["query"])
    except GraphQLSyntaxError as exc:
        line, column = (exc.locations[0].line, exc.locations[0].column) if exc.locations else (1, 1)
        message = f"syntax error, {exc.message.removeprefix('Syntax Error: ')} at [{line}, {column}]"
        return _json(
            {"errors": [{"message": message, "locations": [{"line": line, "column": column}]}]}, 200, version
        )
    errors = validate(core.schema, document)
    if errors:
        return _json({"errors": [_shopify_error(e) for e in errors]}, 200, version)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    name = body.get("operationName")
    operation = next((o for o in operations if name is None or (o.name and o.name.value == name)), None)
    if operation is None or (name is None and len(operations) > 1):
        message = "An operation name is required" if name is None else f'No operation named "{name}"'
        return _json({"errors": [{"message": message}]}, 200, version)
    variables = body.get("variables") or {}
    values = get_variable_values(core.schema, operation.variable_definitions or [], variables)
    if isinstance(values, list):
        return _json({"errors": [_variable_error(e, variables, operation) for e in values]}, 200, version)
    # graphql-core 3.3 wraps the coerced values (VariableValues.coerced); 3.2 returns the dict itself.
    coerced: dict[str, Any] = values.coerced if hasattr(values, "coerced") else values  # type: ignore[assignment]
    requested = core.costs.requested(operation, fragments, coerced)
    if requested > core.config.max_query_cost:
        return _json(
            {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query max cost "
                        f"limit ({core.config.max_query_cost}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": core.config.max_query_cost,
                            "documentation": RATE_LIMIT_DOCS,
                        },
                    }
                ]
            },
            200,
            version,
        )
    forced = core.faults.fire("graphql_throttle_next", "graphql_throttle_rate")
    taken, bucket = (
        (False, core.bucket.try_take(shop.handle, 0)[1])
        if forced
        else core.bucket.try_take(shop.handle, requested)
    )
    if not taken:
        with core.store.lock:
            core.store.bump(shop, "graphql_throttled")
        return _json(
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS},
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": bucket.as_status(),
                    }
                },
            },
            200,
            version,
        )
    context = Context(core=core, shop=shop, token=token)
    with core.store.lock:
        result = execute(
            core.schema, document, context_value=context, variable_values=variables, operation_name=name
        )
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous
    actual = min(requested, core.costs.actual(operation, fragments, coerced, result.data))
    bucket = core.bucket.refund(shop.handle, requested - actual)
    response: dict[str, Any] = {}
    if result.errors:
        response["errors"] = [dict(e.formatted) for e in result.errors]
    response["data"] = result.data
    extensions: dict[str, Any] = {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": bucket.as_status(),
        }
    }
    if context.search_extensions:
        extensions["search"] = context.search_extensions
    response["extensions"] = extensions
    return _json(response, 200, version)


def _variable_error(
    error: GraphQLError, variables: dict[str, Any], operation: OperationDefinitionNode
) -> dict[str, Any]:
    match = re.match(r"^Variable '\$(\w+)'", error.message)
    if match is None:
        return dict(error.formatted)
    name = match[1]
    types = {d.variable.name.value: print_ast(d.type) for d in operation.variable_definitions or ()}
    return {
        "message": f"Variable ${name} of type {types.get(name, '?')} was provided invalid value",
        "locations": error.formatted.get("locations", []),
        "extensions": {
            "code": "INVALID_VARIABLE",
            "value": variables.get(name),
            "problems": [{"path": [], "explanation": error.message}],
        },
    }


@bp.post("/admin/oauth/access_token")
def access_token() -> Response:
    """Exchange a session token, refresh, or migrate a legacy token (JSON or form body)."""
    core = _core()
    shop = core.shop_by_domain(request.host)
    if shop is None:
        return _json({"errors": "Not Found"}, 404)
    params = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    result = core.tokens.token_endpoint(shop, params or {})
    return _json(result.body, result.status)


@bp.get("/cdn/shop/<handle>/files/<int:media_id>/<path:filename>")
def cdn_file(handle: str, media_id: int, filename: str) -> Response:
    """Serve a READY media item's bytes (the URL ``image.url`` gives out)."""
    core = _core()
    with core.store.lock:
        media = core.store.media.get(media_id)
        ready = media is not None and media.shop == handle and media.status == "READY" and media.blob
        data = core.store.blobs.get(media.blob) if ready and media and media.blob else None
    if data is None or media is None:
        return Response("Not Found", status=404)
    response = Response(data, content_type=media.mime_type or "application/octet-stream")
    response.headers["Cache-Control"] = "public, max-age=31536000"
    return response
