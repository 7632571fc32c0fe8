"""Structured logs: one JSON object a line, which every log collector can read without a parser."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

EXTRA_FIELDS = ("job", "action", "run_id", "detail")


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, and the kpidash fields given with `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: getattr(record, k) for k in EXTRA_FIELDS if hasattr(record, k)})
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send kpidash's and APScheduler's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
