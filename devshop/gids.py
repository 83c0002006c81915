"""Build and read Shopify global IDs (``gid://shopify/Product/123``)."""

from __future__ import annotations

import re

from graphql import GraphQLError

_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/([A-Za-z0-9-]+)(?:\?.*)?$")


def gid(type_name: str, ident: int | str) -> str:
    """Return the global ID of ``type_name`` number ``ident``."""
    return f"gid://shopify/{type_name}/{ident}"


def parse_gid(raw: str) -> tuple[str, str]:
    """Return ``(type name, id)`` of a global ID, or raise the GraphQL error Shopify returns."""
    match = _GID.match(raw or "")
    if match is None:
        raise GraphQLError(
            f"Invalid global id '{raw}'",
            extensions={"code": "argumentLiteralsIncompatible", "typeName": "CoercionError"},
        )
    return match.group(1), match.group(2)


def numeric_id(raw: str, expected_type: str) -> int | None:
    """Return the number inside a GID of ``expected_type``; None when it names another type."""
    type_name, ident = parse_gid(raw)
    if type_name != expected_type or not ident.isdigit():
        return None
    return int(ident)
