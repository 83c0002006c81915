"""The render step turns a request into one result per plate; a GPU device adds refinement or says why not."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from connector.render_step import make_render_step
from connector.renderjob import PlateInput, RenderRequest
from connector.settings import load_settings
from connector.shopstyle import plate_image_bytes
from connector.storage import LocalStorage
from connector.styles import load_styles
from renderer.errors import InputError

pytestmark = pytest.mark.slow


def request(tmp_path: Path) -> RenderRequest:
    settings = load_settings(DATA_DIR=tmp_path)
    style = load_styles(settings.STYLES_DIR)["studio"]
    style = style.model_copy(update={"output": style.output.model_copy(update={"width": 512, "height": 640})})
    plates = []
    for spec in style.active_plates("earrings"):
        data = plate_image_bytes(spec, settings.STYLES_DIR, LocalStorage(tmp_path))
        plates.append(PlateInput(spec, data, hashlib.sha256(data).hexdigest(), None))
    photo = resources.files("renderer").joinpath("samples", "drop_earrings.png").read_bytes()
    return RenderRequest(photo, "earrings", None, tuple(plates), style)


def test_the_cpu_step_renders_every_plate_and_hands_back_the_analyses_to_cache(tmp_path: Path) -> None:
    results = make_render_step("cpu")(request(tmp_path))
    assert [r.plate_id for r in results] == ["grace", "eileen"]
    for result in results:
        assert result.offered and result.image is not None and result.image[:2] == b"\xff\xd8"  # a JPEG
        assert result.thumbnail is not None and len(result.thumbnail) < len(result.image)
        assert result.analysis is not None and result.report["kind"] == "earrings"
        assert "refinement" not in result.report
        assert (result.width, result.height) == (512, 640) or result.report[
            "notes"
        ]  # smaller plate: said why


def test_a_gpu_device_refines_or_reports_why_it_could_not(tmp_path: Path) -> None:
    results = make_render_step("cuda", models_dir=tmp_path / "no-weights-here")(request(tmp_path))
    for result in results:
        refinement = result.report["refinement"]
        assert refinement["refinement"] == "skipped" and refinement["code"] in (
            "no_torch",
            "no_cuda",
            "no_weights",
        )
        assert result.offered  # the CPU image stands


def test_a_gpu_worker_reports_its_render_throughput(tmp_path: Path, make_settings) -> None:  # type: ignore[no-untyped-def]
    from connector.services import Services
    from connector.worker import Worker

    services = Services.from_settings(make_settings(DATA_DIR=tmp_path / "var"))
    worker = Worker(services, device="cuda", render_step=make_render_step("cuda", models_dir=tmp_path))
    job = request(tmp_path)
    assert len(worker.render(job)) == len(job.plates)
    summary = worker.throughput.summary()
    assert summary["items"] == len(job.plates) and summary["failed"] == 0 and summary["per_second"] > 0
    assert Worker(services).throughput is None  # the CPU worker does not count
    services.close()


def test_an_unknown_device_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="--device 'tpu': expected cpu, cuda or cuda:N"):
        make_render_step("tpu")
