"""Counting Discord's 429s where discord.py meets them.

discord.py already handles a 429 (``discord/http.py`` for REST, ``discord/webhook/async_.py`` for
interaction responses and follow-ups): it reads ``retry_after``, sleeps, and sends the request
again, so Picket's own code never sees most of them. What it does with each one it logs once, as a
warning, on its own loggers:

- ``discord.http``: "We are being rate limited. ... responded with 429. Retrying in ..." (it waits and
  retries) or "... Timeout of ... was too long, erroring instead." (it raises ``discord.RateLimited``);
- ``discord.webhook.async_``: "Webhook ID ... is rate limited. Retrying in ...".

:func:`install` adds a handler to those loggers that counts each of these records as one
``rate_limited`` event (``picket_discord_rate_limited_total``). A 429 discord.py does not treat as
a rate limit (no ``Via`` header or no JSON body, which is Cloudflare, not Discord's rate limiter) is
raised as a plain ``HTTPException`` without a log line: :func:`count_unhandled` counts those where
Picket handles them (``bot/transport.py``). Together every 429 is counted once.

The count needs WARNING records of ``discord.*`` to be emitted: do not raise those loggers' level
above WARNING (``bot/logs.py`` does not).
"""

from __future__ import annotations

import logging

from domain import telemetry

# The format strings discord.py 2.7 logs a 429 with (``record.msg``, before arguments are merged).
_RATE_LIMITED_PREFIXES = {
    "discord.http": "We are being rate limited.",
    "discord.webhook.async_": "Webhook ID %s is rate limited.",
}


class RateLimitCounter(logging.Handler):
    """Counts discord.py's log records of a 429; formats and emits nothing."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        prefix = _RATE_LIMITED_PREFIXES.get(record.name)
        if prefix is not None and isinstance(record.msg, str) and record.msg.startswith(prefix):
            telemetry.count("rate_limited")


COUNTER = RateLimitCounter()


def install() -> None:
    """Attach :data:`COUNTER` to discord.py's loggers (idempotent: one count per 429 per process)."""
    for name in _RATE_LIMITED_PREFIXES:
        logger = logging.getLogger(name)
        if COUNTER not in logger.handlers:
            logger.addHandler(COUNTER)


def handled_by_discord_py(status: int, headers) -> bool:
    """Whether discord.py treated a response as a rate limit (and so logged it): a 429 from Discord's
    rate limiter carries a ``Via`` header and a JSON body (``discord/http.py``)."""
    headers = headers or {}
    return (
        status == 429
        and bool(headers.get("Via"))
        and headers.get("Content-Type", headers.get("content-type", "")) == "application/json"
    )


def count_unhandled(status: int, headers) -> None:
    """Count a 429 that discord.py raised without handling (see the module's docstring)."""
    if status == 429 and not handled_by_discord_py(status, headers):
        telemetry.count("rate_limited")
