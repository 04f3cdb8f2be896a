"""A show's cancellation policy through the real bot: the organizer sets it (/show policy), a fan reads
it before paying, and /ticket cancel applies it: a full refund in the free window, the price minus the
fee within a fee step (what the payment provider is asked to refund), and no cancellation after the
deadline (nothing changes)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from domain.models import OutboxMessage, Payment, Ticket
from tests.simcord_ext import actor_locale
from tests.snapshot import table_counts

DAY = 86400


def at(when, style: str = "f") -> str:
    return f"<t:{int(when.timestamp())}:{style}>"


def ticket_ids(paid) -> list[int]:
    return [int(f.name.split("#")[1]) for f in paid.response.embeds[0].fields]


async def book_and_pay(world, fan, show, quantity: int):
    held = await fan.slash(world.channel, "book", show=show.id, quantity=quantity)
    policy_shown = held.response.embeds[0].description
    pay = held.response.components[0]["components"][0]["custom_id"]
    await fan.click(held.response, custom_id=pay)
    return held, policy_shown


async def state(world):
    """What a refused cancellation must leave as it was: rows, tickets, payments, messages."""
    async with world.store.session() as s:
        tickets = sorted((await s.execute(select(Ticket.id, Ticket.status))).all())
        payments = sorted(
            (await s.execute(select(Payment.idempotency_key, Payment.amount_cents, Payment.status))).all()
        )
        outbox = (await s.execute(select(OutboxMessage.id))).scalars().all()
    return await table_counts(world.store), tickets, payments, sorted(outbox)


async def test_a_korean_organizer_sets_a_policy_and_a_korean_fan_pays_and_cancels_under_it(world, gateway, monkeypatch):
    show = await world.show(
        seatmap="A:1x5:VIP",
        tiers={"VIP": 150_000},
        currency="KRW",
        opens_in=timedelta(hours=1),
        starts_in=timedelta(days=30),
    )
    start = show.starts_at
    deadline, ten, twenty = start - timedelta(hours=24), start - timedelta(days=7), start - timedelta(hours=72)
    fan = world.fans[0]
    with actor_locale(monkeypatch, "ko"):
        set_ = await world.organizer.slash(
            world.channel, "show policy", show=show.id, deadline_hours=24, fees="7일=10%, 72시간=20%"
        )
        assert set_.ephemeral
        assert set_.response.content == (
            "**Night Shift** 취소/환불 규정입니다 (관객에게 결제 전에 이렇게 안내됩니다):\n**취소/환불 규정**\n"
            f"• {at(ten)}까지 무료 취소 가능\n• {at(ten)}부터 취소수수료 티켓 금액의 10%\n"
            f"• {at(twenty)}부터 취소수수료 티켓 금액의 20%\n• {at(deadline)} 이후 취소 불가"
        )
        await world.env.advance_time(2 * 3600)  # sales open

        held, before_paying = await book_and_pay(world, fan, show, 3)
        assert "**₩450,000**" in before_paying
        assert (
            f"**취소/환불 규정**\n• {at(ten)}까지 무료 취소 가능\n• {at(ten)}부터 취소수수료 티켓 금액의 10%"
            in before_paying
        )
        assert f"• {at(deadline)} 이후 취소 불가" in before_paying
        assert f"• {at(deadline)} 이후 취소 불가" in held.response.embeds[0].description  # the paid order says it again
        assert list(gateway.charged_amounts.values()) == [(450_000, "KRW")]
        first, second, third = ticket_ids(held)

        free = await fan.slash(world.channel, "ticket cancel", ticket=first)  # a month before: free
        assert (
            free.response.content
            == f"**Night Shift** 티켓 #{first} (A구역 A열 1번) 예매를 취소했습니다. ₩150,000은(는) 결제하신 카드로 환불됩니다."
        )
        assert gateway.refunds[f"ticket:{first}:refund"][2] == 150_000

        await world.env.advance_time(
            int((start - timedelta(days=5) - world.store.now()).total_seconds())
        )  # 5 days before: 10%
        fee = await fan.slash(world.channel, "ticket cancel", ticket=second)
        assert fee.response.content == (
            f"**Night Shift** 티켓 #{second} (A구역 A열 2번) 예매를 취소했습니다. 환불 금액 ₩135,000은(는) 결제하신 카드로 환불됩니다 "
            "(티켓 금액 ₩150,000에서 공연 취소/환불 규정에 따른 취소수수료 ₩15,000 차감)."
        )
        assert (
            gateway.refunds[f"ticket:{second}:refund"][2] == 135_000
        )  # the provider is asked for the price minus the fee
        await world.env.settle()
        dm = fan.user.dm_channel.history()[-1].content
        # the fan's client is Korean, so is their DM (issue #14: the fan's language follows them into DMs)
        assert "₩135,000은(는) 결제하신 카드로 환불됩니다." in dm and "취소수수료 ₩15,000" in dm

        await world.env.advance_time(4 * DAY + 12 * 3600)  # 12 hours before: closed
        before = await state(world)
        refused = await fan.slash(world.channel, "ticket cancel", ticket=third)
        assert refused.ephemeral and refused.response.content == (
            f"**Night Shift** 예매 취소는 {at(deadline)}까지 가능했습니다. 취소 마감 시간이 지나 이 티켓은 취소 및 환불이 불가합니다."
        )
        assert await state(world) == before
        assert len(gateway.refunds) == 2


async def test_an_english_fan_reads_the_policy_and_pays_the_fee_in_dollars(world, gateway):
    show = await world.show(
        seatmap="A:1x5:Standard", tiers={"Standard": 4_599}, opens_in=timedelta(hours=1), starts_in=timedelta(days=10)
    )
    start = show.starts_at
    deadline, step = start - timedelta(hours=48), start - timedelta(days=3)
    done = await world.organizer.slash(world.channel, "show policy", show=show.id, deadline_hours=48, fees="3d=20%")
    assert done.response.content.endswith(
        f"• Free cancellation until {at(step)}.\n• 20% cancellation fee from {at(step)}.\n• No cancellation after {at(deadline)}."
    )
    await world.env.advance_time(2 * 3600)
    fan = world.fans[1]
    held, before_paying = await book_and_pay(world, fan, show, 2)
    assert f"**Cancellation and refunds**\n• Free cancellation until {at(step)}." in before_paying
    first, second = ticket_ids(held)

    await world.env.advance_time(int((start - timedelta(hours=60) - world.store.now()).total_seconds()))
    fee = await fan.slash(world.channel, "ticket cancel", ticket=first)
    assert fee.response.content == (
        f"Ticket #{first} (Section A · row A · seat 1) for **Night Shift** is cancelled; $36.80 is on its way back to your card "
        "(price $45.99 minus a cancellation fee of $9.19, as the show's cancellation policy says)."
    )
    assert gateway.refunds[f"ticket:{first}:refund"][2] == 3_680

    await world.env.advance_time(13 * 3600)  # 47 hours before
    before = await state(world)
    refused = await fan.slash(world.channel, "ticket cancel", ticket=second)
    assert refused.ephemeral and refused.response.content == (
        f"Tickets for **Night Shift** could be cancelled until {at(deadline)}. The cancellation deadline has passed, so this ticket "
        "can no longer be cancelled or refunded."
    )
    assert await state(world) == before


async def test_a_new_show_refunds_in_full_until_a_day_before_and_the_fan_is_told_before_paying(world, gateway):
    show = await world.show(starts_in=timedelta(days=2))
    fan = world.fans[2]
    held, before_paying = await book_and_pay(world, fan, show, 1)
    deadline = show.starts_at - timedelta(hours=24)
    assert f"• Free cancellation until {at(deadline)}.\n• No cancellation after {at(deadline)}." in before_paying
    await world.env.advance_time(DAY + 60)
    refused = await fan.slash(world.channel, "ticket cancel", ticket=ticket_ids(held)[0])
    assert "The cancellation deadline has passed" in refused.response.content
    assert gateway.refunds == {}


async def test_a_policy_that_makes_no_sense_or_comes_after_the_open_is_refused_and_changes_nothing(world, monkeypatch):
    show = await world.show(opens_in=timedelta(hours=1))
    before = await state(world)
    growing = await world.organizer.slash(world.channel, "show policy", show=show.id, fees="7d=30%, 3d=10%")
    assert growing.ephemeral and growing.response.content.startswith(
        "Cancellation fees: each step must start closer to the show"
    )
    unreadable = await world.organizer.slash(world.channel, "show policy", show=show.id, fees="ten percent")
    assert unreadable.ephemeral and "is not a step like `7d=10%`" in unreadable.response.content
    inside = await world.organizer.slash(world.channel, "show policy", show=show.id, deadline_hours=72, fees="2d=10%")
    assert inside.ephemeral and inside.response.content.startswith(
        "Cancellation fees: a fee from 48 hours before the start must begin before the deadline"
    )
    not_theirs = await world.fans[0].slash(world.channel, "show policy", show=show.id, deadline_hours=0)
    assert not_theirs.ephemeral
    assert await state(world) == before
    await world.env.advance_time(2 * 3600)
    late = await world.organizer.slash(world.channel, "show policy", show=show.id, deadline_hours=0)
    assert late.ephemeral and "have opened and fans paid under this policy" in late.response.content
    assert await state(world) == before
    shown = await world.organizer.slash(world.channel, "show policy", show=show.id)  # no options: it is shown
    assert "Free cancellation until" in shown.response.content


async def test_the_waitlist_is_explained_as_korean_sites_explain_theirs(world, monkeypatch):
    show = await world.show(seatmap="A:1x1:Standard")
    from tests.test_dm_delivery import buy

    await buy(world, world.fans[0], show)
    with actor_locale(monkeypatch, "ko"):
        joined = await world.fans[1].slash(world.channel, "waitlist join", show=show.id)
    assert joined.response.content == (
        "**Night Shift** 취소표 대기 1번으로 신청되었습니다 (1매). 취소표가 나오면 대기 순서대로 자동 예매되고 등록하신 카드로 결제되며, "
        "티켓은 DM으로 보내드립니다. 그 전에는 결제되지 않습니다."
    )
    posted = await world.organizer.slash(world.channel, "show announce", show=show.id, channel=world.channel)
    assert "Announced" in posted.response.content
    clicked = await world.fans[2].click(world.channel.last_message, label="Join waitlist")
    assert clicked.response.content.startswith(
        "You are #2 on the waitlist for **Night Shift** (1 seat(s)). When tickets are cancelled"
    )
