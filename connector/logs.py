"""Structured logs: JSON lines off a terminal, the shop/job/delivery ids on every line, secrets never."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("worn_log_context", default={})  # noqa: B039

# Shopify access/refresh tokens, JWTs and Fernet ciphertexts are replaced whole; for "bearer X" and
# "key=value" secrets the prefix (group 1) is kept so the line still says what was hidden.
_WHOLE = [
    re.compile(r"\bshp(?:at|ua|ca|pa|ss|rt)_[A-Za-z0-9]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"),
]
_PREFIXED = [
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|api_secret|password|hmac|x-shopify-access-token)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}]+"
    ),
]
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace tokens and secrets in `text` with '***'."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    for pattern in _WHOLE:
        text = pattern.sub("***", text)
    for pattern in _PREFIXED:
        text = pattern.sub(lambda match: match.group(1) + "***", text)
    return text


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Add ids (shop, job, delivery, ...) to every log line written inside the block."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind_context(**ids: Any) -> contextvars.Token[dict[str, Any]]:
    """Add ids to the log context until `unbind_context(token)` (for scopes that are not one block)."""
    return _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in ids.items() if v is not None}})


def unbind_context(token: contextvars.Token[dict[str, Any]]) -> None:
    """Restore the log context `bind_context` changed."""
    _CONTEXT.reset(token)


def current_context() -> dict[str, Any]:
    """Return the ids the current log context carries."""
    return dict(_CONTEXT.get())


class _ContextFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value, self.secrets))
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["error"] = redact(self.formatException(record.exc_info), self.secrets)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    """Format a record for a person at a terminal, ids appended as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        )
        when = self.formatTime(record, "%H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += f"  [{extras}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(
    level: str = "INFO", fmt: str = "auto", secrets: tuple[str, ...] = (), stream: Any = None
) -> None:
    """Send Worn's logs to `stream` (stderr): JSON unless `fmt` is 'text' or 'auto' on a terminal."""
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not getattr(stream, "isatty", lambda: False)())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(secrets) if use_json else TextFormatter())
    handler.addFilter(_ContextFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_worn", False):
            root.removeHandler(old)
    handler._worn = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in (
        "botocore",
        "boto3",
        "urllib3",
        "httpx",
        "httpcore",
        "werkzeug",
        "apscheduler",
        "alembic",
        "numba",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
