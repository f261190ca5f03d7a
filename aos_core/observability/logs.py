"""Structured logs: one event per step outcome, and the run, step and trace ids on every line.

AOS logs through the standard `logging` module, under the logger `aos` (step outcomes on
`aos.steps`), and configures nothing by itself. `configure_logging()` installs a handler that
writes JSON Lines when its stream is not a terminal (a service, a pipe, a file) and short text
lines on a terminal. While a step runs, every record (AOS's or a skill's own, on any logger) gets
the run id, step id and trace id of that step, and is redacted with the runtime's secrets: a
secret's value never reaches a log line, in any encoding AOS redacts.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import IO, Any

__all__ = ["STEP_LOGGER", "StepContext", "configure_logging", "current", "step_logger"]

STEP_LOGGER = "aos.steps"


class StepContext:
    """What every log record made while a step runs is given: its ids and the secrets to redact."""

    __slots__ = ("run_id", "secrets", "span_id", "step_id", "trace_id")

    def __init__(self, run_id: str | None, step_id: str, trace_id: str | None, span_id: str | None, secrets: Any):
        self.run_id = run_id
        self.step_id = step_id
        self.trace_id = trace_id
        self.span_id = span_id
        self.secrets = secrets


current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("aos_step", default=None)


def step_logger() -> logging.Logger:
    return logging.getLogger(STEP_LOGGER)


class _Ids(logging.Filter):
    """Adds the current step's ids to a record (unless the record brought its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        step = current.get()
        if step is not None:
            for name in ("run_id", "step_id", "trace_id", "span_id"):
                if getattr(record, name, None) is None:
                    setattr(record, name, getattr(step, name))
        return True


_FIELDS = ("run_id", "step_id", "trace_id", "span_id")
_EVENT_FIELDS = ("event", "skill", "ok", "code", "category", "attempts", "duration_ms", "cost")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, and an event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in (*_FIELDS, *_EVENT_FIELDS):
            value = getattr(record, name, None)
            if value is not None or name in _FIELDS:
                data[name] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return _redact(json.dumps(data, ensure_ascii=False, default=str))


class Text(logging.Formatter):
    """A short line for a person at a terminal, the ids at the end."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{n}={getattr(record, n)}" for n in _FIELDS if getattr(record, n, None))
        line = f"{record.levelname.lower():7} {record.name}: {record.getMessage()}" + (f"  [{ids}]" if ids else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return _redact(line)


def _redact(text: str) -> str:
    step = current.get()
    if step is not None and step.secrets is not None and step.secrets.active:
        return str(step.secrets.redact_text(text))
    return text


def configure_logging(
    level: int | str = "INFO", stream: IO[str] | None = None, json_lines: bool | None = None
) -> logging.Handler:
    """Send AOS's logs (logger `aos`) to `stream` (default stderr), as JSON Lines unless the
    stream is a terminal (`json_lines` decides instead when given); returns the handler, which
    replaces one this function installed before. Records of other loggers made during a step
    also get the step's ids when they reach a handler this function made."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not (hasattr(stream, "isatty") and stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines() if json_lines else Text())
    handler.addFilter(_Ids())
    handler.set_name("aos")
    logger = logging.getLogger("aos")
    for old in [h for h in logger.handlers if h.get_name() == "aos"]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
