"""The on-sale journal (``onsale_activity``, read by the on-sale report) does not grow for ever: the
scheduler's cleanup deletes the rows of shows a month past their start, in batches, and keeps those
of shows whose report an organizer may still ask for."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain import queue, queue_places, reports
from domain.models import OnSaleActivity
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
