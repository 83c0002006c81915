"""Change a shop's house style from the admin: settings and plates; every change is versioned.

A change never edits a style in place: it builds the new document, validates it with the `HouseStyle`
schema, and makes it the shop's current style through `connector.shopstyle.assign_style`, which reuses an
identical earlier version. Jobs and drafts keep pointing at the version that made them. A stale edit (made
on an older version than the current one) is refused rather than silently overwriting someone else's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from connector.inputs import FieldError
from connector.models import Shop, StyleVersion
from connector.paging import Page, page_of
from connector.services import Services
from connector.shops import owned
from connector.shopstyle import assign_style, current_style, freeze
from connector.styles import HouseStyle, PlateSpec, StyleError, parse_style
from renderer.errors import InputError

#: The parts of a style the merchant edits in the admin. Quality gates stay Worn's (they are its promise).
EDITABLE = ("look", "output", "approval", "write_back", "jewelry")
PLATE_MOVES = {
    # action: (states it applies to, resulting state)
    "retire": (("approved", "pending"), "retired"),
    "restore": (("retired",), "approved"),
    "approve": (("pending",), "approved"),
    "reject": (("pending",), "retired"),
}


class StyleInvalid(InputError):
    """A proposed style breaks the schema; `fields` lists (field path, problem) for each error."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in fields))
        self.fields = fields


@dataclass(frozen=True)
class StyleChange:
    """What a change did; `code` is stable: changed, unchanged, stale, not_found, last_plate, not_allowed."""

    code: str
    version_id: int | None
    style: HouseStyle | None
    detail: str = ""


@dataclass(frozen=True)
class VersionRow:
    """One version in the style's history."""

    id: int
    name: str
    content_hash: str
    created_at: dt.datetime
    current: bool


def shop_style(session: Session, services: Services, shop: Shop) -> tuple[HouseStyle, StyleVersion]:
    """Return the shop's current style and version, giving it the default style the first time."""
    found = current_style(session, shop)
    if found is not None:
        return found
    style = freeze(services.default_style, services.settings.STYLES_DIR, services.storage)
    version = assign_style(session, shop, style)
    return style, version


def validated(document: dict[str, Any]) -> HouseStyle:
    """Return `document` as a HouseStyle, or raise StyleInvalid naming each bad field."""
    try:
        return parse_style(document, "style")
    except StyleError as exc:
        fields = []
        for line in str(exc).splitlines():
            # parse_style writes "style: <key path>: <problem>" per problem.
            _source, _, rest = line.partition(": ")
            path, _, problem = rest.partition(": ")
            fields.append((path, problem or rest))
        raise StyleInvalid(fields) from None


def _check_base(shop: Shop, base_version: int | None) -> StyleChange | None:
    if base_version is not None and base_version != shop.style_version_id:
        return StyleChange(
            "stale",
            shop.style_version_id,
            None,
            f"the style changed since version {base_version} was loaded (now version "
            f"{shop.style_version_id}); reload and apply your change again",
        )
    return None


def _commit(session: Session, shop: Shop, before: int | None, style: HouseStyle) -> StyleChange:
    version = assign_style(session, shop, style)
    return StyleChange("unchanged" if version.id == before else "changed", version.id, style)


def update_settings(
    session: Session, services: Services, shop: Shop, changes: Any, *, base_version: int | None = None
) -> StyleChange:
    """Apply `changes` ({section: {key: value}}) to the editable sections and version the result.

    A section's keys not named in `changes` keep their values; lists (jewelry rules, kinds) are replaced
    whole. Raise FieldError for a section that cannot be edited, StyleInvalid naming each bad field.
    """
    if not isinstance(changes, dict) or not changes:
        raise FieldError("style", f"expected an object with any of {', '.join(EDITABLE)}")
    for section, values in changes.items():
        if section not in EDITABLE:
            raise FieldError(str(section)[:40], f"cannot be changed here; editable: {', '.join(EDITABLE)}")
        if not isinstance(values, dict):
            raise FieldError(section, f"expected an object of settings, got {type(values).__name__}")
    style, version = shop_style(session, services, shop)
    stale = _check_base(shop, base_version)
    if stale:
        return stale
    document = style.document()
    for section, values in changes.items():
        document[section] = {**document.get(section, {}), **values}
    return _commit(session, shop, version.id, validated(document))


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40] or "plate"


