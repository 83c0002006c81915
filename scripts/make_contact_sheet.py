"""Render the demo products on the default plates (PyPI-shipped photos) and write contact sheets.

    PYTHONPATH=. python scripts/make_contact_sheet.py [--out docs/renderer]

Only photographs that ship inside PyPI packages are used (matplotlib's grace_hopper.jpg, scikit-image's
astronaut.png), so the sheets may be committed; the shared test photos must not be.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from renderer import (  # noqa: E402 - after the path and cache setup above
    Plate,
    analyze_plate,
    contact_sheet,
    encode_image,
    load_image,
    parse_size,
    render,
    sample_products,
)


def default_plates() -> list[Plate]:
    """Return the PyPI-shipped portraits as plates (analysed)."""
    import matplotlib
    import skimage

    paths = {
        "grace_hopper": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg",
        "astronaut": Path(skimage.__file__).parent / "data" / "astronaut.png",
    }
    plates = []
    for name, path in paths.items():
        img = load_image(path.read_bytes()).rgb
        plates.append(Plate(name, img, analysis=analyze_plate(img)))
    return plates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "renderer")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    plates = default_plates()
    for p in sample_products():
        if p.background != "white" or p.kind not in ("necklace", "pendant", "earrings"):
            continue
        source = load_image(p.read_bytes()).rgb
        outcomes = render(source, p.kind, plates, size=parse_size(p.size, p.kind))
        sheet = contact_sheet(source, outcomes, columns=3)
        (args.out / f"contact_sheet_{p.name}.jpg").write_bytes(encode_image(sheet, "jpeg", 88))
        report = [o.to_dict() for o in outcomes]
        (args.out / f"report_{p.name}.json").write_text(json.dumps(report, indent=2) + "\n")
        print(p.name, [(o.plate_id, o.offered, o.reason.code if o.reason else "") for o in outcomes])
    return 0


if __name__ == "__main__":
    sys.exit(main())
