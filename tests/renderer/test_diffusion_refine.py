"""Refinement repaints only the band: product pixels and all else stay the composite's, bit for bit."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from PIL import Image

import renderer.diffusion.refine  # noqa: F401  (the module, behind the package's `refine` function)
from renderer.diffusion import (
    DEFAULT_PROMPT,
    RefineItem,
    band_for,
    build_sdxl_pipeline,
    cuda_available,
    load_pipeline,
    refine,
    refine_batch,
    refine_batch_or_skip,
    refine_or_skip,
)
from renderer.errors import ConfigError, InputError
from tests.renderer.diffusion_helpers import composite, eroded_product_mask, tiny_models_dir

refine_module = sys.modules["renderer.diffusion.refine"]

# Tiny pipelines work at 64×64; a 32 px band on a ~60 px crop is in proportion to 16 px on a 1024² crop.
TINY = {"band_px": 4, "steps": 4, "crop_size": 64}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tiny_models_dir(tmp_path_factory)


@pytest.fixture(scope="module", params=["sdxl-inpaint-tiny", "sdxl-inpaint9-tiny"])
def inpaint(request, models_dir):
    """Both kinds of SDXL inpainting: a 4-channel UNet (latent blending) and a 9-channel checkpoint."""
    return load_pipeline(models_dir, request.param, task="inpaint")


@pytest.fixture(scope="module")
def latent_blend(models_dir):
    return load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint")


def test_product_pixels_inside_the_eroded_mask_are_the_composites_bit_for_bit(inpaint):
    image, alpha = composite()
    result = refine(image, alpha, pipeline=inpaint, seed=0, edge_px=2, lock_opaque=False, **TINY)

    assert result.refined
    locked = eroded_product_mask(alpha, 2)
    assert locked.sum() > 200
    assert np.array_equal(result.image[locked], image[locked])
    # The pass did repaint: most of the band changed.
    band = band_for(alpha, band_px=4, edge_px=2, lock_opaque=False)
    changed = (result.image != image).any(axis=-1)
    assert changed[band.region].mean() > 0.5


def test_the_model_alone_would_change_product_pixels(latent_blend):
    # Why paste-back exists: even with latent blending the crop goes through the VAE, so an inpainting
    # pass by itself moves pixels outside its mask. (If this ever stops holding, the test above still
    # guards the guarantee; this one documents that it is not free.)
    image, alpha = composite(64, 64, centre=(32, 32))
    mask = np.zeros((64, 64), np.uint8)
    mask[:16, :16] = 255  # a corner far from the piece
    raw = latent_blend(
        prompt="gold",
        image=Image.fromarray(image),
        mask_image=Image.fromarray(mask),
        height=64,
        width=64,
        num_inference_steps=4,
        strength=0.75,
        guidance_scale=0.0,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    ).images[0]
    raw = np.rint(raw * 255).astype(np.uint8)
    assert (raw[alpha >= 1.0] != image[alpha >= 1.0]).any()


def test_pixels_outside_the_band_are_unchanged(inpaint):
    image, alpha = composite(120, 100, centre=(60, 50), radius=14)
    result = refine(image, alpha, pipeline=inpaint, seed=3, shadow_px=3, **TINY)

    band = band_for(alpha, band_px=4, shadow_px=3, min_side=32)
    changed = (result.image != image).any(axis=-1)
    assert changed.any()
    assert not changed[~band.region].any()
    assert np.array_equal(result.image[band.locked], image[band.locked])
    assert result.report["band_pixels"] == band.band_pixels
    assert result.report["locked_pixels"] == band.locked_pixels
    assert result.image.shape == image.shape and result.image.dtype == np.uint8


def test_the_same_seed_gives_the_same_image_and_another_seed_another(inpaint):
    image, alpha = composite()
    first = refine(image, alpha, pipeline=inpaint, seed=11, **TINY)
    again = refine(image, alpha, pipeline=inpaint, seed=11, **TINY)
    other = refine(image, alpha, pipeline=inpaint, seed=12, **TINY)

    assert np.array_equal(first.image, again.image)
    assert not np.array_equal(first.image, other.image)


def test_a_large_plate_costs_one_model_sized_pass_over_a_crop(latent_blend):
    # A 240×300 "plate" with the piece near a corner: the model sees a 64² crop around it, not the plate.
    image, alpha = composite(240, 300, centre=(200, 40), radius=10)
    result = refine(image, alpha, pipeline=latent_blend, seed=0, **TINY)

    report = result.report
    x0, y0, x1, y1 = report["crop_box"]
    assert report["model_size"] == [64, 64]
    assert x1 - x0 == y1 - y0 < 64
    assert min(x0, y0) >= 0 and x1 <= 300 and y1 <= 240
    changed = np.argwhere((result.image != image).any(axis=-1))
    assert changed.size and changed[:, 0].min() >= y0 and changed[:, 0].max() < y1
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x1
    assert report["device"] == "cpu" and report["dtype"] == "float32"
    assert report["steps"] == 4 and report["denoising_steps"] == 3 and report["seconds"] > 0


def test_a_batch_gives_each_item_its_own_seeded_result_in_order(latent_blend):
    image_a, alpha_a = composite()
    image_b, alpha_b = composite(120, 100, centre=(60, 50), radius=15)
    items = [RefineItem(image_a, alpha_a, 0), RefineItem(image_b, alpha_b, 5)]
    items.append(RefineItem(image_a, alpha_a, 3))
    batch = refine_batch(items, pipeline=latent_blend, max_batch=4, **TINY)

    assert [result.report["seed"] for result in batch] == [0, 5, 3]
    assert all(result.report["batch_size"] == 3 for result in batch)  # all three crops are 64²
    singles = [
        refine(item.image, item.product_alpha, pipeline=latent_blend, seed=item.seed, **TINY)
        for item in items
    ]
    for result, single in zip(batch, singles, strict=True):
        # A batched UNet pass may round differently by one level, never more.
        assert np.abs(result.image.astype(int) - single.image).max() <= 1
    # Items 0 and 3 share the composite but not the seed: they differ.
    assert np.abs(batch[0].image.astype(int) - batch[2].image).max() > 8
    for item, result in zip(items, batch, strict=True):
        band = band_for(item.product_alpha, band_px=4, min_side=32)
        assert np.array_equal(result.image[~band.region], item.image[~band.region])


def test_non_finite_model_output_keeps_the_composite_and_says_why():
    pipeline = build_sdxl_pipeline("inpaint", "tiny")
    with torch.no_grad():
        pipeline.vae.decoder.conv_out.bias.fill_(float("nan"))  # what an fp16 VAE overflow looks like
    image, alpha = composite()
    result = refine(image, alpha, pipeline=pipeline, seed=0, **TINY)

    assert not result.refined
    assert result.report["code"] == "nonfinite_output" and "fp16" in result.report["reason"]
    assert np.array_equal(result.image, image)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"steps": 2, "strength": 0.4}, r"steps × strength >= 1"),
        ({"strength": 1.5}, r"strength must be in \(0, 1\]"),
        ({"crop_size": 100}, "crop_size must be a multiple of 8"),
        ({"guidance": -1.0}, "guidance must be >= 0"),
        ({"prompt": " "}, "prompt must be a non-empty string"),
        ({"seed": -1}, r"seed must be an integer in \[0, 2\*\*63\)"),
        ({"band_px": 0}, "band_px must be an integer >= 1"),
    ],
)
def test_bad_settings_are_refused_before_any_model_runs(latent_blend, kwargs, message):
    image, alpha = composite()
    settings = {**TINY, "seed": 0, **kwargs}
    with pytest.raises(InputError, match=message):
        refine(image, alpha, pipeline=latent_blend, **settings)


def test_a_text_to_image_pipeline_is_refused_for_refinement(models_dir):
    image, alpha = composite()
    plates = load_pipeline(models_dir, "sdxl-base-tiny", task="text2image")
    with pytest.raises(InputError, match=r"not an inpainting pipeline.*task='inpaint'"):
        refine(image, alpha, pipeline=plates, seed=0, **TINY)


def test_missing_weights_skip_refinement_with_the_folder_named(tmp_path):
    image, alpha = composite()
    result = refine_or_skip(image, alpha, models_dir=tmp_path, model="sdxl-lightning", allow_cpu=True)

    assert not result.refined
    assert result.report["refinement"] == "skipped" and result.report["code"] == "no_weights"
    assert str(tmp_path / "sdxl-lightning") in result.report["reason"]
    assert result.image is image


def test_malformed_weights_skip_refinement_with_the_folder_named(tmp_path):
    (tmp_path / "half-copied").mkdir()
    image, alpha = composite()
    result = refine_or_skip(image, alpha, models_dir=tmp_path, model="half-copied", allow_cpu=True)
    assert result.report["code"] == "no_weights" and "no model_index.json" in result.report["reason"]
    assert result.image is image


@pytest.mark.skipif(cuda_available(), reason="this machine has a CUDA device")
def test_without_cuda_refinement_is_skipped_unless_cpu_is_allowed(models_dir):
    image, alpha = composite()
    skipped = refine_or_skip(image, alpha, models_dir=models_dir, model="sdxl-inpaint-tiny")
    assert skipped.report["code"] == "no_cuda" and "allow_cpu=True" in skipped.report["reason"]
    assert skipped.image is image

    asked = refine_or_skip(image, alpha, models_dir=models_dir, model="sdxl-inpaint-tiny", device="cuda")
    assert asked.report["code"] == "no_cuda" and "'cuda' was asked for" in asked.report["reason"]

    done = refine_or_skip(
        image, alpha, models_dir=models_dir, model="sdxl-inpaint-tiny", allow_cpu=True, **TINY
    )
    assert done.refined and done.report["device"] == "cpu"
    direct = refine(
        image, alpha, pipeline=load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint"), seed=0, **TINY
    )
    assert np.array_equal(done.image, direct.image)


@pytest.mark.skipif(cuda_available(), reason="this machine has a CUDA device")
def test_a_batch_is_refined_in_one_go_or_each_item_skipped_with_the_reason(models_dir, tmp_path):
    image_a, alpha_a = composite()
    image_b, alpha_b = composite(120, 100, centre=(60, 50), radius=15)
    items = [RefineItem(image_a, alpha_a, 1), RefineItem(image_b, alpha_b, 2)]

    skipped = refine_batch_or_skip(items, models_dir=tmp_path, model="missing")
    assert [r.report["code"] for r in skipped] == ["no_cuda", "no_cuda"]
    assert skipped[0].image is image_a and skipped[1].image is image_b
    no_weights = refine_batch_or_skip(items, models_dir=tmp_path, model="missing", allow_cpu=True)
    assert all(r.report["code"] == "no_weights" and "missing" in r.report["reason"] for r in no_weights)

    done = refine_batch_or_skip(
        items, models_dir=models_dir, model="sdxl-inpaint-tiny", allow_cpu=True, **TINY
    )
    pipeline = load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint")
    direct = refine_batch(items, pipeline=pipeline, **TINY)
    assert [r.report["seed"] for r in done] == [1, 2]
    for ours, theirs in zip(done, direct, strict=True):
        assert np.array_equal(ours.image, theirs.image)


def test_misconfiguration_is_not_mistaken_for_missing_weights(models_dir):
    image, alpha = composite()
    with pytest.raises(ConfigError, match="device must be"):
        refine_or_skip(image, alpha, models_dir=models_dir, device="tpu")
    with pytest.raises(ConfigError, match="not supported on CPU"):
        refine_or_skip(
            image,
            alpha,
            models_dir=models_dir,
            model="sdxl-inpaint-tiny",
            device="cpu",
            dtype="float16",
            allow_cpu=True,
        )
    with pytest.raises(InputError, match="product_alpha"):
        refine_or_skip(image, alpha[:10], models_dir=models_dir)


# --- the prompt's embeddings, computed once -----------------------------------------------------------


def text_prompt(pipeline, parameters, options, batch):
    """What refinement passed before the embeddings were cached: the prompt as text, for every crop."""
    arguments = {"prompt": [options.prompt] * batch}
    if options.guidance > 1.0:
        arguments["negative_prompt"] = [options.negative_prompt] * batch
    return arguments


@pytest.mark.parametrize("guidance", [0.0, 3.0])
def test_cached_prompt_embeddings_refine_as_the_prompt_text_does(latent_blend, monkeypatch, guidance):
    image_a, alpha_a = composite()
    image_b, alpha_b = composite(100, 90, centre=(50, 45), radius=14)
    items = [
        RefineItem(image_a, alpha_a, 1),
        RefineItem(image_b, alpha_b, 2),
        RefineItem(image_a, alpha_a, 3),
    ]
    refine_module._PROMPT_EMBEDDINGS.clear()
    cached = refine_batch(items, pipeline=latent_blend, guidance=guidance, **TINY)
    with monkeypatch.context() as patch:
        patch.setattr(refine_module, "_prompt_arguments", text_prompt)
        as_text = refine_batch(items, pipeline=latent_blend, guidance=guidance, **TINY)
    for with_embeddings, with_text in zip(cached, as_text, strict=True):
        assert with_embeddings.refined and with_text.refined
        # The text encoders see one prompt instead of a batch of copies: rounding may differ by a level.
        assert np.abs(with_embeddings.image.astype(int) - with_text.image).max() <= 1


def test_the_text_encoders_run_once_per_prompt(latent_blend, monkeypatch):
    refine_module._PROMPT_EMBEDDINGS.clear()
    calls = []
    encode = latent_blend.encode_prompt
    monkeypatch.setattr(
        latent_blend, "encode_prompt", lambda **kw: calls.append(kw["prompt"]) or encode(**kw)
    )
    image, alpha = composite()
    for seed in range(3):
        refine(image, alpha, pipeline=latent_blend, seed=seed, **TINY)
    refine(image, alpha, pipeline=latent_blend, seed=0, prompt="gold on skin", **TINY)
    refine(image, alpha, pipeline=latent_blend, seed=1, prompt="gold on skin", **TINY)
    # The pipeline's own call passes the embeddings back through encode_prompt (prompt None): no encoding.
    assert [prompt for prompt in calls if prompt is not None] == [DEFAULT_PROMPT, "gold on skin"]


def inpaint_through_pil(pipeline, parameters, chunk, options):
    """What refinement did before its tensors went to the device: PIL crops and masks in, the pipeline's
    own numpy output, every masked image VAE-encoded by the pipeline."""
    generators = [torch.Generator().manual_seed(entry.item.seed) for entry in chunk]
    width, height = chunk[0].model_size
    output = pipeline(
        prompt=[options.prompt] * len(chunk),
        image=[Image.fromarray(entry.crop) for entry in chunk],
        mask_image=[Image.fromarray(entry.mask, mode="L") for entry in chunk],
        height=height,
        width=width,
        num_inference_steps=options.steps,
        guidance_scale=options.guidance,
        strength=options.strength,
        generator=generators,
        output_type="np",
    ).images
    return [np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8) for image in output]


def test_device_tensors_and_skipped_masked_encode_give_the_pipelines_own_pixels(inpaint, monkeypatch):
    image_a, alpha_a = composite()
    image_b, alpha_b = composite(100, 90, centre=(50, 45), radius=14)
    items = [RefineItem(image_a, alpha_a, 4), RefineItem(image_b, alpha_b, 9)]
    refine_module._PROMPT_EMBEDDINGS.clear()
    with monkeypatch.context() as patch:
        patch.setattr(refine_module, "_prompt_arguments", text_prompt)
        fast = refine_batch(items, pipeline=inpaint, **TINY)
        patch.setattr(refine_module, "_inpaint", inpaint_through_pil)
        reference = refine_batch(items, pipeline=inpaint, **TINY)
    for ours, theirs in zip(fast, reference, strict=True):
        assert ours.refined and theirs.refined
        assert np.array_equal(ours.image, theirs.image)


def test_the_vae_encodes_the_masked_image_only_for_a_unet_that_reads_it(inpaint, monkeypatch):
    calls = []
    encode = inpaint.vae.encode
    monkeypatch.setattr(
        inpaint.vae, "encode", lambda x, *a, **kw: calls.append(x.shape) or encode(x, *a, **kw)
    )
    image, alpha = composite()
    refine(image, alpha, pipeline=inpaint, seed=0, **TINY)

    # The crop itself is encoded for both; the masked crop only for a 9-channel UNet, which takes it as input.
    assert len(calls) == (1 if inpaint.unet.config.in_channels == 4 else 2)
