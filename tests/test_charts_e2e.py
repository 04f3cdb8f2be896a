"""The images the bot sends speak their reader's language, through the real bot: a fan's seat map
(the seat picker) and an organizer's sales chart (/show sales) are drawn in the language of the
reply they come with, the user's Discord client language: Korean for a Korean client, English for
an English one."""

from __future__ import annotations

import re

import pytest
from PIL import ImageDraw

from tests.simcord_ext import actor_locale

HANGUL = re.compile(r"[\uac00-\ud7a3]")
TITLE = "새벽별 단독 콘서트"

EXPECTED = {
    "ko": {
        "seat map": f"좌석 배치도 · {TITLE}",
        "sections": ["A 구역", "플로어 구역 (스탠딩)"],
        "sales": f"판매 추이 · {TITLE}",
        "legend": "판매된 티켓 (2)",
    },
    "en-US": {
        "seat map": f"Seat map · {TITLE}",
        "sections": ["Section A", "플로어 (general admission)"],
        "sales": f"Tickets sold over time · {TITLE}",
        "legend": "Tickets sold (2)",
    },
}


@pytest.fixture
def drawn(monkeypatch):
    """The words Pillow draws on images, as they are drawn (in the worker thread too)."""
    lines: list[str] = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(
        ImageDraw.ImageDraw,
        "text",
        lambda self, xy, text, *a, **k: (lines.append(text), original(self, xy, text, *a, **k))[1],
    )
    return lines


def custom_id(message, prefix: str) -> str:
    for row in message.components:
        for comp in row["components"]:
            if str(comp.get("custom_id", "")).startswith(prefix):
                return comp["custom_id"]
    raise AssertionError(f"no component {prefix!r} in {message.components}")


@pytest.mark.parametrize("locale", ["ko", "en-US"])
async def test_the_seat_map_and_the_sales_chart_are_drawn_in_the_readers_language(
    simcord_env, monkeypatch, drawn, locale
):
    import discord

    env = simcord_env
    guild = env.create_guild("서울 공연", preferred_locale="ko")
    channel = guild.create_text_channel("예매처")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    organizer = guild.add_member(env.create_user("org"), roles=[admins])
    fan = guild.add_member(env.create_user("fan0"))
    expected = EXPECTED[locale]

    with actor_locale(monkeypatch, locale):
        await organizer.slash(channel, "organizer register")
        form = await organizer.slash(channel, "show create", currency="KRW")
        done = await organizer.submit_modal(
            form,
            {
                "title": TITLE,
                "artists": "새벽별",
                "when": "2026-05-01 20:00\n2026-01-10 10:00",
                "venue": "올림픽홀\nA:1x5:R, 플로어:20:S",
                "tiers": "R=99,000, S=77,000",
            },
        )
        show_id = int(re.search(r"#(\d+)", done.response.content).group(1))
        await organizer.slash(channel, "show announce", show=show_id, channel=channel)
        announcement = channel.last_message
        await env.advance_time(10 * 86400)  # past the on-sale time

        turn = await fan.click(announcement, custom_id=f"picket:show:book:{show_id}")
        await fan.click(turn.response, custom_id=custom_id(turn.response, f"picket:queue:seats:{show_id}"))
        assert [a.filename for a in turn.response.attachments] == ["seatmap.png"]
        seat_map = list(drawn)
        assert seat_map[0] == expected["seat map"]
        assert all(section in seat_map for section in expected["sections"])

        await fan.select(turn.response, ["2"], custom_id=f"picket:book:{show_id}:4")
        await fan.click(turn.response, custom_id=custom_id(turn.response, "picket:hold:pay:"))
        drawn.clear()
        sales = await organizer.slash(channel, "show sales", show=show_id)
        assert [a.filename for a in sales.response.attachments] == ["sales.png"]
        chart = list(drawn)
        assert chart[0] == expected["sales"]
        assert expected["legend"] in chart

    words = " ".join(seat_map + chart).replace(TITLE, "").replace("플로어", "")
    if locale == "ko":
        assert [w for w in re.findall(r"[A-Za-z]{2,}", words) if w != "KST"] == [], words
    else:
        assert not HANGUL.search(words), words
