"""Logging set-up: readable lines, or one JSON object per line for log collectors."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# httpx logs every request URL, and Bot API URLs contain the token.
QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler", "alembic", "transformers", "tornado.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class Redacting(logging.Formatter):
    """Wraps a formatter and blanks secrets (the bot token, as is or URL-quoted) out of every
    line it formats, the message and any traceback alike."""

    def __init__(self, inner: logging.Formatter, secrets: Sequence[str]) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = sorted({v for s in secrets if s for v in (s, quote(s, safe=""))}, key=len)

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        for secret in reversed(self.secrets):
            line = line.replace(secret, "<token>")
        return line


class QuietStreamHandler(logging.StreamHandler):
    """A stream handler whose own failures (a closed or full stream) are reported without the
    record's raw arguments: logging's default report prints them unformatted, token and all."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        if logging.raiseExceptions and sys.stderr is not None:
            error = sys.exc_info()[1]
            with contextlib.suppress(Exception):  # stderr itself is gone: nothing to do
                sys.stderr.write(
                    f"--- Logging error in {record.name}: {type(error).__name__} ---\n"
                )


def configure_logging(level: str, fmt: str = "text", secrets: Sequence[str] = ()) -> None:
    handler = QuietStreamHandler(sys.stderr)
    inner: logging.Formatter = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(Redacting(inner, secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
