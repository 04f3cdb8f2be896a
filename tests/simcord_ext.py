"""Extensions of SimCord for what Picket's tests need and SimCord 3.2.1 does not model.

- Interaction locale: SimCord builds every interaction with ``locale: "en-US"`` (simcord.interactions.
  base_payload) and has no parameter for it. ``actor_locale`` wraps that builder so interactions carry
  another locale, which is how a Korean Discord client sends them. discord.py itself is untouched.
"""

from __future__ import annotations

import contextlib

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
