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


# --- message nonces -------------------------------------------------------------------------------
#
# Discord: a message created with ``nonce`` and ``enforce_nonce: true`` in a channel where a message
# with the same nonce was created within the last few minutes is not created again; the first message
# is returned. SimCord 3.2.1 ignores both fields (simcord.http._helpers._MESSAGE_IGNORED), so a resend
# shows as a second message there. ``NonceFolding`` adds Discord's behaviour around SimCord's REST
# router (simcord.http.router.dispatch, which SimCord's HTTP client calls through the module), and lets
# a test fail chosen sends by their nonce (``env.inject_error`` matches on the path only).

import copy  # noqa: E402

import simcord.http.router  # noqa: E402
from simcord.backend.errors import BackendError  # noqa: E402


class NonceFolding:
    def __init__(self) -> None:
        self.created: dict[tuple[int, str, str], dict] = {}
        self.folded = 0  # sends answered with an earlier message
        self.posts: list[str] = []  # the nonce of every message POST, in order (failed ones too)
        self._failures: list[list] = []  # [predicate, times left, status]

    def fail(self, predicate, *, status: int = 500, times: int = 1) -> None:
        """Make the next ``times`` message POSTs whose nonce satisfies ``predicate`` fail with ``status``."""
        self._failures.append([predicate, times, status])

    def wrap(self, original):
        def dispatch(backend, method, path, *, json=None, **kwargs):
            nonce = json.get("nonce") if isinstance(json, dict) else None
            if method != "POST" or nonce is None or not path.endswith("/messages"):
                return original(backend, method, path, json=json, **kwargs)
            nonce = str(nonce)
            self.posts.append(nonce)
            for failure in self._failures:
                if failure[1] > 0 and failure[0](nonce):
                    failure[1] -= 1
                    raise BackendError(failure[2], 0, "injected by NonceFolding")
            key = (id(backend), path, nonce)
            if json.get("enforce_nonce") and key in self.created:
                self.folded += 1
                return copy.deepcopy(self.created[key])
            created = original(backend, method, path, json=json, **kwargs)
            if json.get("enforce_nonce"):
                self.created[key] = copy.deepcopy(created)
            return created

        return dispatch


@contextlib.contextmanager
def nonce_folding(monkeypatch):
    folding = NonceFolding()
    original = simcord.http.router.dispatch
    monkeypatch.setattr(simcord.http.router, "dispatch", folding.wrap(original))
    try:
        yield folding
    finally:
        monkeypatch.setattr(simcord.http.router, "dispatch", original)


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


# --- refusals are answers, not bot errors ---------------------------------------------------------
#
# SimCord records every exception that reaches the command tree's ``on_error`` or a view's or
# modal's ``on_error`` as an error of the bot, and fails the test at teardown. discord.py routes a
# failed check, an option's failed lookup and a cooldown through those same hooks (they are
# AppCommandErrors, made for the tree's on_error to answer), and Picket answers domain refusals
# there too (cogs/common/requests.py). Those answered refusals are not recorded; anything else still
# is, and still fails the test.

import simcord.env  # noqa: E402


def refusals_are_not_errors() -> None:
    from cogs.common.requests import is_refusal

    original = simcord.env.Env._record_error
    if getattr(original, "picket_refusals_skipped", False):
        return

    def record_error(self, error: BaseException) -> None:
        if isinstance(error, Exception) and is_refusal(error):
            return
        original(self, error)

    record_error.picket_refusals_skipped = True
    simcord.env.Env._record_error = record_error
