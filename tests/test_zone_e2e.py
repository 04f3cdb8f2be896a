"""Issue #14, through the real bot in SimCord: a show keeps its venue's time zone, servers choose a
default one, fans read times as Discord timestamps, and the ticket card prints the venue's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest
import pytest_asyncio
from PIL import ImageDraw
from sqlalchemy import func, select

from domain import organizers, shows
from domain.models import GuildSettings, Show
from tests.conftest import World
from tests.simcord_ext import actor_locale

SEOUL_20H = datetime(2026, 5, 1, 11, 0, tzinfo=UTC)  # 2026-05-01 20:00 in Seoul (SimCord starts 2026-01-01)
FORM = {
    "title": "롤링홀 라이브",
    "artists": "새소년",
    "when": "2026-05-01 20:00\n2026-04-01 10:00",
    "venue": "롤링홀\nA:2x5:Standard",
    "tiers": "Standard=45",
}


def _world(env, *, locale: str | None = None) -> World:
    guild = env.create_guild("서울 공연", preferred_locale=locale) if locale else env.create_guild("Picket Live")
    channel = guild.create_text_channel("box-office")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    organizer = guild.add_member(env.create_user("org"), roles=[admins])
    fans = [guild.add_member(env.create_user(f"fan{i}")) for i in range(2)]
    return World(env, guild, channel, organizer, fans[1], fans)


@pytest_asyncio.fixture
async def korean_world(simcord_env):
    return _world(simcord_env, locale="ko")


@pytest_asyncio.fixture
async def english_world(simcord_env):
    return _world(simcord_env)


def field(modal: dict, custom_id: str) -> dict:
    for row in modal["components"]:
        for comp in row.get("components", [row.get("component")]):
            if comp and comp.get("custom_id") == custom_id:
                return comp
    raise AssertionError(f"no field {custom_id!r} in {modal}")


async def create(world, form=FORM, **options):
    await world.organizer.slash(world.channel, "organizer register")
    shown = await world.organizer.slash(world.channel, "show create", **options)
    assert shown.modal is not None, shown.response.content
    return shown, await world.organizer.submit_modal(shown, form)


async def only_show(world) -> Show:
    async with world.store.session() as s:
        return (await s.execute(select(Show))).scalar_one()


async def test_a_show_created_with_no_zone_in_a_korean_server_is_in_seoul(korean_world):
    shown, done = await create(korean_world)
    assert "Asia/Seoul" in field(shown.modal, "when")["placeholder"]  # the form says which clock the times are read on
    assert done.response.content.startswith("Created show #"), done.response.content
    show = await only_show(korean_world)
    assert show.timezone == "Asia/Seoul"
    assert show.starts_at == SEOUL_20H
    assert "Fri 01 May 2026 · 20:00 KST" in done.response.embeds[0].description


async def test_a_show_created_with_no_zone_in_an_english_server_is_in_utc(english_world):
    await create(english_world)
    show = await only_show(english_world)
    assert show.timezone == "UTC" and show.starts_at == datetime(2026, 5, 1, 20, 0, tzinfo=UTC)


async def test_edit_reads_and_shows_the_times_in_the_show_zone_without_retyping_it(korean_world):
    await create(korean_world)
    show = await only_show(korean_world)
    shown = await korean_world.organizer.slash(korean_world.channel, "show edit", show=show.id)
    start = field(shown.modal, "start")
    assert start["value"] == "2026-05-01 20:00" and "Asia/Seoul" in start["label"]
    values = {
        "title": "롤링홀 라이브",
        "artists": "새소년",
        "genres": "",
        "start": "2026-05-02 20:00",
        "on_sale": "2026-04-01 10:00",
    }
    done = await korean_world.organizer.submit_modal(shown, values)
    assert done.response.content.startswith("Show #"), done.response.content
    edited = await only_show(korean_world)
    assert edited.timezone == "Asia/Seoul"
    assert edited.starts_at == datetime(2026, 5, 2, 11, 0, tzinfo=UTC)  # 20:00 in Seoul, not 20:00 UTC
    assert edited.on_sale_at == show.on_sale_at  # untouched: the same instant


async def test_edit_may_move_a_show_to_another_zone(korean_world):
    await create(korean_world)
    show = await only_show(korean_world)
    shown = await korean_world.organizer.slash(korean_world.channel, "show edit", show=show.id, timezone="Asia/Tokyo")
    values = {
        "title": "롤링홀 라이브",
        "artists": "새소년",
        "genres": "",
        "start": "2026-05-01 21:00",
        "on_sale": field(shown.modal, "on_sale")["value"],
    }
    await korean_world.organizer.submit_modal(shown, values)
    moved = await only_show(korean_world)
    assert moved.timezone == "Asia/Tokyo" and moved.starts_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "when, problem",
    [
        ("2026-03-08 02:30\n2026-02-01 10:00", "Start time: `2026-03-08 02:30` does not exist in America/New_York"),
        ("2026-11-01 01:30\n2026-02-01 10:00", "Start time: `2026-11-01 01:30` happens twice in America/New_York"),
        ("2026-12-01 20:00\n2026-11-01 01:30", "On-sale time: `2026-11-01 01:30` happens twice in America/New_York"),
    ],
)
async def test_a_time_daylight_saving_skips_or_repeats_is_refused_and_creates_nothing(english_world, when, problem):
    _, done = await create(english_world, {**FORM, "when": when}, timezone="America/New_York")
    assert done.ephemeral and problem in done.response.content
    async with english_world.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Show))).scalar_one() == 0


async def test_a_server_admin_sets_the_default_zone_and_a_member_cannot(english_world, monkeypatch):
    world = english_world
    member = world.fans[0]
    refused = await member.slash(world.channel, "organizer timezone", zone="Europe/Paris")
    assert refused.ephemeral and "Only server admins" in refused.response.content
    unknown = await world.organizer.slash(world.channel, "organizer timezone", zone="Mars/Olympus")
    assert unknown.ephemeral and "`Mars/Olympus` is not a known time zone" in unknown.response.content
    async with world.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(GuildSettings))).scalar_one() == 0

    with actor_locale(monkeypatch, "ko"):
        done = await world.organizer.slash(world.channel, "organizer timezone", zone="Asia/Tokyo")
    assert (
        done.ephemeral
        and done.response.content
        == "이 서버의 새 공연은 주최자가 시간대를 따로 정하지 않으면 Asia/Tokyo 기준으로 등록됩니다."
    )
    await create(world)
    show = await only_show(world)
    assert show.timezone == "Asia/Tokyo" and show.starts_at == datetime(2026, 5, 1, 11, 0, tzinfo=UTC)


async def seoul_show(world):
    org = await organizers.register_organizer(world.store, world.guild.id, world.organizer.id, "org")
    return await shows.create_show(
        world.store,
        organizer_id=org.id,
        venue_name="롤링홀",
        seatmap_spec="A:2x5:Standard",
        title="롤링홀 라이브",
        artists=["새소년"],
        genres=[],
        starts_at=SEOUL_20H,
        on_sale_at=world.store.now() - timedelta(hours=1),  # on sale: no queue
        tiers={"Standard": 4500},
        timezone="Asia/Seoul",
    )


async def book_and_pay(world, fan, show_id):
    res = await fan.slash(world.channel, "book", show=show_id, quantity=1)
    assert res.response.embeds, res.response.content
    await fan.click(res.response, custom_id=res.response.components[0]["components"][0]["custom_id"])


async def test_the_ticket_dm_card_prints_the_venue_clock_and_its_text_uses_a_discord_timestamp(
    korean_world, monkeypatch
):
    drawn: list[str] = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(
        ImageDraw.ImageDraw,
        "text",
        lambda self, xy, text, *a, **k: (drawn.append(text), original(self, xy, text, *a, **k))[1],
    )
    show = await seoul_show(korean_world)
    fan = korean_world.fans[0]
    await book_and_pay(korean_world, fan, show.id)
    dm = fan.user.dm_channel.history()[-1]
    assert dm.attachments and dm.attachments[0].filename.endswith(".png")
    assert f"<t:{int(SEOUL_20H.timestamp())}:F>" in dm.embeds[0].description
    assert "Fri 01 May 2026 · 20:00 KST" in drawn  # the card's date line, as drawn
    assert not any("UTC" in text for text in drawn)


async def test_the_cancellation_dm_gives_the_show_time_as_a_discord_timestamp(english_world):
    world = english_world
    show = await world.show()
    fan = world.fans[0]
    await book_and_pay(world, fan, show.id)
    ask = await world.organizer.slash(world.channel, "show cancel", show=show.id)
    yes = next(
        c["custom_id"]
        for row in ask.response.components
        for c in row["components"]
        if c["custom_id"].startswith("picket:show-cancel:")
    )
    await world.organizer.click(ask.response, custom_id=yes)
    told = fan.user.dm_channel.history()[-1].content
    assert "has been cancelled" in told
    assert f"({discord.utils.format_dt(show.starts_at, 'f')})" in told  # each fan reads it in their own zone
