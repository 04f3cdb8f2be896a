"""Every service refuses bad input with a typed error and a readable message, and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import errors, follows, holds, orders, organizers, seats, shows, venues, waitlist
from domain.specs import parse_price, parse_price_tiers, parse_seatmap
from notifier.errors_text import TEMPLATES
from tests.factories import on_sale_show
from tests.snapshot import table_counts


@pytest.fixture
async def world(store):
    """Two shows on sale plus one whose sale opens tomorrow."""
    a = await on_sale_show(store, per_fan_limit=2)
    b = await on_sale_show(store)
    later = await on_sale_show(store, opens_in=timedelta(days=1))
    return a, b, later


async def refused(store, call, error_type, match):
    before = await table_counts(store)
    with pytest.raises(error_type, match=match) as info:
        await call
    assert isinstance(info.value, errors.DomainError)
    assert info.value.message and "Traceback" not in info.value.message
    assert info.value.code in TEMPLATES, info.value.code  # a code with words in every language
    assert await table_counts(store) == before, "a refused request wrote something"
    return info.value


async def test_unknown_show(store, world, gateway):
    await refused(
        store, holds.hold_seats(store, show_id=999999, fan_id=1, quantity=1), errors.ShowNotFound, "no show #999999"
    )
    await refused(store, shows.get_show(store, 999999), errors.ShowNotFound, "999999")
    await refused(
        store, waitlist.join_waitlist(store, show_id=999999, fan_id=1, quantity=1), errors.ShowNotFound, "999999"
    )
    await refused(store, seats.availability(store, -3), errors.ShowNotFound, "-3")


async def test_seat_of_another_show(store, world):
    a, b, _ = world
    other_seat = (await seats.seat_ids_by_label(store, b.id, [("A", "A", 1)]))[0]
    await refused(
        store,
        holds.hold_seats(store, show_id=a.id, fan_id=1, seat_ids=[other_seat]),
        errors.SeatNotFound,
        f"not part of show #{a.id}",
    )
    await refused(store, seats.seat_ids_by_label(store, a.id, [("Z", "Q", 99)]), errors.SeatNotFound, "Z Q99")


@pytest.mark.parametrize("quantity", [0, -1, -50, 51])
async def test_bad_quantity(store, world, quantity):
    a, _, _ = world
    await refused(
        store, holds.hold_seats(store, show_id=a.id, fan_id=1, quantity=quantity), errors.InvalidInput, "Quantity"
    )
    await refused(
        store,
        waitlist.join_waitlist(store, show_id=a.id, fan_id=1, quantity=quantity),
        errors.DomainError,
        "Quantity|allows",
    )


async def test_same_seat_twice_in_one_request(store, world):
    a, _, _ = world
    seat = (await seats.seat_ids_by_label(store, a.id, [("A", "A", 1)]))[0]
    await refused(
        store, holds.hold_seats(store, show_id=a.id, fan_id=1, seat_ids=[seat, seat]), errors.InvalidInput, "twice"
    )


async def test_over_the_per_fan_limit(store, world):
    a, _, _ = world
    await refused(
        store,
        holds.hold_seats(store, show_id=a.id, fan_id=1, quantity=3),
        errors.FanLimitExceeded,
        "allows 2 tickets per fan",
    )


async def test_sale_not_yet_open(store, world):
    _, _, later = world
    err = await refused(
        store, holds.hold_seats(store, show_id=later.id, fan_id=1, quantity=1), errors.SaleNotOpen, "open"
    )
    assert f"<t:{int(later.on_sale_at.timestamp())}" in err.message  # Discord timestamp: each fan sees local time


async def test_unknown_tier(store, world):
    a, _, _ = world
    await refused(
        store,
        holds.hold_seats(store, show_id=a.id, fan_id=1, quantity=1, tier="Balcony"),
        errors.InvalidInput,
        "no tier `Balcony`",
    )


async def test_someone_elses_hold(store, world, gateway):
    a, _, _ = world
    hold = await holds.hold_seats(store, show_id=a.id, fan_id=1, quantity=1)
    await refused(
        store, orders.purchase(store, gateway, hold_id=hold.id, fan_id=2), errors.NotPermitted, "someone else"
    )
    await refused(store, holds.release_hold(store, hold.id, 2), errors.NotPermitted, "someone else")
    await refused(store, orders.purchase(store, gateway, hold_id=987654, fan_id=1), errors.HoldNotFound, "987654")
    assert gateway.charges == {}


async def test_bad_show_details(store):
    org = await organizers.register_organizer(store, 1, 1, "O")
    venue = await venues.create_venue(store, org.id, "Hall", "A:2x2:VIP")
    now = store.now()
    base = dict(organizer_id=org.id, venue_id=venue.id, title="T", artists=["X"], genres=[], tiers={"VIP": 100})
    cases = [
        (dict(starts_at=now - timedelta(hours=1), on_sale_at=now - timedelta(hours=2)), "Start time"),
        (dict(starts_at=now + timedelta(days=1), on_sale_at=now + timedelta(days=2)), "On-sale time"),
        (dict(starts_at=now + timedelta(days=2), on_sale_at=now, per_fan_limit=0), "Per-fan limit"),
        (
            dict(starts_at=now + timedelta(days=2), on_sale_at=now, tiers={"Standard": 100, "Other": 5}),
            "section `A` uses tier `VIP`",
        ),
        (dict(starts_at=now + timedelta(days=2), on_sale_at=now, title="  "), "Title"),
        (dict(starts_at=now + timedelta(days=2), on_sale_at=now, venue_id=424242), "no venue"),
    ]
    for overrides, match in cases:
        await refused(store, shows.create_show(store, **{**base, **overrides}), errors.DomainError, match)


async def test_bad_follow(store):
    await refused(store, follows.follow(store, 1, "planet", "Mars"), errors.InvalidInput, "neither")
    await refused(store, follows.follow(store, 1, "artist", "   "), errors.InvalidInput, "Artist")


@pytest.mark.parametrize(
    "spec, match",
    [
        ("", "at least one section"),
        ("A:0x10:VIP", "zero seats"),
        ("A:10:VIP, A:5:VIP", "appears twice"),
        ("A:ten:VIP", "not ROWSxSEATS"),
        ("justtext", "is not `section"),
        ("A:800x1", "at most 702"),
        ("A:400x400", "at most 100000"),
    ],
)
def test_bad_seatmap_spec(spec, match):
    with pytest.raises(errors.InvalidInput, match=match):
        parse_seatmap(spec)


def test_seatmap_spec():
    sections = parse_seatmap("A:10x20:VIP; Floor:500:GA\nB:2x3")
    assert [(s.name, s.capacity, s.general_admission, s.tier) for s in sections] == [
        ("A", 200, False, "VIP"),
        ("Floor", 500, True, "GA"),
        ("B", 6, False, None),
    ]


@pytest.mark.parametrize("text, cents", [("45", 4500), ("45.5", 4550), ("$1,200.00", 120000), ("0", 0)])
def test_prices(text, cents):
    assert parse_price(text) == cents


@pytest.mark.parametrize(
    "text, code",
    [
        ("abc", "price.not_number"),
        ("-5", "price.negative"),
        ("1.234", "price.too_many_decimals"),
        ("nan", "price.negative"),
    ],
)
def test_bad_prices(text, code):
    with pytest.raises(errors.InvalidInput) as refused:
        parse_price(text)
    assert refused.value.code == code


def test_price_tiers():
    assert parse_price_tiers("VIP=120, Standard=45.50") == {"VIP": 12000, "Standard": 4550}
    with pytest.raises(errors.InvalidInput, match="not `name=price`"):
        parse_price_tiers("VIP 120")
