"""benchmarks/gpu.py runs end to end on CPU with the tiny components, so CI keeps the GPU script working."""

from __future__ import annotations

import pytest

from benchmarks import gpu
from tests.renderer.diffusion_helpers import quiet_diffusers_imports

EAGER_CASES = [
    "floor: VAE encode+decode 64²",
    "refine 4 steps",
    "refine 8 steps",
    "refine batch of 4, 4 steps, per item",
    "plate 4 steps (64×80)",
]


@pytest.fixture(autouse=True)
def quiet():
    quiet_diffusers_imports()


def test_the_tiny_run_prints_a_table_with_the_floor_measured_in_the_same_run(capsys):
    rows = gpu.main(["--size", "tiny", "--warmup", "0", "--repeats", "1"])
    out = capsys.readouterr().out

    assert [row.case for row in rows] == EAGER_CASES
    assert all(row.compiled == "eager" and row.median > 0 and row.best <= row.median for row in rows)
    assert "| case | compile | first call s | median s | best s | × floor | goal | of which |" in out
    assert "| floor: VAE encode+decode 64² | eager |" in out and "| 1.0 |" in out
    assert "tiny components" in out and "CPU, tiny size, float32" in out


def test_a_chosen_case_runs_alone_with_its_pipeline_share_and_a_profile(capsys):
    rows = gpu.main(["--size", "tiny", "--warmup", "0", "--repeats", "2", "--cases", "refine 4", "--profile"])
    out = capsys.readouterr().out

    assert [row.case for row in rows] == ["refine 4 steps"]
    (row,) = rows
    assert row.note.endswith(" s, 64×64 crop")
    share = float(row.note.removeprefix("pipeline call ").removesuffix(" s, 64×64 crop"))
    assert 0 < share <= row.median  # the pipeline call is part of the refinement, not all of it
    assert "# profile of one 4-step refinement (eager): wall" in out
    profiled = [line for line in out.splitlines() if line.startswith("| aten::")]
    assert len(profiled) == 12 and any("conv" in line for line in profiled)


def test_the_scene_is_a_necklace_whose_band_crop_is_about_half_the_plate():
    from renderer.diffusion import band_for

    image, alpha = gpu.necklace_scene(2048, 2560)
    assert image.shape == (2560, 2048, 3) and alpha.shape == (2560, 2048)
    x0, y0, x1, y1 = band_for(alpha, band_px=16, min_side=512).box
    assert 900 <= x1 - x0 == y1 - y0 <= 1400  # a ~1024² model pass, as the issue sizes it


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        gpu.main(["--size", "tiny", "--repeats", "0"])
    assert "--repeats must be >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_the_compiled_variant_traces_the_whole_unet_and_vae_as_one_graph(capsys):
    # fullgraph=True fails on any graph break; the eager backend checks the tracing in seconds where
    # inductor would spend minutes compiling C++ on a CPU.
    arguments = ["--size", "tiny", "--warmup", "0", "--repeats", "1"]
    rows = gpu.main([*arguments, "--compile", "full", "--compile-backend", "eager"])
    compiled = [row.case for row in rows if row.compiled == "full"]
    assert compiled == [case for case in EAGER_CASES if "batch" not in case]
    assert "failed" not in capsys.readouterr().out
    # A second run adds only the compiled rows, for the cases asked for (the eager ones ran before).
    second = ["--compile", "full", "--compile-backend", "eager", "--skip-eager", "--cases", "floor,plate"]
    assert [(row.case, row.compiled) for row in gpu.main([*arguments, *second])] == [
        ("floor: VAE encode+decode 64²", "full"),
        ("plate 4 steps (64×80)", "full"),
    ]
    # As the worker compiles (automatic dynamic shapes): a crop of another shape, then the first again.
    worker = ["--compile", "regional", "--compile-backend", "eager", "--skip-eager", "--dynamic"]
    rows = gpu.main([*arguments, *worker, "--cases", "refine 4"])
    assert [(row.case, row.note.split(", ")[-1]) for row in rows] == [
        ("refine 4 steps", "64×64 crop"),
        ("refine 4 steps, another crop shape (200×80 plate)", "64×40 crop"),
        ("refine 4 steps, the first shape again", "64×64 crop"),
    ]
