"""Extensions of SimCord for what Picket's tests need and SimCord 3.2.1 does not model.

- Interaction locale: SimCord builds every interaction with ``locale: "en-US"`` (simcord.interactions.
  base_payload) and has no parameter for it. ``actor_locale`` wraps that builder so interactions carry
  another locale, which is how a Korean Discord client sends them. discord.py itself is untouched.
- When requests arrive: SimCord's request log (``env.http_requests``) has no times. ``request_times``
  wraps SimCord's REST router (simcord.http.router.dispatch, which every request of discord.py's HTTP
  client reaches) and records when each request arrived, as Discord's rate limiter would see it.
"""

from __future__ import annotations

import contextlib
import time

import simcord.http.router
import simcord.interactions


@contextlib.contextmanager
def actor_locale(monkeypatch, locale: str):
    original = simcord.interactions.base_payload

    def with_locale(*args, **kwargs):
        record, payload = original(*args, **kwargs)
        payload["locale"] = locale
        return record, payload

    monkeypatch.setattr(simcord.interactions, "base_payload", with_locale)
    try:
        yield
    finally:
        monkeypatch.setattr(simcord.interactions, "base_payload", original)


@contextlib.contextmanager
def request_times(monkeypatch, method: str = "POST"):
    """Yields a list that fills with ``(time.monotonic(), path)`` for each ``method`` request."""
    original = simcord.http.router.dispatch
    arrived: list[tuple[float, str]] = []

    def timed(backend, m, path, *args, **kwargs):
        if m == method:
            arrived.append((time.monotonic(), path))
        return original(backend, m, path, *args, **kwargs)

    monkeypatch.setattr(simcord.http.router, "dispatch", timed)
    try:
        yield arrived
    finally:
        monkeypatch.setattr(simcord.http.router, "dispatch", original)


def most_in_any_window(times: list[float], seconds: float = 1.0) -> int:
    """The most of ``times`` in any window ``seconds`` long (a sliding window, as Discord counts)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= seconds:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
