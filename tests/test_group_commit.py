"""Many fans at once: holds and purchases asked together are served together (group commit), and
each fan still gets exactly what they would have got alone: their own seats, their own order, their
own refusal."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from domain import errors, hold_batch, holds, orders, stats, telemetry
from domain.models import Payment, SeatStatus, ShowSeat, Ticket
from tests.factories import on_sale_show


def _outcomes(results):
    ok = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    return ok, failed


async def test_a_crowd_of_fans_gets_distinct_best_seats_and_the_rest_hear_sold_out(store, gateway):
    show = await on_sale_show(store, seatmap="A:2x10:Standard", per_fan_limit=4)  # 20 seats
    fans = list(range(500, 530))  # 30 fans, one seat each

    results = await asyncio.gather(
        *(holds.hold_seats(store, show_id=show.id, fan_id=f, quantity=1) for f in fans), return_exceptions=True
    )

    got, refused = _outcomes(results)
    assert len(got) == 20
    assert {type(e) for e in refused} <= {errors.SoldOut}
    assert len({seat.id for h in got for seat in h.seats}) == 20  # nobody shares a seat
    assert all(h.fan_id == f for h, f in zip(results, fans, strict=True) if not isinstance(h, BaseException))

    paid = await asyncio.gather(*(orders.purchase(store, gateway, hold_id=h.id, fan_id=h.fan_id) for h in got))
    for hold, order in zip(got, paid, strict=True):
        assert order.fan_id == hold.fan_id
        assert [t.seat.id for t in order.tickets] == [s.id for s in hold.seats]  # the fan's own seats
        assert {t.holder_discord_id for t in order.tickets} == {hold.fan_id}
    totals = await stats.show_totals(store, show.id)
    assert (totals.sold, totals.oversold) == (20, 0)
    assert gateway.charged_total == 20 * 4500


async def test_best_seats_go_in_the_order_fans_asked(store):
    show = await on_sale_show(store, seatmap="A:1x10:Standard")
    first, second = await asyncio.gather(
        holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=2),
        holds.hold_seats(store, show_id=show.id, fan_id=2, quantity=3),
    )
    assert [s.seat_number for s in first.seats] == [1, 2]
    assert [s.seat_number for s in second.seats] == [3, 4, 5]


async def test_one_fan_asking_many_times_at_once_stays_within_the_limit(store):
    show = await on_sale_show(store, per_fan_limit=4)

    results = await asyncio.gather(
        *(holds.hold_seats(store, show_id=show.id, fan_id=7, quantity=2) for _ in range(3)), return_exceptions=True
    )

    got, refused = _outcomes(results)
    assert len(got) == 2
    assert [type(e) for e in refused] == [errors.FanLimitExceeded]
    assert sum(len(h.seats) for h in got) == 4


async def test_fans_over_their_limit_are_refused_without_costing_the_others_their_seats(store):
    show = await on_sale_show(store, per_fan_limit=2)
    await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=2)  # fan 1 is at the limit

    over, fine = await asyncio.gather(
        holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1),
        holds.hold_seats(store, show_id=show.id, fan_id=2, quantity=2),
        return_exceptions=True,
    )

    assert isinstance(over, errors.FanLimitExceeded)
    assert over.params["have"] == 2 and over.params["left"] == 0
    assert len(fine.seats) == 2


async def _pay_together(store, gateway, held):
    """Each fan pays for their hold, all at once (one batch): each one's order, or the error they get."""
    return await asyncio.gather(
        *(orders.purchase(store, gateway, hold_id=h.id, fan_id=h.fan_id) for h in held), return_exceptions=True
    )


async def test_a_lapsed_hold_among_good_ones_is_refused_alone(store, gateway):
    show = await on_sale_show(store)
    late = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1, ttl=timedelta(seconds=-1))
    good = await asyncio.gather(*(holds.hold_seats(store, show_id=show.id, fan_id=f, quantity=1) for f in (2, 3)))

    results = await _pay_together(store, gateway, [late, *good])

    assert isinstance(results[0], errors.HoldExpired)
    assert [o.status for o in results[1:]] == ["paid", "paid"]
    assert gateway.charged_total == 2 * 4500


