"""Ticket DMs under Discord's failures: 429s and 500s are waited out and retried; each fan gets
exactly one DM per order; a fan with closed DMs is recorded, not retried forever."""

from __future__ import annotations

from sqlalchemy import select

from domain.models import Fan, OutboxMessage


async def buy(world, fan, show, quantity=1):
    res = await fan.slash(world.channel, "book", show=show.id, quantity=quantity)
    assert res.response.components, res.response.content
    await fan.click(res.response, custom_id=res.response.components[0]["components"][0]["custom_id"])
    assert res.response.embeds and res.response.embeds[0].title.startswith("Paid"), (res.response.content, res.followups)


def dm_posts(env, fan):
    path = f"/channels/{fan.user.dm_channel.id}/messages"
    return [r for r in env.http_requests if r.method == "POST" and r.path == path]


async def outbox_states(store):
    async with store.session() as s:
        return sorted((await s.execute(select(OutboxMessage.recipient_discord_id, OutboxMessage.status))).all())


async def test_429s_and_500s_on_dm_sends_deliver_each_message_once(world):
    from bot.metrics import REGISTRY

    def rate_limited() -> float:
        return REGISTRY.get_sample_value("picket_discord_rate_limited_total") or 0.0

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
    world.env.inject_error("POST", f"/channels/{fan.user.dm_channel.id}/messages", status=403, code=50007, message="Cannot send messages to this user", times=None)
    await buy(world, fan, show)
    await world.env.advance_time(3600)
    assert len(dm_posts(world.env, fan)) == 1
    assert [s for _, s in await outbox_states(world.store)] == ["dead"]
    async with world.store.session() as s:
        assert (await s.get(Fan, fan.id)).dms_closed is True


async def test_messages_left_in_the_outbox_are_sent_when_the_bot_starts(world, gateway):
    """A purchase committed while no sender was draining (another process crashed, the bot was down):
    its DM waits in the outbox and goes out when the bot starts, once."""
    from domain import booking

    show = await world.show()
    fan = world.fans[3]
    hold = await booking.hold_seats(world.store, show_id=show.id, fan_discord_id=fan.id, quantity=2)
    await booking.purchase(world.store, gateway, hold_id=hold.id, fan_discord_id=fan.id)  # not through the bot: nobody kicks
    await world.env.settle()
    assert fan.user.dm_channel.history() == []
    await world.env.restart_bot()
    await world.env.settle()
    assert len(fan.user.dm_channel.history()) == 1
    assert len(fan.user.dm_channel.history()[0].attachments) == 2
    await world.env.restart_bot()
    await world.env.settle()
    assert len(fan.user.dm_channel.history()) == 1
