"""Plates from a house style's recipe: generated, analysed, and only those that can carry jewelry kept."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

import renderer
from connector.models import PlateAnalysisCache, Shop
from connector.plategen import accept_for, add_candidate, generate_for_shop
from connector.services import Services
from connector.shops import get_or_create_shop
from connector.shopstyle import assign_style
from connector.styleedit import move_plate, shop_style
from connector.styles import PlateRecipe, PlateSpec
from tests.renderer.diffusion_helpers import tiny_models_dir

pytestmark = pytest.mark.slow

RECIPE = PlateSpec(
    id="studio-model",
    model="Ava",
    generate=PlateRecipe(model="sdxl-base-tiny", prompt="studio portrait of a woman, bare neck", seed=11,
                         width=256, height=320, steps=2, count=2),
    kinds=["necklace", "earrings"],
)  # fmt: skip


@pytest.fixture
def services(make_settings, sqlite_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    built = Services.from_settings(
        make_settings(DATABASE_URL=sqlite_url, MODELS_DIR=tiny_models_dir(tmp_path_factory))
    )
    yield built
    built.close()


def shop_with_recipe(services: Services) -> int:
    with services.db.session() as session:
        shop = get_or_create_shop(session, "genny")
        style, _ = shop_style(session, services, shop)
        assign_style(session, shop, style.model_copy(update={"plates": [*style.plates, RECIPE]}))
        return shop.id


def test_candidates_that_cannot_carry_jewelry_are_not_kept(services: Services) -> None:
    shop_id = shop_with_recipe(services)
    with services.db.session() as session:
        before = session.get(Shop, shop_id).style_version_id  # type: ignore[union-attr]

    report = generate_for_shop(services, shop_id, allow_cpu=True)

    [recipe] = report.recipes
    # A random-weight model paints noise: no face, nothing to carry a necklace. Each says why.
    assert recipe.code == "none_passed" and recipe.added == ()
    assert [r.split(":")[0] for r in recipe.rejected] == ["seed 11", "seed 12"]
    assert all("no face or hand" in r or "cannot carry" in r for r in recipe.rejected)
    with services.db.session() as session:
        assert session.get(Shop, shop_id).style_version_id == before  # type: ignore[union-attr]


def test_without_a_gpu_or_weights_nothing_is_generated_and_the_report_says_why(
    services: Services, tmp_path: Path
) -> None:
    shop_id = shop_with_recipe(services)
    [no_gpu] = generate_for_shop(services, shop_id).recipes
    assert no_gpu.code == "no_cuda" and "allow_cpu" in no_gpu.detail
    missing = services.settings.model_copy(update={"MODELS_DIR": tmp_path / "empty"})
    elsewhere = Services(
        missing, services.db, services.queue, services.storage, services.cipher, services.styles
    )
    [no_weights] = generate_for_shop(elsewhere, shop_id, allow_cpu=True).recipes
    assert no_weights.code == "no_weights" and "sdxl-base-tiny" in no_weights.detail


def test_an_accepted_candidate_becomes_a_pending_plate_the_merchant_can_approve(services: Services) -> None:
    shop_id = shop_with_recipe(services)
    # A real portrait standing in for a good generation: the verdict and the roster are what is tested.
    portrait = renderer.load_image(
        (Path(resources.files("matplotlib").joinpath("mpl-data/sample_data/grace_hopper.jpg"))).read_bytes()
    ).rgb
    analysis = renderer.analyze_plate(portrait)
    assert accept_for(["necklace", "earrings"])(analysis) == (True, "carries necklace, earrings")
    assert accept_for(["ring"])(analysis)[0] is False

    plate_id = add_candidate(services, shop_id, RECIPE, portrait, 11, analysis.to_dict())

    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        style, _ = shop_style(session, services, shop)
        plate = next(p for p in style.plates if p.id == plate_id)
        assert plate.status == "pending" and plate.model == "Ava" and plate.kinds == ["necklace", "earrings"]
        assert plate not in style.active_plates("necklace")  # not used until approved
        key = (plate.image or "").removeprefix("storage:")
        stored = renderer.load_image(services.storage.get(key)).rgb
        assert np.array_equal(stored, portrait)  # lossless: the plate is exactly what was generated
        assert (
            session.scalar(select(PlateAnalysisCache).where(PlateAnalysisCache.shop_id == shop_id))
            is not None
        )
        assert move_plate(session, services, shop, plate_id, "approve").code == "changed"
        approved, _ = shop_style(session, services, shop)
        assert plate_id in [p.id for p in approved.active_plates("earrings")]
