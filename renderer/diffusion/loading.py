"""Load diffusion pipelines from the operator's local model folder, once per process, and keep them warm.

``MODELS_DIR/<name>/`` holds one pipeline in diffusers format (``model_index.json`` plus one sub-folder
per component), placed there by the operator. Nothing is ever fetched from a hub: every load passes
``local_files_only=True`` on a local path, so ``HF_HUB_OFFLINE=1`` holds whether it is set or not.

One folder can serve both tasks: an SDXL text-to-image folder (e.g. SDXL-Lightning) loads as a text-to-image
pipeline for plates and, through ``from_pipe``, as an inpainting pipeline for refinement that shares the
same UNet, VAE and text encoders in memory.

torch and diffusers are imported inside the functions: ``import renderer`` never needs them.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import weakref
from pathlib import Path
from typing import Any, Literal

from renderer.errors import ConfigError

Task = Literal["inpaint", "text2image"]
TASKS: tuple[Task, ...] = ("inpaint", "text2image")
DTYPES = ("float16", "bfloat16", "float32")
#: torch.compile of a loaded pipeline: none; regional (the denoiser's repeated transformer blocks, compiled
#: once and reused: ~50 s on an H200's first refinement); full (the whole denoiser, a longer warm-up).
Compile = Literal["none", "regional", "full"]
COMPILE_MODES: tuple[Compile, ...] = ("none", "regional", "full")

_lock = threading.Lock()
# (folder, device, dtype, variant) -> the pipeline class the folder names, with weights on the device.
_loaded: dict[tuple[str, str, str, str | None], Any] = {}
# (folder, task, device, dtype, variant) -> a pipeline for the task sharing the loaded modules.
_by_task: dict[tuple[str, Task, str, str, str | None], Any] = {}
# compiled denoiser -> how it was compiled (the modules are shared between tasks: compile once). Weak: a
# module that is freed leaves, so a new one is never taken for it.
_compiled: weakref.WeakKeyDictionary[Any, Compile] = weakref.WeakKeyDictionary()


def torch_module() -> Any:
    """Import torch, or stop with what to install."""
    try:
        import torch
    except ImportError as exc:  # the CPU renderer runs without the gpu extra
        raise ConfigError(
            "torch is not installed: install the gpu extra (pip install 'worn[gpu]') to use diffusion"
        ) from exc
    return torch


def cuda_available() -> bool:
    """Tell whether torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def check_device_name(device: str) -> None:
    """Refuse a device name other than auto, cpu, cuda or cuda:N."""
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ConfigError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def resolve_device(device: str = "auto") -> str:
    """Turn ``auto`` into ``cuda`` or ``cpu`` and refuse a device this machine does not have."""
    check_device_name(device)
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device.startswith("cuda") and not cuda_available():
        raise ConfigError(f"device {device!r} was asked for, but torch sees no CUDA device on this machine")
    return device


def resolve_dtype(device: str, dtype: str | None = None) -> str:
    """Pick float16 on CUDA and float32 on CPU unless told otherwise; refuse half precision on CPU."""
    if dtype is None:
        return "float32" if device == "cpu" else "float16"
    if dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if device == "cpu" and dtype != "float32":
        raise ConfigError(f"dtype {dtype!r} is not supported on CPU (slow or missing kernels); use float32")
    return dtype


def model_folder(models_dir: str | Path | None, name: str) -> Path:
    """Return ``MODELS_DIR/<name>`` after checking it looks like a diffusers pipeline folder."""
    if models_dir is None or str(models_dir) == "":
        raise ConfigError(
            f"MODELS_DIR is not set: put the diffusers-format pipeline {name!r} in a folder "
            "and set MODELS_DIR to its parent"
        )
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ConfigError(f"model name must be a plain folder name inside MODELS_DIR, got {name!r}")
    folder = Path(models_dir).expanduser().resolve() / name
    if not folder.is_dir():
        raise ConfigError(
            f"model folder {folder} does not exist: put the diffusers-format pipeline {name!r} there "
            f"(model_index.json and one sub-folder per component) or pick another model in MODELS_DIR"
        )
    index_path = folder / "model_index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"model folder {folder} has no model_index.json: it is not a diffusers-format pipeline "
            f"(save one with pipeline.save_pretrained(folder))"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"model folder {folder}: model_index.json cannot be read as JSON ({exc})") from exc
    if not isinstance(index, dict) or not isinstance(index.get("_class_name"), str):
        raise ConfigError(
            f"model folder {folder}: model_index.json does not name a pipeline class (_class_name)"
        )
    missing = [
        key
        for key, value in index.items()
        if not key.startswith("_")
        and isinstance(value, list)
        and value[:1] != [None]
        and not (folder / key).is_dir()
    ]
    if missing:
        raise ConfigError(
            f"model folder {folder} lacks the component folder(s) {', '.join(sorted(missing))} "
            "that model_index.json lists; copy the complete pipeline"
        )
    return folder


