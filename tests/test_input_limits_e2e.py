"""Issue #13, "bad input and slow work", through the real bot in SimCord: every bad value in a form or
an option gets its own short ephemeral answer and changes nothing; a refused command writes nothing;
a refund that times out is reported as pending; /book remembers what the fan asked for while in line."""

from __future__ import annotations

import discord
import pytest
from sqlalchemy import func, select

from domain.models import Follow, Show, ShowArtist, Ticket
from tests.simcord_ext import actor_locale
from tests.snapshot import table_counts
from tests.test_organizers_e2e import GOOD_FORM, create_show, created_show_id

GENERIC = "Something went wrong on our side"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("venue", "Picket Hall\nA:²:Standard", "Seat map: `²` in section `A` is not ROWSxSEATS"),
        ("venue", "Picket Hall\nA:①x5:Standard", "Seat map: `①x5` in section `A` is not ROWSxSEATS"),
        ("tiers", "Standard=1e999999", "Price tiers: price of `Standard`: `1e999999` is more than $100,000.00."),
        (
            "when",
            "2026-03-01 20:00\n0001-01-01 00:00",
            "On-sale time: `0001-01-01 00:00` is not between the years 2000 and 2100.",
        ),
        ("artists", "Mira Sol, " + "ß" * 60, "longer than 100 characters once spelled out"),
        ("title", "\u200b\u200b\u200b", "Title: give a name of 1-200 characters that can be seen."),
        ("artists", "Mira Sol, \u3164", "Artists: give a name of 1-100 characters that can be seen."),
        ("venue", "\u200b\nA:2x5:Standard", "Venue: give a name of 1-200 characters that can be seen."),
        ("tiers", "Standard=45, \u2060=10", "Price tiers: tier name: give a name of 1-40 characters that can be seen."),
        # Long input is quoted as a short excerpt: the answer itself must stay within Discord's limits.
        ("venue", "Picket Hall\nA:" + "x" * 3900, "Seat map: `" + "x" * 39 + "…` in section `A`"),
        ("tiers", "VIP " + "y" * 990, "Price tiers: `VIP " + "y" * 35 + "…` is not `name=price`."),
    ],
)
async def test_bad_form_values_get_their_own_short_answer_and_create_nothing(world, field, value, message):
    await world.organizer.slash(world.channel, "organizer register")
    before = await table_counts(world.store)
    done = await create_show(world, {**GOOD_FORM, field: value})
    assert done.ephemeral
    assert message in done.response.content and GENERIC not in done.response.content
    assert len(done.response.content) < 400
    assert await table_counts(world.store) == before


async def test_create_refuses_an_unknown_time_zone_before_the_form(world):
    await world.organizer.slash(world.channel, "organizer register")
    shown = await world.organizer.slash(world.channel, "show create", timezone="Mars/" + "Olympus" * 8)
    assert shown.modal is None and shown.ephemeral
    assert (
        shown.response.content
        == "Time zone: `Mars/OlympusOlympusOlympusOlympusOlympu…` is not a known time zone such as Europe/Paris or Asia/Seoul."
    )


async def test_every_option_and_form_field_declares_a_length_limit(world):
    from cogs.common.show_forms import ShowCreateModal, ShowEditModal

    missing = []
    for command in world.bot.tree.walk_commands():
        if isinstance(command, discord.app_commands.Command):
            for param in command.parameters:
                if param.type is discord.AppCommandOptionType.string and param.max_value is None and not param.choices:
                    missing.append(f"/{command.qualified_name} {param.name}")
    assert missing == []
    show_id = await created_show_id(await create_show(world))
    info = await __import__("domain.shows", fromlist=["get_show"]).get_show(world.store, show_id)
    services = world.bot.services
    forms = [
        ShowCreateModal(services, genres="", per_fan_limit=4, timezone="UTC", currency="USD"),
        ShowEditModal(services, info, "UTC"),
    ]
    for form in forms:
        for item in form.children:
            assert isinstance(item, discord.ui.TextInput) and item.max_length, (type(form).__name__, item.label)


async def test_a_refused_follow_follows_nothing(world, monkeypatch):
    fan = world.fans[0]
    res = await fan.slash(world.channel, "follow", artist="Mira Sol", genre="ß" * 60)
    assert res.ephemeral and "Genre: `" in res.response.content and "longer than 100" in res.response.content
    async with world.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Follow))).scalar_one() == 0
    res = await fan.slash(world.channel, "follow", artist="Mira Sol", genre="dream pop")
    assert res.response.content == "You now follow artist **Mira Sol** and genre **dream pop**."
    with actor_locale(monkeypatch, "ko"):  # in the fan's language
        followed = await fan.slash(world.channel, "follow", artist="Mira Sol", genre="indie")
        assert followed.response.content == "아티스트 **Mira Sol**, 장르 **indie**을(를) 팔로우합니다."


