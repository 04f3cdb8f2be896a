"""The real bot, end to end through SimCord: commands, buttons, restarts, DMs."""

from __future__ import annotations

from datetime import timedelta

from domain import seats


async def test_commands_are_synced_and_a_fan_books_and_pays(world, gateway):
    show = await world.show(seatmap="A:2x5:Standard", tiers={"Standard": 4500})
    fan = world.fans[0]
    assert {"book", "shows", "ticket list", "ticket cancel"} <= set(fan.available_commands(world.channel))

    listed = await fan.slash(world.channel, "shows")
    assert listed.ephemeral and "Night Shift" in listed.response.embeds[0].fields[0].name

    res = await fan.slash(world.channel, "book", show=show.id, quantity=2)
    assert res.ephemeral
    assert res.response.embeds[0].title == "Reserved: Night Shift"
    assert "$90.00" in res.response.embeds[0].description

    paid = await fan.click(res.response, label="Pay $90.00")
    assert paid.response is not None
    assert res.response.embeds[0].title == "Paid: Night Shift"
    assert gateway.charged_total == 9000

    dms = fan.user.dm_channel.history()
    assert len(dms) == 1
    names = sorted(a.filename for a in dms[0].attachments)
    assert len(names) == 2 and all(n.startswith("ticket-") and n.endswith(".png") for n in names)
    assert (await dms[0].attachments[0].read()).startswith(b"\x89PNG")


async def test_refusals_are_ephemeral_messages_and_change_nothing(world):
    show = await world.show(seatmap="A:1x2:Standard", per_fan_limit=2)
    fan = world.fans[0]
    unknown = await fan.slash(world.channel, "book", show=424242)
    assert unknown.ephemeral and unknown.response.content == "There is no show #424242."

    over = await fan.slash(world.channel, "book", show=show.id, quantity=3)
    assert over.ephemeral and "allows 2 tickets per fan" in over.response.content
    avail = await seats.availability(world.store, show.id)
    assert avail[0].available == 2

    not_yours = await fan.slash(world.channel, "ticket cancel", ticket=1)
    assert not_yours.ephemeral and not_yours.response.content == "There is no ticket #1."


async def test_pay_button_still_works_after_restart(world, gateway):
    show = await world.show()
    fan = world.fans[1]
    res = await fan.slash(world.channel, "book", show=show.id, quantity=1)
    await world.env.restart_bot()
    await fan.click(res.response, custom_id=res.response.components[0]["components"][0]["custom_id"])
    assert res.response.embeds[0].title == "Paid: Night Shift"
    assert gateway.successful_charges == 1
    assert len(fan.user.dm_channel.history()) == 1


async def test_expired_hold_is_refused_at_pay_time(world, gateway):
    show = await world.show()
    fan = world.fans[2]
    res = await fan.slash(world.channel, "book", show=show.id, quantity=2)
    await world.env.advance_time(timedelta(minutes=6).total_seconds())
    click = await fan.click(res.response, label="Pay $90.00")
    assert click.followups or click.response
    texts = [m.content for m in [click.response, *click.followups] if m is not None]
    assert any("expired" in (t or "") for t in texts), texts
    assert gateway.charges == {}
    avail = await seats.availability(world.store, show.id)
    assert avail[0].held == 0 and avail[0].available == 10
