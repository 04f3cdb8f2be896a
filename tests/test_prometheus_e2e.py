"""A real Prometheus reads the bot during an on-sale, then answers every Grafana panel query and alert
rule of deploy/.

Debian's ``prometheus`` (``.ci/run`` installs it) runs with its own config and data directory in a
temporary folder, listening on loopback, scraping the bot's real ``/metrics`` endpoint every second.
A sale runs through SimCord (queue, holds, payments, a waitlist promotion, door scans, DMs); once
Prometheus has scraped the end of it, each query of deploy/grafana/dashboards/picket.json goes
through Prometheus' HTTP API the way Grafana sends it (``/api/v1/query_range`` for a range target,
``/api/v1/query`` for an instant one; a stat panel, which shows one current value, is also asked for
that value now). A query that comes back empty is a panel that would read "No data" in production.
The alert rules file must load into Prometheus, every rule evaluating without error, and each rule's
expression must be valid for ``/api/v1/query``.

Skipped, saying why, only when the prometheus binary is absent.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import create_bot
from bot.metrics import MetricsServer
from domain.models import Ticket
from tests.conftest import e2e_settings

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "picket.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
SCRAPE_SECONDS = 1

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus is not installed (apt-get install -y prometheus; .ci/run does it)"
)


@pytest.fixture
def simcord_bot(e2e_store, gateway, keyring):
    return create_bot(e2e_settings(), store=e2e_store, gateway=gateway, keyring=keyring, sync_commands=True)


async def serve_metrics(bot) -> MetricsServer:
    """The bot's metrics endpoint (bot/metrics.MetricsServer on the bot's store and Redis, the process's
    registry), started by the test rather than by the bot's setup_hook: Prometheus keeps its scrape
    connection open between scrapes, and SimCord would wait for a server task the bot had started to
    finish before calling the bot settled. Started here, it serves outside the bot's tracked work."""
    server = MetricsServer(bot.services.store, bot.services.redis, host="127.0.0.1", port=0)
    await server.start()
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grafana_expr(expr: str, *, step: int, window: int) -> str:
    """A panel query as Grafana sends it, its global variables replaced the way Grafana computes them:
    ``$__interval`` is the step; ``$__rate_interval`` is max(interval + scrape interval, 4 x scrape
    interval); ``$__range`` the time range shown."""
    values = {
        "__rate_interval": f"{max(step + SCRAPE_SECONDS, 4 * SCRAPE_SECONDS)}s",
        "__interval_ms": str(step * 1000),
        "__interval": f"{step}s",
        "__range_s": str(window),
        "__range_ms": str(window * 1000),
        "__range": f"{window}s",
    }
    for name, value in values.items():  # longest names first: $__interval_ms before $__interval
        expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert "$" not in expr, f"a dashboard variable this test does not know: {expr}"
    return expr


def panel_targets() -> list[tuple[dict, dict]]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert not board.get("templating", {}).get("list"), "dashboard variables: give them values in grafana_expr"
    return [
        (panel, target)
        for panel in board["panels"]
        if panel["type"] not in ("row", "text")
        for target in panel.get("targets", [])
    ]


def finite(values) -> list[float]:
    return [float(v) for v in values if not math.isnan(float(v))]


