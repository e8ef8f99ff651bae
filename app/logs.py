"""Logging: one JSON object per line (LOG_FORMAT=json) or readable text, with request ids."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI copy of msg
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (rid := request_id.get()) is not None:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {
            k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
        }
        if (rid := request_id.get()) is not None:
            extras["request_id"] = rid
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


class _BouncerHandler(logging.StreamHandler):  # type: ignore[type-arg]
    pass


# Loggers of the libraries bouncer runs on, held at LOG_LEVEL_LIBRARIES (WARNING) whatever
# LOG_LEVEL says: at DEBUG botocore logs every request's parameters (a subscription's
# Token, an email's body and recipients), httpx every URL at INFO (a SubscribeURL carries
# the Token), aiosqlite and SQLAlchemy every statement with its parameters (addresses),
# multipart and hpack the bytes they parse. The root logger sits at the same level, so a
# library missing from this list is held too; the list pins those that set their own.
LIBRARY_LOGGERS = (
    "boto3",
    "botocore",
    "s3transfer",
    "urllib3",
    "httpx",
    "httpcore",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "hpack",
    "h11",
    "h2",
    "multipart",
    "python_multipart",
    "watchfiles",
    "asyncio",
    "moto",
)
# bouncer's own loggers (and the server's and migrations'), which follow LOG_LEVEL.
OWN_LOGGERS = ("bouncer", "app", "uvicorn", "uvicorn.error", "alembic")


def configure_logging(log_format: str | None, level: str, libraries: str = "WARNING") -> None:
    """Route every logger through one handler in the chosen format: bouncer's at ``level``,
    the libraries' at ``libraries`` (LOG_LEVEL_LIBRARIES)."""
    if log_format is None:
        log_format = "text" if sys.stderr.isatty() else "json"
    handler = _BouncerHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    # Replace only our own handler (a second app in one process, tests' capture stays).
    root.handlers = [h for h in root.handlers if not isinstance(h, _BouncerHandler)]
    root.addHandler(handler)
    root.setLevel(libraries)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(libraries)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # Access lines would duplicate the request log bouncer writes itself.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
