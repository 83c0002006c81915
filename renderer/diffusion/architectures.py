"""Build SDXL pipelines with random weights from configurations written here: no download, no weights.

Two sizes: ``tiny`` (a few MB, runs at 64×64 in ~0.1 s on CPU: tests, CI, the benchmark's CPU mode) and
``full`` (the real SDXL 1.0 architecture, ~3.5 B parameters: timing does not depend on the weights' values,
so the GPU benchmark measures a real pass before any weights are on the machine). The configurations
follow the published ``config.json`` files of stabilityai/stable-diffusion-xl-base-1.0 (UNet, VAE, both CLIP
text encoders); the VAE is configured like madebyollin/sdxl-vae-fp16-fix (no float32 upcast), the scheduler
like SDXL-Lightning (Euler, trailing timesteps).

The tokenizer is byte-level with no merges (every byte is a token): enough to drive the text encoders
and built in memory, since transformers 5's ``CLIPTokenizer(vocab_file=...)`` silently ignores files.
"""

from __future__ import annotations

from typing import Any, Literal

from renderer.diffusion.loading import Task, torch_module
from renderer.errors import InputError

Size = Literal["tiny", "full"]

_UNET: dict[Size, dict[str, Any]] = {
    "tiny": {
        "block_out_channels": (32, 64),
        "layers_per_block": 2,
        "sample_size": 32,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "attention_head_dim": (2, 4),
        "transformer_layers_per_block": (1, 2),
        "use_linear_projection": True,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 8,
        "projection_class_embeddings_input_dim": 6 * 8 + 32,
        "cross_attention_dim": 64,
        "norm_num_groups": 1,
    },
    "full": {
        "block_out_channels": (320, 640, 1280),
        "layers_per_block": 2,
        "sample_size": 128,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        "attention_head_dim": (5, 10, 20),
        "transformer_layers_per_block": (1, 2, 10),
        "use_linear_projection": True,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 256,
        "projection_class_embeddings_input_dim": 6 * 256 + 1280,
        "cross_attention_dim": 2048,
        "norm_num_groups": 32,
    },
}

_VAE: dict[Size, dict[str, Any]] = {
    "tiny": {
        "block_out_channels": (32, 64),
        "down_block_types": ("DownEncoderBlock2D",) * 2,
        "up_block_types": ("UpDecoderBlock2D",) * 2,
        "norm_num_groups": 1,
        "sample_size": 128,
    },
    "full": {
        "block_out_channels": (128, 256, 512, 512),
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
        "layers_per_block": 2,
        "norm_num_groups": 32,
        "sample_size": 1024,
        "scaling_factor": 0.13025,
    },
}

# (first encoder: CLIP ViT-L/14 text tower, second: OpenCLIP ViT-bigG/14 text tower with projection)
_TEXT: dict[Size, tuple[dict[str, Any], dict[str, Any]]] = {
    "tiny": (
        {
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 5,
            "num_attention_heads": 4,
            "projection_dim": 32,
            "hidden_act": "gelu",
            "vocab_size": 1000,
        },
        {
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 5,
            "num_attention_heads": 4,
            "projection_dim": 32,
            "hidden_act": "gelu",
            "vocab_size": 1000,
        },
    ),
    "full": (
        {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "projection_dim": 768,
            "hidden_act": "quick_gelu",
            "vocab_size": 49408,
        },
        {
            "hidden_size": 1280,
            "intermediate_size": 5120,
            "num_hidden_layers": 32,
            "num_attention_heads": 20,
            "projection_dim": 1280,
            "hidden_act": "gelu",
            "vocab_size": 49408,
        },
    ),
}


def byte_level_tokenizer() -> Any:
    """Build a CLIP tokenizer whose vocabulary is the 256 byte symbols (word-final too) plus BOS/EOS."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    symbols = sorted(ByteLevel.alphabet())
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    vocab.update({symbol + "</w>": len(symbols) + index for index, symbol in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def sdxl_components(
    size: Size, *, unet_in_channels: int = 4, seed: int = 0, device: str = "cpu", dtype: str = "float32"
) -> dict:
    """Instantiate SDXL's components with seeded random weights, created directly on ``device`` in ``dtype``.

    ``unet_in_channels=9`` builds the UNet of an inpainting checkpoint (latents, mask, masked image).
    """
    if size not in _UNET:
        raise InputError(f"size must be 'tiny' or 'full', got {size!r}")
    torch = torch_module()
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = byte_level_tokenizer()
    special = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "max_position_embeddings": 77,
    }
    first, second = _TEXT[size]
    torch.manual_seed(seed)
    # Creating the modules under the device context and default dtype initialises the weights there, in
    # that precision: seconds on a GPU, instead of minutes of CPU init and a 14 GB float32 copy to cast.
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            unet = UNet2DConditionModel(in_channels=unet_in_channels, out_channels=4, **_UNET[size])
            vae = AutoencoderKL(
                in_channels=3, out_channels=3, latent_channels=4, force_upcast=False, **_VAE[size]
            )
            text_encoder = CLIPTextModel(CLIPTextConfig(**first, **special))
            text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**second, **special))
    finally:
        torch.set_default_dtype(default_dtype)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="trailing",
    )
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "text_encoder_2": text_encoder_2,
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer,
        "scheduler": scheduler,
    }


def build_sdxl_pipeline(
    task: Task,
    size: Size,
    *,
    unet_in_channels: int = 4,
    seed: int = 0,
    device: str = "cpu",
    dtype: str = "float32",
) -> Any:
    """Assemble an SDXL inpainting or text-to-image pipeline from random-weight components."""
    from diffusers import StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline

    components = sdxl_components(
        size, unet_in_channels=unet_in_channels, seed=seed, device=device, dtype=dtype
    )
    pipeline: Any
    if task == "inpaint":
        pipeline = StableDiffusionXLInpaintPipeline(
            **components, requires_aesthetics_score=False, force_zeros_for_empty_prompt=True
        )
    elif task == "text2image":
        if unet_in_channels != 4:
            raise InputError("a text-to-image pipeline needs a 4-channel UNet")
        pipeline = StableDiffusionXLPipeline(**components, force_zeros_for_empty_prompt=True)
    else:
        raise InputError(f"task must be 'inpaint' or 'text2image', got {task!r}")
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
