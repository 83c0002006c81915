"""Time diffusion refinement and plate generation, eager and compiled, against a VAE floor in the same run.

Full size (the default on a CUDA machine): the real SDXL 1.0 architecture (UNet 2.6 B parameters, VAE,
both CLIP text encoders) built from configurations written in renderer/diffusion/architectures.py with
random weights (timing does not depend on the values), in float16. It measures:

- the floor: a plain VAE encode + decode of the 1024² crop (what any refinement pass costs at least);
- refinement of a 2048×2560 plate through renderer.diffusion.refine (one 1024² crop) at 4 and 8 steps,
  and a batch of 4 crops of one plate (per item);
- plate generation at 1024×1280, 4 steps (SDXL-Lightning-like: guidance 0);

eagerly, then with ``torch.compile`` (UNet, VAE encoder and decoder; ``--compile regional`` compiles only
the UNet's transformer blocks, for a faster warm-up). Goals on an H100: refinement ≤ 0.5 s, plate ≤ 1.5 s.

Tiny (``--size tiny``, and automatically without CUDA): the same cases with the tiny components at 64 px,
so CI runs the script end to end; its numbers say nothing about a GPU.

    PYTHONPATH=. python benchmarks/gpu.py                 # full size on CUDA, tiny on CPU
    PYTHONPATH=. python benchmarks/gpu.py --size tiny     # the CI run
    PYTHONPATH=. python benchmarks/gpu.py --models-dir /models --refine-model sdxl-lightning \\
        --plate-model sdxl-lightning                      # the operator's real weights instead
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from renderer.diffusion import (
    PlateRecipe,
    RefineItem,
    build_sdxl_pipeline,
    compile_pipeline,
    cuda_available,
    generate_candidates,
    load_pipeline,
    refine,
    refine_batch,
)
from renderer.diffusion.architectures import Size

# Short enough for the byte-level test tokenizer (one token per character) not to log a truncation; the
# text encoders see 77 padded tokens either way, so the timing is that of any prompt.
PROMPT = "jewelry worn on skin, soft contact shadow"
GOALS = {"refine 4 steps": 0.5, "plate 4 steps": 1.5}  # seconds on an H100, from the issue


@dataclass(frozen=True)
class Scale:
    """Sizes of one benchmark run: the plate refined, the model's crop, the band, the generated plate."""

    name: str
    plate: tuple[int, int]  # (width, height)
    crop_size: int
    band_px: int
    generated: tuple[int, int]  # (width, height)


SCALES = {
    "full": Scale("full", (2048, 2560), 1024, 16, (1024, 1280)),
    "tiny": Scale("tiny", (160, 200), 64, 2, (64, 80)),
}


@dataclass
class Row:
    case: str
    compiled: str
    first: float
    median: float
    best: float
    note: str = ""


