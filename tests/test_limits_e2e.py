"""Every message Picket sends stays inside Discord's limits, whatever the order or the lineup: the real
bot through SimCord, measuring what fans receive (SimCord does not enforce the limits itself)."""

from __future__ import annotations

import re
from datetime import timedelta

from domain import follows, organizers, shows, venues
from notifier.render import ALERT_PREFIX
from tests.simcord_ext import actor_locale, nonce_folding
from tests.test_dm_delivery import buy

CONTENT, ATTACHMENTS, EMBEDS, EMBED_TOTAL, FIELDS = 2000, 10, 10, 6000, 25


def embed_chars(embed) -> int:
    """What Discord counts towards 6,000: title, description, field names and values, footer, author."""
    d = embed.to_dict() if hasattr(embed, "to_dict") else embed
    n = len(d.get("title") or "") + len(d.get("description") or "")
    n += len((d.get("footer") or {}).get("text") or "") + len((d.get("author") or {}).get("name") or "")
    return n + sum(len(f.get("name") or "") + len(f.get("value") or "") for f in d.get("fields") or ())


def assert_within_limits(message) -> None:
    assert len(message.content or "") <= CONTENT
    assert len(message.attachments) <= ATTACHMENTS
    assert len(message.embeds) <= EMBEDS
    assert sum(embed_chars(e) for e in message.embeds) <= EMBED_TOTAL
    assert all(len(e.fields) <= FIELDS for e in message.embeds)


def cards(messages) -> list[str]:
    return [a.filename for m in messages for a in m.attachments if a.filename.startswith("ticket-")]


async def test_a_12_seat_order_arrives_as_two_dms_with_all_12_ticket_cards(world, gateway):
    show = await world.show(seatmap="A:2x10:Standard", per_fan_limit=12)
    fan = world.fans[0]
    await buy(world, fan, show, quantity=12)
    await world.env.settle()

    dms = fan.user.dm_channel.history()
    for dm in dms:
        assert_within_limits(dm)
    names = cards(dms)
    assert len(names) == 12 and len(set(names)) == 12  # every ticket's card, once
    assert len(dms) == 2
    assert gateway.successful_charges == 1


async def test_a_multi_part_dm_whose_second_part_failed_is_completed_without_repeating_the_first(world, monkeypatch):
    """A send that fails after its first message went out is retried whole; Discord folds the first
    message's resend (same nonce), so the fan still gets each card exactly once."""
    show = await world.show(seatmap="A:2x10:Standard", per_fan_limit=12)
    fan = world.fans[1]
    with nonce_folding(monkeypatch) as discord_nonces:
        discord_nonces.fail(lambda nonce: nonce.endswith(".2"), status=500, times=1)
        await buy(world, fan, show, quantity=12)
        await world.env.settle()

    dms = fan.user.dm_channel.history()
    names = cards(dms)
    assert len(dms) == 2 and len(names) == 12 and len(set(names)) == 12
    assert discord_nonces.folded == 1  # the first message, sent again with its nonce, was not created twice
    first, second = discord_nonces.posts[0], discord_nonces.posts[1]
    assert discord_nonces.posts == [first, second, first, second] and second == f"{first}.2"


async def test_the_weekly_digest_of_a_festival_week_fits_discord_messages(world):
    fan = world.fans[2]
    await fan.slash(world.channel, "follow", genre="festival")
    created = []
    for i in range(10):
        lineup = [f"The Midnight Orchestra of Somewhere {i}-{j}" for j in range(20)]
        created.append(await world.show(artists=lineup, genres=["festival"], starts_in=timedelta(days=10 + i)))
    assert await world.bot.jobs.weekly_digest() == 1
    await world.bot.services.sender.idle()

    dms = fan.user.dm_channel.history()
    assert dms and dms[0].content.startswith(f"{ALERT_PREFIX} This week's new shows for you:")
    for dm in dms:
        assert_within_limits(dm)
    listed = re.findall(r"^• .* · show #(\d+)$", "\n".join(m.content for m in dms), re.M)
    assert sorted(map(int, listed)) == sorted(s.id for s in created)  # every show of the week, a whole line each


async def long_titled_shows(world, n: int, on_sale_in: timedelta = timedelta(days=1)):
    """``n`` shows with titles, venues and lineups near the store's column sizes."""
    org = await organizers.register_organizer(world.store, world.guild.id, world.organizer.id, "Organizer")
    made = []
    for i in range(n):
        venue = await venues.create_venue(
            world.store, org.id, f"{'The Grand Old Riverside Concert Hall and Gardens ' * 4}{i}"[:200], "A:1x2:Standard"
        )
        made.append(
            await shows.create_show(
                world.store,
                organizer_id=org.id,
                venue_id=venue.id,
                title=f"{i:02d} {'An Extraordinarily Long Evening of Music ' * 5}"[:200],
                artists=[f"Artist Number {i}-{j} and the Very Long Band Name" for j in range(12)],
                genres=["indie"],
                starts_at=world.store.now() + timedelta(days=5 + i),
                on_sale_at=world.store.now() + on_sale_in,
                tiers={"Standard": 4500},
                per_fan_limit=4,
            )
        )
    return made


