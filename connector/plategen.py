"""Generate a house style's model plates from its recipes, once, on a GPU; keep those that can carry jewelry.

A recipe plate (`generate:` in the style) names a prompt, seed and model folder. Its candidates are generated
(seed, seed + 1, ...), each goes through the renderer's plate analysis, and those on which every kind the
recipe is meant for can be placed are stored and added to the roster as `pending` plates: the merchant
approves or rejects them in the admin like any draft. Without a GPU or the weights nothing is generated and
the report says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

import renderer
from connector.models import PlateAnalysisCache, Shop
from connector.platecheck import analysis_key
from connector.services import Services
from connector.styleedit import add_plate, shop_style
from connector.styles import PlateSpec
from renderer.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecipeReport:
    """What generating one recipe plate did: `code` added, none_passed, or the skip code (no_cuda, ...)."""

    recipe: str
    code: str
    added: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    detail: str = ""


@dataclass
class GenerationReport:
    shop: str
    recipes: list[RecipeReport] = field(default_factory=list)


def accept_for(kinds: list[str]) -> Any:
    """Return the verdict a candidate must pass: a face with its scale, and room for every wanted kind."""

    def accept(analysis: renderer.PlateAnalysis) -> tuple[bool, str]:
        if analysis.px_per_mm is None:
            return False, "no face or hand with a measurable scale (iris, interpupillary distance, finger)"
        for kind in kinds:
            capability = analysis.capability(kind)
            if not capability.ok:
                return False, f"cannot carry {kind}: {capability.message}"
        return True, f"carries {', '.join(kinds)}"

    return accept


def add_candidate(
    services: Services, shop_id: int, recipe: PlateSpec, image_rgb: Any, seed: int, analysis: dict[str, Any]
) -> str | None:
    """Store an accepted candidate and add it to the shop's roster as a pending plate; return its plate id."""
    data = renderer.encode_image(image_rgb, "png", 100)
    digest = renderer.content_hash(data)
    key = f"shops/{shop_id}/plates/{digest}.png"
    services.storage.put(key, data, "image/png")
    try:
        with services.db.session() as session:
            session.add(
                PlateAnalysisCache(shop_id=shop_id, content_hash=analysis_key(data, None), analysis=analysis)
            )
    except IntegrityError:
        pass  # the same picture was analysed before
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise InputError(f"shop {shop_id}: not found")
        change = add_plate(
            session,
            services,
            shop,
            image_key=key,
            sha256=digest,
            model=recipe.model or recipe.id,
            kinds=list(recipe.kinds),
            status="pending",
        )
    if change.style is None:
        return None
    added = next((p.id for p in change.style.plates if p.image == f"storage:{key}"), None)
    log.info("generated plate %s (seed %d) from recipe %s: %s", added, seed, recipe.id, change.code)
    return added


def generate_for_shop(
    services: Services,
    shop_id: int,
    *,
    device: str = "auto",
    allow_cpu: bool = False,
    count: int | None = None,
) -> GenerationReport:
    """Generate candidates for every recipe plate of the shop's style; add the accepted ones as pending."""
    from renderer.diffusion import PlateRecipe, generate_candidates, refinement_pipeline

    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise InputError(f"shop {shop_id}: not found")
        style, _version = shop_style(session, services, shop)
        report = GenerationReport(shop.domain)
    recipes = [p for p in style.plates if p.generate is not None and p.status != "retired"]
    for plate in recipes:
        spec = plate.generate
        assert spec is not None
        pipeline, skip = refinement_pipeline(
            models_dir=services.settings.MODELS_DIR,
            model=spec.model,
            device=device,
            allow_cpu=allow_cpu,
            task="text2image",
            compile=services.settings.GPU_COMPILE,
        )
        if skip is not None:
            report.recipes.append(RecipeReport(plate.id, skip["code"], detail=skip["reason"]))
            continue
        recipe = PlateRecipe(
            prompt=spec.prompt,
            negative_prompt=spec.negative_prompt,
            seed=spec.seed,
            width=spec.width,
            height=spec.height,
            steps=spec.steps,
            guidance=spec.guidance,
            model=spec.model,
        )
        candidates = generate_candidates(
            recipe,
            pipeline=pipeline,
            analyze=renderer.analyze_plate,
            accept=accept_for(list(plate.kinds)),
            count=count or spec.count,
        )
        added, rejected = [], []
        for candidate in candidates:
            if not candidate.accepted:
                rejected.append(f"seed {candidate.seed}: {candidate.reason}")
                continue
            plate_id = add_candidate(
                services, shop_id, plate, candidate.image, candidate.seed, candidate.analysis.to_dict()
            )
            if plate_id is not None:
                added.append(plate_id)
        code = "added" if added else "none_passed"
        report.recipes.append(RecipeReport(plate.id, code, tuple(added), tuple(rejected)))
    return report
