"""Pipelines load from MODELS_DIR/<name>/ offline, once per process; bad folders get a clear ConfigError."""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline

from renderer.diffusion import (
    build_sdxl_pipeline,
    clear_pipeline_cache,
    compile_pipeline,
    cuda_available,
    load_pipeline,
    refine,
    refinement_pipeline,
    resolve_device,
    resolve_dtype,
)
from renderer.errors import ConfigError
from tests.renderer.diffusion_helpers import composite, tiny_models_dir


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tiny_models_dir(tmp_path_factory)


@pytest.fixture
def no_network(monkeypatch):
    """Make every socket connection fail, so a load that tried to reach a hub would raise."""

    def refuse(self, address):
        raise OSError(f"network access attempted during an offline load: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_pipeline_cache()
    yield
    clear_pipeline_cache()


def test_a_saved_pipeline_loads_offline_on_cpu_in_float32_with_the_same_weights(models_dir, no_network):
    pipeline = load_pipeline(models_dir, "sdxl-base-tiny", task="text2image")

    assert isinstance(pipeline, StableDiffusionXLPipeline)
    assert pipeline.device.type == "cpu" and pipeline.dtype == torch.float32
    # The same seeded output as the pipeline built in memory: the weights were loaded, not re-drawn.
    built = build_sdxl_pipeline("text2image", "tiny", seed=0)
    call = {"prompt": "gold", "height": 64, "width": 64, "num_inference_steps": 2, "output_type": "np"}
    loaded_out = pipeline(**call, generator=torch.Generator().manual_seed(3)).images
    built_out = built(**call, generator=torch.Generator().manual_seed(3)).images
    np.testing.assert_allclose(loaded_out, built_out, atol=1e-5)


def test_a_pipeline_is_loaded_once_per_process_and_kept_warm(models_dir):
    first = load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint")
    assert load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint", device="cpu") is first
    clear_pipeline_cache()
    assert load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint") is not first


def test_one_text_to_image_folder_serves_inpainting_with_shared_modules(models_dir, no_network):
    plates = load_pipeline(models_dir, "sdxl-base-tiny", task="text2image")
    refiner = load_pipeline(models_dir, "sdxl-base-tiny", task="inpaint")

    assert isinstance(refiner, StableDiffusionXLInpaintPipeline)
    assert refiner.unet is plates.unet and refiner.vae is plates.vae


def test_a_missing_folder_names_the_folder_and_what_to_put_there(tmp_path):
    with pytest.raises(ConfigError, match=rf"{tmp_path / 'sdxl-lightning'} does not exist.*diffusers-format"):
        load_pipeline(tmp_path, "sdxl-lightning", task="inpaint")


def test_an_unset_models_dir_says_so():
    with pytest.raises(ConfigError, match="MODELS_DIR is not set"):
        load_pipeline(None, "sdxl-lightning", task="inpaint")


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", ""])
def test_a_model_name_must_be_a_plain_folder_name(tmp_path, name):
    with pytest.raises(ConfigError, match="plain folder name"):
        load_pipeline(tmp_path, name, task="inpaint")


def test_a_folder_without_model_index_is_not_a_pipeline(tmp_path):
    (tmp_path / "loose-weights").mkdir()
    (tmp_path / "loose-weights" / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(ConfigError, match=r"loose-weights has no model_index\.json"):
        load_pipeline(tmp_path, "loose-weights", task="inpaint")


def test_an_unreadable_model_index_is_reported(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model_index.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"broken: model_index\.json cannot be read as JSON"):
        load_pipeline(tmp_path, "broken", task="inpaint")


def test_a_missing_component_folder_is_named(models_dir, tmp_path):
    shutil.copytree(models_dir / "sdxl-inpaint-tiny", tmp_path / "partial")
    shutil.rmtree(tmp_path / "partial" / "unet")
    with pytest.raises(ConfigError, match=r"partial lacks the component folder\(s\) unet"):
        load_pipeline(tmp_path, "partial", task="inpaint")


def test_truncated_weights_are_reported_with_the_folder(models_dir, tmp_path, no_network):
    shutil.copytree(models_dir / "sdxl-inpaint-tiny", tmp_path / "truncated")
    weights = tmp_path / "truncated" / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ConfigError, match=rf"{tmp_path / 'truncated'} could not be loaded.*complete copy"):
        load_pipeline(tmp_path, "truncated", task="inpaint")


def test_a_folder_that_cannot_serve_the_task_is_reported(tmp_path):
    # An unconditional DDPM pipeline loads fine but has no inpainting or text-to-image variant.
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    from tests.renderer.diffusion_helpers import quiet_diffusers_imports

    quiet_diffusers_imports()
    unet = UNet2DModel(
        sample_size=8,
        block_out_channels=(8, 16),
        norm_num_groups=4,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
    )
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(tmp_path / "ddpm")
    for task in ("inpaint", "text2image"):
        expected = rf"ddpm holds a DDPMPipeline, which diffusers cannot run for {task}"
        with pytest.raises(ConfigError, match=expected):
            load_pipeline(tmp_path, "ddpm", task=task)


def test_an_unknown_task_is_refused(models_dir):
    with pytest.raises(ConfigError, match="task must be one of inpaint, text2image"):
        load_pipeline(models_dir, "sdxl-base-tiny", task="upscale")  # type: ignore[arg-type]


def test_devices_and_precisions_are_checked():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if cuda_available() else "cpu")
    assert resolve_dtype("cpu") == "float32"
    assert resolve_dtype("cuda") == "float16"
    assert resolve_dtype("cuda", "bfloat16") == "bfloat16"
    with pytest.raises(ConfigError, match="'tpu'"):
        resolve_device("tpu")
    with pytest.raises(ConfigError, match="'float16' is not supported on CPU"):
        resolve_dtype("cpu", "float16")
    with pytest.raises(ConfigError, match="dtype must be one of"):
        resolve_dtype("cuda", "int8")


