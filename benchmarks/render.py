"""Benchmark the renderer's CPU path on 2048×2560 plates, against the I/O floor measured in the same run.

    PYTHONPATH=. python benchmarks/render.py [--repeat 10]

Plates: matplotlib's grace_hopper.jpg (and, when ../shared/photos is there, the back of a hand) upscaled
and cropped to 2048×2560, stored as JPEG bytes like a house style's plate. Products: the shipped sample
PNGs. Timed, each as the median of --repeat runs:
  - the I/O floor: decode the plate JPEG + decode the product PNG + encode the 2048×2560 output JPEG;
  - plate analysis (MediaPipe + anchors), per plate, models already built (the cold build is shown too);
  - cutout, per product, and for chains their shape and strip (found once per cutout, then cached);
  - render, per kind, with the plate's analysis and the product's cutout cached (what a job does for
    each plate after its first);
  - end to end: decode + render + encode, cutout cached.
Goal (issue 6): render ≤ 1.5 s and ≤ 3× the I/O floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from renderer import (  # noqa: E402 - after the path and cache setup above
    Plate,
    RenderOptions,
    analyze_plate,
    cutout,
    encode_image,
    load_image,
    parse_size,
    render,
    sample_products,
    warm_up,
)
from renderer.loop import unwrap  # noqa: E402

W, H = 2048, 2560


def _plate_bytes(path: Path, crop: tuple[float, float, float, float] | None = None) -> bytes:
    img = load_image(path.read_bytes()).rgb
    if crop is not None:
        h, w = img.shape[:2]
        x0, y0, x1, y1 = crop
        img = img[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]
    h, w = img.shape[:2]
    s = max(W / w, H / h)
    big = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC)
    y0 = (big.shape[0] - H) // 2
    x0 = (big.shape[1] - W) // 2
    return encode_image(np.ascontiguousarray(big[y0 : y0 + H, x0 : x0 + W]), "jpeg", 92)


def _median(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the renderer at 2048×2560.")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    import matplotlib

    rows: list[tuple[str, float, float, float]] = []
    t = time.perf_counter()
    warm_up()
    cold_models = time.perf_counter() - t

    plates = {
        "grace_hopper": _plate_bytes(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    }
    photos = next((p / "shared" / "photos" for p in ROOT.parents if (p / "shared" / "photos").is_dir()), None)
    if photos is not None and (photos / "hand_dorsal_female_white_bg.jpg").exists():
        plates["hand_dorsal"] = _plate_bytes(photos / "hand_dorsal_female_white_bg.jpg", (0.3, 0.0, 0.8, 1.0))
    products = {p.name: p for p in sample_products() if p.background == "white"}
    jobs = [
        ("pendant", "pendant_necklace", "grace_hopper"),  # a closed loop, laid flat
        ("pendant", "pendant_necklace_v", "grace_hopper"),  # hung open as a V
        ("necklace", "chain_necklace_u", "grace_hopper"),  # hung open as a U
        ("earrings", "drop_earrings", "grace_hopper"),
    ]
    if "hand_dorsal" in plates:
        jobs.append(("ring", "solitaire_ring", "hand_dorsal"))

    decoded = {k: load_image(b).rgb for k, b in plates.items()}
    analyses = {}
    for name, img in decoded.items():
        assert img.shape == (H, W, 3), img.shape
        analyses[name] = analyze_plate(img)
        rows.append((f"plate analysis, {name}", *_median(lambda img=img: analyze_plate(img), args.repeat)))
    cuts = {}
    for kind, pname, _ in jobs:
        data = products[pname].read_bytes()
        src = load_image(data).pixels
        cuts[pname] = cutout(src)
        rows.append((f"cutout, {pname}", *_median(lambda src=src: cutout(src), max(3, args.repeat // 2))))
        if kind in ("necklace", "pendant", "bracelet", "anklet"):
            cut = cuts[pname]
            rows.append(
                (
                    f"chain shape + strip, {pname} (once per cutout)",
                    *_median(lambda cut=cut: unwrap(cut), args.repeat),
                )
            )

    floor = {}
    out_image = decoded["grace_hopper"]
    for _kind, pname, plate_name in jobs:
        pbytes, prod_bytes = plates[plate_name], products[pname].read_bytes()

        def io_floor(pbytes: bytes = pbytes, prod_bytes: bytes = prod_bytes) -> None:
            load_image(pbytes)
            load_image(prod_bytes)
            encode_image(out_image, "jpeg", 90)

        floor[pname] = _median(io_floor, args.repeat)
        rows.append((f"I/O floor ({pname}: decode plate + product, encode output)", *floor[pname]))

    opts = RenderOptions(output_width=W, output_height=H)
    results = {}
    for kind, pname, plate_name in jobs:
        plate = Plate(plate_name, decoded[plate_name], analysis=analyses[plate_name])
        size = parse_size(products[pname].size, kind)
        (o,) = render(cuts[pname], kind, [plate], size=size, options=opts)
        if not o.offered:
            print(f"warning: {pname} on {plate_name} not offered: {o.reason}", file=sys.stderr)
        results[pname] = (kind, o)
        med = _median(
            lambda cut=cuts[pname], kind=kind, plate=plate, size=size: render(
                cut, kind, [plate], size=size, options=opts
            ),
            args.repeat,
        )
        rows.append((f"render {pname} as {kind} on {plate_name} (cached analysis + cutout)", *med))

        def end_to_end(plate_name: str = plate_name, kind: str = kind, pname: str = pname, size=size) -> None:
            img = load_image(plates[plate_name]).rgb
            load_image(products[pname].read_bytes())
            (out,) = render(
                cuts[pname],
                kind,
                [Plate(plate_name, img, analysis=analyses[plate_name])],
                size=size,
                options=opts,
            )
            encode_image(out.image, "jpeg", 90)

        rows.append((f"end to end {pname}: decode + render + encode", *_median(end_to_end, args.repeat)))

    load = os.getloadavg()
    print(
        f"renderer benchmark: {W}×{H} output, median of {args.repeat}; {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"MediaPipe models built once in {cold_models:.2f} s (not in the rows below)")
    width = max(len(r[0]) for r in rows)
    print(f"{'step':{width}s}  {'median s':>9s} {'min s':>7s} {'max s':>7s}")
    for name, med, lo, hi in rows:
        print(f"{name:{width}s}  {med:9.3f} {lo:7.3f} {hi:7.3f}")
    print()
    ok = True
    for pname, (kind, o) in results.items():
        med = next(r[1] for r in rows if r[0].startswith(f"render {pname} "))
        ratio = med / floor[pname][0]
        verdict = med <= 1.5 and ratio <= 3.0
        ok &= verdict
        print(
            f"{pname:18s} {kind:8s} render {med:.3f} s = {ratio:.2f}× I/O floor ({floor[pname][0]:.3f} s); "
            f"goal ≤ 1.5 s and ≤ 3×: {'met' if verdict else 'NOT met'}; offered={o.offered} "
            f"SSIM {o.report.ssim:.4f} "
            f"ΔE {o.report.delta_e:.2f} size {o.report.achieved_mm:.1f}/{o.report.stated['mm']:.1f} mm"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
