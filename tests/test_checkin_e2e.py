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
    assert (
        again.response.content.startswith("⛔ Refused: Already checked in <t:")
        and f"by <@{door.id}>" in again.response.content
    )

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
    garbage = await world.organizer.slash(
        world.channel, "checkin", show=show.id, photo=("cat.png", b"\x89PNG not really")
    )
    assert "No QR code could be read" in garbage.response.content


def huge_png(side: int = 13_000) -> bytes:
    """A genuine, all-white side x side PNG: ~190 KiB on the wire, gigabytes once decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((side + 7) // 8)  # filter byte + one bit per pixel
    squeezer = zlib.compressobj(9)
    body = b"".join(squeezer.compress(row) for _ in range(side)) + squeezer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


async def test_only_door_staff_learn_anything_from_a_code_or_a_photo(world):
    """Whether a code is genuine, expired, or for which show is the door's business only: anyone
    else gets the same refusal, and their photo is not even opened."""
    show = await world.show()
    other_show = await world.show()
    owner, nosy = world.fans[0], world.fans[1]
    await buy(world, owner, show)
    png = await owner.user.dm_channel.history()[0].attachments[0].read()
    code = read_qr(png)
    other = world.bot.services.keyring.sign(
        ticket_id=1, show_id=other_show.id, holder_discord_id=owner.id, now=world.store.now()
    )
    await world.env.advance_time(600)  # the DMed code has expired by now
    only_staff = "Only the door staff of “Night Shift” can check tickets in."
    for options in (
        {"code": code},
        {"code": other},
        {"code": "PK1.eyJrIjoiazAwMDEifQ.AAAA"},
        {"photo": ("t.png", png)},
        {"photo": ("big.png", huge_png())},
    ):
        res = await nosy.slash(world.channel, "checkin", show=show.id, **options)
        assert res.ephemeral and res.response.content == only_staff, (options.keys(), res.response.content)


async def test_an_oversized_photo_is_refused_before_it_is_decoded(world):
    show = await world.show()
    fan = world.fans[0]
    await buy(world, fan, show)
    bomb = huge_png()
    assert len(bomb) < 300 * 1024
    res = await world.organizer.slash(world.channel, "checkin", show=show.id, photo=("ticket.png", bomb))
    assert res.ephemeral and res.response.content.startswith("That image is too large to read"), res.response.content
    png = await fan.user.dm_channel.history()[0].attachments[0].read()
    ok = await world.organizer.slash(world.channel, "checkin", show=show.id, photo=("ticket.png", png))
    assert ok.response.content.startswith(f"✅ Admit <@{fan.id}>")


async def test_every_door_refusal_reads_the_same_way(world):
    show = await world.show()
    other_show = await world.show()
    owner, friend = world.fans[0], world.fans[1]
    await buy(world, owner, show)
    await buy(world, friend, other_show)
    ticket_id = int(owner.user.dm_channel.history()[0].embeds[0].fields[0].name.split("#")[1])
    friends_ticket = int(friend.user.dm_channel.history()[0].embeds[0].fields[0].name.split("#")[1])
    now = world.store.now()
    sign = world.bot.services.keyring.sign
    someone_elses = sign(ticket_id=ticket_id, show_id=show.id, holder_discord_id=friend.id, now=now)
    wrong_show = sign(ticket_id=friends_ticket, show_id=show.id, holder_discord_id=friend.id, now=now)
    good = sign(ticket_id=ticket_id, show_id=show.id, holder_discord_id=owner.id, now=now)
    at_door = lambda code: world.organizer.slash(world.channel, "checkin", show=show.id, code=code)  # noqa: E731
    belongs = await at_door(someone_elses)
    assert (
        belongs.response.content == f"⛔ Refused: Ticket #{ticket_id} belongs to someone else; this code is not theirs."
    )
    another = await at_door(wrong_show)
    assert another.response.content.startswith("⛔ Refused: This ticket is for another show"), another.response.content
    assert (await at_door(good)).response.content.startswith("✅ Admit")
    again = await at_door(good)
    assert again.response.content.startswith("⛔ Refused: Already checked in <t:"), again.response.content
