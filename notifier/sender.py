"""Draining the outbox: claim, render, pace, send, settle. Each message reaches its fan once.

Why a message is not lost: it was committed with the change that caused it, and it stays ``pending``
until a send succeeded and was recorded. Why it is not sent twice: a row is claimed by one worker at a
time (SKIP LOCKED, with a lease), it is marked sent right after Discord accepts it, and every send
carries the outbox id as Discord's ``nonce`` with ``enforce_nonce`` so that the rare resend after a
crash between "Discord accepted" and "we recorded it" is folded into the first message by Discord.

A big announcement: while the lanes send, a fan-out lane writes the rest of its followers' rows
(domain/alerts.py, a few thousand per transaction), so the first DMs leave at once and memory does not
grow with the artist. When Discord's budget is the limit, what fans wait for goes first: every kick
also starts an urgent lane that claims only those (tickets, refunds, their turn), and the pacer hands
its next slot to the most urgent request waiting, so a ticket queued behind 100,000 alerts leaves
within a second. DM channels Discord opened are remembered (domain dm_channels): a DM to a fan who
had one before is one request, not two.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import EllipsisType
from typing import Any

from domain import alert_roles, alerts, fan_settings, locales, outbox, reminders, telemetry
from domain.alerts import AlertPlan
from domain.fan_settings import FanSettings
from domain.outbox import ClaimedMessage
from domain.store import Store
from notifier import alert_posts  # noqa: F401  (registers the alert-role post's renderer)
from notifier.pacing import Pacer, sending_priority
from notifier.render import render
from notifier.ticket_codes import Keyring
from notifier.transport import DMsClosed, RateLimited, TransientSendError, Transport, Undeliverable

log = logging.getLogger("picket.notifier")


@dataclass
class SenderStats:
    sent: int = 0
    rate_limited: int = 0
    transient_errors: int = 0
    undeliverable: int = 0
    rescheduled: int = 0
    dead: int = 0
    skipped: int = 0
    deferred: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds from queued to sent (bounded)


class OutboxSender:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        pacer: Pacer | None = None,
        keyring: Keyring | None = None,
        worker_id: str | None = None,
        batch_size: int = 100,
        concurrency: int = 16,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int | None = None,
        retry_base: float = 0.5,
        inline_retries: int = 3,
        lanes: int = 2,
        poll_interval: float = 1.0,
        fan_out_batch: int = alerts.FAN_OUT_BATCH,
        on_sent=None,
        on_rate_limited=None,
    ):
        self.store = store
        self.transport = transport
        self.pacer = pacer or Pacer()
        self.keyring = keyring  # signs the ticket codes in ticket DMs (none: those messages cannot render)
        self.worker_id = worker_id or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.inline_retries = inline_retries
        self.lanes = lanes
        self.poll_interval = poll_interval
        self.fan_out_batch = fan_out_batch
        self.stats = SenderStats()
        self.on_sent = on_sent
        self.on_rate_limited = on_rate_limited
        self._poller: asyncio.Task | None = None
        self._drainer: asyncio.Task | None = None
        self._again = False
        self._urgent: asyncio.Task | None = None
        self._urgent_again = False
        self._shared_renders = _Renders()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- running ------------------------------------------------------------------------------
    #
    # No task ever waits on an Event: a kick starts a drain task (or asks the running one to look
    # again). A started sender is kicked by its store after every commit that queued a message
    # (domain.outbox.on_queued), and a poll loop kicks every ``poll_interval`` for messages queued
    # by other processes. Plain sleeps and short-lived tasks are what SimCord's virtual time
    # understands, too.

    def kick(self) -> None:
        """Something was queued: drain now instead of at the next poll. What fans are waiting for
        (a ticket, a refund) is claimed at once by the urgent lane, whatever the drain is busy with."""
        loop = asyncio.get_running_loop()
        if self._drainer is None or self._drainer.done():
            self._again = False
            self._drainer = loop.create_task(self._drain_logged(), name=f"outbox-drain-{self.worker_id}")
        else:
            self._again = True
        if self._urgent is None or self._urgent.done():
            self._urgent_again = False
            self._urgent = loop.create_task(self._drain_urgent_logged(), name=f"outbox-urgent-{self.worker_id}")
        else:
            self._urgent_again = True

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._unsubscribe is None:
            self._unsubscribe = outbox.on_queued(self.store, self._queued)
        if self._poller is None or self._poller.done():
            self._poller = self._loop.create_task(self._poll(), name=f"outbox-poll-{self.worker_id}")
        self.kick()

    def _queued(self) -> None:
        """The store committed messages: drain now instead of at the next poll (from the sender's
        own loop, whichever loop the commit ran on)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.kick()
        else:
            loop.call_soon_threadsafe(self.kick)

    async def idle(self) -> None:
        """Wait until the drain in progress (if any) has finished: a clean point to stop at."""
        while any(task is not None and not task.done() for task in (self._drainer, self._urgent)):
            for task in (self._drainer, self._urgent):
                if task is not None and not task.done():
                    await asyncio.shield(task)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in (self._poller, self._drainer, self._urgent):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._poller = self._drainer = self._urgent = None

    def fan_out_seconds(self, plan: AlertPlan) -> float:
        """About how long the DMs of an announcement take to reach every follower when the bot's
        whole budget goes to them: their requests (and those ahead of them) at the pacer's rate."""
        return plan.requests / self.pacer.requests_per_second

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            self.kick()

    async def _drain_logged(self) -> None:
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: the rows stay pending for the next kick or poll
                log.exception("outbox drain failed")
            if not self._again:
                return
            self._again = False

    async def _drain_urgent_logged(self) -> None:
        while True:
            try:
                await self._drain_lane(max_priority=outbox.TRANSACTIONAL)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox urgent drain failed")
            if not self._urgent_again:
                return
            self._urgent_again = False

    async def drain(self) -> int:
        """Send everything due now; returns how many messages this worker delivered.

        Two lanes claim and send batches side by side (SKIP LOCKED keeps their rows apart), so one
        lane's database round trips (claim, record) overlap the other's sends and a paced sender
        never sits idle between batches. Meanwhile the fan-out lane writes the rows of unfinished
        fan-outs batch by batch; a lane that finds nothing to claim waits for its next batch."""
        progress = _FanOutProgress()
        fanning = asyncio.ensure_future(self._fan_out_lane(progress))
        try:
            delivered = await asyncio.gather(*(self._drain_lane(progress) for _ in range(self.lanes)))
        except BaseException:
            fanning.cancel()
            raise
        await fanning
        return sum(delivered)

    async def _fan_out_lane(self, progress: _FanOutProgress) -> None:
        try:
            while (await alerts.fan_out_step(self.store, batch=self.fan_out_batch)) is not None:
                progress.tick()
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup: the fan-out stays where it was, the next drain resumes it
            log.exception("alert fan-out failed")
        finally:
            progress.finish()

    def _claim_size(self) -> int:
        """Rows per claim. Paced, about half a second of sending per lane: a message claimed sits
        in the lane until its turn, so a short batch keeps reminders (which the urgent lane does not
        take) from waiting behind seconds of alerts, and keeps few rows claimed should the process die."""
        if not self.pacer.enabled:
            return self.batch_size
        return max(8, min(self.batch_size, int(self.pacer.requests_per_second * 0.5 / max(self.lanes, 1)) + 1))

    async def _next_batch(self, progress: _FanOutProgress | None, max_priority: int) -> _Batch | None:
        """Claim the next batch and look up what its messages need (the fans' settings, each reader's
        language). None when nothing is due and no fan-out is still writing."""
        while True:
            claimed = await outbox.claim_due(
                self.store, self.worker_id, limit=self._claim_size(), lease=self.lease, max_priority=max_priority
            )
            if claimed:
                break
            if progress is None or not progress.running:
                return None
            await progress.next_batch()  # the fan-out lane is writing more
        interested = [m.recipient_discord_id for m in claimed if _fan_rules_apply(m)]
        settings = await fan_settings.fan_settings_many(self.store, interested) if interested else {}
        # Each message in its reader's language, looked up for the whole batch at once.
        langs = await locales.dm_locales(
            self.store, [(m.recipient_discord_id, locales.shows_of(m.payload)) for m in claimed]
        )
        return _Batch(claimed, settings, langs)

    async def _drain_lane(self, progress: _FanOutProgress | None = None, *, max_priority: int = outbox.LOWEST) -> int:
        """Send batch after batch. The next batch is claimed (and its lookups done) while this one
        goes out, and a batch is recorded while the next goes out: a paced lane is never idle
        between batches, so the budget is used whole."""
        delivered = 0
        upcoming: asyncio.Future | None = None
        recording: asyncio.Future | None = None
        try:
            batch = await self._next_batch(progress, max_priority)
            while batch is not None:
                upcoming = asyncio.ensure_future(self._next_batch(progress, max_priority))
                results, reached = await self._send_batch(batch)
                if recording is not None:
                    delivered += await recording
                recording = asyncio.ensure_future(self._record(results, reached))
                batch = await upcoming
                upcoming = None
            if recording is not None:
                delivered += await recording
                recording = None
            return delivered
        finally:
            for task in (upcoming, recording):
                if task is not None and not task.done():
                    task.cancel()

    async def _send_batch(self, batch: _Batch) -> tuple[list[tuple[int, int]], list[int]]:
        gate = asyncio.Semaphore(self.concurrency)
        claimed, settings = batch.claimed, batch.settings

        async def one(msg: ClaimedMessage, lang: str | None) -> tuple[int, int] | None:
            async with gate:
                with telemetry.log_fields(fan=msg.recipient_discord_id, show=msg.payload.get("show_id")):
                    # A fan's switches apply to the messages they govern only (not to a ticket DM
                    # that happens to share a batch with one of their alerts).
                    fan = settings.get(msg.recipient_discord_id) if _fan_rules_apply(msg) else None
                    return await self.deliver(msg, fan, self._shared_renders, locale=lang)

        outcomes = await asyncio.gather(
            *(one(m, lang) for m, lang in zip(claimed, batch.langs, strict=True)), return_exceptions=True
        )
        for msg, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancelled: stop here (the claims lapse and are resent)
            if isinstance(outcome, Exception):  # its bookkeeping failed: the claim lapses, it is tried again
                log.error("outbox message %s: %r", msg.id, outcome, exc_info=outcome)
        results = [r for r in outcomes if isinstance(r, tuple)]
        # A fan whose DMs were found closed and who got this one has opened them again.
        reached = [
            m.recipient_discord_id
            for m, r in zip(claimed, outcomes, strict=True)
            if isinstance(r, tuple)
            and m.kind != alerts.ROLE_POST
            and (m.kind not in alerts.INTEREST_KINDS or settings[m.recipient_discord_id].dms_closed)
        ]
        return results, reached

    async def _record(self, results: list[tuple[int, int]], reached: list[int]) -> int:
        take_opened = getattr(self.transport, "take_opened_channels", None)
        opened = take_opened() if take_opened is not None else None
        # One UPDATE for the batch. A crash before it leaves these claimed; after the lease
        # they are sent again with the same nonce, which Discord folds into the first message.
        await outbox.mark_sent_many(self.store, results, reached=reached, channels=opened)
        return len(results)

    # --- one message ----------------------------------------------------------------------------

    async def _render(self, msg: ClaimedMessage, cache: _Renders | dict | None, locale: str | None):
        """Messages with the same kind, payload and language sent close together (an alert to
        10,000 followers) are rendered once per language every few seconds: the store is read once,
        not once per fan, and a change to the show still shows within seconds."""
        if cache is None or (isinstance(cache, _Renders) and msg.kind not in _SHARED_KINDS):
            return await render(self.store, msg.kind, msg.payload, locale, self.keyring)
        key = (msg.kind, json.dumps(msg.payload, sort_keys=True), locale)
        if isinstance(cache, _Renders):
            return await asyncio.shield(
                cache.get(key, lambda: render(self.store, msg.kind, msg.payload, locale, self.keyring))
            )
        if key not in cache:
            cache[key] = asyncio.ensure_future(render(self.store, msg.kind, msg.payload, locale, self.keyring))
        return await asyncio.shield(cache[key])

    async def deliver(
        self,
        msg: ClaimedMessage,
        fan: FanSettings | None = None,
        render_cache: _Renders | dict[Any, Any] | None = None,
        *,
        locale: str | None | EllipsisType = ...,
    ) -> tuple[int, int] | None:
        """Send one claimed message, in ``locale`` (looked up when not given). Returns (outbox id,
        Discord message id) when Discord accepted it (the caller records it as sent), None when it
        was deferred, skipped or rescheduled."""
        if fan is not None:  # an alert, reminder or digest (or a holder reminder): the fan's own switches apply
            interest = msg.kind in alerts.INTEREST_KINDS
            if interest and (not fan.alerts_enabled and msg.kind != alerts.REMINDER or fan.dms_blocked):
                await outbox.mark_skipped(self.store, msg.id, "alerts off" if not fan.alerts_enabled else "DMs closed")
                self.stats.skipped += 1
                return None
            quiet_until = (
                fan.quiet_until(self.store.now())
                if interest or reminders.respects_quiet_hours(msg.kind, msg.payload)
                else None
            )
            if quiet_until is not None:
                await outbox.defer(self.store, self.worker_id, msg.id, quiet_until)
                self.stats.deferred += 1
                asyncio.get_running_loop().call_later(
                    (quiet_until - self.store.now()).total_seconds() + 0.01, self.kick
                )
                return None
        try:
            if locale is ...:
                (locale,) = await locales.dm_locales(
                    self.store, [(msg.recipient_discord_id, locales.shows_of(msg.payload))]
                )
            message = await self._render(msg, render_cache, locale)
        except Exception as exc:  # e.g. the database dropped the connection: try again later
            log.exception("cannot render outbox message %s (%s)", msg.id, msg.kind)
            self.stats.transient_errors += 1
            await self._retry_later(msg, f"render: {exc!r}", exponent=msg.attempts + 1)
            return None
        post = msg.kind == alerts.ROLE_POST  # a server channel post, not a DM
        channel = ("channel", msg.recipient_discord_id) if post else ("dm", msg.recipient_discord_id)
        last_error = ""
        for attempt in range(self.inline_retries + 1):
            await self.pacer.acquire(channel, priority=msg.priority)
            try:
                with sending_priority(msg.priority):  # the transport's extra requests (opening a DM) wait as this one
                    discord_id = await self._send(msg, message, post)
            except RateLimited as exc:
                self.stats.rate_limited += (
                    1  # picket_discord_rate_limited_total is counted where discord.py met it (bot/ratelimits.py)
                )
                if self.on_rate_limited:
                    self.on_rate_limited()
                self.pacer.pause(exc.retry_after, channel, is_global=exc.is_global)
                last_error = str(exc)
                continue  # acquire() waits the pause out; a 429 is not the message's fault
            except TransientSendError as exc:
                self.stats.transient_errors += 1
                last_error = f"transient: {exc}"
                await asyncio.sleep(self.retry_base * 2**attempt)
                continue
            except Undeliverable as exc:  # a permanent refusal from Discord: the only end but success
                self.stats.undeliverable += 1
                closed = isinstance(exc, DMsClosed)
                await outbox.mark_undeliverable(
                    self.store, msg.id, msg.recipient_discord_id, str(exc), dms_closed=closed
                )
                telemetry.count("dm_failed", reason="dms_closed" if closed else "refused")
                if post and await alert_roles.role_post_refused(self.store, msg.payload):
                    self.kick()  # nobody was pinged: the role's members get their DMs after all
                return None
            self.stats.sent += 1
            latency = (self.store.now() - msg.created_at).total_seconds()
            if len(self.stats.latencies) < 10_000:
                self.stats.latencies.append(latency)
            telemetry.count("dm_sent", kind=msg.kind)
            telemetry.observe("dm_latency", max(0.0, latency))
            if self.on_sent:
                self.on_sent(msg)
            return msg.id, discord_id
        await self._retry_later(msg, last_error, exponent=msg.attempts + self.inline_retries + 1)
        return None

    async def _send(self, msg: ClaimedMessage, message, post: bool) -> int:
        nonce = f"pk{msg.id}"
        transport: Any = self.transport  # the bot's transport also posts in channels and takes a known DM channel
        if post:
            return await transport.send_channel(msg.recipient_discord_id, message, nonce=nonce)
        if msg.dm_channel_id is not None:  # opened before: straight to it, one request
            return await transport.send_dm(msg.recipient_discord_id, message, nonce=nonce, channel_id=msg.dm_channel_id)
        return await self.transport.send_dm(msg.recipient_discord_id, message, nonce=nonce)

    async def _retry_later(self, msg: ClaimedMessage, error: str, *, exponent: int) -> None:
        """Give the message back with an exponential back-off (at most 10 minutes). It stays pending
        however long the trouble lasts, unless ``max_attempts`` was set."""
        delay = timedelta(seconds=min(600.0, self.retry_base * 2 ** min(exponent, 30)))
        outcome = await outbox.mark_retry(
            self.store, self.worker_id, msg.id, delay=delay, error=error, max_attempts=self.max_attempts
        )
        if outcome == "dead":
            self.stats.dead += 1
            telemetry.count("dm_failed", reason="retries_exhausted")
        else:
            self.stats.rescheduled += 1
            # Come back when it is due rather than waiting for the next poll.
            asyncio.get_running_loop().call_later(delay.total_seconds() + 0.01, self.kick)
        return None


