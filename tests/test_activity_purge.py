"""The on-sale journal (``onsale_activity``, read by the on-sale report) does not grow for ever: the
scheduler's cleanup deletes the rows of shows a month past their start, in batches, and keeps those
of shows whose report an organizer may still ask for."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import func, select

from domain import holds, orders, queue, queue_places, reports
from domain.models import OnSaleActivity
from notifier.around import report_chart, report_embed
from notifier.report_chart import JOINS, SALES
from notifier.scheduler import Jobs
from tests.factories import on_sale_show


async def journal_rows(store, show_id: int) -> int:
    async with store.session() as s:
        return (
            await s.execute(select(func.count()).select_from(OnSaleActivity).where(OnSaleActivity.show_id == show_id))
        ).scalar_one()


async def test_an_old_shows_journal_goes_and_a_recent_shows_stays(store, redis, clock, gateway):
    old = await on_sale_show(store, starts_in=timedelta(days=2))
    recent = await on_sale_show(store, starts_in=timedelta(days=20))
    for fan in range(1, 8):  # each join is journalled by the queue itself
        await queue.join(store, redis, old.id, fan)
        await queue.join(store, redis, recent.id, fan)
    assert await journal_rows(store, old.id) >= 7 and await journal_rows(store, recent.id) >= 7
    kept = await journal_rows(store, recent.id)
    jobs = Jobs(store, gateway, redis)

    clock.advance(days=2 + 20)  # the old show started 20 days ago: its organizer may still ask
    await jobs.clean_up()
    assert await journal_rows(store, old.id) >= 7
    assert (await reports.onsale_report(store, old.id)).joined == 7

    clock.advance(days=10, hours=1)  # now a month and an hour past its start
    await jobs.clean_up()
    assert await journal_rows(store, old.id) == 0
    assert await journal_rows(store, recent.id) == kept  # 12 days past its start: kept
    assert (await reports.onsale_report(store, recent.id)).joined == 7


async def test_a_big_journal_is_deleted_in_batches(store, redis, clock):
    show = await on_sale_show(store, starts_in=timedelta(days=1))
    for fan in range(1, 12):
        await queue.join(store, redis, show.id, fan)
    rows = await journal_rows(store, show.id)
    clock.advance(days=1 + 31)
    assert await queue_places.purge_activity(store, batch=4) == rows
    assert await journal_rows(store, show.id) == 0
    assert await queue_places.purge_activity(store, batch=4) == 0  # twice deletes nothing


def chart_has(png: bytes, colour: str) -> bool:
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return wanted in {rgb for _, rgb in Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 24)}


async def test_a_report_whose_journal_was_cleared_says_so_instead_of_zeros(store, redis, clock, gateway):
    """/show report a month after the start (what the cog sends: report_embed and report_chart of the
    organizer's report): one line says the on-sale details were cleared; what is still known (tickets,
    holds, the waitlist) is shown, and no queue of 0 fans, on the embed or the chart."""
    show = await on_sale_show(store, starts_in=timedelta(days=2))
    for fan in range(1, 5):
        await queue.join(store, redis, show.id, fan)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1)
    await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)

    kept = await reports.organizer_report(store, redis, show.id, 1)
    embed = report_embed(kept, "en")
    assert "cleared" not in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Queue"].startswith("4 joined")
    assert chart_has(report_chart(kept, "en"), JOINS)

    clock.advance(days=2 + 31)
    await Jobs(store, gateway, redis).clean_up()  # the scheduler's cleanup deletes the journal
    cleared = await reports.organizer_report(store, redis, show.id, 1)
    embed = report_embed(cleared, "en")
    assert embed["description"].endswith(
        "\nOn-sale details are kept for 30 days after the show; this show's have been cleared."
    )
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Sales", "1 of 10 sold · not sold out"),
        ("Holds that lapsed", "0"),
        ("Waitlist", "0 joined · 0 promoted · 0 waiting"),
    ]
    chart = report_chart(cleared, "en")
    assert chart_has(chart, SALES) and not chart_has(chart, JOINS)  # no "Joined the queue (0)" either

    korean = report_embed(cleared, "ko")
    assert korean["description"].endswith(
        "\n예매 오픈 상세 내역은 공연일로부터 30일간 보관되며, 이 공연의 내역은 보관 기간이 지나 삭제되었습니다."
    )
    assert [f["name"] for f in korean["fields"]] == ["판매", "결제 시간 초과로 풀린 좌석 선점", "취소표 대기"]