@pytest.mark.skipif(cuda_available(), reason="this machine has a CUDA device")
def test_asking_for_cuda_without_one_is_a_config_error(models_dir):
    with pytest.raises(ConfigError, match="no CUDA device"):
        load_pipeline(models_dir, "sdxl-base-tiny", task="text2image", device="cuda")


# --- torch.compile (GPU_COMPILE) ----------------------------------------------------------------------


def compiled_modules(module: torch.nn.Module) -> int:
    """Count the submodules torch.compile has wrapped in place (Module.compile sets _compiled_call_impl)."""
    return sum(getattr(m, "_compiled_call_impl", None) is not None for m in module.modules())


def test_compile_on_load_is_applied_once_and_shared_between_tasks(models_dir):
    plates = load_pipeline(models_dir, "sdxl-base-tiny", task="text2image", compile="regional")
    blocks = compiled_modules(plates.unet)
    # The repeated transformer blocks, not the UNet as a whole; the VAE's encoder and decoder whole.
    assert blocks >= 2 and plates.unet._compiled_call_impl is None
    assert compiled_modules(plates.vae) == 2
    refiner = load_pipeline(models_dir, "sdxl-base-tiny", task="inpaint", compile="regional")
    assert refiner.unet is plates.unet and compiled_modules(refiner.unet) == blocks  # not compiled twice
    with pytest.raises(ConfigError, match="compiled 'regional' already, not 'full'"):
        load_pipeline(models_dir, "sdxl-base-tiny", task="inpaint", compile="full")


def test_without_compile_nothing_is_wrapped_and_a_bad_mode_is_refused(models_dir):
    plates = load_pipeline(models_dir, "sdxl-base-tiny", task="text2image")
    assert compiled_modules(plates.unet) == compiled_modules(plates.vae) == 0
    with pytest.raises(ConfigError, match="compile must be one of none, regional, full, got 'fast'"):
        compile_pipeline(plates, "fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="compile must be one of"):
        refinement_pipeline(models_dir=models_dir, device="cpu", allow_cpu=True, compile="fast")  # type: ignore[arg-type]


def test_the_compiled_graphs_capture_whole_and_refine_as_eager(models_dir):
    """fullgraph=True: a graph break in the UNet's blocks or the VAE (a diffusers or torch upgrade) fails
    here on CPU rather than on the GPU worker. The "eager" backend runs the captured graphs as they are."""
    image, alpha = composite()
    options = {"band_px": 4, "steps": 2, "crop_size": 64, "seed": 3}
    eager = load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint")
    expected = refine(image, alpha, pipeline=eager, **options)
    clear_pipeline_cache()
    pipeline = load_pipeline(models_dir, "sdxl-inpaint-tiny", task="inpaint")
    compile_pipeline(pipeline, "regional", backend="eager")
    try:
        result = refine(image, alpha, pipeline=pipeline, **options)
    finally:
        torch._dynamo.reset()
    assert result.refined and expected.refined
    assert np.abs(result.image.astype(int) - expected.image.astype(int)).max() <= 1