async def test_a_hold_on_a_show_cancelled_meanwhile_is_refused_in_a_batch_and_charges_nothing(store, gateway):
    from domain.models import Show, ShowStatus

    gone, live = await on_sale_show(store), await on_sale_show(store)
    doomed = await holds.hold_seats(store, show_id=gone.id, fan_id=1, quantity=1)
    good = await asyncio.gather(*(holds.hold_seats(store, show_id=live.id, fan_id=f, quantity=1) for f in (2, 3)))
    async with store.session() as s:  # cancelled while the fan held seats, before they paid
        await s.execute(update(Show).where(Show.id == gone.id).values(status=ShowStatus.CANCELLED.value))

    results = await _pay_together(store, gateway, [doomed, *good])

    assert isinstance(results[0], errors.ShowCancelled)
    assert [o.status for o in results[1:]] == ["paid", "paid"]
    assert gateway.charged_total == 2 * 4500
    assert (await stats.show_totals(store, gone.id)).sold == 0


async def test_a_double_clicked_pay_in_one_batch_charges_once(store, gateway):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=9, quantity=2)

    a, b = await asyncio.gather(
        orders.purchase(store, gateway, hold_id=hold.id, fan_id=9),
        orders.purchase(store, gateway, hold_id=hold.id, fan_id=9),
    )

    assert a.id == b.id and a.status == b.status == "paid"
    assert gateway.charged_total == 2 * 4500
    async with store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 2
        assert (await s.execute(select(func.count()).select_from(Payment))).scalar_one() == 1


async def test_a_declined_card_in_a_batch_fails_alone(store, gateway):
    show = await on_sale_show(store)
    gateway.declined_customers.add(2)
    hs = await asyncio.gather(*(holds.hold_seats(store, show_id=show.id, fan_id=f, quantity=1) for f in (1, 2, 3)))

    results = await asyncio.gather(
        *(orders.purchase(store, gateway, hold_id=h.id, fan_id=h.fan_id) for h in hs), return_exceptions=True
    )

    assert isinstance(results[1], errors.PaymentDeclined)
    assert results[0].status == results[2].status == "paid"
    totals = await stats.show_totals(store, show.id)
    assert totals.sold == 2


async def test_a_fan_refused_in_a_batch_leaves_nothing_behind(store):
    from domain.models import FanShowQuota

    show = await on_sale_show(store, per_fan_limit=2)
    refused, served = await asyncio.gather(
        holds.hold_seats(store, show_id=show.id, fan_id=3, quantity=3),
        holds.hold_seats(store, show_id=show.id, fan_id=4, quantity=1),
        return_exceptions=True,
    )
    assert isinstance(refused, errors.FanLimitExceeded)
    assert len(served.seats) == 1
    async with store.session() as s:
        rows = (await s.execute(select(FanShowQuota.fan_discord_id, FanShowQuota.seats))).all()
    assert rows == [(4, 1)]  # the refused fan has no count of seats at all


class _GaveUp(Exception):
    pass


async def _two_fans_ask_while_another_buyer_has_every_seat_locked(store, monkeypatch, then) -> list:
    """Two fans ask for the best seat of a two-seat show while another buyer's open transaction holds
    both seats locked (MariaDB's row locks; a batch's best-available pick skips them); that buyer then
    does ``then(session, show_id)`` and ends. The fans must be served by their batches: the one-fan path (a
    transaction per fan per look) is made to fail. Returns each fan's hold or refusal."""
    if store.dialect == "sqlite":
        pytest.skip("SQLite has no row locks: its writers take turns")
    show = await on_sale_show(store, seatmap="A:1x2:Standard")

    async def one_fan_path(*_args, **_kwargs):
        raise AssertionError("a fan was served alone")

    monkeypatch.setattr(hold_batch, "hold_seats_alone", one_fan_path)
    monkeypatch.setattr(hold_batch, "BATCH_TRIES", 50, raising=False)  # however long the locks last
    locked, go = asyncio.Event(), asyncio.Event()

    async def other_buyer(s):
        await s.execute(select(ShowSeat.id).where(ShowSeat.show_id == show.id).with_for_update())
        locked.set()
        await go.wait()
        await then(s, show.id)

    other = asyncio.create_task(store.transaction(other_buyer))
    await locked.wait()
    asking = [asyncio.create_task(holds.hold_seats(store, show_id=show.id, fan_id=f, quantity=1)) for f in (1, 2)]
    await asyncio.sleep(0.05)  # their batch meets the locks
    go.set()
    await asyncio.gather(other, return_exceptions=True)
    return await asyncio.gather(*asking, return_exceptions=True)


