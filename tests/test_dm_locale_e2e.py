"""Issue #14, part 4: the fan's language follows them into DMs.

Through the real bot in SimCord: a fan whose Discord client is Korean gets Korean DMs (tickets, the
card's words, alerts), an English fan in the same run gets English, a fan Picket has never seen reads
the language of the show's server, and a fan who switches their client back to English gets English.
"""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest_asyncio
from PIL import ImageDraw
from sqlalchemy import select

from domain import follows
from domain.models import GuildSettings
from tests.conftest import World
from tests.simcord_ext import actor_locale
from tests.test_alerts_e2e import alert_dms
from tests.test_organizers_e2e import create_show, created_show_id

SEOUL_20H = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)  # 2026-05-01 20:00 in Seoul


async def book_and_pay(world, fan, show_id):
    held = await fan.slash(world.channel, "book", show=show_id, quantity=1)
    assert held.response.embeds, held.response.content
    await fan.click(held.response, custom_id=held.response.components[0]["components"][0]["custom_id"])  # Pay


async def announce(world) -> int:
    show_id = await created_show_id(await create_show(world))  # "Harbour Lights" by The Nightjars, Mira Sol
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    await world.env.settle()
    return show_id


@pytest_asyncio.fixture
async def korean_server(simcord_env) -> World:
    """A server whose preferred locale is Korean; its organizer's client is English."""
    env = simcord_env
    guild = env.create_guild("서울 공연", preferred_locale="ko")
    channel = guild.create_text_channel("예매")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    organizer = guild.add_member(env.create_user("org"), roles=[admins])
    fans = [guild.add_member(env.create_user(f"fan{i}")) for i in range(2)]
    return World(env, guild, channel, organizer, fans[1], fans)


async def test_a_korean_fan_gets_a_korean_ticket_dm_and_card_and_an_english_fan_english(world, monkeypatch):
    drawn: list[str] = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(
        ImageDraw.ImageDraw,
        "text",
        lambda self, xy, text, *a, **k: (drawn.append(text), original(self, xy, text, *a, **k))[1],
    )
    show = await world.show(tiers={"R": 99000}, seatmap="A:2x5:R", currency="KRW")
    korean, english = world.fans[0], world.fans[1]

    with actor_locale(monkeypatch, "ko"):
        await book_and_pay(world, korean, show.id)
    dm = korean.user.dm_channel.history()[-1]
    assert dm.content.startswith("**Night Shift** 티켓 1매가 발급되었습니다."), dm.content
    assert "/티켓 보기" in dm.content and "Your tickets" not in dm.content  # the command as a Korean client names it
    embed = dm.embeds[0]
    assert embed.description.endswith(" · The Hall") and " at " not in embed.description
    assert [f.name for f in embed.fields] == [f"티켓 #{dm_ticket_id(embed)}"]
    assert embed.footer.text.startswith("예매번호 #") and "결제 금액 ₩99,000" in embed.footer.text
    korean_card = list(drawn)
    assert "등급: R" in korean_card and any(line.startswith("티켓 #") for line in korean_card)
    assert any(line.startswith("예매자: ") for line in korean_card)
    assert not any(line.startswith(("Tier:", "Holder:", "Ticket #")) for line in korean_card)

    drawn.clear()
    await book_and_pay(world, english, show.id)  # the same run, an English client
    dm = english.user.dm_channel.history()[-1]
    assert dm.content.startswith("Your tickets for **Night Shift**: 1 seat(s)."), dm.content
    assert " at The Hall" in dm.embeds[0].description
    assert dm.embeds[0].fields[0].name.startswith("Ticket #") and "paid ₩99,000 ·" in dm.embeds[0].footer.text
    assert "Tier: R" in drawn and any(line.startswith("Holder: ") for line in drawn)


def dm_ticket_id(embed) -> int:
    return int(embed.fields[0].name.split("#")[1])


