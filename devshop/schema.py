"""Build the dev-shop's Admin GraphQL schema: Shopify's SDL subset with its resolvers attached."""

from __future__ import annotations

import functools
from datetime import datetime
from importlib import resources
from typing import Any, cast

from graphql import GraphQLError, GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema, build_schema

from devshop.clock import iso_utc
from devshop.mutations import MUTATION_RESOLVERS
from devshop.resolvers import QUERY_RESOLVERS, resolve_type


@functools.cache
def load_schema() -> GraphQLSchema:
    """Build the schema from ``schema.graphql`` and attach the resolvers and scalars (once).

    The schema holds no state (resolvers read the request's context), so dev-shops share it.
    """
    sdl = resources.files("devshop").joinpath("schema.graphql").read_text(encoding="utf-8")
    schema = build_schema(sdl)
    for path, resolver in {**QUERY_RESOLVERS, **MUTATION_RESOLVERS}.items():
        type_name, field_name = path.split(".")
        object_type = cast(GraphQLObjectType, schema.type_map[type_name])
        object_type.fields[field_name].resolve = resolver
    for name in ("Node", "Media", "File"):
        cast(GraphQLInterfaceType, schema.type_map[name]).resolve_type = resolve_type
    _bind_scalars(schema)
    return schema


def _bind_scalars(schema: GraphQLSchema) -> None:
    def serialize_datetime(value: Any) -> str:
        return iso_utc(value) if isinstance(value, datetime) else str(value)

    def parse_unsigned(value: Any) -> str:
        text = str(value)
        if isinstance(value, bool) or not text.isdigit():
            raise GraphQLError(f"UnsignedInt64 expects a non-negative integer, got {value!r}")
        return text

    # graphql-core 3.3 reads coerce_*; 3.2 reads serialize/parse_value: set both.
    for name, output, input_ in (
        ("DateTime", serialize_datetime, None),
        ("UnsignedInt64", str, parse_unsigned),
    ):
        scalar: Any = schema.type_map[name]
        scalar.serialize = scalar.coerce_output_value = output
        if input_ is not None:
            scalar.parse_value = scalar.coerce_input_value = input_
