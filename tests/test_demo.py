"""`worn demo` end to end, twice: the shop ends with exactly the approved images, and a rerun changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.moto import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run_demo(home: Path, app_port: int, shop_port: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "webhooks.cli", "demo", "--short", "--data-dir", str(home),
               "--port", str(app_port), "--shop-port", str(shop_port)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATA_DIR": str(home.parent / "var")}
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=home.parent, timeout=400)


def test_the_demo_puts_each_approved_image_on_the_product_once_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "demo"
    ports = free_port(), free_port()
    first = run_demo(home, *ports)
    assert first.returncode == 0, first.stdout + first.stderr + (home / "serve.log").read_text()
    assert "Emerald drop pendant" in first.stdout and "worn demo: done in" in first.stdout
    [row] = json.loads((home / "summary.json").read_text())
    assert row["created_now"] is True
    assert row["kind"] == "pendant" and row["plates"] == "grace"
    assert row["ssim"] >= 0.97 and row["delta_e"] <= 6 and row["size_error"] <= 0.10
    assert row["webhook_to_draft_s"] is not None and row["approve_to_live_s"] is not None
    media = row["media"]
    # The merchant's photo first, then Worn's image: position "after_source", alt from the style's template.
    assert [m["created_by"] for m in media] == ["merchant", "app"]
    assert media[1]["alt"] == "Emerald drop pendant, worn by Grace\u2063"
    assert all(m["status"] == "READY" for m in media)
    assert (home / "emerald-drop-pendant-contact-sheet.jpg").stat().st_size > 10_000

    second = run_demo(home, *ports)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing new made: Emerald drop pendant" in second.stdout
    [again] = json.loads((home / "summary.json").read_text())
    assert again["created_now"] is False
    assert again["media"] == media  # the same media, none added, none removed


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_demo(tmp_path / "demo", taken.getsockname()[1], free_port())
    assert result.returncode == 2
    assert result.stderr.strip().startswith("worn demo: port ")
    assert "is taken; choose others with --port and --shop-port" in result.stderr