def test_the_ticket_card_words_are_in_the_holders_language():
    from notifier.ticket_card import card_text

    args = dict(
        show_title="롤링홀 라이브",
        starts_at=SEOUL_20H,
        timezone="Asia/Seoul",
        venue="롤링홀",
        seat_label="A-1-3",
        tier="R",
        holder_name="민지",
        ticket_id=42,
    )
    korean = card_text(**args, locale="ko")
    assert (korean.brand, korean.date, korean.tier, korean.holder, korean.ticket) == (
        "PICKET",
        "2026-05-01 (금) 20:00 KST",
        "등급: R",
        "예매자: 민지",
        "티켓 #42",
    )
    english = card_text(**args, locale="en-US")
    assert (english.brand, english.date, english.tier, english.holder, english.ticket) == (
        "PICKET",
        "Fri 01 May 2026 · 20:00 KST",
        "Tier: R",
        "Holder: 민지",
        "Ticket #42",
    )
    assert card_text(**args) == english  # no locale known: English


async def test_a_korean_follower_gets_a_korean_alert_and_an_english_one_english(world, monkeypatch):
    korean, english = world.fans[0], world.fans[1]
    with actor_locale(monkeypatch, "ko"):
        await korean.slash(world.channel, "follow", artist="The Nightjars")
    await english.slash(world.channel, "follow", artist="The Nightjars")
    await announce(world)

    (ko_alert,) = alert_dms(korean)
    assert ko_alert.content == "🔔 새 공연: The Nightjars, Mira Sol의 **Harbour Lights**"
    assert [f.name for f in ko_alert.embeds[0].fields] == ["예매 오픈", "가격"]
    assert ko_alert.embeds[0].footer.text.startswith("공연 #")
    assert [c.label for row in ko_alert.components for c in row.children] == ["예매하기", "오픈 알림 받기"]

    (en_alert,) = alert_dms(english)
    assert en_alert.content == "🔔 New show: **Harbour Lights** by The Nightjars, Mira Sol"
    assert [f.name for f in en_alert.embeds[0].fields] == ["On sale", "Prices"]
    assert [c.label for row in en_alert.components for c in row.children] == ["Book", "Remind me"]

    clicked = await korean.user.click(ko_alert, label="예매하기")  # the Korean button is the same button
    assert clicked.response.content, "the DM's Book button did not answer"


async def test_a_fan_never_seen_reads_alerts_in_the_language_of_the_shows_server(korean_server):
    world = korean_server
    unseen = world.fans[0]
    await follows.follow(world.store, unseen.id, "artist", "The Nightjars")  # followed before locales were kept
    await announce(world)  # the organizer's client is English; the server prefers Korean
    (alert,) = alert_dms(unseen)
    assert alert.content == "🔔 새 공연: The Nightjars, Mira Sol의 **Harbour Lights**"


async def test_a_fan_never_seen_in_an_english_server_reads_english(world):
    unseen = world.fans[0]
    await follows.follow(world.store, unseen.id, "artist", "The Nightjars")
    await announce(world)
    (alert,) = alert_dms(unseen)
    assert alert.content.startswith("🔔 New show: **Harbour Lights**")


async def test_a_fan_who_switches_their_client_back_to_english_gets_english_dms(world, monkeypatch):
    fan = world.fans[0]
    with actor_locale(monkeypatch, "ko"):
        await fan.slash(world.channel, "follow", artist="The Nightjars")
    await fan.slash(world.channel, "following")  # the same fan, their client now in English
    await announce(world)
    (alert,) = alert_dms(fan)
    assert alert.content.startswith("🔔 New show: **Harbour Lights**"), alert.content


async def test_an_english_client_in_a_korean_server_reads_english(korean_server):
    world = korean_server
    fan = world.fans[0]
    await fan.slash(world.channel, "follow", artist="The Nightjars")  # en-US client, Korean server
    await announce(world)
    (alert,) = alert_dms(fan)
    assert alert.content.startswith("🔔 New show: **Harbour Lights**"), alert.content


