"""Prometheus metrics, ``/metrics`` and ``/healthz``.

Two kinds of figures:
- *Counters and histograms* of what this process did (orders paid, DMs sent, 429s...). Each bot
  process (shard) counts its own work; Prometheus sums them: ``sum(rate(picket_orders_total[5m]))``.
  They are fed by ``domain.telemetry`` events, reported after commit.
- *Gauges of shared state* (queue length, active holds, outbox backlog), read from MariaDB and Redis
  by ``domain.stats.shared_state`` every few seconds (:class:`StateGauges`). Every process reports
  the same value, so dashboards take ``max`` across instances, never ``sum``.

Everything lives in one :data:`REGISTRY` (not prometheus-client's global one), so tests can build
several bots in one process without duplicate registration.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from redis.asyncio import Redis

from domain import stats, telemetry
from domain.store import Store

log = logging.getLogger("picket.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_DM_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

# Metric names are what the Grafana dashboard and the alert rules query: tests/test_deploy.py checks
# every query names one of them and every one of them is on the dashboard.
QUEUE_JOINS = Counter("picket_queue_joins_total", "Fans who took a new place in an on-sale queue", registry=REGISTRY)
QUEUE_ADMISSIONS = Counter("picket_queue_admissions_total", "Fans let in from the queue", registry=REGISTRY)
HOLDS_CREATED = Counter("picket_holds_created_total", "Seat holds made", registry=REGISTRY)
HOLDS_ENDED = Counter("picket_holds_ended_total", "Holds ended without a sale", ["reason"], registry=REGISTRY)
ORDERS = Counter("picket_orders_total", "Orders settled", ["outcome"], registry=REGISTRY)
PAYMENTS = Counter("picket_payments_total", "Payment provider calls", ["kind", "outcome"], registry=REGISTRY)
TICKETS_ISSUED = Counter("picket_tickets_issued_total", "Tickets issued", registry=REGISTRY)
CHECKINS = Counter("picket_checkins_total", "Door scans", ["result"], registry=REGISTRY)
WAITLIST = Counter("picket_waitlist_promotions_total", "Waitlist promotions", ["outcome"], registry=REGISTRY)
DMS_SENT = Counter("picket_dms_sent_total", "DMs Discord accepted", ["kind"], registry=REGISTRY)
DMS_FAILED = Counter("picket_dms_failed_total", "DMs not delivered", ["reason"], registry=REGISTRY)
DM_LATENCY = Histogram(
    "picket_dm_latency_seconds",
    "From queued in the outbox to accepted by Discord",
    buckets=_DM_BUCKETS,
    registry=REGISTRY,
)
RATE_LIMITED = Counter("picket_discord_rate_limited_total", "Discord 429 responses", registry=REGISTRY)
COMMANDS = Counter(
    "picket_commands_total", "Slash commands and button presses handled", ["command", "outcome"], registry=REGISTRY
)
COMMAND_LATENCY = Histogram(
    "picket_command_latency_seconds",
    "Time to handle a command or button",
    ["command"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RECOVERED = Counter(
    "picket_recovery_actions_total", "Work a crash left behind, finished by recovery", ["action"], registry=REGISTRY
)

QUEUE_LENGTH = Gauge("picket_queue_length", "Fans waiting in line, per show", ["show"], registry=REGISTRY)
HOLDS_ACTIVE = Gauge("picket_holds_active", "Holds active now (not yet past expiry)", registry=REGISTRY)
HOLDS_OVERDUE = Gauge("picket_holds_overdue", "Holds past expiry not yet released", registry=REGISTRY)
OUTBOX_BACKLOG = Gauge(
    "picket_outbox_backlog",
    "DMs due now and not yet sent (not those held for quiet hours or a retry)",
    registry=REGISTRY,
)
WAITLIST_WAITING = Gauge("picket_waitlist_waiting", "Fans on waitlists", registry=REGISTRY)
UP = Gauge("picket_dependency_up", "1 when the dependency answered the last check", ["dependency"], registry=REGISTRY)

_COUNTERS = {
    "queue_joined": QUEUE_JOINS,
    "queue_admitted": QUEUE_ADMISSIONS,
    "hold_created": HOLDS_CREATED,
    "hold_ended": HOLDS_ENDED,
    "order": ORDERS,
    "payment": PAYMENTS,
    "ticket_issued": TICKETS_ISSUED,
    "checkin": CHECKINS,
    "waitlist": WAITLIST,
    "dm_sent": DMS_SENT,
    "dm_failed": DMS_FAILED,
    "rate_limited": RATE_LIMITED,
    "command": COMMANDS,
    "recovery": RECOVERED,
}
_HISTOGRAMS = {"dm_latency": DM_LATENCY, "command_latency": COMMAND_LATENCY}

# Label values the domain and the notifier report, exported at 0 from the start: a labelled series
# exists only once set, so without this a panel of something that has not happened yet in this
# process (no hold expired, no DM failed, no recovery since the restart) reads "No data" instead of
# 0, and the first increment is invisible to rate(). tests/test_prometheus_e2e.py reads every panel.
_KNOWN_LABELS = {
    HOLDS_ENDED: [{"reason": r} for r in ("released", "expired")],
    ORDERS: [{"outcome": o} for o in ("paid", "failed")],
    PAYMENTS: [{"kind": k, "outcome": o} for k in ("charge", "refund") for o in ("succeeded", "declined", "timeout")],
    CHECKINS: [{"result": r} for r in ("admitted", "already_in", "refused")],
    WAITLIST: [{"outcome": o} for o in ("promoted", "declined", "offered")],
    DMS_FAILED: [{"reason": r} for r in ("dms_closed", "refused", "retries_exhausted")],
    RECOVERED: [
        {"action": a}
        for a in (
            "charge_settled",
            "charge_abandoned",
            "promotion_finished",
            "promotion_requeued",
            "dm_resent",
            "queue_place_restored",
        )
    ],
}
for _metric, _label_sets in _KNOWN_LABELS.items():
    for _labels in _label_sets:
        _metric.labels(**_labels)


def known_commands(names) -> None:
    """Export every slash command's count and latency series from the start (the bot calls this with
    its command tree), so the first uses after a restart show in rate() and the panels."""
    for name in names:
        COMMAND_LATENCY.labels(command=name)
        for outcome in ("ok", "refused", "error"):
            COMMANDS.labels(command=name, outcome=outcome)


class PrometheusSink:
    """Turns ``domain.telemetry`` events into the metrics above."""

    def count(self, event: str, n: float, labels: dict[str, str]) -> None:
        metric = _COUNTERS.get(event)
        if metric is not None:
            (metric.labels(**labels) if labels else metric).inc(n)

    def observe(self, event: str, value: float, labels: dict[str, str]) -> None:
        metric = _HISTOGRAMS.get(event)
        if metric is not None:
            (metric.labels(**labels) if labels else metric).observe(value)


SINK = PrometheusSink()


class StateGauges:
    """Reads shared state into the gauges, every ``interval`` seconds and before each scrape that
    finds the last reading older than that."""

    def __init__(self, store: Store, redis: Redis, *, interval: float = 5.0):
        self.store = store
        self.redis = redis
        self.interval = interval
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._read_at < self.interval:
                return
            await check_health(self.store, self.redis)  # picket_dependency_up, without waiting for /healthz
            state = await stats.shared_state(self.store, self.redis)
            HOLDS_ACTIVE.set(state.holds_active)
            HOLDS_OVERDUE.set(state.holds_overdue)
            OUTBOX_BACKLOG.set(state.outbox_backlog)
            WAITLIST_WAITING.set(state.waitlist_waiting)
            QUEUE_LENGTH.clear()
            for show, length in state.queue_lengths.items():
                QUEUE_LENGTH.labels(show=str(show)).set(length)
            self._read_at = time.monotonic()


async def check_health(store: Store, redis: Redis, *, timeout: float = 2.0) -> dict[str, str]:  # noqa: ASYNC109  (a bound for each probe, not for the call)
    """``{"database": "ok" | error, "redis": "ok" | error}``."""
    results: dict[str, str] = {}
    for name, probe in (("database", lambda: stats.ping_database(store)), ("redis", redis.ping)):
        try:
            await asyncio.wait_for(probe(), timeout)
            results[name] = "ok"
        except Exception as exc:  # unreachable, refused, timed out: all mean "not healthy"
            results[name] = f"{type(exc).__name__}: {exc}"[:200]
        UP.labels(dependency=name).set(1 if results[name] == "ok" else 0)
    return results


class MetricsServer:
    """``GET /metrics`` (Prometheus text format) and ``GET /healthz`` (200 when MariaDB and Redis
    answer, 503 naming the one that does not), on aiohttp, which discord.py already depends on."""

    def __init__(self, store: Store, redis: Redis, *, host: str = "0.0.0.0", port: int = 9108):
        self.store = store
        self.redis = redis
        self.host = host
        self.port = port
        self.gauges = StateGauges(store, redis)
        self._runner: web.AppRunner | None = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        try:
            await self.gauges.refresh()
        except Exception:  # the store is down: serve the counters anyway, /healthz says why
            log.warning("could not read state gauges", exc_info=True)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        results = await check_health(self.store, self.redis)
        healthy = all(v == "ok" for v in results.values())
        return web.json_response({"ok": healthy, **results}, status=200 if healthy else 503)

    async def start(self) -> int:
        """Start serving; returns the bound port (useful with ``port=0``)."""
        telemetry.install(SINK)
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("metrics on http://%s:%s/metrics", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
