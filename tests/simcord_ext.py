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


# --- Discord's 429s, as discord.py meets them -----------------------------------------------------
#
# SimCord's HTTP client (simcord.http.client.FakeHTTPClient) and webhook adapter (FakeWebhookAdapter:
# interaction responses and follow-ups) replace discord.py's ``HTTPClient.request`` and
# ``AsyncWebhookAdapter.request`` wholesale, so discord.py's own 429 handling (read ``retry_after``,
# log, sleep, send again) never runs under SimCord, and ``env.inject_error(status=429)`` surfaces as a
# plain HTTPException without the headers of Discord's rate limiter. ``rate_limits`` answers chosen
# requests with Discord's 429 (JSON body with ``retry_after``, a ``Via`` header) and, for those
# requests only, runs discord.py's real request loop over a stand-in for its aiohttp session: the
# stand-in answers 429 while the rule lasts, then hands the request to SimCord as usual.

import asyncio  # noqa: E402
import contextvars  # noqa: E402
import fnmatch  # noqa: E402
import json as _json  # noqa: E402
import math  # noqa: E402
import weakref  # noqa: E402

from discord.http import HTTPClient  # noqa: E402
from discord.webhook.async_ import AsyncWebhookAdapter  # noqa: E402
from multidict import CIMultiDict  # noqa: E402
from simcord.http.client import FakeHTTPClient, FakeWebhookAdapter  # noqa: E402

_simcord_answer: contextvars.ContextVar = contextvars.ContextVar("simcord_answer")


def _path_of(url: str) -> str:
    """``https://discord.com/api/v10/channels/1/messages?x=1`` -> ``/channels/1/messages``."""
    path = url.split("?", 1)[0]
    _, found, versioned = path.partition("/api/v")
    return "/" + versioned.partition("/")[2] if found else path


class _Response:
    """What discord.py reads of an aiohttp response: status, reason, headers, text."""

    def __init__(self, status: int, headers: dict[str, str], body: str):
        self.status = status
        self.reason = {200: "OK", 204: "No Content", 429: "Too Many Requests"}.get(status, "")
        self.headers = CIMultiDict(headers)
        self._body = body

    async def text(self, encoding: str = "utf-8") -> str:
        return self._body


class _Exchange:
    def __init__(self, limits: RateLimits, method: str, url: str):
        self.limits, self.method, self.path = limits, method, _path_of(url)

    async def __aenter__(self) -> _Response:
        rule = self.limits.take(self.method, self.path)
        if rule is not None:
            retry_after, is_global = rule
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
            headers = {
                "Content-Type": "application/json",
                "Via": "1.1 google",  # Discord's API answers through Google's front end
                "Retry-After": str(math.ceil(retry_after)),
                "X-RateLimit-Scope": "global" if is_global else "user",
            }
            if is_global:
                headers["X-RateLimit-Global"] = "true"
            return _Response(429, headers, _json.dumps(body))
        data = await _simcord_answer.get()()  # SimCord's answer; its errors are discord.py's errors already
        if data is None:
            return _Response(204, {}, "")
        return _Response(200, {"Content-Type": "application/json"}, _json.dumps(data))

    async def __aexit__(self, *exc) -> bool:
        return False


class _Session:
    """Stands in for discord.py's aiohttp session in the requests ``RateLimits`` answers."""

    def __init__(self, limits: RateLimits):
        self.limits = limits

    def request(self, method: str, url: str, **_kwargs) -> _Exchange:
        return _Exchange(self.limits, method, url)


