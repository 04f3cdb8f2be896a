"""MariaDB's pool skips the ROLLBACK after a COMMIT and pings only connections that sat idle
(domain/store.py, _lean_pool): a dead pooled connection must still never reach a caller, and a
connection given back in the middle of a transaction must still leave nothing behind."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import queue
from domain.models import SeatStatus, ShowSeat
from domain.store import PING_IDLE_SECONDS, Store
from tests import backends
from tests.factories import on_sale_show

pytestmark = pytest.mark.skipif(
    not backends.database_url().startswith("mysql"), reason="MariaDB's pool (SQLite keeps SQLAlchemy's defaults)"
)


async def _connection_id(store: Store) -> int:
    async with store.session() as s:
        return int((await s.execute(text("SELECT CONNECTION_ID()"))).scalar_one())


async def _seat(store: Store, show_id: int) -> ShowSeat:
    async with store.session() as s:
        return (
            await s.execute(select(ShowSeat).where(ShowSeat.show_id == show_id).order_by(ShowSeat.id).limit(1))
        ).scalar_one()


async def _open_transactions(engine: AsyncEngine, connection_id: int) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = :id"),
                    {"id": connection_id},
                )
            ).scalar_one()
        )


async def _take_seat_elsewhere(engine: AsyncEngine, seat_id: int) -> None:
    """Write the seat from another connection, giving up after 1 s of waiting for a lock on it."""
    async with engine.begin() as conn:
        await conn.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
        await conn.execute(update(ShowSeat).where(ShowSeat.id == seat_id).values(held_until=None))


@pytest.mark.integration  # waits on the wall clock for the pool's idle ping
async def test_a_connection_killed_while_idle_in_the_pool_is_replaced_before_anyone_uses_it(store, redis, clock):
    show = await on_sale_show(store)
    lone = Store.from_url(backends.database_url(), clock, pool_size=1)  # one connection, used in turn
    try:
        killed = await _connection_id(lone)
        async with store.engine.connect() as other:
            await other.execute(text(f"KILL {killed}"))
        await asyncio.sleep(PING_IDLE_SECONDS + 0.5)
        # The next domain calls succeed, reading and writing, on a new connection.
        assert (await queue.show_queue(lone, show.id)).title == "Night Shift"
        await queue.join(lone, redis, show.id, 42)
        assert (await queue.status(lone, redis, show.id, 42)).state == "admitted"
        assert len((await queue.reserve(lone, redis, show_id=show.id, fan_id=42, quantity=2)).seats) == 2
        assert await _connection_id(lone) != killed
    finally:
        await lone.dispose()


async def test_a_connection_given_back_mid_transaction_leaves_no_transaction_or_lock_behind(store, clock):
    show = await on_sale_show(store)
    seat = await _seat(store, show.id)
    lone = Store.from_url(backends.database_url(), clock, pool_size=1)
    try:
        cid = await _connection_id(lone)  # a committed transaction first: the case that sends no ROLLBACK
        # Through SQLAlchemy: a locking read and a write, then the connection goes back uncommitted.
        async with lone.engine.connect() as conn:
            await conn.execute(select(ShowSeat).where(ShowSeat.id == seat.id).with_for_update())
            await conn.execute(update(ShowSeat).where(ShowSeat.id == seat.id).values(status=SeatStatus.HELD.value))
        assert await _open_transactions(store.engine, cid) == 0
        await _take_seat_elsewhere(store.engine, seat.id)  # no lock left: does not wait
        # Through the bare driver, which no SQLAlchemy event sees.
        async with lone.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            async with raw.driver_connection.cursor() as cur:
                await cur.execute("UPDATE show_seats SET status = 'held' WHERE id = %s", (seat.id,))
        assert await _open_transactions(store.engine, cid) == 0
        await _take_seat_elsewhere(store.engine, seat.id)
        # The next transaction on that connection commits only its own work, not the stray writes.
        assert await _connection_id(lone) == cid
        assert (await _seat(store, seat.show_id)).status == SeatStatus.AVAILABLE.value
        assert (await _seat(lone, seat.show_id)).status == SeatStatus.AVAILABLE.value
    finally:
        await lone.dispose()


async def test_a_transaction_that_failed_gives_its_connection_back_clean(store, clock):
    show = await on_sale_show(store)
    seat = await _seat(store, show.id)
    lone = Store.from_url(backends.database_url(), clock, pool_size=1)
    cid = await _connection_id(lone)

    async def work(s) -> None:
        await s.execute(update(ShowSeat).where(ShowSeat.id == seat.id).values(status=SeatStatus.HELD.value))
        raise RuntimeError("the work failed after writing")

    try:
        with pytest.raises(RuntimeError):
            await lone.transaction(work)
        assert await _open_transactions(store.engine, cid) == 0
        await _take_seat_elsewhere(store.engine, seat.id)
        assert await _connection_id(lone) == cid
        assert (await _seat(store, seat.show_id)).status == SeatStatus.AVAILABLE.value
    finally:
        await lone.dispose()
