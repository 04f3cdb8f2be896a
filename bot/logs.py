"""Structured logs: one JSON object per line, with the command, fan and show when known."""

from __future__ import annotations

import json
import logging
import sys

from domain import telemetry


class JsonFormatter(logging.Formatter):
    FIELDS = ("command", "fan", "show", "guild")

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(telemetry.current_log_fields())  # set where the request or job began
        for key in self.FIELDS:
            if hasattr(record, key):  # extra=... on the call wins
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
