"""What happened, for operations: event counts, timings and the log context.

The domain and the notifier report facts here (an order paid, a hold lapsed, a DM sent) *after* the
transaction that made them true has committed, so a retried transaction is counted once. They do not
know about Prometheus: the bot installs a sink (``bot/metrics.py``) that turns these events into
metrics. With no sink installed (the domain's own tests, scripts) reporting costs a function call.

The log context (command, fan, show) lives in context variables: set once where a request or a job
starts, it follows every ``await`` beneath it, and the bot's JSON log formatter adds it to each line.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Sink(Protocol):
    def count(self, event: str, n: float, labels: dict[str, str]) -> None: ...

    def observe(self, event: str, value: float, labels: dict[str, str]) -> None: ...


_sinks: list[Sink] = []


def install(sink: Sink) -> None:
    """Send events to ``sink`` as well (idempotent for the same sink)."""
    if sink not in _sinks:
        _sinks.append(sink)


def uninstall(sink: Sink) -> None:
    if sink in _sinks:
        _sinks.remove(sink)


def count(event: str, n: float = 1, **labels: str) -> None:
    if n and _sinks:
        for sink in _sinks:
            sink.count(event, n, labels)


def observe(event: str, value: float, **labels: str) -> None:
    for sink in _sinks:
        sink.observe(event, value, labels)


# --- log context ----------------------------------------------------------------------------------

LOG_FIELDS = ("command", "fan", "show")
_context: dict[str, contextvars.ContextVar[object]] = {
    name: contextvars.ContextVar(f"picket_log_{name}", default=None) for name in LOG_FIELDS
}


@contextmanager
def log_fields(**values: object) -> Iterator[None]:
    """Name the command, fan and/or show for every log line written inside the block."""
    tokens = [(_context[k], _context[k].set(v)) for k, v in values.items() if k in _context and v is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind_log_fields(**values: object) -> None:
    """:func:`log_fields` for the rest of the current task (an interaction's own task: see
    ``store.count_committed_writes``)."""
    for name, value in values.items():
        if name in _context and value is not None:
            _context[name].set(value)


def current_log_fields() -> dict[str, object]:
    return {k: v for k, var in _context.items() if (v := var.get()) is not None}
