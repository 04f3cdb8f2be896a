"""From payment to the door: the DMed QR checks in once; nobody can use another fan's ticket."""

from __future__ import annotations

from notifier.ticket_codes import read_qr
from tests.test_dm_delivery import buy


async def test_the_dmed_qr_checks_in_once(world):
    show = await world.show()
    fan, door = world.fans[0], world.door
    await buy(world, fan, show)
    card = world.fans[0].user.dm_channel.history()[0].attachments[0]
    png = await card.read()
    code = read_qr(png)
    assert code and code.startswith("PK1.")

    refused = await door.slash(world.channel, "checkin", show=show.id, code=code)
    assert refused.response.content == "Only the door staff of “Night Shift” can check tickets in."
    await world.organizer.slash(world.channel, "show staff", show=show.id, member=door)

    admitted = await door.slash(world.channel, "checkin", show=show.id, photo=("ticket.png", png))
    assert admitted.response.content.startswith(f"✅ Admit <@{fan.id}>")
    again = await door.slash(world.channel, "checkin", show=show.id, code=code)
    assert again.response.content.startswith("Already checked in at ") and f"by <@{door.id}>" in again.response.content

    listing = await fan.slash(world.channel, "ticket list")
    assert "checked in" in listing.response.embeds[0].fields[0].value


async def test_screenshots_expire_and_fresh_codes_come_from_ticket_show(world):
    show = await world.show()
    fan = world.fans[1]
    await buy(world, fan, show)
    old_code = read_qr(await fan.user.dm_channel.history()[0].attachments[0].read())
    await world.env.advance_time(600)  # a screenshot taken at purchase, shown ten minutes later
    stale = await world.organizer.slash(world.channel, "checkin", show=show.id, code=old_code)
    assert "expired" in stale.response.content
    ticket_id = int(fan.user.dm_channel.history()[0].embeds[0].fields[0].name.split("#")[1])
    asked = await fan.slash(world.channel, "ticket show", ticket=ticket_id)
    assert "in your DMs" in asked.response.content
    fresh = fan.user.dm_channel.history()[-1]
    code = read_qr(await fresh.attachments[0].read())
    assert code in fresh.content  # text fallback under the QR
    ok = await world.organizer.slash(world.channel, "checkin", show=show.id, code=code)
    assert ok.response.content.startswith("✅ Admit")


async def test_nobody_uses_another_fans_ticket(world):
    show = await world.show()
    other_show = await world.show()
    owner, thief = world.fans[2], world.fans[3]
    await buy(world, owner, show)
    png = await owner.user.dm_channel.history()[0].attachments[0].read()
    ticket_id = int(owner.user.dm_channel.history()[0].embeds[0].fields[0].name.split("#")[1])
    for command, options in [("ticket show", {"ticket": ticket_id}), ("ticket cancel", {"ticket": ticket_id})]:
        res = await thief.slash(world.channel, command, **options)
        assert res.response.content == f"There is no ticket #{ticket_id}.", command
    listing = await thief.slash(world.channel, "ticket list")
    assert listing.response.content.startswith("You have no tickets yet")
    at_wrong_door = await world.organizer.slash(world.channel, "checkin", show=other_show.id, photo=("t.png", png))
    assert "another show" in at_wrong_door.response.content
    forged = await world.organizer.slash(world.channel, "checkin", show=show.id, code="PK1.eyJrIjoiazAwMDEifQ.AAAA")
    assert forged.response.content.startswith("⛔ Refused")
    garbage = await world.organizer.slash(world.channel, "checkin", show=show.id, photo=("cat.png", b"\x89PNG not really"))
    assert "No QR code could be read" in garbage.response.content
