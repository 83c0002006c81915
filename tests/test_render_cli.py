"""`worn render`: the renderer alone from the command line — images, contact sheet, report; clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from webhooks.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = resources.files("renderer").joinpath("samples")


@pytest.mark.slow
def test_a_pendant_on_the_default_style(tmp_path: Path) -> None:
    photo = tmp_path / "pendant.png"
    photo.write_bytes(SAMPLES.joinpath("pendant_necklace.png").read_bytes())
    out = tmp_path / "out"
    env = {**os.environ, "DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "webhooks.cli", "render", str(photo), "--kind", "pendant", "--size", "45 cm",
               "--out", str(out)]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "grace          offered" in result.stdout
    report = json.loads((out / "pendant-report.json").read_text())
    [grace] = report["renders"]  # the astronaut plate carries earrings only in the default style
    assert grace["plate"] == "grace" and grace["offered"] and grace["file"] == "pendant-grace.jpg"
    assert grace["report"]["ssim"] >= 0.97 and grace["report"]["delta_e"] <= 6
    assert abs(grace["report"]["achieved_mm"] - 450) <= 45  # ±10% of the stated 45 cm
    assert (out / "pendant-grace.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert (out / report["contact_sheet"]).stat().st_size > 10_000
    assert list((tmp_path / "var" / "plate-cache").glob("*.json")), (
        "the plate analysis is cached for next time"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["missing.png", "--kind", "ring"],
            "worn render: photo 'missing.png': cannot be read (No such file or directory)",
        ),
        (["empty.png", "--kind", "pendant"], "worn render: "),
        (
            ["ok.png", "--kind", "pendant", "--size", "very long"],
            "worn render: --size 'very long': not a size Worn reads for a pendant",
        ),
        (
            ["ok.png", "--kind", "ring"],
            "worn render: house style 'studio' has no approved plate that carries ring",
        ),
        (
            ["ok.png", "--kind", "pendant", "--style", "gala"],
            "worn render: --style 'gala': no such house style",
        ),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "ok.png").write_bytes(SAMPLES.joinpath("pendant_necklace.png").read_bytes())
    assert main(["render", *argv, "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_an_unknown_kind_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["render", "x.png", "--kind", "tiara"])
    assert exit_.value.code == 2
    assert "invalid choice: 'tiara'" in capsys.readouterr().err
