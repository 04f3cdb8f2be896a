"""/metrics after a scripted on-sale says what happened; /healthz says when a dependency is gone.

The bot serves its real HTTP endpoint (port 0: a free one) and the test scrapes it over loopback,
as Prometheus would. Counters are per process and this process has run other tests, so the test
compares the change between a scrape before and one after with what the store and the DMs show.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.app import create_bot
from domain import queue
from domain.models import Hold, Order, OutboxMessage, Payment, Ticket
from tests.conftest import e2e_settings


@pytest.fixture
def simcord_bot(e2e_store, gateway, keyring):
    return create_bot(
        e2e_settings(metrics_port=0, metrics_host="127.0.0.1"),
        store=e2e_store,
        gateway=gateway,
        keyring=keyring,
        sync_commands=True,
    )


async def scrape(port: int) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
            assert r.status == 200
            text = await r.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def delta(before, after, name, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def total(before, after, name) -> float:
    """Change of a metric summed over all its label values."""
    return sum(v for (n, _), v in after.items() if n == name) - sum(v for (n, _), v in before.items() if n == name)


async def count(store, q) -> int:
    async with store.session() as s:
        return (await s.execute(q)).scalar_one()


async def test_metrics_after_an_on_sale_equal_what_happened(world, gateway):
    env, bot = world.env, world.bot
    port = bot.metrics_server.port
    before = await scrape(port)

    show = await world.show(
        seatmap="A:1x8:Standard", opens_in=timedelta(minutes=10), per_fan_limit=2, admission_per_minute=600
    )
    fans = [world.guild.add_member(env.create_user(f"m{i:02d}")) for i in range(12)]
    for fan in fans:
        await fan.slash(world.channel, "queue join", show=show.id)
    await env.advance_time(10 * 60)
    bought, turned_away = [], 0
    for _ in range(10):
        await env.advance_time(5)
        await bot.jobs.admit_queues()
        await bot.services.sender.idle()
        for fan in fans:
            if fan in bought or fan.user.dm_channel is None or not fan.user.dm_channel.history():
                continue
            if fan.user.dm_channel.history()[-1].content.startswith("🎫 It's your turn"):
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
                else:  # let in after the last seat was held: told it is sold out
                    assert "sold out" in res.response.content
                    turned_away += 1
        if len(bought) == 8:
            break
    assert len(bought) == 8
    waiter = fans[-1] if fans[-1] not in bought else next(f for f in fans if f not in bought)
    await waiter.slash(world.channel, "waitlist join", show=show.id, quantity=1)
    refused = await bought[0].slash(world.channel, "book", show=987654, quantity=1)  # unknown show
    assert "987654" in refused.response.content
    async with world.store.session() as s:
        first = (await s.execute(select(Ticket).where(Ticket.holder_discord_id == bought[0].id))).scalar_one()
        second = (await s.execute(select(Ticket).where(Ticket.holder_discord_id == bought[1].id))).scalar_one()
    await bought[0].slash(world.channel, "ticket cancel", ticket=first.id)  # the waitlisted fan is promoted
    await world.organizer.slash(world.channel, "show staff", show=show.id, member=world.door)
    code = world.bot.services.keyring.sign(
        ticket_id=second.id, show_id=show.id, holder_discord_id=bought[1].id, now=world.store.now()
    )
    await world.door.slash(world.channel, "checkin", show=show.id, code=code)
    await world.door.slash(world.channel, "checkin", show=show.id, code=code)  # a second scan
    await bot.services.sender.drain()

    after = await scrape(port)
    store = world.store
    paid = await count(store, select(func.count()).select_from(Order).where(Order.status.in_(("paid", "refunded"))))
    assert paid == 9  # 8 buyers and the promoted fan
    assert delta(before, after, "picket_orders_total", outcome="paid") == paid
    assert delta(before, after, "picket_tickets_issued_total") == await count(
        store, select(func.count()).select_from(Ticket)
    )
    assert (
        delta(before, after, "picket_payments_total", kind="charge", outcome="succeeded")
        == gateway.successful_charges
        == 9
    )
    refunds = await count(
        store, select(func.count()).select_from(Payment).where(Payment.kind == "refund", Payment.status == "succeeded")
    )
    assert delta(before, after, "picket_payments_total", kind="refund", outcome="succeeded") == refunds == 1
    assert delta(before, after, "picket_queue_joins_total") == 12
    assert delta(before, after, "picket_queue_admissions_total") == len(
        await queue.admission_order(bot.services.redis, show.id)
    )
    assert delta(before, after, "picket_holds_created_total") == await count(
        store, select(func.count()).select_from(Hold)
    )
    assert delta(before, after, "picket_waitlist_promotions_total", outcome="promoted") == 1
    assert delta(before, after, "picket_checkins_total", result="admitted") == 1
    assert delta(before, after, "picket_checkins_total", result="already_in") == 1
    sent = await count(store, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
    assert total(before, after, "picket_dms_sent_total") == sent
    assert delta(before, after, "picket_dms_sent_total", kind="tickets_issued") == paid
    assert delta(before, after, "picket_dm_latency_seconds_count") == sent
    assert delta(before, after, "picket_commands_total", command="book", outcome="ok") == 8
    assert delta(before, after, "picket_commands_total", command="book", outcome="refused") == turned_away + 1
    assert delta(before, after, "picket_commands_total", command="picket:hold:pay", outcome="ok") == 8
    assert delta(before, after, "picket_command_latency_seconds_count", command="queue join") == 12
    assert after[("picket_holds_active", ())] == 0 and after[("picket_outbox_backlog", ())] == 0
    assert after[("picket_dependency_up", (("dependency", "database"),))] == 1


async def test_healthz_fails_when_redis_is_unreachable(world):
    bot = world.bot
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{bot.metrics_server.port}/healthz") as r:
            assert r.status == 200 and (await r.json()) == {"ok": True, "database": "ok", "redis": "ok"}
        from domain.redis_client import make_redis

        healthy_redis = bot.metrics_server.redis
        bot.metrics_server.redis = make_redis("redis://127.0.0.1:1/0")  # nothing listens there
        try:
            async with http.get(f"http://127.0.0.1:{bot.metrics_server.port}/healthz") as r:
                body = await r.json()
                assert r.status == 503 and body["ok"] is False and body["database"] == "ok" and body["redis"] != "ok"
        finally:
            await bot.metrics_server.redis.aclose()
            bot.metrics_server.redis = healthy_redis