def add_plate(
    session: Session,
    services: Services,
    shop: Shop,
    *,
    image_key: str,
    sha256: str,
    model: str,
    kinds: list[str],
    base_version: int | None = None,
    status: str = "approved",
) -> StyleChange:
    """Add a stored photo to the roster (approved, or pending when generated); one photo is one plate."""
    style, version = shop_style(session, services, shop)
    stale = _check_base(shop, base_version)
    if stale:
        return stale
    reference = f"storage:{image_key}"
    existing = next((p for p in style.plates if p.image == reference), None)
    if existing is not None:
        return StyleChange("unchanged", version.id, style, f"this photo is already plate {existing.id!r}")
    taken = {p.id for p in style.plates}
    plate_id = f"{_slug(model)}-{sha256[:6]}"
    while plate_id in taken:  # a different photo whose hash starts alike: lengthen the suffix
        plate_id = f"{_slug(model)}-{sha256[: len(plate_id) - len(_slug(model))]}"
    document = style.document()
    document["plates"].append(
        {
            "id": plate_id,
            "model": model,
            "image": reference,
            "kinds": kinds,
            "sha256": sha256,
            "status": status,
        }
    )
    return _commit(session, shop, version.id, validated(document))


def move_plate(
    session: Session,
    services: Services,
    shop: Shop,
    plate_id: str,
    action: str,
    *,
    base_version: int | None = None,
) -> StyleChange:
    """Retire or restore a plate, or approve or reject a generated one; doing it twice changes nothing."""
    if action not in PLATE_MOVES:
        raise FieldError("action", f"expected one of {', '.join(PLATE_MOVES)}, got {action[:40]!r}")
    style, version = shop_style(session, services, shop)
    stale = _check_base(shop, base_version)
    if stale:
        return stale
    plate = next((p for p in style.plates if p.id == plate_id), None)
    if plate is None:
        return StyleChange("not_found", version.id, style, f"no plate {plate_id!r} in the house style")
    allowed_from, target = PLATE_MOVES[action]
    if plate.status == target:
        return StyleChange("unchanged", version.id, style)
    if plate.status not in allowed_from:
        return StyleChange("not_allowed", version.id, style, f"a {plate.status} plate cannot be {action}d")
    if target == "retired" and plate.status == "approved":
        others = [p for p in style.active_plates() if p.id != plate.id]
        if not others:
            return StyleChange(
                "last_plate", version.id, style, "keep at least one approved plate: add another one first"
            )
    plates = [p.model_copy(update={"status": target}) if p.id == plate.id else p for p in style.plates]
    return _commit(session, shop, version.id, style.model_copy(update={"plates": plates}))


def plate_by_id(style: HouseStyle, plate_id: str) -> PlateSpec | None:
    """Return the plate of `style` with this id, or None."""
    return next((p for p in style.plates if p.id == plate_id), None)


def versions(session: Session, shop: Shop, *, cursor: int | None = None, limit: int = 20) -> Page[VersionRow]:
    """List the shop's style versions, newest first."""
    query = owned(StyleVersion, shop.id)
    if cursor is not None:
        query = query.where(StyleVersion.id < cursor)
    rows = [
        VersionRow(v.id, v.name, v.content_hash, v.created_at, v.id == shop.style_version_id)
        for v in session.scalars(query.order_by(StyleVersion.id.desc()).limit(limit + 1))
    ]
    return page_of(rows, limit, lambda row: row.id)