class _FanOutProgress:
    """Lets the send lanes wait for the fan-out lane's next batch instead of ending early."""

    def __init__(self) -> None:
        self.running = True
        self._waiters: list[asyncio.Future] = []

    async def next_batch(self) -> None:
        if not self.running:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    def tick(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def finish(self) -> None:
        self.running = False
        self.tick()


@dataclass
class _Batch:
    claimed: list[ClaimedMessage]
    settings: dict[int, FanSettings]
    langs: list[str | None]


# Messages many fans get with the same payload: rendered once per language for all of them.
_SHARED_KINDS = frozenset({*alerts.INTEREST_KINDS, alerts.ROLE_POST})


class _Renders:
    """Renders shared by the lanes for a few seconds (``ttl``), at most ``size`` of them."""

    def __init__(self, ttl: float = 3.0, size: int = 64):
        self.ttl, self.size = ttl, size
        self._entries: dict[tuple, tuple[float, asyncio.Future]] = {}

    def get(self, key: tuple, make) -> asyncio.Future:
        now = time.monotonic()
        found = self._entries.get(key)
        if (
            found is not None
            and now - found[0] < self.ttl
            and not (found[1].done() and found[1].exception() is not None)
        ):
            return found[1]
        if len(self._entries) >= self.size:
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
        future = asyncio.ensure_future(make())
        self._entries[key] = (now, future)
        return future


def _fan_rules_apply(msg: ClaimedMessage) -> bool:
    """Whether the fan's settings (alerts switch, quiet hours) govern this message: interest DMs,
    and holder reminders for their quiet hours (domain/reminders.py)."""
    return msg.kind in alerts.INTEREST_KINDS or reminders.respects_quiet_hours(msg.kind, msg.payload)
