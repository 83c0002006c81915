"""The stated size: the style's metafields first, then the product's options; bad values are noted, skipped."""

from __future__ import annotations

from typing import Any

import pytest

from connector.products import stated_size
from connector.settings import load_settings
from connector.snapshot import ProductSnapshot
from connector.styles import load_styles

STYLE = load_styles(load_settings().STYLES_DIR)["studio"]


def snapshot(
    metafields: dict[str, str] | None = None, options: list[tuple[str, list[str]]] | None = None
) -> ProductSnapshot:
    node: dict[str, Any] = {
        "id": "gid://shopify/Product/1",
        "title": "Piece",
        "updatedAt": "2026-11-27T08:00:00Z",
        "metafields": {
            "nodes": [
                {"namespace": k.split(".")[0], "key": k.split(".")[1], "value": v}
                for k, v in (metafields or {}).items()
            ]
        },
        "options": [{"name": name, "values": values} for name, values in (options or [])],
    }
    return ProductSnapshot.from_graphql(node)


@pytest.mark.parametrize(
    ("kind", "metafields", "options", "quantity", "mm", "source"),
    [
        (
            "necklace",
            {"custom.chain_length": '{"value": 18, "unit": "in"}'},
            [("Length", ["16 in"])],
            "chain_length",
            457.2,
            "metafield",
        ),  # the metafield wins over the option
        (
            "necklace",
            {"custom.length": '{"value": 45, "unit": "CENTIMETERS"}'},
            [],
            "chain_length",
            450.0,
            "metafield",
        ),
        (
            "necklace",
            {},
            [("Metal", ["14k Gold"]), ("Chain length", ["50 cm", "45 cm"])],
            "chain_length",
            500.0,
            "text",
        ),
        ("ring", {}, [("Ring size", ["US 7", "US 8"])], "ring_inner_diameter", None, "text"),
        (
            "earrings",
            {"custom.drop_length": '{"value": 28, "unit": "mm"}'},
            [],
            "drop_length",
            28.0,
            "metafield",
        ),
        ("bracelet", {}, [("Größe", ["18 cm"])], "bracelet_length", 180.0, "text"),
    ],
)
def test_the_stated_size_comes_from_metafields_then_options(
    kind: str, metafields: dict, options: list, quantity: str, mm: float | None, source: str
) -> None:
    found = stated_size(snapshot(metafields, options), kind, STYLE)
    assert found.size is not None and found.size.quantity == quantity and found.size.source == source
    if mm is not None:
        assert found.size.mm == pytest.approx(mm, abs=0.1)


def test_values_that_cannot_be_a_size_are_noted_and_passed_over() -> None:
    found = stated_size(
        snapshot(
            {"custom.chain_length": '["gid://shopify/Metaobject/1"]', "custom.length": "{not json"},
            [("Size", ["2 mm"]), ("Length", ["42 cm"])],
        ),
        "necklace",
        STYLE,
    )
    assert found.size is not None and found.size.mm == pytest.approx(420.0)
    notes = " | ".join(found.notes)
    assert "custom.chain_length holds a list" in notes and "custom.length holds invalid JSON" in notes
    assert "option 'Size'" in notes and "2 mm" in notes  # a 2 mm necklace is refused with its reason


def test_a_product_that_states_no_size_gets_none() -> None:
    found = stated_size(snapshot({}, [("Title", ["Default Title"]), ("Colour", ["Gold"])]), "pendant", STYLE)
    assert found.size is None
