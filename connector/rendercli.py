"""`worn render PHOTO --kind K`: the renderer on its own, on a house style's plates, from the command line.

No shop, database or queue is involved: the plates come from the style (their analyses cached as JSON in
DATA_DIR/plate-cache), and the results are files: one image per offered render, a contact sheet with each
render's numbers (or why it was not offered), and the whole report as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import renderer
from connector.platecheck import analysis_key
from connector.render_step import EXTENSIONS, prepare_plate, render_options
from connector.renderjob import PlateInput
from connector.settings import Settings
from connector.shopstyle import plate_image_bytes
from connector.storage import make_storage
from connector.styles import HouseStyle, StyleError, load_styles
from renderer.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `worn render`'s options."""
    parser.add_argument("photo", type=Path, help="the product photo (JPEG, PNG, WebP, HEIC, ...)")
    parser.add_argument("--kind", required=True, choices=renderer.KINDS, help="what the piece is")
    parser.add_argument(
        "--size", help='the stated size, e.g. "45 cm", "18 in", "US 7", "6 mm" (else typical)'
    )
    parser.add_argument("--style", help="house style in STYLES_DIR (default: DEFAULT_STYLE)")
    parser.add_argument("--out", type=Path, default=Path("worn-render"), help="folder for the results")


def _style(settings: Settings, name: str | None) -> HouseStyle:
    styles = load_styles(settings.STYLES_DIR)
    wanted = name or settings.DEFAULT_STYLE
    if wanted not in styles:
        raise StyleError(
            f"--style {wanted!r}: no such house style in {settings.STYLES_DIR} ({', '.join(styles)})"
        )
    return styles[wanted]


def _plates(settings: Settings, style: HouseStyle, kind: str) -> list[renderer.Plate]:
    storage = make_storage(settings.storage_url)
    cache = settings.DATA_DIR / "plate-cache"
    plates = []
    for spec in style.active_plates(kind):
        data = plate_image_bytes(spec, settings.STYLES_DIR, storage)
        digest = analysis_key(data, spec.crop)
        cached_file = cache / f"{digest}.json"
        cached = json.loads(cached_file.read_text()) if cached_file.is_file() else None
        plate, fresh = prepare_plate(PlateInput(spec, data, digest, cached))
        if fresh is not None:
            cache.mkdir(parents=True, exist_ok=True)
            cached_file.write_text(json.dumps(fresh))
        plates.append(plate)
    return plates


def render_photo(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Render `args.photo` on each plate of the style carrying `args.kind`; write and return the report."""
    try:
        photo = args.photo.read_bytes()
    except OSError as exc:
        raise InputError(f"photo {str(args.photo)!r}: cannot be read ({exc.strerror})") from None
    size = None
    if args.size:
        size = renderer.parse_size(args.size, args.kind)
        if size is None:
            raise InputError(
                f'--size {args.size!r}: not a size Worn reads for a {args.kind} (try "45 cm", "US 7")'
            )
    style = _style(settings, args.style)
    plates = _plates(settings, style, args.kind)
    if not plates:
        raise StyleError(f"house style {style.name!r} has no approved plate that carries {args.kind}")
    loaded = renderer.load_image(photo)
    outcomes = renderer.render(loaded.pixels, args.kind, plates, size=size, options=render_options(style))

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    stem = args.photo.stem
    entries = []
    for outcome in outcomes:
        entry: dict[str, Any] = {
            "plate": outcome.plate_id,
            "offered": outcome.offered,
            "reason": None if outcome.reason is None else outcome.reason.to_dict(),
            "report": outcome.report.to_dict(),
            "file": None,
        }
        if outcome.offered and outcome.image is not None:
            name = f"{stem}-{outcome.plate_id}.{EXTENSIONS[style.output.format]}"
            (out / name).write_bytes(
                renderer.encode_image(outcome.image, style.output.format, style.output.quality)
            )
            entry["file"] = name
        entries.append(entry)
    sheet = f"{stem}-contact-sheet.jpg"
    (out / sheet).write_bytes(renderer.encode_image(renderer.contact_sheet(loaded.rgb, outcomes), "jpeg", 88))
    report = {
        "photo": str(args.photo),
        "kind": args.kind,
        "size": args.size,
        "style": style.name,
        "notes": list(loaded.notes),
        "contact_sheet": sheet,
        "renders": entries,
    }
    (out / f"{stem}-report.json").write_text(json.dumps(report, indent=2, default=str))
    return report


def run(args: argparse.Namespace) -> int:
    """Run `worn render`; exit 0 when at least one render was offered, 1 when none passed the checks."""
    from connector.cli import settings_from

    report = render_photo(settings_from(args), args)
    for entry in report["renders"]:
        numbers, plate = entry["report"], f"{entry['plate']:<14}"
        if entry["offered"]:
            ssim, delta_e = numbers.get("ssim", 0), numbers.get("delta_e", 0)
            print(f"{plate} offered   SSIM {ssim:.3f}  ΔE {delta_e:.2f}  -> {args.out / entry['file']}")
        else:
            print(f"{plate} not offered: {(entry['reason'] or {}).get('message', 'failed a check')}")
    print(f"contact sheet: {args.out / report['contact_sheet']}")
    print(f"report: {args.out / (args.photo.stem + '-report.json')}")
    return 0 if any(entry["offered"] for entry in report["renders"]) else 1
