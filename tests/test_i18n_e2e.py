"""Korean and English: command names and replies follow the fan's Discord language."""

from __future__ import annotations

from tests.simcord_ext import actor_locale


def synced_commands(env):
    puts = [r for r in env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]
    return {c["name"]: c for c in puts[-1].json}


async def test_commands_carry_korean_names_and_descriptions(world):
    commands = synced_commands(world.env)
    assert commands["book"]["name_localizations"]["ko"] == "예매"
    assert commands["book"]["description_localizations"]["ko"] == "대기열을 거쳐 공연의 가장 좋은 잔여 좌석을 예매합니다"
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
