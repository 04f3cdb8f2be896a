"""Ticket DMs under Discord's failures: 429s and 500s are waited out and retried; each fan gets
exactly one DM per order; a fan with closed DMs is recorded, not retried forever, and told at their
next command; a passing failure on our side (the database) is retried, never the end of a DM."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.models import Fan, OutboxMessage
from tests.simcord_ext import actor_locale, rate_limits
from tests.test_alerts_e2e import alert_dms
from tests.test_organizers_e2e import create_show, created_show_id


async def buy(world, fan, show, quantity=1):
    res = await fan.slash(world.channel, "book", show=show.id, quantity=quantity)
    assert res.response.components, res.response.content
    paid = await fan.click(res.response, custom_id=res.response.components[0]["components"][0]["custom_id"])
    assert res.response.embeds and res.response.embeds[0].title.startswith("Paid"), (
        res.response.content,
        res.followups,
    )
    return paid


def dm_posts(env, fan):
    path = f"/channels/{fan.user.dm_channel.id}/messages"
    return [r for r in env.http_requests if r.method == "POST" and r.path == path]


async def outbox_states(store):
    async with store.session() as s:
        return sorted((await s.execute(select(OutboxMessage.recipient_discord_id, OutboxMessage.status))).all())


def rate_limited() -> float:
    """picket_discord_rate_limited_total: what the dashboard's 429 panel and alert read."""
    from bot.metrics import REGISTRY

    return REGISTRY.get_sample_value("picket_discord_rate_limited_total") or 0.0


async def test_429s_and_500s_on_dm_sends_deliver_each_message_once(world):
    before = rate_limited()
    show = await world.show(seatmap="A:2x10:Standard")
    fans = world.fans[:4]
    # Discord answers the first sends with two 429s and a 500, on any channel.
    world.env.inject_error("POST", "/channels/*/messages", status=429, message="You are being rate limited.", times=2)
    world.env.inject_error("POST", "/channels/*/messages", status=500, times=1)
    for fan in fans:
        await buy(world, fan, show)
    await world.env.settle()

    for fan in fans:
        assert len(fan.user.dm_channel.history()) == 1, fan.name
    attempts = sum(len(dm_posts(world.env, f)) for f in fans)
    assert attempts == len(fans) + 3  # every failed attempt was retried, none twice after success
    assert [status for _, status in await outbox_states(world.store)] == ["sent"] * len(fans)
    stats = world.bot.services.sender.stats
    assert (stats.rate_limited, stats.transient_errors, stats.sent) == (2, 1, len(fans))
    assert rate_limited() - before == 2  # what the dashboard's 429 panel and alert read


async def test_a_429_discord_py_waits_out_is_counted_once_and_the_dm_arrives(world, monkeypatch):
    """discord.py sleeps through Discord's 429 and sends again: the fan gets the DM once, and the
    dashboard counts the 429 once, though Picket's own code never saw it."""
    show = await world.show()
    fan = world.fans[0]
    before = rate_limited()
    with rate_limits(monkeypatch) as limits:
        limits.add("POST", "/channels/*/messages", retry_after=0.05, times=1)
        await buy(world, fan, show)
        await world.env.settle()
    assert limits.answered == 1, "Discord never answered 429: the test proves nothing"
    assert len(fan.user.dm_channel.history()) == 1
    assert len(dm_posts(world.env, fan)) == 1  # the 429'd attempt created nothing; the retry did, once
    assert [status for _, status in await outbox_states(world.store)] == ["sent"]
    assert rate_limited() - before == 1


async def test_429s_discord_py_gives_up_on_are_counted_once_each_and_the_dm_still_arrives(world, monkeypatch):
    """Five 429s in a row: discord.py waits out each and then gives up; Picket's sender waits and
    sends again. Each 429 is counted once (not again where Picket handles the last one)."""
    show = await world.show()
    fan = world.fans[0]
    before = rate_limited()
    with rate_limits(monkeypatch) as limits:
        limits.add("POST", "/channels/*/messages", retry_after=0.01, times=5)
        await buy(world, fan, show)
        await world.env.settle()
    assert limits.answered == 5
    assert len(fan.user.dm_channel.history()) == 1
    assert [status for _, status in await outbox_states(world.store)] == ["sent"]
    assert rate_limited() - before == 5