def load_pipeline(
    models_dir: str | Path | None,
    name: str,
    *,
    task: Task,
    device: str = "auto",
    dtype: str | None = None,
    variant: str | None = None,
    compile: Compile = "none",
) -> Any:
    """Load ``MODELS_DIR/<name>`` for a task on a device, or return the one this process already holds.

    ``task`` is ``"inpaint"`` (refinement) or ``"text2image"`` (plate generation). ``dtype`` defaults to
    float16 on CUDA and float32 on CPU. ``variant`` picks weight files such as ``*.fp16.safetensors``.
    Missing or malformed weights raise :class:`ConfigError` naming the folder. ``compile`` applies
    :func:`compile_pipeline` (its cost is paid by the first call of each image shape).
    """
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    resolved = resolve_device(device)
    precision = resolve_dtype(resolved, dtype)
    folder = model_folder(models_dir, name)
    task_key = (str(folder), task, resolved, precision, variant)
    with _lock:
        pipeline = _by_task.get(task_key)
        if pipeline is None:
            base_key = (str(folder), resolved, precision, variant)
            base = _loaded.get(base_key)
            if base is None:
                base = _from_folder(folder, resolved, precision, variant)
                _loaded[base_key] = base
            pipeline = base if serves(base, task) else _convert(base, task, folder)
            _by_task[task_key] = pipeline
    compile_pipeline(pipeline, compile)
    return pipeline


def compile_pipeline(
    pipeline: Any,
    how: Compile = "regional",
    backend: str = "inductor",
    dynamic: bool | None = None,
    mode: str | None = None,
) -> None:
    """Compile a pipeline's denoiser and its VAE encoder and decoder with ``torch.compile``, in place, once.

    ``regional`` compiles only the denoiser's repeated transformer blocks (one compilation reused by every
    block: a short warm-up); ``full`` the whole denoiser, as one graph. Compilation happens on the first
    call; ``dynamic=None`` (torch's default) compiles the first image shape as it is and, when a second shape
    comes (refinement crops follow each piece's shape), once more for any shape, so a warm worker pays it
    twice. ``dynamic=False`` compiles each shape anew (the benchmark's fixed shapes). ``mode`` is
    torch.compile's (``reduce-overhead`` replays CUDA graphs; the benchmark measures it). Pipelines sharing
    the modules share the result.
    """
    if how not in COMPILE_MODES:
        raise ConfigError(f"compile must be one of {', '.join(COMPILE_MODES)}, got {how!r}")
    if how == "none":
        return
    denoiser = getattr(pipeline, "unet", None) or getattr(pipeline, "transformer", None)
    if denoiser is None:
        raise ConfigError(f"{type(pipeline).__name__} has no unet or transformer to compile")
    with _lock:
        done = _compiled.get(denoiser)
        if done is not None:
            if done != how:
                raise ConfigError(f"this pipeline's modules are compiled {done!r} already, not {how!r}")
            return
        options: dict[str, Any] = {"fullgraph": True, "dynamic": dynamic, "backend": backend}
        if mode is not None:
            options["mode"] = mode
        if how == "regional":
            denoiser.compile_repeated_blocks(**options)
        else:
            denoiser.compile(**options)
        pipeline.vae.encoder.compile(**options)
        pipeline.vae.decoder.compile(**options)
        _compiled[denoiser] = how


def clear_pipeline_cache() -> None:
    """Forget every loaded pipeline (tests; a worker that switches models)."""
    with _lock:
        _loaded.clear()
        _by_task.clear()
        _compiled.clear()


def serves(pipeline: Any, task: Task) -> bool:
    """Tell whether a pipeline can run a task: it takes a mask to inpaint, no input image for text2image."""
    parameters = inspect.signature(type(pipeline).__call__).parameters
    if task == "inpaint":
        return "mask_image" in parameters and "image" in parameters
    return "prompt" in parameters and "image" not in parameters


def _from_folder(folder: Path, device: str, dtype: str, variant: str | None) -> Any:
    torch = torch_module()
    from diffusers import DiffusionPipeline

    try:
        pipeline = DiffusionPipeline.from_pretrained(
            str(folder), dtype=getattr(torch, dtype), local_files_only=True, variant=variant
        )
    except Exception as exc:  # diffusers raises OSError, ValueError, SafetensorError... for bad folders
        raise ConfigError(
            f"model folder {folder} could not be loaded as a diffusers pipeline "
            f"({type(exc).__name__}: {exc}); replace its weights with a complete copy"
        ) from exc
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def _convert(base: Any, task: Task, folder: Path) -> Any:
    # The auto-pipeline module imports every pipeline family; import it only when a folder needs it.
    from diffusers import AutoPipelineForInpainting, AutoPipelineForText2Image

    auto = AutoPipelineForInpainting if task == "inpaint" else AutoPipelineForText2Image
    try:
        pipeline = auto.from_pipe(base)
    except ValueError as exc:
        raise ConfigError(
            f"model folder {folder} holds a {type(base).__name__}, which diffusers cannot run for {task}; "
            f"pick a model folder made for {task}"
        ) from exc
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
