"""Plate generation: a recipe and seed give one plate; only candidates the analysis accepts are kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from renderer.diffusion import PlateRecipe, generate_candidates, generate_plates, load_pipeline
from renderer.errors import InputError
from tests.renderer.diffusion_helpers import tiny_models_dir

RECIPE = PlateRecipe(prompt="studio portrait of a woman, bare neck", seed=40, width=64, height=80, steps=2)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tiny_models_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def plates(models_dir):
    return load_pipeline(models_dir, "sdxl-base-tiny", task="text2image")


@dataclass(frozen=True)
class Stats:
    """A real, deterministic reading of a plate: where its brightest band of rows sits, and its contrast.

    Stands in for the renderer's plate analysis (face, iris, anchors), which random-weight plates would
    never pass; the filtering logic under test is the same.
    """

    bright_row: int
    contrast: float


def accept_all(stats: Stats) -> tuple[bool, str]:
    return True, "ok"


def analyze(image: np.ndarray) -> Stats:
    luminance = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return Stats(bright_row=int(np.argmax(luminance.mean(axis=1))), contrast=float(luminance.std()))


def test_the_same_recipe_and_seed_give_the_same_plate(plates):
    first = generate_candidates(RECIPE, pipeline=plates, analyze=analyze, accept=accept_all, count=2)
    again = generate_candidates(RECIPE, pipeline=plates, analyze=analyze, accept=accept_all, count=2)

    assert [c.seed for c in first] == [40, 41]
    for a, b in zip(first, again, strict=True):
        assert a.image.shape == (80, 64, 3) and a.image.dtype == np.uint8
        assert np.array_equal(a.image, b.image)
    assert not np.array_equal(first[0].image, first[1].image)
    # Candidate i is the plate of seed + i on its own: candidate 1 here is candidate 0 of a run at seed 41.
    shifted = PlateRecipe(**{**RECIPE.__dict__, "seed": 41})
    alone = generate_candidates(shifted, pipeline=plates, analyze=analyze, accept=accept_all, count=1)
    assert np.array_equal(alone[0].image, first[1].image)


def test_only_candidates_the_analysis_accepts_are_kept_with_their_reasons(plates):
    everything = generate_candidates(RECIPE, pipeline=plates, analyze=analyze, accept=accept_all, count=6)
    contrasts = sorted(c.analysis.contrast for c in everything)
    assert len(set(contrasts)) == 6  # each seed gives a different plate
    threshold = (contrasts[2] + contrasts[3]) / 2  # half pass, half fail

    def accept(stats: Stats) -> tuple[bool, str]:
        if stats.contrast < threshold:
            return False, f"contrast {stats.contrast:.2f} below {threshold:.2f}: anchors not found"
        return True, f"contrast {stats.contrast:.2f}: anchors found"

    kept = generate_plates(RECIPE, pipeline=plates, analyze=analyze, accept=accept, count=6)
    expected = [c.seed for c in everything if c.analysis.contrast >= threshold]
    assert [c.seed for c in kept] == expected and len(kept) == 3
    assert all(c.accepted and "anchors found" in c.reason for c in kept)
    for c in kept:
        assert c.analysis == analyze(c.image) and c.recipe == RECIPE and c.seconds > 0

    verdicts = generate_candidates(RECIPE, pipeline=plates, analyze=analyze, accept=accept, count=6)
    rejected = [c for c in verdicts if not c.accepted]
    assert len(rejected) == 3 and all("anchors not found" in c.reason for c in rejected)


def test_an_accept_that_returns_something_else_is_a_bug(plates):
    with pytest.raises(TypeError, match=r"accept must return \(bool, str\)"):
        generate_plates(RECIPE, pipeline=plates, analyze=analyze, accept=lambda s: True, count=1)


def test_an_inpainting_pipeline_is_refused_for_plates(models_dir):
    refiner = load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint")
    with pytest.raises(InputError, match=r"not a text-to-image pipeline.*task='text2image'"):
        generate_plates(RECIPE, pipeline=refiner, analyze=analyze, accept=lambda s: (True, ""), count=1)


@pytest.mark.parametrize("count", [0, 65, 2.0, True])
def test_count_is_checked(plates, count):
    with pytest.raises(InputError, match="count must be an integer"):
        generate_plates(RECIPE, pipeline=plates, analyze=analyze, accept=lambda s: (True, ""), count=count)


def test_a_recipe_reads_from_a_house_style_mapping():
    recipe = PlateRecipe.from_mapping(
        {
            "prompt": "portrait",
            "negative_prompt": "blurry",
            "seed": 7,
            "width": 1024,
            "height": 1280,
            "steps": 4,
            "guidance": 0,
            "model": "flux-schnell",
        },
        where="house-styles/minimal.yaml plates[0].recipe",
    )
    assert recipe == PlateRecipe("portrait", "blurry", 7, 1024, 1280, 4, 0, "flux-schnell")
    assert PlateRecipe.from_mapping({"prompt": "portrait"}).model == "sdxl-lightning"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"prompt": "p", "sede": 3}, r"style\.yaml recipe has unknown key\(s\) sede; known: guidance"),
        ({"seed": 3}, r"style\.yaml recipe: .*prompt"),
        ({"prompt": ""}, "prompt must be a non-empty string"),
        ({"prompt": "p", "width": 1000}, "width must be a multiple of 16"),
        ({"prompt": "p", "height": 8192}, r"height must be a multiple of 16 in \[64, 4096\]"),
        ({"prompt": "p", "seed": -5}, "seed must be an integer"),
        ({"prompt": "p", "seed": "7"}, "seed must be an integer"),
        ({"prompt": "p", "steps": 0}, "steps must be an integer"),
        ({"prompt": "p", "guidance": -1}, "guidance must be a number >= 0"),
        ({"prompt": "p", "guidance": float("nan")}, "guidance must be a number >= 0"),
        ({"prompt": "p", "model": "../weights"}, "model must be a folder name"),
        ({"prompt": "p", "negative_prompt": None}, "negative_prompt must be a string"),
    ],
)
def test_bad_recipes_name_the_file_and_key(data, message):
    with pytest.raises(InputError, match=message):
        PlateRecipe.from_mapping(data, where="style.yaml recipe")


def test_a_recipe_must_be_a_mapping():
    with pytest.raises(InputError, match=r"style\.yaml recipe must be a mapping"):
        PlateRecipe.from_mapping(["portrait"], where="style.yaml recipe")  # type: ignore[arg-type]
