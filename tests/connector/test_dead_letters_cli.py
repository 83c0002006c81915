"""`worn dead-letters`: an operator sees what ran out of attempts and why, and puts it back."""

from __future__ import annotations

import pytest

from connector.queue import RENDER, DbQueue
from connector.services import Services
from webhooks.cli import main


def test_list_and_redrive(make_settings, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(DATABASE_URL=sqlite_url)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(settings.DATA_DIR))
    services = Services.from_settings(settings)
    queue = services.queue
    assert isinstance(queue, DbQueue)
    queue.send(RENDER, {"render_job": 7})
    [message] = queue.receive(RENDER)
    queue.fail(message, "the product photo is not an image")

    assert main(["dead-letters"]) == 0
    out = capsys.readouterr().out
    assert '{"render_job": 7}' in out and "last error: the product photo is not an image" in out

    assert main(["dead-letters", "--queue", "render", "--redrive", message.id]) == 0
    assert f"render: {message.id} is back on the queue" in capsys.readouterr().out
    assert queue.dead_letters(RENDER) == [] and queue.depth(RENDER) == 1

    assert main(["dead-letters", "--queue", "render", "--redrive", "999"]) == 2
    assert "no such dead letter on render" in capsys.readouterr().err
    services.close()