async def test_edit_with_too_many_artists_changes_nothing_and_says_so(world):
    show_id = await created_show_id(await create_show(world))
    shown = await world.organizer.slash(world.channel, "show edit", show=show_id)
    many = ", ".join(f"a{i}" for i in range(60))
    before = await table_counts(world.store)
    done = await world.organizer.submit_modal(
        shown,
        {
            "title": "Harbour Lights",
            "artists": many,
            "genres": "",
            "start": "2026-03-01 20:00",
            "on_sale": "2026-01-10 10:00",
        },
    )
    assert done.ephemeral and done.response.content == "Artists: at most 50 names and 1000 characters in all."
    assert await table_counts(world.store) == before


async def test_a_failure_after_the_change_was_saved_does_not_say_nothing_changed(world, monkeypatch):
    """The edit is saved, then answering fails (as a reply Discord refuses would): the organizer must
    not read "nothing was changed"."""
    import cogs.common.show_forms

    show_id = await created_show_id(await create_show(world))
    shown = await world.organizer.slash(world.channel, "show edit", show=show_id)

    def broken_embed(show, *args, **kwargs):
        raise RuntimeError("the answer could not be rendered")

    monkeypatch.setattr(cogs.common.show_forms, "show_embed", broken_embed)
    done = await world.organizer.submit_modal(
        shown,
        {
            "title": "Renamed",
            "artists": "Mira Sol",
            "genres": "",
            "start": "2026-03-01 20:00",
            "on_sale": "2026-01-10 10:00",
        },
    )
    assert [type(e) for e in world.env.errors] == [RuntimeError]  # logged, as unexpected errors must be
    assert done.ephemeral and "nothing was changed" not in done.response.content
    assert done.response.content.startswith("Your request went through")
    async with world.store.session() as s:
        assert (await s.execute(select(Show.title))).scalar_one() == "Renamed"
        assert (await s.execute(select(ShowArtist.name))).scalars().all() == ["Mira Sol"]


async def test_a_refund_that_times_out_is_reported_as_pending_and_sent_later(world, gateway):
    from domain import recovery

    show = await world.show()
    fan = world.fans[0]
    res = await fan.slash(world.channel, "book", show=show.id, quantity=1)
    await fan.click(res.response, label="Pay $45.00")
    async with world.store.session() as s:
        ticket_id = (await s.execute(select(Ticket.id))).scalar_one()
    gateway.refund_timeouts_left = 1
    done = await fan.slash(world.channel, "ticket cancel", ticket=ticket_id)
    assert done.ephemeral
    assert done.response.content == (
        f"Ticket #{ticket_id} (Section A · row A · seat 1) for **Night Shift** is cancelled. The payment provider has not "
        "confirmed your refund of $45.00 yet: it is pending and we retry it automatically; you need not do anything."
    )
    assert gateway.refunds == {}
    listed = await fan.slash(world.channel, "ticket list")
    assert listed.response.content == "You have no tickets yet. Use /book to get some."
    await recovery.recover(world.store, gateway, None)  # the next tick
    assert [amount for result, _, amount in gateway.refunds.values() if result.ok] == [4500]


async def test_book_remembers_quantity_and_tier_for_the_fans_turn(world, gateway):
    from datetime import timedelta

    show = await world.show(
        seatmap="A:2x5:VIP, B:2x5:Standard", tiers={"VIP": 10000, "Standard": 4500}, opens_in=timedelta(minutes=30)
    )
    fan = world.fans[0]
    refused = await fan.slash(world.channel, "book", show=show.id, quantity=2, tier="Balcony")
    assert refused.ephemeral and refused.response.content.startswith(f"Show #{show.id} has no tier `Balcony`")
    assert (await fan.slash(world.channel, "queue status", show=show.id)).response.content.startswith(
        "You're not in the queue"
    )

    early = await fan.slash(world.channel, "book", show=show.id, quantity=2, tier="vip")
    assert "Sales open" in early.response.content
    await world.env.advance_time(30 * 60 + 5)  # the open
    await world.bot.jobs.admit_queues()
    await world.env.restart_bot()  # what the fan asked for lives in the message, not in memory
    await fan.click(early.response, label="Refresh")
    assert "It's your turn" in early.response.content
    await fan.click(early.response, label="Reserve 2 seat(s) · VIP")
    assert early.response.embeds[0].title == "Reserved: Night Shift"
    assert "$200.00" in early.response.embeds[0].description
    assert [f.name for f in early.response.embeds[0].fields] == ["VIP", "VIP"]


async def test_show_seats_past_the_seat_limit_adds_nothing(world):
    show = await world.show(seatmap="A:20x20:Standard")
    before = await table_counts(world.store)
    res = await world.organizer.slash(world.channel, "show seats", show=show.id, seatmap="B:400x250:Standard")
    assert res.ephemeral and "at most 100000" in res.response.content
    assert await table_counts(world.store) == before
    ok = await world.organizer.slash(world.channel, "show seats", show=show.id, seatmap="B:1x10:Standard")
    assert ok.response.content.startswith("Added 10 seats")
