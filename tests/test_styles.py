"""House styles: the default loads, every mistake is one line naming file, key and problem, versions are shared."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from connector.db import Database
from connector.models import StyleVersion
from connector.settings import load_settings
from connector.shops import get_or_create_shop
from connector.shopstyle import assign_style, current_style, freeze, plate_image_bytes
from connector.storage import LocalStorage
from connector.styles import StyleError, load_style_file, load_styles, parse_style

STYLES = Path(__file__).resolve().parent.parent / "config" / "house-styles"
PLATE = "  - {id: p1, image: 'pkg:matplotlib/mpl-data/sample_data/grace_hopper.jpg', kinds: [necklace]}\n"


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_the_default_style_loads_and_its_plates_resolve(tmp_path: Path) -> None:
    styles = load_styles(load_settings().STYLES_DIR)
    studio = styles["studio"]
    assert [p.id for p in studio.active_plates("earrings")] == ["grace", "eileen"]
    assert [p.id for p in studio.active_plates("necklace")] == ["grace"]
    assert studio.active_plates("ring") == []
    for plate in studio.plates:
        assert plate_image_bytes(plate, STYLES, LocalStorage(tmp_path))[:2] in (b"\xff\xd8", b"\x89P")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("name: s\nplates:\n" + PLATE + "colour: warm\n", "s.yaml: colour: unknown key (check its spelling)"),
        (
            "name: s\nplates:\n  - {id: p1, image: 'file:a.jpg', kinds: [neckless]}\n",
            "s.yaml: plates[0].kinds[0]: Input should be 'necklace'",
        ),
        (
            "name: s\nplates:\n  - {id: p1, kinds: [ring]}\n",
            "s.yaml: plates[0]: a plate needs exactly one of 'image' or 'generate'",
        ),
        ("name: s\nplates:\n" + PLATE + PLATE, "s.yaml: plates: plate id 'p1' appears twice"),
        (
            "name: s\nplates:\n" + PLATE + "write_back: {alt_template: '{title} {colour}'}\n",
            "s.yaml: write_back.alt_template: unknown placeholder(s) ['colour']",
        ),
        (
            "name: s\nplates:\n" + PLATE + "output: {width: 9000}\n",
            "s.yaml: output.width: Input should be less than or equal to 4472",
        ),
        ("name: s\nplates: []\n", "s.yaml: plates: List should have at least 1 item"),
        (
            "name: s\nplates:\n" + PLATE + "jewelry: {rules: [{field: tag, kind: ring}]}\n",
            "s.yaml: jewelry.rules[0]: a rule needs exactly one of 'equals' or 'contains'",
        ),
        (
            "name: s\nplates:\n  - {id: P 1, image: 'file:a.jpg', kinds: [ring]}\n",
            "s.yaml: plates[0].id: expected a short slug",
        ),
        (
            "name: s\nplates:\n  - {id: p1, image: 'http://x/a.jpg', kinds: [ring]}\n",
            "s.yaml: plates[0].image: expected pkg:PACKAGE/path",
        ),
        ("name: s\nplates: [\n", "s.yaml: line 3, column 1: invalid YAML"),
        ("- just\n- a list\n", "s.yaml: expected a mapping of style keys at the top level, got list"),
        ("name: other\nplates:\n" + PLATE, "s.yaml: name: 'other' must match the file name 's'"),
    ],
)
def test_each_mistake_is_one_line_naming_file_key_and_problem(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = write(tmp_path, "s", body)
    with pytest.raises(StyleError) as error:
        load_style_file(path)
    lines = str(error.value).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(str(tmp_path) + "/" + expected), lines[0]


def test_several_problems_in_several_files_are_all_reported(tmp_path: Path) -> None:
    write(tmp_path, "a", "name: a\nplates: []\n")
    write(tmp_path, "b", "name: b\nplates:\n" + PLATE + "look: {shadow_strength: 3}\n")
    with pytest.raises(StyleError) as error:
        load_styles(tmp_path)
    lines = str(error.value).splitlines()
    assert [line.split(": ")[0].rsplit("/", 1)[1] for line in lines] == ["a.yaml", "b.yaml"]


def test_versions_follow_content_and_are_shared_not_copied(db: Database, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    studio = freeze(load_styles(STYLES)["studio"], STYLES, storage)
    assert all(p.sha256 for p in studio.plates)
    changed = studio.model_copy(update={"description": "changed"})
    assert changed.content_hash() != studio.content_hash()
    with db.session() as session:
        shop = get_or_create_shop(session, "acme")
        other = get_or_create_shop(session, "other")
        first = assign_style(session, shop, studio)
        assert assign_style(session, shop, parse_style(studio.document(), "copy")).id == first.id
        second = assign_style(session, shop, changed)
        assert second.id != first.id
        assert assign_style(session, other, studio).id not in (
            first.id,
            second.id,
        )  # never shared across shops
        style, version = current_style(session, shop)  # type: ignore[misc]
        assert version.id == second.id and style == changed
        assert session.query(StyleVersion).filter_by(shop_id=shop.id).count() == 2