class RateLimits:
    def __init__(self) -> None:
        self._rules: list[list] = []  # [method, path pattern, times left, retry_after, is_global]
        self.answered = 0  # 429s sent back

    def add(
        self, method: str, path: str, *, retry_after: float = 0.05, times: int = 1, is_global: bool = False
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path`` (an fnmatch pattern of
        the API path, as ``env.inject_error`` takes) with a 429 asking to wait ``retry_after`` s."""
        self._rules.append([method, path, times, retry_after, is_global])

    def _rule(self, method: str, path: str) -> list | None:
        for rule in self._rules:
            if rule[2] > 0 and rule[0] in (method, "*") and fnmatch.fnmatch(path, rule[1]):
                return rule
        return None

    def take(self, method: str, path: str) -> tuple[float, bool] | None:
        rule = self._rule(method, path)
        if rule is None:
            return None
        rule[2] -= 1
        self.answered += 1
        return rule[3], rule[4]

    def wrap_http(self, original):
        async def request(http, route, *, files=None, form=None, **kwargs):
            if self._rule(route.method, _path_of(route.url)) is None:
                return await original(http, route, files=files, form=form, **kwargs)
            given = dict(kwargs)
            token = _simcord_answer.set(lambda: original(http, route, files=files, form=form, **given))
            try:
                # What discord.py's static_login (which SimCord replaces) sets up: the session (SimCord
                # leaves it None; nothing else of SimCord reads it) and the global rate-limit gate.
                http._HTTPClient__session = _Session(self)
                if not isinstance(getattr(http, "_global_over", None), asyncio.Event):
                    http._global_over = asyncio.Event()
                    http._global_over.set()
                return await HTTPClient.request(http, route, files=files, form=form, **kwargs)
            finally:
                _simcord_answer.reset(token)

        return request

    def wrap_webhook(self, original):
        async def request(adapter, route, session, **kwargs):
            if self._rule(route.method, _path_of(route.url)) is None:
                return await original(adapter, route, session, **kwargs)
            token = _simcord_answer.set(lambda: original(adapter, route, session, **kwargs))
            try:
                if "_locks" not in adapter.__dict__:
                    adapter._locks = weakref.WeakValueDictionary()  # what AsyncWebhookAdapter.__init__ makes
                return await AsyncWebhookAdapter.request(adapter, route, _Session(self), **kwargs)
            finally:
                _simcord_answer.reset(token)

        return request


@contextlib.contextmanager
def rate_limits(monkeypatch):
    """Yields a :class:`RateLimits`; add rules to it to have Discord answer requests with 429s."""
    limits = RateLimits()
    http, webhook = FakeHTTPClient.request, FakeWebhookAdapter.request
    monkeypatch.setattr(FakeHTTPClient, "request", limits.wrap_http(http))
    monkeypatch.setattr(FakeWebhookAdapter, "request", limits.wrap_webhook(webhook))
    try:
        yield limits
    finally:
        monkeypatch.setattr(FakeHTTPClient, "request", http)
        monkeypatch.setattr(FakeWebhookAdapter, "request", webhook)


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


# --- guild scheduled events and the bot's own role ------------------------------------------------
#
# SimCord 3.2.1 models scheduled events (create, edit, delete, with Discord's Manage Events check) but
# its GuildHandle has no read-back of the events the bot made, nor a way to take a permission from the
# role the bot joined with. Both read or change SimCord's backend state the way its own routes do.


def scheduled_events(env, guild) -> list:
    """The guild's scheduled events as SimCord keeps them (name, description, scheduled_start_time,
    scheduled_end_time, entity_metadata...), oldest first."""
    return sorted(env.backend.get_guild(guild.id).scheduled_events.values(), key=lambda e: e.id)


def take_bot_permission(env, guild, name: str) -> None:
    """Remove one permission (``"manage_events"``) from the managed role the bot joined ``guild``
    with, announced to the bot as Discord does (GUILD_ROLE_UPDATE)."""
    import discord

    backend = env.backend
    role = next(r for r in backend.get_guild(guild.id).roles.values() if r.managed and r.name == backend.bot_user.name)
    permissions = discord.Permissions(role.permissions)
    setattr(permissions, name, False)
    backend.edit_role(guild.id, role.id, {"permissions": permissions.value})