async def test_a_servers_preferred_locale_is_kept_when_the_bot_sees_the_server(simcord_env):
    korean = simcord_env.create_guild("서울 공연", preferred_locale="ko")
    english = simcord_env.create_guild("Picket Live")
    await simcord_env.settle()
    async with simcord_env.bot.services.store.session() as s:
        kept = dict((await s.execute(select(GuildSettings.guild_id, GuildSettings.locale))).all())
    assert kept.get(korean.id) == "ko"
    assert english.id not in kept  # no row reads English: none is written just to say so


async def test_refund_dms_are_in_each_fans_language(world, monkeypatch):
    show = await world.show(tiers={"R": 99000}, seatmap="A:2x5:R", currency="KRW")
    korean, english = world.fans[0], world.fans[1]
    with actor_locale(monkeypatch, "ko"):
        await book_and_pay(world, korean, show.id)
        await book_and_pay(world, korean, show.id)
        ticket = dm_ticket_ids(korean)[0]
        await korean.slash(world.channel, "ticket cancel", ticket=ticket)
    assert (
        korean.user.dm_channel.history()[-1].content
        == f"**Night Shift** 티켓 #{ticket} 예매가 취소되었습니다. ₩99,000은(는) 결제하신 카드로 환불됩니다."
    )
    await book_and_pay(world, english, show.id)

    ask = await world.organizer.slash(world.channel, "show cancel", show=show.id)
    yes = next(
        c["custom_id"]
        for row in ask.response.components
        for c in row["components"]
        if c["custom_id"].startswith("picket:show-cancel:")
    )
    await world.organizer.click(ask.response, custom_id=yes)
    ko_told = korean.user.dm_channel.history()[-1].content
    assert ko_told.startswith("**Night Shift** (<t:") and "공연이 주최 측 사정으로 취소되었습니다." in ko_told
    assert "예매하신 티켓은 무효 처리되며, ₩99,000은(는) 결제하신 카드로 환불됩니다." in ko_told
    en_told = english.user.dm_channel.history()[-1].content
    assert "has been cancelled by its organizer. Your tickets are void and ₩99,000 is refunded to your card." in en_told


def dm_ticket_ids(member) -> list[int]:
    return [
        int(f.name.split("#")[1])
        for m in member.user.dm_channel.history()
        for e in m.embeds
        for f in e.fields
        if "#" in f.name
    ]


async def test_a_waitlist_refusal_dm_words_its_reason_in_the_fans_language(world, monkeypatch):
    from domain import outbox

    show = await world.show()
    korean, english = world.fans[0], world.fans[1]
    with actor_locale(monkeypatch, "ko"):
        await korean.slash(world.channel, "following")
    await english.slash(world.channel, "following")
    refusal = {"code": "payment.declined_because", "params": {"provider_reason": "Your card was declined"}}
    async with world.store.session() as s:
        # What a promotion whose charge was declined queues (domain/waitlist_promotion.py).
        for fan in (korean, english):
            await outbox.enqueue(
                world.store,
                s,
                kind="waitlist_declined",
                recipient_discord_id=fan.id,
                payload={"show_id": show.id, "refusal": refusal},
                dedupe_key=f"t:{fan.id}",
            )
        await s.commit()
    await world.bot.services.sender.idle()  # the drain the store's commit started
    await world.bot.services.sender.drain()
    await world.env.settle()
    ko = korean.user.dm_channel.history()[-1].content
    assert ko.startswith(
        "**Night Shift** 취소표가 나와 회원님 차례였지만 배정해 드리지 못했습니다: 결제가 거절되었습니다 (Your card was declined)."
    ), ko
    en = english.user.dm_channel.history()[-1].content
    assert en.startswith(
        "A seat for **Night Shift** came back and you were next on the waitlist, but it could not be yours: "
    ), en
    assert "Your card was declined" in en and "결제" not in en