async def test_a_429_on_a_reply_is_waited_out_and_counted_once(world, monkeypatch):
    """Interaction replies go through discord.py's webhook adapter, which has its own 429 handling."""
    before = rate_limited()
    with rate_limits(monkeypatch) as limits:
        limits.add("POST", "/interactions/*/*/callback", retry_after=0.05, times=1)
        res = await world.fans[0].slash(world.channel, "following")
    assert limits.answered == 1
    assert res.ephemeral and res.response.content
    assert rate_limited() - before == 1


async def test_a_send_that_keeps_failing_is_rescheduled_then_delivered_once(world):
    show = await world.show()
    fan = world.fans[0]
    world.env.inject_error("POST", f"/channels/{fan.user.dm_channel.id}/messages", status=502, times=6)
    await buy(world, fan, show)
    await world.env.advance_time(600)  # past every back-off
    await world.env.settle()
    assert len(fan.user.dm_channel.history()) == 1
    assert [s for _, s in await outbox_states(world.store)] == ["sent"]
    assert len(dm_posts(world.env, fan)) == 7  # 6 failures + 1 success
    assert world.bot.services.sender.stats.rescheduled >= 1  # quick retries ran out; it came back later


async def test_closed_dms_are_recorded_and_not_retried(world):
    show = await world.show()
    fan = world.fans[0]
    world.env.inject_error(
        "POST",
        f"/channels/{fan.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=None,
    )
    await buy(world, fan, show)
    await world.env.advance_time(3600)
    assert len(dm_posts(world.env, fan)) == 1
    assert [s for _, s in await outbox_states(world.store)] == ["dead"]
    async with world.store.session() as s:
        assert (await s.get(Fan, fan.id)).dms_closed is True


async def test_messages_left_in_the_outbox_are_sent_when_the_bot_starts(world, gateway):
    """A purchase committed while no sender was draining (another process crashed, the bot was down):
    its DM waits in the outbox and goes out when the bot starts, once."""
    from domain import holds, orders
    from domain.store import Store

    show = await world.show()
    fan = world.fans[3]
    elsewhere = Store(world.store.engine, world.store.clock)  # another process: its commits wake no sender here
    hold = await holds.hold_seats(elsewhere, show_id=show.id, fan_id=fan.id, quantity=2)
    await orders.purchase(elsewhere, gateway, hold_id=hold.id, fan_id=fan.id)
    await world.env.settle()
    assert fan.user.dm_channel.history() == []
    await world.env.restart_bot()
    await world.env.settle()
    assert len(fan.user.dm_channel.history()) == 1
    assert len(fan.user.dm_channel.history()[0].attachments) == 2
    await world.env.restart_bot()
    await world.env.settle()
    assert len(fan.user.dm_channel.history()) == 1


async def test_a_database_error_while_rendering_is_retried_and_the_ticket_dm_arrives(world, monkeypatch):
    """The ticket DM's render reads the store; a dropped connection there once must not end the DM."""
    from sqlalchemy.exc import OperationalError

    import notifier.sender

    render, failed = notifier.sender.render, []

    async def database_drops_once(store, kind, payload, *locale):
        if kind == "tickets_issued" and not failed:
            failed.append(kind)
            raise OperationalError("SELECT ...", {}, ConnectionError("Lost connection to server during query"))
        return await render(store, kind, payload, *locale)

    monkeypatch.setattr(notifier.sender, "render", database_drops_once)
    show = await world.show()
    fan = world.fans[0]
    await buy(world, fan, show)
    await world.env.advance_time(600)  # past the back-off
    await world.env.settle()
    assert failed, "the render never failed: the test proves nothing"
    assert len(fan.user.dm_channel.history()) == 1
    assert len(fan.user.dm_channel.history()[0].attachments) == 1  # the ticket
    assert [s for _, s in await outbox_states(world.store)] == ["sent"]


async def announce_new_show(world) -> int:
    show_id = await created_show_id(await create_show(world))  # The Nightjars, Mira Sol
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    await world.env.settle()
    return show_id


async def dms_closed(store, fan) -> bool:
    async with store.session() as s:
        row = await s.get(Fan, fan.id)
        return bool(row and row.dms_closed)


