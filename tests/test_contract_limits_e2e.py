"""Messages pushed to Discord's limits on purpose, through the real bot: the largest order a fan may
place, a digest for a fan following 200 artists, a Korean show with long names. Each passes the contract
check every SimCord test gets (tests/contract: Discord's OpenAPI specification and its documented
limits); the asserts here are what the fan notices."""

from __future__ import annotations

import re
from datetime import timedelta

from domain import follows, organizers, shows, venues
from domain.follows import MAX_FOLLOWS_PER_FAN
from notifier.render import ALERT_PREFIX
from tests.simcord_ext import actor_locale
from tests.test_dm_delivery import buy
from tests.test_limits_e2e import assert_within_limits, cards

LARGEST_ORDER = 50  # /book quantity and /show create per_fan_limit: app_commands.Range[int, 1, 50]


async def long_named_show(
    world,
    *,
    title: str,
    venue: str,
    artists: list[str],
    seatmap: str = "A:5x10:Standard",
    per_fan_limit: int = 4,
    timezone: str = "UTC",
    currency: str = "USD",
    price: int = 4500,
):
    org = await organizers.register_organizer(world.store, world.guild.id, world.organizer.id, "Organizer")
    place = await venues.create_venue(world.store, org.id, venue[:200], seatmap)
    return await shows.create_show(
        world.store,
        organizer_id=org.id,
        venue_id=place.id,
        title=title[:200],
        artists=artists,
        genres=["indie"],
        starts_at=world.store.now() + timedelta(days=20),
        on_sale_at=world.store.now() - timedelta(hours=1),
        tiers={"Standard": price},
        per_fan_limit=per_fan_limit,
        timezone=timezone,
        currency=currency,
    )


async def test_the_largest_order_a_fan_may_place_is_held_paid_and_delivered_within_discords_limits(world, gateway):
    show = await long_named_show(
        world,
        title="An Extraordinarily Long Evening of Music " * 5,
        venue="The Grand Old Riverside Concert Hall and Gardens " * 4,
        artists=[f"Artist Number {j} and the Very Long Band Name" for j in range(12)],
        per_fan_limit=LARGEST_ORDER,
    )
    fan = world.fans[0]
    await buy(world, fan, show, quantity=LARGEST_ORDER)
    await world.env.settle()

    assert gateway.successful_charges == 1
    dms = fan.user.dm_channel.history()
    for dm in dms:
        assert_within_limits(dm)
    names = cards(dms)
    assert len(names) == LARGEST_ORDER and len(set(names)) == LARGEST_ORDER  # every card, once
    assert len(dms) == LARGEST_ORDER // 10  # ten cards a message


async def test_the_digest_of_a_fan_following_200_artists_lists_every_new_show(world):
    fan = world.fans[1]
    artists = [f"Follow-worthy Artist With A Long Name {i:03d}" for i in range(MAX_FOLLOWS_PER_FAN)]
    for name in artists[:-1]:
        await follows.follow(world.store, fan.id, "artist", name)
    await fan.slash(world.channel, "follow", artist=artists[-1])
    made = []
    for i in range(40):  # five followed artists on each show, each show's title near its column size
        made.append(
            await long_named_show(
                world,
                title=f"{i:02d} " + "A Festival Night of Follow-worthy Artists " * 5,
                venue="The Hall",
                artists=artists[5 * i : 5 * i + 5],
                seatmap="A:1x2:Standard",
            )
        )
    assert await world.bot.jobs.weekly_digest() == 1
    await world.bot.services.sender.idle()

    dms = fan.user.dm_channel.history()
    assert len(dms) > 1 and dms[0].content.startswith(f"{ALERT_PREFIX} This week's new shows for you:")
    for dm in dms:
        assert_within_limits(dm)
    listed = re.findall(r"^• .* · show #(\d+)$", "\n".join(m.content for m in dms), re.M)
    assert (
        sorted(map(int, listed)) == sorted(s.id for s in made)[:10]
    )  # a digest names ten shows at most (domain/alerts.py)


async def test_a_korean_show_with_long_names_reads_korean_from_the_listing_to_the_tickets(world, gateway, monkeypatch):
    title = "2026 서울 한여름밤의 록 페스티벌 앙코르 특별 공연 " * 8
    venue = "서울특별시 송파구 올림픽로 424 올림픽공원 케이스포돔 (체조경기장) 특별 무대 " * 4
    artists = [f"아주 긴 이름을 가진 밴드와 오케스트라 {j}호" for j in range(12)]
    show = await long_named_show(
        world,
        title=title,
        venue=venue,
        artists=artists,
        per_fan_limit=12,
        timezone="Asia/Seoul",
        currency="KRW",
        price=150000,
    )
    fan = world.fans[2]
    with actor_locale(monkeypatch, "ko"):
        listed = await fan.slash(world.channel, "shows")
        assert listed.response.embeds[0].title == "예정된 공연"
        assert_within_limits(listed.response)
        await buy_korean(world, fan, show, 12)
    await world.env.settle()

    assert list(gateway.charged_amounts.values()) == [(12 * 150000, "KRW")]
    dms = fan.user.dm_channel.history()
    for dm in dms:
        assert_within_limits(dm)
    assert len(set(cards(dms))) == 12
    assert any(show.title[:40] in (dm.content or "") + "".join((e.title or "") for e in dm.embeds) for dm in dms)


async def buy_korean(world, fan, show, quantity):
    res = await fan.slash(world.channel, "book", show=show.id, quantity=quantity)
    assert res.response.components, res.response.content
    assert_within_limits(res.response)
    await fan.click(res.response, custom_id=res.response.components[0]["components"][0]["custom_id"])
    assert res.response.embeds and res.response.embeds[0].title.startswith("결제 완료"), res.response.embeds[0].title
    assert_within_limits(res.response)
