"""Filter products with the subset of Shopify's search syntax the ``products(query:)`` argument takes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devshop.clock import parse_iso
from devshop.store import Product

# field name -> how to read it from a product; dates compare as datetimes, the rest as text.
_TEXT_FIELDS: dict[str, Callable[[Product], Any]] = {
    "title": lambda p: p.title,
    "product_type": lambda p: p.product_type,
    "vendor": lambda p: p.vendor,
    "handle": lambda p: p.handle,
    "status": lambda p: p.status,
    "tag": lambda p: p.tags,
    "tag_not": lambda p: p.tags,
    "category_id": lambda p: p.category or "",
}
_DATE_FIELDS: dict[str, Callable[[Product], datetime | None]] = {
    "updated_at": lambda p: p.updated_at,
    "created_at": lambda p: p.created_at,
    "published_at": lambda p: p.published_at,
}
_TOKEN = re.compile(r"""\s*(-?)(?:([A-Za-z_]+):)?(>=|<=|>|<)?('[^']*'|"[^"]*"|[^\s()]+)""")


@dataclass
class Term:
    """One ``[-]field:[op]value`` term (``field`` None for free text)."""

    field: str | None
    op: str
    value: str
    negated: bool


@dataclass
class ParsedQuery:
    """A query as OR-groups of AND-ed terms, plus Shopify-style warnings for bad fields."""

    groups: list[list[Term]]
    warnings: list[dict[str, str]] = field(default_factory=list)


def parse(query: str) -> ParsedQuery:
    """Parse ``query``; unknown fields are ignored with a warning, as Shopify does."""
    groups: list[list[Term]] = [[]]
    warnings: list[dict[str, str]] = []
    negate_next = False
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:
            pos += 1
            continue
        pos = match.end()
        minus, name, op, raw = match.groups()
        value = raw[1:-1] if raw[:1] in "'\"" and raw[-1:] == raw[:1] and len(raw) >= 2 else raw
        if name is None and op is None and value in ("AND", "OR", "NOT"):
            if value == "OR":
                groups.append([])
            elif value == "NOT":
                negate_next = True
            continue
        negated = bool(minus) or negate_next
        negate_next = False
        if name is not None:
            name = name.lower()
            if name == "id":
                pass
            elif name not in _TEXT_FIELDS and name not in _DATE_FIELDS:
                warnings.append({"field": name, "message": "Invalid search field for this query."})
                continue
            if name in _DATE_FIELDS:
                try:
                    parse_iso(value)
                except ValueError:
                    warnings.append({"field": name, "message": f"Input `{value}` is not an accepted value."})
                    continue
        groups[-1].append(Term(field=name, op=op or ":", value=value, negated=negated))
    return ParsedQuery(groups=[g for g in groups if g] or [[]], warnings=warnings)


def matches(parsed: ParsedQuery, product: Product) -> bool:
    """Say whether ``product`` satisfies the query."""
    return any(all(_term(t, product) != t.negated for t in group) for group in parsed.groups)


def _term(term: Term, product: Product) -> bool:
    if term.field is None:
        needle = term.value.lower().strip("*")
        return needle in product.title.lower() or needle in " ".join(product.tags).lower()
    if term.field in _DATE_FIELDS:
        actual = _DATE_FIELDS[term.field](product)
        return actual is not None and _compare(actual, term.op, parse_iso(term.value))
    if term.field == "id":
        try:
            wanted = int(term.value.rsplit("/", 1)[-1])
        except ValueError:
            return False
        return _compare(product.id, term.op, wanted)
    actual = _TEXT_FIELDS[term.field](product)
    options = [v.strip().lower() for v in term.value.split(",")]
    if isinstance(actual, list):
        hit = any(tag.lower() in options for tag in actual)
        return not hit if term.field == "tag_not" else hit
    text = str(actual).lower()
    if term.value.endswith("*"):
        return text.startswith(term.value[:-1].lower())
    return (
        text in options
        if term.field in ("status", "product_type", "vendor", "handle", "category_id")
        else any(o in text for o in options)
    )


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if op == ">":
        return actual > wanted
    if op == ">=":
        return actual >= wanted
    if op == "<":
        return actual < wanted
    if op == "<=":
        return actual <= wanted
    return actual == wanted
