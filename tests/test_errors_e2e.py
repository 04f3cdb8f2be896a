"""Refusals read in the user's language: the domain says what was refused (a code and params), the cog
words it for the user's Discord locale (issue #14, "Domain errors carry a code and parameters")."""

from __future__ import annotations

import re
from datetime import timedelta

from domain import seats
from tests.simcord_ext import actor_locale

HANGUL = re.compile("[가-힣]")


def pay_button(result) -> str:
    """The reservation's Pay button, in any language."""
    (pay,) = [
        c["custom_id"]
        for row in result.response.components or []
        for c in row["components"]
        if str(c.get("custom_id", "")).startswith("picket:hold:pay:")
    ]
    return pay


async def test_refusals_read_korean_for_a_korean_user(world, monkeypatch):
    show = await world.show(seatmap="A:1x3:Standard", per_fan_limit=2)
    later = await world.show(opens_in=timedelta(days=1))
    fan, rival, other = world.fans[0], world.fans[1], world.fans[2]
    await world.organizer.slash(world.channel, "organizer grant", member=rival)  # an organizer, of other shows
    held = await other.slash(world.channel, "book", show=show.id, quantity=2)
    await other.click(held.response, custom_id=pay_button(held))  # 2 of 3 seats sold
    opens = int(later.on_sale_at.timestamp())
    with actor_locale(monkeypatch, "ko"):
        unknown = await fan.slash(world.channel, "book", show=424242)
        over = await fan.slash(world.channel, "book", show=show.id, quantity=3)
        too_early = await fan.slash(world.channel, "waitlist join", show=later.id)
        not_owner = await rival.slash(world.channel, "show sales", show=show.id)
        last = await fan.slash(world.channel, "book", show=show.id, quantity=1)
        await fan.click(last.response, custom_id=pay_button(last))  # the last seat: sold out
        sold_out = await world.fans[3].slash(world.channel, "book", show=show.id, quantity=1)
    replies = {
        "unknown show": unknown,
        "per-fan limit": over,
        "sale not open": too_early,
        "wrong owner": not_owner,
        "sold out": sold_out,
    }
    for what, res in replies.items():
        assert res.ephemeral, what
        assert HANGUL.search(res.response.content), f"{what}: {res.response.content!r}"
    assert unknown.response.content == "공연 #424242을(를) 찾을 수 없습니다."
    assert (
        over.response.content
        == "“Night Shift” 공연은 1인당 2매까지 예매할 수 있습니다. 이미 0매를 예약했거나 보유 중이므로 2매만 더 예매할 수 있습니다."
    )
    assert too_early.response.content == (
        f"“Night Shift” 예매는 <t:{opens}:R> (<t:{opens}:f>) 오픈합니다. 대기열(/대기열 참여)에 들어오세요. 취소표 대기는 매진된 뒤에만 열립니다."
    )
    assert not_owner.response.content == "“Night Shift” 공연의 주최자만 판매 현황을 볼 수 있습니다."
    assert "매진되었습니다" in sold_out.response.content and "취소표 대기" in sold_out.response.content
    assert [a.available for a in await seats.availability(world.store, show.id)] == [0]  # refusals changed nothing


async def test_the_same_refusals_read_english_for_an_english_user(world):
    show = await world.show(per_fan_limit=2)
    later = await world.show(opens_in=timedelta(days=1))
    fan = world.fans[0]
    assert (await fan.slash(world.channel, "book", show=424242)).response.content == "There is no show #424242."
    over = await fan.slash(world.channel, "book", show=show.id, quantity=3)
    assert (
        over.response.content
        == "“Night Shift” allows 2 tickets per fan; you already hold or own 0, so you can add 2 more."
    )
    early = await fan.slash(world.channel, "waitlist join", show=later.id)
    assert f"<t:{int(later.on_sale_at.timestamp())}:R>" in early.response.content and not HANGUL.search(
        early.response.content
    )
