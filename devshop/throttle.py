"""Price GraphQL operations the way Shopify does and meter them with a leaky bucket per shop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_interface_type,
    is_leaf_type,
    is_object_type,
)
from graphql.utilities import value_from_ast_untyped

from devshop.clock import Clock

MUTATION_COST = 10


@dataclass(frozen=True)
class Bucket:
    """A snapshot of one shop's bucket, as ``throttleStatus`` reports it."""

    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_status(self) -> dict[str, float]:
        """Return the ``throttleStatus`` object."""
        return {
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": round(self.currently_available, 1),
            "restoreRate": self.restore_rate,
        }


class LeakyBucket:
    """Per-shop cost buckets that refill at ``restore_rate`` points per simulated second."""

    def __init__(self, clock: Clock, maximum: float, restore_rate: float) -> None:
        self._clock = clock
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._lock = threading.Lock()
        self._levels: dict[str, tuple[float, float]] = {}

    def _level(self, shop: str, now: float) -> float:
        available, at = self._levels.get(shop, (self.maximum, now))
        return min(self.maximum, available + (now - at) * self.restore_rate)

    def try_take(self, shop: str, cost: int) -> tuple[bool, Bucket]:
        """Take ``cost`` points if the bucket holds them; report the bucket either way."""
        with self._lock:
            now = self._clock.timestamp()
            available = self._level(shop, now)
            taken = cost <= available
            if taken:
                available -= cost
            self._levels[shop] = (available, now)
            return taken, Bucket(self.maximum, available, self.restore_rate)

    def refund(self, shop: str, points: int) -> Bucket:
        """Give back the difference between the requested and the actual cost."""
        with self._lock:
            now = self._clock.timestamp()
            available = min(self.maximum, self._level(shop, now) + max(0, points))
            self._levels[shop] = (available, now)
            return Bucket(self.maximum, available, self.restore_rate)

    def drain(self, shop: str, to: float) -> None:
        """Set a shop's bucket level (the control API uses it to stage throttling)."""
        with self._lock:
            self._levels[shop] = (max(0.0, min(self.maximum, to)), self._clock.timestamp())


class CostCalculator:
    """Compute ``requestedQueryCost`` before execution and ``actualQueryCost`` after it.

    Shopify's rules: scalars and enums cost 0, objects 1, a connection 2 plus its ``first``/``last``
    times the cost of one node (the actual number of nodes afterwards), a mutation field 10.
    """

    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema

    def requested(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> int:
        """Return the worst-case cost of ``operation``."""
        return self._operation(operation, fragments, variables, None)

    def actual(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        data: dict[str, Any] | None,
    ) -> int:
        """Return the cost of what ``operation`` really returned."""
        return self._operation(operation, fragments, variables, data or {})

    def _operation(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        data: dict[str, Any] | None,
    ) -> int:
        is_mutation = operation.operation == OperationType.MUTATION
        root = self._schema.mutation_type if is_mutation else self._schema.query_type
        assert root is not None
        total = 0
        for node in self._fields(operation.selection_set, fragments):
            key = node.alias.value if node.alias else node.name.value
            if data is not None and key not in data:
                continue
            child = None if data is None else data.get(key)
            cost = self._field(root, node, fragments, variables, child, data is not None)
            total += (MUTATION_COST + cost - 1) if is_mutation and cost >= 1 else cost
        return total

    def _fields(
        self, selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
    ) -> Iterator[FieldNode]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._fields(fragment.selection_set, fragments)

    def _field(
        self,
        parent: Any,
        node: FieldNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        value: Any,
        actual: bool,
    ) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        field_def = parent.fields.get(name) if hasattr(parent, "fields") else None
        if field_def is None:
            return 0
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection") and is_object_type(named):
            return self._connection(named, node, fragments, variables, value, actual)
        if actual and isinstance(value, list):
            # A plain list (userErrors, stagedTargets) is priced like one object, as requested.
            value = value[0] if value else None
        return self._object(named, node, fragments, variables, value, actual)

    def _object(
        self,
        named: Any,
        node: FieldNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        value: Any,
        actual: bool,
    ) -> int:
        cost = 1
        if actual and not isinstance(value, dict):
            return cost
        for child in self._fields(node.selection_set, fragments):
            key = child.alias.value if child.alias else child.name.value
            if actual and key not in value:
                continue
            owner = self._owner(named, child.name.value)
            cost += self._field(
                owner, child, fragments, variables, value.get(key) if actual else None, actual
            )
        return cost

    def _owner(self, named: Any, field_name: str) -> Any:
        # Interface selections may name fields of an implementation (``... on MediaImage``).
        if field_name in getattr(named, "fields", {}):
            return named
        if is_interface_type(named):
            for impl in self._schema.get_possible_types(named):
                if field_name in impl.fields:
                    return impl
        return named

    def _connection(
        self,
        named: GraphQLObjectType,
        node: FieldNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        value: Any,
        actual: bool,
    ) -> int:
        if actual:
            return 2 + (
                self._items(named, node, fragments, variables, value) if isinstance(value, dict) else 0
            )
        size = 0
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                raw = value_from_ast_untyped(argument.value, variables)
                size = raw if isinstance(raw, int) else 0
        return 2 + size * self._items(named, node, fragments, variables, None)

    def _items(
        self,
        named: GraphQLObjectType,
        node: FieldNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        value: dict[str, Any] | None,
    ) -> int:
        """Price one node (requested) or all returned nodes (actual) of a connection."""
        node_type = get_named_type(named.fields["nodes"].type)
        best = 0
        for child in self._fields(node.selection_set, fragments):
            key = child.alias.value if child.alias else child.name.value
            selections: list[tuple[FieldNode, list[Any]]] = []
            if child.name.value == "nodes":
                selections.append((child, (value.get(key) or []) if value is not None else []))
            elif child.name.value == "edges":
                for edge_child in self._fields(child.selection_set, fragments):
                    if edge_child.name.value == "node":
                        node_key = edge_child.alias.value if edge_child.alias else "node"
                        edges = (value.get(key) or []) if value is not None else []
                        selections.append(
                            (edge_child, [e.get(node_key) for e in edges if isinstance(e, dict)])
                        )
            for selection, returned in selections:
                if value is None:
                    best = max(best, self._object(node_type, selection, fragments, variables, None, False))
                else:
                    best = max(
                        best,
                        sum(
                            self._object(node_type, selection, fragments, variables, item, True)
                            for item in returned
                        ),
                    )
        return best