async def test_seats_another_buyer_has_locked_go_to_the_fans_asking_when_that_buyer_lets_go(store, monkeypatch):
    async def gives_up(_s, _show_id):
        raise _GaveUp  # its transaction rolls back: the seats are free again

    got = await _two_fans_ask_while_another_buyer_has_every_seat_locked(store, monkeypatch, gives_up)
    assert all(isinstance(h, holds.HoldSummary) for h in got), got
    assert sorted(seat.seat_number for h in got for seat in h.seats) == [1, 2]


async def test_fans_waiting_on_seats_another_buyer_then_takes_hear_sold_out(store, monkeypatch):
    async def sells_them(s, show_id):
        await s.execute(update(ShowSeat).where(ShowSeat.show_id == show_id).values(status=SeatStatus.SOLD.value))

    results = await _two_fans_ask_while_another_buyer_has_every_seat_locked(store, monkeypatch, sells_them)
    assert [type(r) for r in results] == [errors.SoldOut, errors.SoldOut]


async def test_a_fan_whose_hold_ran_out_gets_best_seats_again_within_the_limit(store, clock):
    show = await on_sale_show(store, seatmap="A:1x10:Standard", per_fan_limit=4)
    first = await holds.hold_seats(store, show_id=show.id, fan_id=7, quantity=4, ttl=timedelta(minutes=5))
    clock.advance(minutes=5, seconds=1)

    again, other = await asyncio.gather(  # one batch: the lapsed hold no longer counts against the limit
        holds.hold_seats(store, show_id=show.id, fan_id=7, quantity=4),
        holds.hold_seats(store, show_id=show.id, fan_id=8, quantity=2),
    )

    assert len(again.seats) == 4 and len(other.seats) == 2
    assert {s.id for s in again.seats}.isdisjoint({s.id for s in other.seats})
    with pytest.raises(errors.FanLimitExceeded):  # the old hold ended: 4 held, not 8
        await holds.hold_seats(store, show_id=show.id, fan_id=7, quantity=1)
    assert first.id != again.id


class _Counted:
    """A telemetry sink: what the operators' metrics would count."""

    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def count(self, event, n, labels) -> None:
        self.counts[event] = self.counts.get(event, 0) + n

    def observe(self, event, value, labels) -> None:
        pass


async def test_holds_made_by_the_one_fan_path_after_a_batch_are_counted_once(store):
    show = await on_sale_show(store, per_fan_limit=4)
    seen = _Counted()
    telemetry.install(seen)
    try:
        # A double click: the second ask is left by its batch to the one-fan path.
        made = await asyncio.gather(*(holds.hold_seats(store, show_id=show.id, fan_id=3, quantity=1) for _ in range(2)))
    finally:
        telemetry.uninstall(seen)
    assert len({h.id for h in made}) == 2
    assert seen.counts.get("hold_created") == 2


async def test_the_batches_inserts_that_skip_or_overwrite_a_row_are_compiled_once_not_every_batch(store):
    # The conflict clauses of SQLAlchemy's dialects carry no cache key: every statement holding one was
    # compiled again on every batch (the purchase batches' payments and outbox rows, the line's places).
    from sqlalchemy import event

    from domain.models import DMChannel, GuildSettings

    seen: list[object] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT"):
            seen.append(context.cache_hit)

    event.listen(store.engine.sync_engine, "before_cursor_execute", note)
    try:
        now = store.now()
        for n in range(3):
            async with store.session() as s:
                await s.execute(store.insert_ignore(GuildSettings.__table__, guild_id=1, organizer_role_id=None))
                await s.execute(
                    store.insert_ignore_many(GuildSettings.__table__),
                    [{"guild_id": g, "organizer_role_id": None} for g in (1, 2, 3)],
                )
                await s.execute(
                    store.upsert_many(DMChannel.__table__, ["channel_id", "opened_at"]),
                    [{"user_discord_id": u, "channel_id": u + n, "opened_at": now} for u in (7, 8)],
                )
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", note)
    assert len(seen) == 9
    assert all(str(h).endswith("CACHE_HIT") for h in seen[3:]), seen  # the 2nd and 3rd time: from the cache
    async with store.session() as s:
        assert sorted((await s.execute(select(GuildSettings.guild_id))).scalars()) == [1, 2, 3]
        assert dict((await s.execute(select(DMChannel.user_discord_id, DMChannel.channel_id))).tuples().all()) == {
            7: 9,
            8: 10,
        }
