"""Organizers open, announce, run and cancel their own shows in their own server."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.models import Show, Venue
from tests.snapshot import table_counts

GOOD_FORM = {
    "title": "Harbour Lights",
    "artists": "The Nightjars, Mira Sol",
    "when": "2026-03-01 20:00\n2026-01-10 10:00",
    "venue": "Picket Hall\nA:2x5:Standard",
    "tiers": "Standard=45",
}


def button(message, label):
    for row in message.components:
        for comp in row["components"]:
            if comp.get("label") == label:
                return comp["custom_id"]
    raise AssertionError(f"no button {label!r} in {message.components}")


async def create_show(world, form=GOOD_FORM, **options):
    await world.organizer.slash(world.channel, "organizer register")
    shown = await world.organizer.slash(world.channel, "show create", genres="indie, dream pop", **options)
    assert shown.modal is not None and shown.modal["title"] == "Create a show"
    return await world.organizer.submit_modal(shown, form)


async def created_show_id(done) -> int:
    assert done.response.content.startswith("Created show #"), done.response.content
    return int(done.response.content.split("#")[1].split(".")[0])


async def test_create_announce_book_after_restart_then_cancel(world, gateway):
    done = await create_show(world)
    show_id = await created_show_id(done)
    embed = done.response.embeds[0]
    assert embed.title == "Harbour Lights" and "The Nightjars, Mira Sol" in embed.description

    posted = await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    assert posted.ephemeral and "Announced" in posted.response.content
    announcement = world.channel.last_message
    assert announcement.embeds[0].title == "Harbour Lights"
    assert "<t:" in announcement.embeds[0].description  # Discord timestamps: local time for each fan

    waiting_fan, fan = world.fans[0], world.fans[1]
    early = await fan.click(announcement, label="Book")
    assert "Sales open <t:" in early.response.content  # not open yet: in the queue, told when it opens

    await world.env.advance_time(10 * 86400)  # past the on-sale time
    await world.env.restart_bot()  # the announcement's buttons must survive a restart
    clicked = await fan.click(announcement, label="Book")
    assert clicked.ephemeral and "It's your turn" in clicked.response.content
    await fan.click(clicked.response, label="Choose seats")
    assert clicked.response.embeds[0].title == "Choose seats · Harbour Lights"
    assert clicked.response.attachments[0].filename == "seatmap.png"
    await fan.select(clicked.response, ["2"], custom_id=f"picket:book:{show_id}:4")
    assert clicked.response.embeds[0].title == "Reserved: Harbour Lights"
    await fan.click(clicked.response, custom_id=button(clicked.response, "Pay $90.00"))
    assert clicked.response.embeds[0].title == "Paid: Harbour Lights"
    joined = await waiting_fan.click(announcement, label="Join waitlist")
    assert "still has seats on sale: join the queue" in joined.response.content  # not sold out: the queue sells them
    await waiting_fan.click(announcement, label="Book")  # so into the queue
    followed = await waiting_fan.click(announcement, label="Follow artist")
    assert "The Nightjars, Mira Sol" in followed.response.content

    sales = await world.organizer.slash(world.channel, "show sales", show=show_id)
    fields = {f.name: f.value for f in sales.response.embeds[0].fields}
    assert fields["Standard ($45.00)"] == "sold 2 · held 0 · available 8"
    assert fields["Revenue"] == "$90.00" and fields["Waitlist"] == "0"
    assert sales.response.attachments[0].filename == "sales.png"

    ask = await world.organizer.slash(world.channel, "show cancel", show=show_id)
    await world.organizer.click(ask.response, custom_id=button(ask.response, "Yes, cancel the show"))
    assert "2 tickets voided, 1 orders refunded, 2 fans notified" in ask.response.content
    assert sum(amt for res, _, amt in gateway.refunds.values() if res.ok) == 9000
    holder_dm = fan.user.dm_channel.history()[-1].content
    assert "has been cancelled" in holder_dm and "$90.00 is refunded" in holder_dm
    assert (
        "in its queue; the queue is closed and nothing was charged" in waiting_fan.user.dm_channel.history()[-1].content
    )
    after = await fan.slash(world.channel, "ticket list")
    assert after.response.content == "You have no tickets yet. Use /book to get some."


async def test_only_the_organizer_manages_a_show(world):
    show_id = await created_show_id(await create_show(world))
    fan, rival = world.fans[0], world.fans[1]
    await world.organizer.slash(world.channel, "organizer grant", member=rival)  # an organizer, of other shows
    for command, options, doing in [
        ("show sales", {}, "see its sales"),
        ("show cancel", {}, "cancel it"),
        ("show edit", {}, "edit it"),
        ("show announce", {"channel": world.channel}, "announce it"),
    ]:
        res = await rival.slash(world.channel, command, show=show_id, **options)
        assert res.ephemeral and res.response.content == f"Only the organizer of “Harbour Lights” can {doing}.", command
        res = await fan.slash(world.channel, command, show=show_id, **options)
        assert (
            res.ephemeral
            and res.response.content
            == f"{fan.mention} is not a registered organizer here. Use /organizer register first."
        ), command
    refused = await fan.slash(world.channel, "organizer register")
    assert refused.ephemeral and "needs a server admin" in refused.response.content
    no_form = await fan.slash(world.channel, "show create")
    assert no_form.modal is None and "not a registered organizer" in no_form.response.content


async def test_admin_grants_and_role_lets_members_register(world):
    import discord

    fan, other = world.fans[0], world.fans[1]
    granted = await world.organizer.slash(world.channel, "organizer grant", member=fan)
    assert "is now an organizer" in granted.response.content
    assert (await fan.slash(world.channel, "show create")).modal is not None
    role = world.guild.create_role("Promoters", permissions=discord.Permissions.none())
    refused = await other.slash(world.channel, "organizer role", role=role)
    assert "Only server admins" in refused.response.content
    await world.organizer.slash(world.channel, "organizer role", role=role)
    promoter = world.guild.add_member(world.env.create_user("promoter"), roles=[role])
    ok = await promoter.slash(world.channel, "organizer register")
    assert "You are an organizer here" in ok.response.content


async def test_edit_changes_the_announced_details(world):
    show_id = await created_show_id(await create_show(world))
    shown = await world.organizer.slash(world.channel, "show edit", show=show_id)
    assert shown.modal["title"] == "Edit show"
    done = await world.organizer.submit_modal(
        shown,
        {
            "title": "Harbour Lights (2nd night)",
            "artists": "Mira Sol",
            "genres": "",
            "start": "2026-03-02 20:00",
            "on_sale": "2026-01-10 10:00",
        },
    )
    assert done.response.embeds[0].title == "Harbour Lights (2nd night)"
    assert "Mira Sol" in done.response.embeds[0].description and "Nightjars" not in done.response.embeds[0].description


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("when", "2026-03-01 20:00\n2026-03-02 10:00", "On-sale time: sales must open before the show starts."),
        ("when", "2025-03-01 20:00\n2025-02-01 10:00", "Start time: the show must start in the future."),
        ("when", "next friday\n2026-01-10 10:00", "Start time: `next friday` is not a date"),
        ("venue", "Picket Hall\nA:lots:VIP", "Seat map: `lots` in section `A` is not ROWSxSEATS"),
        ("venue", "Picket Hall\nA:0x10:Standard", "Seat map: section `A` has zero seats."),
        ("venue", "Picket Hall", "Venue name / Seat map"),
        ("tiers", "Standard=forty", "Price tiers: price of `Standard`: `forty` is not a number."),
        ("tiers", "VIP=100", "section `A` uses tier `Standard`, which has no price"),
        ("artists", " , ", "Artists: give at least one."),
    ],
)
async def test_bad_form_input_names_the_field_and_creates_nothing(world, field, value, message):
    await world.organizer.slash(world.channel, "organizer register")
    before = await table_counts(world.store)
    done = await create_show(world, {**GOOD_FORM, field: value})
    assert done.ephemeral
    assert message in done.response.content
    assert await table_counts(world.store) == before
    async with world.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Show))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(Venue))).scalar_one() == 0