@pytest.mark.parametrize(
    "status,code,message",
    [(400, 50035, "Invalid Form Body"), (403, 50001, "Missing Access"), (404, 10003, "Unknown Channel")],
)
async def test_a_refusal_other_than_closed_dms_leaves_the_fans_alerts_on(world, status, code, message):
    fan = world.fans[0]
    await fan.slash(world.channel, "follow", artist="The Nightjars")
    show = await world.show()
    world.env.inject_error(
        "POST", f"/channels/{fan.user.dm_channel.id}/messages", status=status, code=code, message=message, times=1
    )
    await buy(world, fan, show)
    await world.env.settle()
    assert fan.user.dm_channel.history() == []  # Discord refused that message for good: not retried
    assert [s for _, s in await outbox_states(world.store)] == ["dead"]
    assert not await dms_closed(world.store, fan)

    await announce_new_show(world)
    assert len(alert_dms(fan)) == 1  # the fan's DMs were never closed: their alert arrives
    later = await fan.slash(world.channel, "shows")
    assert all("DM" not in (f.content or "") for f in later.followups)  # and nobody tells them otherwise


def notices(result) -> list:
    return [f for f in result.followups if "DM" in (f.content or "")]


async def test_a_fan_whose_dms_are_closed_is_told_once_at_their_next_command_and_a_dm_that_gets_through_clears_it(
    world, monkeypatch
):
    fan = world.fans[0]
    await fan.slash(world.channel, "follow", artist="The Nightjars")
    world.env.inject_error(
        "POST",
        f"/channels/{fan.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=1,
    )
    await announce_new_show(world)  # the alert is refused: the fan's DMs are closed
    assert alert_dms(fan) == [] and await dms_closed(world.store, fan)
    posts = len(dm_posts(world.env, fan))
    await announce_new_show(world)
    assert alert_dms(fan) == [] and len(dm_posts(world.env, fan)) == posts  # not told yet: no more refused requests

    with actor_locale(monkeypatch, "ko"):
        told = await fan.slash(world.channel, "shows")
    assert told.response.content or told.response.embeds  # the command's own answer is unchanged
    assert len(notices(told)) == 1 and notices(told)[0].ephemeral, told.followups
    assert "DM을 보내지 못했습니다" in notices(told)[0].content and "/티켓 목록" in notices(told)[0].content
    again = await fan.slash(world.channel, "ticket list")
    assert notices(again) == []  # told once

    # The fan opened their DMs: the next DM is tried, gets through, and the flag clears.
    await announce_new_show(world)
    assert len(alert_dms(fan)) == 1
    assert not await dms_closed(world.store, fan)
    await announce_new_show(world)
    assert len(alert_dms(fan)) == 2


async def test_a_paid_fan_whose_ticket_dm_is_refused_is_told_and_told_again_after_the_next_refusal(world):
    fan = world.fans[0]
    await fan.slash(world.channel, "follow", artist="The Nightjars")
    world.env.inject_error(
        "POST",
        f"/channels/{fan.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=None,
    )
    show = await world.show()
    paid = await buy(world, fan, show)
    await world.env.settle()
    # Told with the payment's own answer if the refusal came back in time, else at the next command.
    first = await fan.slash(world.channel, "shows")
    told = notices(paid) + notices(first)
    assert len(told) == 1 and "Allow direct messages" in told[0].content and "/ticket list" in told[0].content
    attempts = len(dm_posts(world.env, fan))
    await announce_new_show(world)  # tried once more (they were told), refused again
    await announce_new_show(world)  # closed again: skipped, no request
    assert len(dm_posts(world.env, fan)) == attempts + 1
    again = await fan.slash(world.channel, "shows")
    assert len(notices(again)) == 1


async def test_a_long_discord_outage_ends_no_dm_the_ticket_arrives_when_it_is_over(world, gateway):
    """Only a permanent refusal ends a DM: 5xx for 12 rounds of retries in a row (Picket used to give
    up after 10), the back-off growing to its 10-minute cap, and the ticket still arrives, once."""
    from domain import holds, orders
    from domain.store import Store

    world.bot.services.sender.inline_retries = 0  # one request per round: the rounds are what count
    show = await world.show()
    fan = world.fans[0]
    world.env.inject_error(
        "POST", f"/channels/{fan.user.dm_channel.id}/messages", status=503, message="Service Unavailable", times=12
    )
    # Paid outside the bot (another process: its commit wakes no sender here), so the sends and their
    # back-off all run on SimCord's virtual time below.
    elsewhere = Store(world.store.engine, world.store.clock)
    hold = await holds.hold_seats(elsewhere, show_id=show.id, fan_id=fan.id, quantity=1)
    await orders.purchase(elsewhere, gateway, hold_id=hold.id, fan_id=fan.id)
    for _ in range(6):
        await world.env.advance_time(3600)
    await world.env.settle()
    assert len(dm_posts(world.env, fan)) == 13
    assert len(fan.user.dm_channel.history()) == 1
    assert [s for _, s in await outbox_states(world.store)] == ["sent"]