def necklace_scene(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Return a skin-toned plate with a chain and pendant composited on it, and the piece's alpha.

    The chain hangs in a U across ~35% of the plate's width (a necklace on a 2048×2560 portrait), so
    the crop around its band is about half the plate's width, as in a real render.
    """
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    plate = np.stack([205 - 30 * ys / height, 160 - 20 * ys / height, 135 + 10 * xs / width], axis=-1)
    plate += rng.normal(0, 4, (height, width, 3))
    scale = width / 2048
    mask = np.zeros((height, width), np.uint8)
    left, right, top, drop = 0.33 * width, 0.67 * width, 0.38 * height, 0.12 * height
    t = np.linspace(0.0, 1.0, 200)
    chain = np.stack([left + (right - left) * t, top + drop * (1 - (2 * t - 1) ** 2)], axis=1)
    thickness = max(1, round(6 * scale))
    cv2.polylines(mask, [np.rint(chain).astype(np.int32)], False, (255,), thickness, cv2.LINE_AA)
    cv2.circle(
        mask, (width // 2, round(top + drop + 40 * scale)), max(2, round(40 * scale)), (255,), -1, cv2.LINE_AA
    )
    alpha = mask.astype(np.float32) / 255.0
    gold = np.array([212, 175, 55], np.float32)
    image = plate * (1 - alpha[..., None]) + gold * alpha[..., None]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), alpha


def timed(
    run: Callable[[], Any], *, warmup: int, repeats: int, sync: Callable[[], None]
) -> tuple[float, float, float]:
    """Return (first call, median, best) seconds over ``repeats`` calls after ``warmup`` untimed ones.

    The first call (which includes any compilation) is always timed; with ``warmup=0`` it also counts as
    the first of the ``repeats``.
    """

    def once() -> float:
        sync()
        began = time.perf_counter()
        run()
        sync()
        return time.perf_counter() - began

    first = once()
    for _ in range(warmup - 1):
        once()
    samples = ([first] if warmup == 0 else []) + [once() for _ in range(repeats - (warmup == 0))]
    return first, statistics.median(samples), min(samples)


def main(argv: list[str] | None = None) -> list[Row]:
    """Run the benchmark and print its table; return the rows (for the CI test)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["auto", "full", "tiny"], default="auto")
    parser.add_argument("--dtype", choices=["float16", "bfloat16"], default="float16", help="on CUDA")
    parser.add_argument(
        "--compile",
        choices=["auto", "none", "full", "regional"],
        default="auto",
        help="compiled variant to run after the eager one (auto: full on CUDA, none on CPU)",
    )
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend")
    parser.add_argument(
        "--compile-mode", default=None, help="torch.compile mode (reduce-overhead: CUDA graphs)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per case (5 full, 3 tiny)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed calls first (2 full, 1 tiny)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (tiny on CPU: 1)")
    parser.add_argument(
        "--skip-eager", action="store_true", help="run only the compiled variant (a second run's rows)"
    )
    parser.add_argument(
        "--cases", default="", help="comma-separated words: run only the cases whose names contain one"
    )
    parser.add_argument(
        "--dynamic",
        action="store_true",
        help="compile as the worker does (torch's automatic dynamic shapes, not one graph per shape) and add "
        "a refinement whose crop has another shape, then the first shape again: what a new shape costs",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after each variant, profile one 4-step refinement: where its wall time goes, CPU and GPU",
    )
    parser.add_argument("--models-dir", default=None, help="use real weights from MODELS_DIR instead")
    parser.add_argument("--refine-model", default="sdxl-lightning")
    parser.add_argument("--plate-model", default="sdxl-lightning")
    args = parser.parse_args(argv)

    import diffusers
    import torch
    from diffusers import StableDiffusionXLInpaintPipeline

    cuda = cuda_available()
    size: Size = args.size if args.size != "auto" else ("full" if cuda else "tiny")
    if size == "full" and not cuda:
        parser.error("--size full needs a CUDA device (the full UNet alone is 10 GB in float32 on CPU)")
    device = "cuda" if cuda else "cpu"
    dtype = args.dtype if cuda else "float32"
    how = args.compile if args.compile != "auto" else ("full" if cuda else "none")
    repeats = args.repeats if args.repeats is not None else (5 if size == "full" else 3)
    warmup = args.warmup if args.warmup is not None else (2 if size == "full" else 1)
    if repeats < 1 or warmup < 0:
        parser.error(f"--repeats must be >= 1 and --warmup >= 0, got {repeats} and {warmup}")
    if args.threads or (device == "cpu" and size == "tiny"):
        # Tiny models gain nothing from threads; on a shared CI core a waiting thread costs 20×.
        torch.set_num_threads(args.threads or 1)
    scale = SCALES[size]
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    began = time.perf_counter()
    plates: Any
    refiner: Any
    if args.models_dir:
        plates = load_pipeline(
            args.models_dir, args.plate_model, task="text2image", device=device, dtype=dtype
        )
        refiner = load_pipeline(
            args.models_dir, args.refine_model, task="inpaint", device=device, dtype=dtype
        )
        weights = f"{args.models_dir}/{{{args.refine_model}, {args.plate_model}}}"
    else:
        plates = build_sdxl_pipeline("text2image", size, device=device, dtype=dtype)
        # One set of modules serves both tasks, as one SDXL-Lightning folder does in production.
        # (Built directly: DiffusionPipeline.from_pipe would cast every shared module to float32.)
        refiner = StableDiffusionXLInpaintPipeline(**plates.components, requires_aesthetics_score=False)
        refiner.set_progress_bar_config(disable=True)
        weights = f"random, SDXL architecture ({size})"
    built = time.perf_counter() - began
    count = sum(p.numel() for p in plates.unet.parameters())
    parameters = f"{count / 1e9:.2f} B" if count > 1e8 else f"{count / 1e6:.2f} M"

    card = torch.cuda.get_device_name(0) if cuda else "CPU"
    print(f"# benchmarks/gpu.py — {card}, {scale.name} size, {dtype}, weights: {weights}")
    print(
        f"# torch {torch.__version__}, diffusers {diffusers.__version__}; UNet {parameters} params; "
        f"built/loaded in {built:.1f} s; {warmup} warm-up + {repeats} timed calls per case"
    )
    if size == "tiny":
        print("# tiny components: these numbers exercise the script, they say nothing about a GPU")
    print()
    print("| case | compile | first call s | median s | best s | × floor | goal | of which |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")

    image, alpha = necklace_scene(*scale.plate)
    recipe = PlateRecipe(
        prompt="studio portrait of a woman, bare neck and ears, soft light",
        seed=1,
        width=scale.generated[0],
        height=scale.generated[1],
        steps=4,
        guidance=0.0,
        model=args.plate_model,
    )
    crop = (
        torch.rand(1, 3, scale.crop_size, scale.crop_size, device=device, dtype=getattr(torch, dtype)) * 2 - 1
    )
    notes: set[str] = set()
    pipeline_calls: list[float] = []  # the pipeline call's share of each refinement, from its report
    crops: list[tuple[int, int]] = []  # the model's crop size (width, height) of each refinement

    # A landscape plate narrower than the necklace's square crop: the crop is clipped to another shape.
    wide_plate = (scale.plate[0] * 5 // 4, scale.plate[1] * 2 // 5)
    wide_image, wide_alpha = necklace_scene(*wide_plate)

    def refine_once(steps: int, scene: tuple[np.ndarray, np.ndarray] = (image, alpha)) -> None:
        result = refine(
            scene[0],
            scene[1],
            pipeline=refiner,
            prompt=PROMPT,
            band_px=scale.band_px,
            steps=steps,
            seed=0,
            strength=1.0,
            guidance=0.0,
            crop_size=scale.crop_size,
        )
        pipeline_calls.append(result.report["seconds"])
        crops.append(tuple(result.report["model_size"]))
        if not result.refined:
            notes.add(f"refinement: {result.report.get('reason')}")

    def refine_four() -> None:
        items = [RefineItem(image, alpha, seed) for seed in range(4)]
        refine_batch(
            items,
            pipeline=refiner,
            prompt=PROMPT,
            band_px=scale.band_px,
            steps=4,
            strength=1.0,
            guidance=0.0,
            crop_size=scale.crop_size,
            max_batch=4,
        )

    def floor() -> None:
        with torch.inference_mode():
            latents = refiner.vae.encode(crop).latent_dist.mode()
            refiner.vae.decode(latents)

    def plate() -> None:
        (candidate,) = generate_candidates(
            recipe,
            pipeline=plates,
            count=1,
            analyze=luminance,
            accept=lambda mean: (True, f"mean {mean:.1f}"),
        )
        if candidate.analysis is None:
            notes.add(f"plate: {candidate.reason}")

    cases: list[tuple[str, Callable[[], None], int]] = [
        (f"floor: VAE encode+decode {scale.crop_size}²", floor, 1),
        ("refine 4 steps", lambda: refine_once(4), 1),
        ("refine 8 steps", lambda: refine_once(8), 1),
        ("refine batch of 4, 4 steps, per item", refine_four, 4),
        (f"plate 4 steps ({scale.generated[0]}×{scale.generated[1]})", plate, 1),
    ]
    if args.dynamic:
        cases[2:2] = [
            (
                f"refine 4 steps, another crop shape ({wide_plate[0]}×{wide_plate[1]} plate)",
                lambda: refine_once(4, (wide_image, wide_alpha)),
                1,
            ),
            ("refine 4 steps, the first shape again", lambda: refine_once(4), 1),
        ]
    wanted = [word.strip() for word in args.cases.split(",") if word.strip()]
    cases = [case for case in cases if not wanted or any(word in case[0] for word in wanted)]
    variants = ([] if args.skip_eager and how != "none" else ["eager"]) + ([] if how == "none" else [how])
    rows: list[Row] = []
    label = {how: f"{how}, {args.compile_mode}"} if args.compile_mode else {}
    for variant in variants:
        compiled = label.get(variant, variant)
        if variant != "eager":
            # The refiner shares the modules. Static shapes (each case compiles its own) unless --dynamic.
            dynamic = None if args.dynamic else False  # None: torch's default, what the worker uses
            compile_pipeline(plates, variant, args.compile_backend, dynamic=dynamic, mode=args.compile_mode)
        floor_median = None
        for name, run, per in cases:
            if compiled != "eager" and per > 1:
                continue  # a batch-of-4 shape would cost another multi-minute compile for one row
            pipeline_calls.clear()
            try:
                first, median, best = timed(run, warmup=warmup, repeats=repeats, sync=sync)
            except Exception as exc:
                if compiled == "eager":
                    raise
                # A compiler failure must not cost the eager rows already measured on a lent GPU.
                print(f"| {name} | {compiled} | failed: {type(exc).__name__}: {str(exc)[:200]} | | | | | |")
                continue
            row = Row(name, compiled, first / per, median / per, best / per)
            if name.startswith("refine") and per == 1 and pipeline_calls:
                width, height = crops[-1]
                share = statistics.median(pipeline_calls[-repeats:])
                row.note = f"pipeline call {share:.3f} s, {width}×{height} crop"
            floor_median = floor_median or row.median
            goal = next((limit for key, limit in GOALS.items() if name.startswith(key)), None)
            verdict = (
                "" if goal is None or size == "tiny" else f"≤ {goal} {'✓' if row.median <= goal else '✗'}"
            )
            print(
                f"| {name} | {compiled} | {row.first:.3f} | {row.median:.3f} | {row.best:.3f} | "
                f"{row.median / floor_median:.1f} | {verdict} | {row.note} |",
                flush=True,
            )
            rows.append(row)
        if args.profile:
            profile(lambda: refine_once(4), compiled, sync)
    print()
    if cuda:
        print(f"# peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    for note in sorted(notes):
        print(f"# note (random weights can overflow in {dtype}; the timing is the same): {note}")
    return rows


def profile(run: Callable[[], None], compiled: str, sync: Callable[[], None], top: int = 12) -> None:
    """Print where one call's wall time goes: GPU kernel time against wall time, the operators that take the
    most CPU time themselves (launch-bound code shows up there, not in the kernels), and the Python
    functions that take the most wall time with what they call (pre- and post-processing show up there)."""
    import cProfile
    import pstats

    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    run()  # warm: the profile is of a steady call
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch_cuda() else [])
    sync()
    began = time.perf_counter()
    with torch_profile(activities=activities) as prof:
        run()
        sync()
    wall = time.perf_counter() - began
    events = prof.key_averages()
    gpu = sum(getattr(event, "self_device_time_total", 0) for event in events) / 1e6
    print(
        f"\n# profile of one 4-step refinement ({compiled}): "
        f"wall {wall:.3f} s (profiled), GPU kernels {gpu:.3f} s"
    )
    print("| operator | calls | self CPU ms | self GPU ms |")
    print("| --- | ---: | ---: | ---: |")
    ranked = sorted(events, key=lambda event: event.self_cpu_time_total, reverse=True)
    for event in ranked[:top]:
        print(
            f"| {event.key[:60]} | {event.count} | {event.self_cpu_time_total / 1e3:.1f} | "
            f"{getattr(event, 'self_device_time_total', 0) / 1e3:.1f} |"
        )
    python = cProfile.Profile()
    sync()
    python.enable()
    run()
    sync()
    python.disable()
    stats = pstats.Stats(python)
    entries = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)  # type: ignore[attr-defined]
    print(f"\n| Python function ({compiled}, under cProfile) | calls | cumulative ms | own ms |")
    print("| --- | ---: | ---: | ---: |")
    for (filename, line, function), (_, calls, own, cumulative, _) in entries[: 2 * top]:
        where = f"{'/'.join(filename.split('/')[-2:])}:{line}({function})"
        print(f"| {where[-80:]} | {calls} | {cumulative * 1e3:.1f} | {own * 1e3:.1f} |")
    print(flush=True)


def torch_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def luminance(image: np.ndarray) -> float:
    """Read a plate's mean luminance: a cheap stand-in for the plate analysis, so timing stays the model's."""
    return float(image.astype(np.float32).mean())


if __name__ == "__main__":
    main(sys.argv[1:])
