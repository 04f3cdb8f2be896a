"""DATABASE_READ_URL: reads that may lag (the /shows list, seat maps, sales charts) go to a read
replica; holds, purchases and whatever decides availability read the primary, so a replica that
lags never sells a seat twice.

The "replica" here is a second database (a second SQLite file, or ``<name>_replica`` on the same
MariaDB) holding a copy of the primary taken at one moment, and never updated after: a replica
lagging as far as one can.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import create_bot
from domain import errors, holds, seats, shows, stats
from domain.models import Base
from domain.store import Store, make_engine
from tests import backends
from tests.conftest import e2e_settings
from tests.test_dm_delivery import buy


def _replica_url() -> str:
    url = make_url(backends.database_url())
    if url.get_backend_name() == "sqlite":
        return url.set(database=str(Path(url.database).with_name("replica.sqlite3"))).render_as_string(
            hide_password=False
        )
    return url.set(database=f"{url.database}_replica").render_as_string(hide_password=False)


async def _create(url: str) -> None:
    from migrations import rebuild

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        server = make_engine(backends.database_url())
        async with server.begin() as conn:
            await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}`"))
        await server.dispose()
    engine = make_engine(url)
    await rebuild(engine)
    await engine.dispose()


@pytest.fixture(scope="module")
def replica() -> str:
    url = _replica_url()
    asyncio.run(_create(url))
    return url


@pytest.fixture
async def databases(replica):
    primary = backends.database_url()
    for url in (primary, replica):
        engine = make_engine(url)
        await backends.wipe(engine)
        await engine.dispose()
    await backends.flush_redis()
    return primary, replica


@pytest.fixture
def simcord_bot(databases, gateway):
    """The bot as an operator configures it: DATABASE_URL and DATABASE_READ_URL (no store passed in)."""
    primary, replica = databases
    settings = e2e_settings(database_url=primary, database_read_url=replica)
    return create_bot(settings, gateway=gateway, sync_commands=True, sender_options={"retry_base": 0.05})


async def _copy(primary: str, replica: str) -> None:
    """The replica catches up with the primary once, then lags from here on."""
    src, dst = make_engine(primary), make_engine(replica)
    await backends.wipe(dst)
    async with src.connect() as read, dst.begin() as write:
        for table in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in (await read.execute(table.select())).all()]
            if rows:
                await write.execute(table.insert(), rows)
    await src.dispose()
    await dst.dispose()


async def test_a_lagging_replica_serves_the_show_list_and_seat_map_but_never_a_sale(world, gateway, databases):
    primary, replica = databases
    store = world.store
    show = await world.show(seatmap="A:1x2:Standard")
    await _copy(primary, replica)  # the replica has the show with both seats free, and stops there

    await shows.update_show(store, show.id, world.organizer.id, title="Night Shift (moved to Hall B)")
    await buy(world, world.fans[0], show, quantity=2)  # both seats, on the primary

    listed = await world.fans[1].slash(world.channel, "shows")
    names = [f["name"] for f in listed.response.embeds[0].to_dict()["fields"]]
    assert names == [f"#{show.id} Night Shift"]  # /shows came from the replica: the old title
    seen = await seats.seat_states(store, show.id)  # what the seat map is drawn from
    assert [s.state for s in seen] == ["available", "available"]  # the replica still shows both free
    report = await stats.sales_report(store, show.id)  # the sales chart: the replica's (lagging) picture
    assert (report.tiers[0].available, report.tiers[0].sold, report.issued_times) == (2, 0, ())

    res = await world.fans[1].slash(world.channel, "book", show=show.id, quantity=1)
    labels = [c.get("label") for row in (res.response.components or []) for c in row["components"]]
    assert "sold out" in res.response.content and not any(
        str(x).startswith("Pay") for x in labels
    )  # the sale read the primary
    with pytest.raises(errors.SeatUnavailable):  # a seat picked from the stale map: the hold refuses it
        await holds.hold_seats(store, show_id=show.id, fan_id=world.fans[1].id, seat_ids=[seen[0].id])

    totals = await stats.show_totals(store, show.id)  # read back from the primary
    assert (totals.sold, totals.oversold) == (2, 0)
    assert gateway.successful_charges == 1  # fan 0's order; fan 1 was charged nothing
    assert [s.title for s in await shows.list_shows(Store(store.engine, store.clock), world.guild.id)] == [
        "Night Shift (moved to Hall B)"
    ]  # the primary
