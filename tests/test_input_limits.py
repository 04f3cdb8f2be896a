"""Issue #13, "bad input and slow work": input that used to crash a service (or slip past a limit)
is refused with its own short message and writes nothing; a refund that times out is left pending,
not lost, and does not stop the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import cancellations, capacity, errors, follows, holds, orders, organizers, recovery, shows
from domain.models import Follow, Payment, ShowSeat, Ticket
from domain.specs import parse_names, parse_price, parse_price_tiers, parse_seatmap, parse_when
from notifier.errors_text import TEMPLATES
from tests.factories import on_sale_show
from tests.snapshot import table_counts

INVISIBLE = ["\u200b", "\u200b\u200d\u2060", "\u3164\u3164", " \ufe0f ", "\u00ad\u200e", "\u2800"]


async def refused(store, call, match):
    before = await table_counts(store)
    with pytest.raises(errors.InvalidInput, match=match) as info:
        await call
    assert len(info.value.message) < 300
    assert info.value.code in TEMPLATES, info.value.code
    assert await table_counts(store) == before, "a refused request wrote something"
    return info.value


@pytest.mark.parametrize("spec", ["A:²", "A:①", "A:3x²", "A:①x5", "A:٣", "A:" + "9" * 3000, "A:" + "9" * 5000 + "x1"])
def test_seat_maps_take_ascii_digits_only(spec):
    with pytest.raises(errors.InvalidInput, match="Seat map") as info:
        parse_seatmap(spec)
    assert len(info.value.message) < 300


@pytest.mark.parametrize(
    "text, code", [("1e999999", "price.too_high"), ("1E+7", "price.too_high"), ("1e-999999", "price.too_many_decimals")]
)
def test_prices_with_huge_exponents(text, code):
    with pytest.raises(errors.InvalidInput) as refused:
        parse_price(text)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "text, zone",
    [("0001-01-01 00:00", "Asia/Seoul"), ("0001-01-01 00:00", "UTC"), ("9999-12-31 23:59", "America/New_York")],
)
def test_dates_out_of_range(text, zone):
    with pytest.raises(errors.InvalidInput, match="between the years 2000 and 2100"):
        parse_when(text, zone, field="Start time")


async def test_follow_names_that_grow_past_100_once_normalised(store):
    for name in ["ß" * 60, "\ufdfa" * 10]:  # 120 and 180 characters as match keys
        await refused(store, follows.follow(store, 1, "artist", name), "longer than 100 characters")
        with pytest.raises(errors.InvalidInput, match="longer than 100"):
            parse_names(f"Mira Sol, {name}", field="Artists")


@pytest.mark.parametrize("blank", INVISIBLE)
async def test_invisible_names_are_refused(store, blank):
    org = await organizers.register_organizer(store, 1, 1, "O")
    now = store.now()
    good = dict(
        organizer_id=org.id,
        venue_name="Hall",
        seatmap_spec="A:2x2",
        title="T",
        artists=["X"],
        genres=[],
        starts_at=now + timedelta(days=2),
        on_sale_at=now,
        tiers={"Standard": 100},
    )
    for field, value, match in [
        ("title", blank, "Title"),
        ("artists", ["X", blank], "Artists"),
        ("venue_name", blank, "Venue"),
        ("tiers", {blank: 100}, "Price tiers"),
    ]:
        await refused(store, shows.create_show(store, **{**good, field: value}), match)
    await refused(store, follows.follow(store, 1, "genre", blank), "Genre")
    with pytest.raises(errors.InvalidInput, match="Price tiers"):
        parse_price_tiers(f"{blank}=45")
    with pytest.raises(errors.InvalidInput, match="Artists"):
        parse_names(blank, field="Artists")
    show = await on_sale_show(store)
    await refused(store, shows.update_show(store, show.id, 1, title=blank), "Title")
    await refused(store, shows.update_show(store, show.id, 1, artists=[blank]), "Artists")


async def test_errors_quote_a_short_excerpt_of_long_input(store):
    show = await on_sale_show(store)
    long = "x" * 5000
    cases = [
        (lambda: parse_seatmap("A:" + "y" * 3900), "Seat map"),
        (lambda: parse_price_tiers("VIP " + long[:900]), "not `name=price`"),
        (lambda: parse_when("2026-01-01 10:00", long, field="Start"), "Time zone"),
        (lambda: parse_when(long, "UTC", field="Start time"), "Start time"),
        (lambda: show.tier(long), "no tier"),
    ]
    for call, match in cases:
        with pytest.raises(errors.InvalidInput, match=match) as info:
            call()
        assert len(info.value.message) < 300 and "…" in info.value.message
    err = await refused(store, holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1, tier=long), "no tier")
    assert "…" in err.message
    from domain.specs import excerpt

    assert excerpt("a`b\n\n" + "c" * 100) == "a'b " + "c" * 35 + "…"


async def test_adding_sections_keeps_the_100000_seat_limit(store):
    show = await on_sale_show(store, seatmap="A:20x20:Standard")  # 400 seats
    await refused(store, capacity.add_sections(store, show.id, 1, "B:400x250:Standard"), "at most 100000")
    assert await capacity.add_sections(store, show.id, 1, "B:1x10:Standard") == 10
    await refused(store, capacity.add_sections(store, show.id, 1, "b:1x10:Standard"), "already exists")
    async with store.session() as s:
        assert (await s.execute(select(func.count()).select_from(ShowSeat))).scalar_one() == 410


async def test_follow_all_follows_every_name_or_none(store):
    await refused(store, follows.follow_all(store, 1, [("artist", "Mira Sol"), ("genre", "ß" * 60)]), "Genre")
    await follows.follow_all(store, 1, [("artist", "Mira Sol"), ("genre", "indie")])
    async with store.session() as s:
        assert (await s.execute(select(func.count()).select_from(Follow))).scalar_one() == 2


async def _bought(store, gateway, show, fan):
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=fan, quantity=1)
    return (await orders.purchase(store, gateway, hold_id=hold.id, fan_id=fan)).tickets[0]


async def test_a_refund_that_times_out_is_pending_and_the_ticket_is_cancelled(store, gateway):
    show = await on_sale_show(store)
    ticket = await _bought(store, gateway, show, 7)
    gateway.refund_timeouts_left = 1
    done = await cancellations.cancel_ticket(store, gateway, ticket_id=ticket.id, fan_id=7)
    assert done.status == "revoked" and done.refund_pending
    assert gateway.refunds == {}
    report = await recovery.recover(store, gateway, None)
    assert report.refunds_sent == 1
    assert [amount for res, _, amount in gateway.refunds.values() if res.ok] == [4500]
    fine = await cancellations.cancel_ticket(
        store, gateway, ticket_id=(await _bought(store, gateway, show, 8)).id, fan_id=8
    )
    assert not fine.refund_pending


async def test_one_timed_out_refund_does_not_stop_the_recovery_tick(store, gateway):
    show = await on_sale_show(store)
    tickets = [await _bought(store, gateway, show, fan) for fan in (1, 2, 3)]
    gateway.refund_timeouts_left = 3
    for ticket, fan in zip(tickets, (1, 2, 3), strict=True):
        assert (await cancellations.cancel_ticket(store, gateway, ticket_id=ticket.id, fan_id=fan)).refund_pending
    gateway.refund_timeouts_left = 1  # the first refund of the tick times out again
    report = await recovery.recover(store, gateway, None)
    assert report.refunds_sent == 2
    async with store.session() as s:
        pending = (
            await s.execute(select(func.count()).select_from(Payment).where(Payment.status == "pending"))
        ).scalar_one()
        revoked = (
            await s.execute(select(func.count()).select_from(Ticket).where(Ticket.status == "revoked"))
        ).scalar_one()
    assert pending == 1 and revoked == 3
    assert (await recovery.recover(store, gateway, None)).refunds_sent == 1


def test_names_with_combining_marks_and_emoji_are_kept_as_typed():
    for name in ["Beyonce\u0301", "राम\u093e", "❤️ Hearts", "Sigur Rós", "방탄소년단", "👨\u200d👩\u200d👧 Family"]:
        assert parse_names(f"{name}, Mira Sol", field="Artists") == [name, "Mira Sol"]
    assert parse_names("\u200bMira Sol\u200b", field="Artists") == ["Mira Sol"]  # invisible ends are dropped
