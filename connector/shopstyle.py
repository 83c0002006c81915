"""Give each shop a versioned copy of its house style, and read the plate images a style names."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.models import Shop, StyleVersion
from connector.storage import Storage
from connector.styles import HouseStyle, PlateSpec, StyleError, parse_style


def _package_file(reference: str) -> Path:
    package, _, inner = reference.removeprefix("pkg:").partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise StyleError(f"plate image {reference!r}: package {package!r} is not installed")
    root = Path(next(iter(spec.submodule_search_locations))).resolve()
    path = (root / inner).resolve()
    if not path.is_relative_to(root):
        raise StyleError(f"plate image {reference!r}: path leaves the package")
    return path


def plate_image_bytes(plate: PlateSpec, styles_dir: Path, storage: Storage) -> bytes:
    """Return the encoded image a plate names (package file, file beside the styles, or stored object)."""
    reference = plate.image
    if reference is None:
        raise StyleError(f"plate {plate.id!r}: has no image yet (it is a generation recipe)")
    if reference.startswith("storage:"):
        return storage.get(reference.removeprefix("storage:"))
    if reference.startswith("pkg:"):
        path = _package_file(reference)
    else:
        root = styles_dir.resolve()
        path = (root / reference.removeprefix("file:")).resolve()
        if not path.is_relative_to(root.parent):
            raise StyleError(f"plate image {reference!r}: path leaves the config folder")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StyleError(f"plate {plate.id!r}: image {reference!r} cannot be read ({exc.strerror})") from None


def freeze(style: HouseStyle, styles_dir: Path, storage: Storage) -> HouseStyle:
    """Return `style` with each image plate's SHA-256 filled in, so its version follows the pictures."""
    plates = []
    for plate in style.plates:
        if plate.image is not None:
            digest = hashlib.sha256(plate_image_bytes(plate, styles_dir, storage)).hexdigest()
            plate = plate.model_copy(update={"sha256": digest})
        plates.append(plate)
    return style.model_copy(update={"plates": plates})


def assign_style(session: Session, shop: Shop, style: HouseStyle) -> StyleVersion:
    """Make `style` the shop's current style; an identical earlier version is reused, not copied."""
    digest = style.content_hash()
    version = session.scalar(
        select(StyleVersion).where(StyleVersion.shop_id == shop.id, StyleVersion.content_hash == digest)
    )
    if version is None:
        version = StyleVersion(
            shop_id=shop.id, name=style.name, content_hash=digest, document=style.document()
        )
        session.add(version)
        session.flush()
    shop.style_version_id = version.id
    return version


def current_style(session: Session, shop: Shop) -> tuple[HouseStyle, StyleVersion] | None:
    """Return the shop's current style and its version row, or None when it has none yet."""
    if shop.style_version_id is None:
        return None
    version = session.get(StyleVersion, shop.style_version_id)
    if version is None or version.shop_id != shop.id:
        return None
    return parse_style(version.document, f"style version {version.id} of {shop.domain}"), version