class Prometheus:
    """One Prometheus process with its own config and storage under ``folder``."""

    def __init__(self, folder: Path, target_port: int):
        self.folder = folder
        self.port = 0
        config = {
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
            "rule_files": [str(ALERTS)],
            # The job and instance labels deploy/prometheus/prometheus.yml gives a bot process.
            "scrape_configs": [
                {
                    "job_name": "picket",
                    "metrics_path": "/metrics",
                    "static_configs": [{"targets": [f"127.0.0.1:{target_port}"], "labels": {"instance": "shard-0"}}],
                }
            ],
        }
        (folder / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        self.log = folder / "prometheus.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, http: aiohttp.ClientSession) -> None:
        """Start it on a free loopback port and wait until it is ready (another process on this
        machine may take the port between our look and its bind: then again on another)."""
        for _ in range(3):
            self.port = free_port()
            self._spawn()
            if await self._ready(http):
                return
            if "address already in use" not in self.logs():
                break
        pytest.fail(f"prometheus did not start: {self.logs()}")

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={self.folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    async def get(self, http: aiohttp.ClientSession, path: str, **params) -> dict:
        async with http.get(self.url + path, params={k: str(v) for k, v in params.items()}) as r:
            body = await r.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    async def _ready(self, http: aiohttp.ClientSession, timeout: float = 60) -> bool:  # noqa: ASYNC109  (a polling deadline that fails with the logs)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                async with http.get(self.url + "/-/ready") as r:
                    if r.status == 200:
                        return True
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)  # the bot's loop keeps serving /metrics meanwhile
        pytest.fail(f"prometheus not ready after {timeout}s: {self.logs()}")

    async def until(self, http: aiohttp.ClientSession, expr: str, test, what: str, timeout: float = 60) -> list:  # noqa: ASYNC109  (a polling deadline that fails with the logs)
        """Poll an instant query until ``test`` accepts its result; returns that result."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = (await self.get(http, "/api/v1/query", query=expr))["result"]
            if test(result):
                return result
            await asyncio.sleep(0.25)
        pytest.fail(f"{what}: {expr} gave {result} after {timeout}s; prometheus log: {self.logs()}")


async def run_a_sale(world, lobby_seen) -> None:
    """An on-sale through SimCord: fans queue, are let in, hold seats and pay until it sells out; a
    late fan joins the waitlist and gets a cancelled seat; door staff scan a ticket twice. SimCord's
    clock makes the queue minutes pass in an instant, so the sale opens once Prometheus has seen the
    fans in the lobby (``lobby_seen``), as it would in the minutes before a real open."""
    env, bot = world.env, world.bot
    show = await world.show(
        seatmap="A:1x4:Standard", opens_in=timedelta(minutes=10), per_fan_limit=2, admission_per_minute=600
    )
    fans = [world.guild.add_member(env.create_user(f"p{i:02d}")) for i in range(6)]
    for fan in fans:
        await fan.slash(world.channel, "queue join", show=show.id)
    await lobby_seen()
    await env.advance_time(10 * 60)
    bought = []
    for _ in range(10):
        await env.advance_time(5)
        await bot.jobs.admit_queues()
        await bot.services.sender.idle()
        for fan in fans:
            history = fan.user.dm_channel.history() if fan.user.dm_channel else []
            if fan in bought or not history or not history[-1].content.startswith("🎫 It's your turn"):
                continue
            res = await fan.slash(world.channel, "book", show=show.id, quantity=1)
            pay = [
                c
                for row in (res.response.components or [])
                for c in row["components"]
                if str(c.get("label", "")).startswith("Pay")
            ]
            if pay:
                await fan.click(res.response, custom_id=pay[0]["custom_id"])
                bought.append(fan)
        if len(bought) == 4:
            break
    assert len(bought) == 4, "the sale did not sell out"
    waiter = next(f for f in fans if f not in bought)
    joined = await waiter.slash(world.channel, "waitlist join", show=show.id, quantity=1)
    assert "#1" in joined.response.content, joined.response.content
    async with world.store.session() as s:
        first = (await s.execute(select(Ticket).where(Ticket.holder_discord_id == bought[0].id))).scalar_one()
        second = (await s.execute(select(Ticket).where(Ticket.holder_discord_id == bought[1].id))).scalar_one()
    await bought[0].slash(world.channel, "ticket cancel", ticket=first.id)  # the waitlisted fan is promoted
    await world.organizer.slash(world.channel, "show staff", show=show.id, member=world.door)
    code = bot.services.keyring.sign(
        ticket_id=second.id, show_id=show.id, holder_discord_id=bought[1].id, now=world.store.now()
    )
    await world.door.slash(world.channel, "checkin", show=show.id, code=code)
    await world.door.slash(world.channel, "checkin", show=show.id, code=code)  # a second scan
    await bot.services.sender.drain()
    assert any(a.filename.startswith("ticket-") for m in waiter.user.dm_channel.history() for a in m.attachments)


async def test_every_dashboard_panel_and_alert_rule_reads_a_real_prometheus(world, tmp_path):
    bot = world.bot
    metrics = await serve_metrics(bot)
    prometheus = Prometheus(tmp_path, metrics.port)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            await prometheus.start(http)
            await prometheus.until(
                http, 'up{job="picket"}', lambda r: r and r[0]["value"][1] == "1", "the bot is scraped"
            )
            started = time.time()
            await run_a_sale(
                world,
                lambda: prometheus.until(
                    http,
                    "max(picket_queue_length)",
                    lambda r: r and float(r[0]["value"][1]) > 0,
                    "fans in the lobby are scraped",
                ),
            )
            # Prometheus has read the end of the sale (the gauges of shared state are re-read at most
            # every 5 s), and a few scrapes more, so rates see the change.
            await prometheus.until(
                http,
                'picket_waitlist_promotions_total{outcome="promoted"}',
                lambda r: r and float(r[0]["value"][1]) >= 1,
                "the promotion is scraped",
            )
            await prometheus.until(
                http, "max(picket_holds_active)", lambda r: r and float(r[0]["value"][1]) == 0, "the holds are over"
            )
            await asyncio.sleep(4 * SCRAPE_SECONDS)
            # "Now" for the panels is a moment whose last scrape succeeded: on a loaded machine a
            # scrape can time out (after scrape_interval), and Prometheus then marks every series
            # stale until the next one, as it would for a real outage.
            (up,) = await prometheus.until(
                http, 'up{job="picket"}', lambda r: r and r[0]["value"][1] == "1", "the bot is still scraped"
            )
            end = float(up["value"][0])
            window = int(end - started) + 1
            step = SCRAPE_SECONDS

            empty = []
            for panel, target in panel_targets():
                expr = grafana_expr(target["expr"], step=step, window=window)
                where = f"{panel['title']} [{target['refId']}] {expr}"
                if target.get("range", not target.get("instant", False)):
                    data = await prometheus.get(
                        http, "/api/v1/query_range", query=expr, start=started, end=end, step=f"{step}s"
                    )
                    if not any(finite(v for _, v in series["values"]) for series in data["result"]):
                        empty.append(f"{where}: no value over the sale")
                if target.get("instant") or panel["type"] == "stat":  # a stat shows the value now
                    data = await prometheus.get(http, "/api/v1/query", query=expr, time=end)
                    if not any(finite([series["value"][1]]) for series in data["result"]):
                        empty.append(f"{where}: no value now, after the sale")
            assert not empty, "panels that would read 'No data':\n" + "\n".join(empty)

            # The alert rules loaded (a rules file Prometheus cannot parse stops it starting) and each
            # rule evaluates without error; each expression also answers /api/v1/query.
            wanted = [rule for group in _yaml(ALERTS)["groups"] for rule in group["rules"]]
            deadline = time.monotonic() + 15
            while True:
                loaded = {
                    rule["name"]: rule
                    for group in (await prometheus.get(http, "/api/v1/rules", type="alert"))["groups"]
                    for rule in group["rules"]
                }
                evaluated = all(
                    name in loaded and not loaded[name]["lastEvaluation"].startswith("0001")
                    for name in (r["alert"] for r in wanted)
                )
                if evaluated or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert sorted(loaded) == sorted(r["alert"] for r in wanted), prometheus.logs()
            for rule in wanted:
                state = loaded[rule["alert"]]
                assert state["health"] == "ok" and not state.get("lastError"), f"{rule['alert']}: {state}"
                await prometheus.get(
                    http, "/api/v1/query", query=rule["expr"], time=end
                )  # status success, else it fails
    finally:
        prometheus.stop()
        await metrics.stop()
    promtool = shutil.which("promtool")
    if promtool:
        checked = await asyncio.to_thread(
            subprocess.run,
            [promtool, "check", "rules", str(ALERTS)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert re.search(rf"SUCCESS: {len(wanted)} rules found", checked.stdout), checked.stdout


def _yaml(path: Path):
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))
