"""Korean and English: command names and replies follow the fan's Discord language."""

from __future__ import annotations

from tests.simcord_ext import actor_locale


def synced_commands(env):
    puts = [r for r in env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]
    return {c["name"]: c for c in puts[-1].json}


async def test_commands_carry_korean_names_and_descriptions(world):
    commands = synced_commands(world.env)
    assert commands["book"]["name_localizations"]["ko"] == "예매"
    assert (
        commands["book"]["description_localizations"]["ko"] == "대기열을 거쳐 공연의 가장 좋은 잔여 좌석을 예매합니다"
    )
    show = commands["show"]
    create = next(o for o in show["options"] if o["name"] == "create")
    assert create["name_localizations"]["ko"] == "등록"
    assert "en-US" not in commands["book"].get("name_localizations", {})  # English is the default name


async def test_replies_follow_the_users_locale(world, monkeypatch):
    fan = world.fans[0]
    english = await fan.slash(world.channel, "ticket list")
    assert english.response.content == "You have no tickets yet. Use /book to get some."
    with actor_locale(monkeypatch, "ko"):
        korean = await fan.slash(world.channel, "ticket list")
        assert korean.response.content == "아직 티켓이 없습니다. /예매 로 예매하세요."
        show = await world.show()
        held = await fan.slash(world.channel, "book", show=show.id, quantity=1)
        assert held.response.embeds[0].title == "좌석 선택 완료: Night Shift"


def _labels(message) -> list[str]:
    """The button labels of a message, whether SimCord gives its rows as payloads or as discord.py rows."""
    out = []
    for row in message.components:
        for c in row["components"] if isinstance(row, dict) else row.children:
            out.append(c.get("label") if isinstance(c, dict) else c.label)
    return out


async def test_a_korean_organizer_gets_the_form_and_its_answers_in_korean(world, monkeypatch):
    await world.organizer.slash(world.channel, "organizer register")
    with actor_locale(monkeypatch, "ko"):
        shown = await world.organizer.slash(world.channel, "show create", currency="KRW")
        assert shown.modal["title"] == "공연 등록"
        labels = [row["components"][0]["label"] for row in shown.modal["components"]]
        assert labels == [
            "공연명",
            "아티스트 (쉼표로 구분)",
            "공연 시작, 예매 오픈 일시 (한 줄에 하나씩)",
            "공연장 이름, 다음 줄에 좌석 배치",
            "좌석 등급별 가격",
        ]
        assert all(len(label) <= 45 for label in labels) and len(shown.modal["title"]) <= 45
        refused = await world.organizer.submit_modal(
            shown,
            {
                "title": "롤링홀 라이브",
                "artists": "새소년",
                "when": "2030-06-01 20:00",
                "venue": "롤링홀\nA:1x5:R",
                "tiers": "R=99000",
            },
        )
        assert (
            refused.response.content
            == "공연 시작 / 예매 오픈 일시: 첫 줄에 공연 시작 일시, 둘째 줄에 예매 오픈 일시를 입력해 주세요."
        )
    english = await world.organizer.slash(world.channel, "show create")
    assert english.modal["title"] == "Create a show"
    show = await world.show()
    with actor_locale(monkeypatch, "ko"):
        edit = await world.organizer.slash(
            world.channel, "show edit", show=show.id, timezone="America/Argentina/ComodRivadavia"
        )
    labels = [row["components"][0]["label"] for row in edit.modal["components"]]
    assert edit.modal["title"] == "공연 정보 수정"
    assert (
        labels[:3] == ["공연명", "아티스트", "장르"]
        and labels[3].startswith("공연 시작")
        and labels[4].startswith("예매 오픈")
    )
    assert all(len(label) <= 45 for label in labels)


async def test_a_korean_fan_books_in_korean_from_the_queue_to_the_pay_button(world, monkeypatch):
    show = await world.show(seatmap="A:1x5:R", tiers={"R": 99000}, currency="KRW")
    fan = world.fans[0]
    with actor_locale(monkeypatch, "ko"):
        held = await fan.slash(world.channel, "book", show=show.id, quantity=2)
        embed = held.response.embeds[0]
        assert embed.description.startswith("2석, **₩198,000**.\n") and "좌석이 다시 판매됩니다" in embed.description
        assert _labels(held.response) == ["₩198,000 결제하기", "선택 취소"]
        await fan.click(held.response, label="₩198,000 결제하기")
        paid = held.response  # edited in place
        assert paid.embeds[0].title == "결제 완료: Night Shift"
        assert (
            paid.embeds[0].description.startswith("주문 #")
            and "티켓은 DM으로 보내 드립니다." in paid.embeds[0].description
        )
        assert paid.embeds[0].fields[0].name.startswith("티켓 #")
        mine = await fan.slash(world.channel, "ticket list")
        assert mine.response.embeds[0].title == "내 티켓" and mine.response.embeds[0].fields[0].value.endswith(
            " · 사용 가능"
        )


async def test_an_announcement_in_a_korean_server_reads_korean(simcord_env):
    import discord

    guild = simcord_env.create_guild("서울 공연", preferred_locale="ko")
    channel = guild.create_text_channel("공지")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    organizer = guild.add_member(simcord_env.create_user("org"), roles=[admins])
    from tests.factories import on_sale_show

    await organizer.slash(channel, "organizer register")
    show = await on_sale_show(simcord_env.bot.services.store, guild_id=guild.id, organizer_id=organizer.id)
    done = await organizer.slash(channel, "show announce", show=show.id, channel=channel)
    assert done.response.content == f"Announced in {channel.mention}."  # the organizer's own language
    posted = channel.history()[-1]
    assert _labels(posted) == ["예매하기", "오픈 알림 받기", "아티스트 팔로우", "취소표 대기"]
    assert [f.name for f in posted.embeds[0].fields][:2] == ["예매 오픈", "가격"]