async def read_all_pages(fan, world):
    listed = await fan.slash(world.channel, "shows")
    seen, pages = [], 0
    while True:
        message = listed.response
        pages += 1
        assert listed.ephemeral
        assert_within_limits(message)
        seen += [f.name for f in message.embeds[0].fields]
        buttons = [c for row in message.components for c in row["components"]]
        nxt = [b for b in buttons if b["custom_id"].startswith("picket:shows:next:") and not b.get("disabled")]
        if not nxt:
            return seen, pages, message
        await fan.click(message, custom_id=nxt[0]["custom_id"])
        assert pages < 30


async def test_shows_with_25_long_titled_shows_pages_within_the_embed_limits(world):
    made = await long_titled_shows(world, 25)
    seen, pages, last = await read_all_pages(world.fans[0], world)
    assert pages > 1
    assert [name.split(" ", 1)[0] for name in seen] == [f"#{s.id}" for s in made]  # each show once, in order
    assert "25 shows" in last.embeds[0].footer.text


async def test_shows_pages_speak_korean(world, monkeypatch):
    await long_titled_shows(world, 12)
    with actor_locale(monkeypatch, "ko"):
        listed = await world.fans[0].slash(world.channel, "shows")
    embed = listed.response.embeds[0]
    assert embed.title == "예정된 공연" and "페이지" in embed.footer.text
    labels = [c["label"] for row in listed.response.components for c in row["components"]]
    assert labels == ["이전", "다음"]


async def test_following_40_and_200_follows_fit_one_message(world):
    fan = world.fans[3]
    for i in range(199):  # with the genre below: 200, the most a fan may follow
        await follows.follow(world.store, fan.id, "artist", f"Follow-worthy Artist With A Long Name {i:03d}")
        if i == 39:
            forty = await fan.slash(world.channel, "following")
            assert len(forty.response.content) <= CONTENT and forty.response.content.startswith("Artists (40): ")
            assert "Alerts are **on**" in forty.response.content
    await fan.slash(world.channel, "follow", genre="indie")
    listing = await fan.slash(world.channel, "following")
    text = listing.response.content
    assert listing.ephemeral and not listing.followups
    assert len(text) <= CONTENT
    assert text.startswith("Artists (199): Follow-worthy Artist With A Long Name 000, ")
    assert "more" in text.split("\n")[0] and "Genres (1): indie" in text and "Alerts are **on**" in text


async def test_a_30_seat_order_lists_24_seats_and_how_many_more_everywhere(world, gateway, monkeypatch):
    """reply() and edit() fit every embed a cog builds: past 25 fields the rest is summarised, in the
    fan's language; the ticket DM does the same, and its 30 cards go out 10 a message."""
    show = await world.show(seatmap="A:3x10:Standard", per_fan_limit=30)
    fan = world.fans[4]
    with actor_locale(monkeypatch, "ko"):
        res = await fan.slash(world.channel, "book", show=show.id, quantity=30)
    held = res.response.embeds[0]
    assert held.title == "좌석 선택 완료: Night Shift"
    assert len(held.fields) == FIELDS and held.fields[-1].value == "…외 6건"
    assert_within_limits(res.response)

    await fan.click(res.response, custom_id=res.response.components[0]["components"][0]["custom_id"])
    paid = res.response.embeds[0]
    assert paid.title == "Paid: Night Shift" and gateway.successful_charges == 1
    assert len(paid.fields) == FIELDS and paid.fields[-1].value == "…and 6 more"
    await world.env.settle()

    dms = fan.user.dm_channel.history()
    for dm in dms:
        assert_within_limits(dm)
    assert len(dms) == 3 and len(set(cards(dms))) == 30
    ticket_embed = next(m.embeds[0] for m in dms if m.embeds)
    assert len(ticket_embed.fields) == FIELDS and ticket_embed.fields[-1].value == "…and 6 more"


async def test_ticket_list_of_26_tickets_for_long_titled_shows_stays_within_one_embed(world):
    made = await long_titled_shows(world, 13, on_sale_in=timedelta(hours=-1))
    fan = world.fans[0]
    for show in made:
        await buy(world, fan, show, quantity=2)
    listing = await fan.slash(world.channel, "ticket list")
    assert_within_limits(listing.response)
    fields = listing.response.embeds[0].fields
    shown = [f for f in fields if f.name.startswith("#")]
    assert fields[-1].value == f"…and {26 - len(shown)} more" and len(shown) < 26


async def test_autocomplete_offers_at_most_25_choices_of_at_most_100_characters(world):
    made = await long_titled_shows(world, 30)
    offered = await world.fans[0].autocomplete(world.channel, "book", "show", "")
    assert len(offered) == 25 and all(len(c["name"]) <= 100 for c in offered)
    assert [c["value"] for c in offered] == [s.id for s in made[:25]]
    assert all(c["name"].endswith(f"· #{c['value']}") for c in offered)  # the id survives a long title
