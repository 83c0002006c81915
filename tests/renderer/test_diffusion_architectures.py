"""The configurations written in code are SDXL's: full size checked on the meta device (no memory)."""

from __future__ import annotations

import pytest
import torch

from renderer.diffusion import build_sdxl_pipeline, sdxl_components
from renderer.errors import InputError

# Parameter counts of stabilityai/stable-diffusion-xl-base-1.0's published components.
SDXL_PARAMETERS = {
    "unet": 2_567_463_684,
    "vae": 83_653_863,
    "text_encoder": 123_060_480,  # CLIP ViT-L/14 text tower
    "text_encoder_2": 694_659_840,  # OpenCLIP ViT-bigG/14 text tower with projection
}


@pytest.mark.slow
def test_the_full_size_components_are_sdxl_and_fit_together():
    components = sdxl_components("full", device="meta", dtype="float16")
    for name, count in SDXL_PARAMETERS.items():
        assert sum(p.numel() for p in components[name].parameters()) == count, name
        assert next(components[name].parameters()).dtype == torch.float16

    meta = {"device": "meta", "dtype": torch.float16}
    tokens = torch.zeros(1, 77, dtype=torch.long, device="meta")
    with torch.no_grad():
        first = components["text_encoder"](tokens, output_hidden_states=True)
        second = components["text_encoder_2"](tokens, output_hidden_states=True)
        context = torch.cat([first.hidden_states[-2], second.hidden_states[-2]], dim=-1)
        assert context.shape == (1, 77, 2048) and second.text_embeds.shape == (1, 1280)
        latents = torch.empty(1, 4, 160, 128, **meta)  # a plate 1024 wide, 1280 tall
        noise = components["unet"](
            latents,
            torch.tensor([999], device="meta"),
            encoder_hidden_states=context,
            added_cond_kwargs={"text_embeds": second.text_embeds, "time_ids": torch.empty(1, 6, **meta)},
        ).sample
        assert noise.shape == latents.shape
        assert components["vae"].decode(latents).sample.shape == (1, 3, 1280, 1024)


def test_the_tiny_inpainting_unet_takes_latents_mask_and_masked_image():
    pipeline = build_sdxl_pipeline("inpaint", "tiny", unet_in_channels=9)
    assert pipeline.unet.config.in_channels == 9
    assert pipeline.vae.config.force_upcast is False  # no float32 VAE detour, as with the fp16-fix VAE
    assert pipeline.scheduler.config.timestep_spacing == "trailing"  # SDXL-Lightning's schedule


def test_the_byte_level_tokenizer_round_trips_text():
    tokenizer = build_sdxl_pipeline("text2image", "tiny").tokenizer
    ids = tokenizer("gold hoop earrings").input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True).replace(" ", "") == "goldhoopearrings"


@pytest.mark.parametrize(
    ("task", "size", "channels", "message"),
    [
        ("inpaint", "huge", 4, "size must be 'tiny' or 'full'"),
        ("upscale", "tiny", 4, "task must be"),
        ("text2image", "tiny", 9, "needs a 4-channel UNet"),
    ],
)
def test_bad_architecture_requests_are_refused(task, size, channels, message):
    with pytest.raises(InputError, match=message):
        build_sdxl_pipeline(task, size, unet_in_channels=channels)
