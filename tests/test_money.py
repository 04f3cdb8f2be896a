"""Money in ISO 4217 minor units: what an organizer types, what fans read, what the provider charges.

One currency per class of exponent: KRW (no minor unit), USD (cents), KWD (fils, 1/1000).
"""

from __future__ import annotations

import discord
import pytest

from domain import cancellations, errors, holds, orders
from domain.specs import parse_price, parse_price_tiers
from notifier import money
from notifier.errors_text import describe
from tests.factories import on_sale_show

KRW, USD, KWD = money.currency("KRW"), money.currency("usd"), money.currency("KWD")

# (currency, as typed, minor units, as shown in English, as shown in Korean)
CLASSES = [
    (KRW, "150,000", 150_000, "₩150,000", "₩150,000"),
    (USD, "45.50", 4_550, "$45.50", "US$45.50"),
    (KWD, "1.5", 1_500, "KWD1.500", "KWD1.500"),
]


def test_exponents_come_from_iso_4217():
    assert (
        KRW.precision,
        USD.precision,
        KWD.precision,
        money.currency("JPY").precision,
        money.currency("EUR").precision,
    ) == (0, 2, 3, 0, 2)
    assert USD.code == "USD"


@pytest.mark.parametrize("currency, typed, minor, english, korean", CLASSES, ids=lambda v: getattr(v, "code", None))
def test_parse_and_display_round_trip_in_english_and_korean(currency, typed, minor, english, korean):
    assert parse_price(typed, currency=currency) == minor
    assert money.format_money(minor, currency.code, discord.Locale.american_english) == english
    assert money.format_money(minor, currency.code, discord.Locale.korean) == korean
    # What a fan reads is what an organizer may type back.
    assert parse_price(english, currency=currency) == minor
    assert parse_price(korean, currency=currency) == minor


@pytest.mark.parametrize("currency, typed, minor, english, korean", CLASSES, ids=lambda v: getattr(v, "code", None))
async def test_the_provider_is_asked_for_the_minor_units_unchanged(
    store, gateway, currency, typed, minor, english, korean
):
    tiers = parse_price_tiers(f"VIP={typed}", currency=currency)
    show = await on_sale_show(store, seatmap="A:1x5:VIP", tiers=tiers, currency=currency.code)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=42, quantity=2)
    order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=42)
    assert (order.amount_cents, order.currency) == (2 * minor, currency.code)
    assert list(gateway.charged_amounts.values()) == [(2 * minor, currency.code)]
    done = await cancellations.cancel_ticket(store, gateway, ticket_id=order.tickets[0].id, fan_id=42)
    assert not done.refund_pending
    assert [amount for result, _, amount in gateway.refunds.values() if result.ok] == [minor]


def test_a_won_price_up_to_ten_million():
    assert parse_price_tiers("VIP=150,000, R=99,000", currency=KRW) == {"VIP": 150_000, "R": 99_000}
    assert parse_price("₩10,000,000", currency=KRW) == 10_000_000
    with pytest.raises(errors.InvalidInput, match=r"is more than ₩10,000,000\.") as refused:
        parse_price("10,000,001", currency=KRW)
    assert refused.value.code == "price.too_high" and refused.value.params["most_minor"] == 10_000_000


@pytest.mark.parametrize(
    "currency, text, code, message",
    [
        (KRW, "45.50", "price.no_decimals", "Price: `45.50`: KRW has no decimals."),
        (KRW, "₩45.5", "price.no_decimals", "Price: `₩45.5`: KRW has no decimals."),
        (USD, "45.505", "price.too_many_decimals", "Price: `45.505`: USD has at most 2 decimals."),
        (KWD, "1.0005", "price.too_many_decimals", "Price: `1.0005`: KWD has at most 3 decimals."),
        (USD, "100,000.01", "price.too_high", "Price: `100,000.01` is more than $100,000.00."),
        (KWD, "10,001", "price.too_high", "Price: `10,001` is more than KWD10,000.000."),
    ],
)
def test_amounts_a_currency_cannot_hold_are_refused(currency, text, code, message):
    with pytest.raises(errors.InvalidInput) as refused:
        parse_price(text, currency=currency)
    assert refused.value.code == code and refused.value.params["currency"] == currency.code
    assert describe(refused.value, "en") == message


def test_only_iso_4217_codes_are_known():
    assert money.known("KRW") and money.known("usd") and money.known("KWD")
    assert not any(money.known(code) for code in ("XYZ", "WON", "US", "KRWW", "", None, "₩₩₩"))


# --- the migration: amounts stored as cents of every currency become ISO 4217 minor units -------------


async def _amounts(store, show_ids):
    from sqlalchemy import select

    from domain.models import Order, OutboxMessage, Payment, PriceTier, Ticket

    async with store.session() as s:
        out = {}
        for code, show_id in show_ids.items():
            out[code] = dict(
                tier=(await s.execute(select(PriceTier.price_cents).where(PriceTier.show_id == show_id))).scalar_one(),
                tickets=sorted(
                    (await s.execute(select(Ticket.price_cents).where(Ticket.show_id == show_id))).scalars()
                ),
                orders=[
                    tuple(r)
                    for r in (
                        await s.execute(
                            select(Order.amount_cents, Order.organizer_amount_cents).where(Order.show_id == show_id)
                        )
                    )
                ],
                payments=sorted(
                    (
                        await s.execute(
                            select(Payment.amount_cents)
                            .join(Order, Order.id == Payment.order_id)
                            .where(Order.show_id == show_id)
                        )
                    ).scalars()
                ),
                refund_dm=[  # the payload column only: the schema may be an older revision's
                    payload["refund_cents"]
                    for payload in (
                        await s.execute(select(OutboxMessage.payload).where(OutboxMessage.kind == "ticket_cancelled"))
                    ).scalars()
                    if payload["show_id"] == show_id
                ],
            )
        return out


async def test_the_migration_turns_cents_of_every_currency_into_minor_units(store, gateway):
    from alembic.script import ScriptDirectory

    from migrations import alembic_config, downgrade, upgrade

    show_ids = {}
    for code, price in (("KRW", 150_000), ("USD", 4_550), ("KWD", 1_500)):
        show = await on_sale_show(
            store, seatmap="A:1x5:VIP", tiers={"VIP": price}, currency=code, organizer_id=len(show_ids) + 1
        )
        hold = await holds.hold_seats(store, show_id=show.id, fan_id=42, quantity=2)
        order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=42)
        await cancellations.cancel_ticket(store, gateway, ticket_id=order.tickets[0].id, fan_id=42)
        show_ids[code] = show.id
    now = await _amounts(store, show_ids)
    assert now["KRW"] == dict(
        tier=150_000,
        tickets=[150_000, 150_000],
        orders=[(300_000, 300_000)],
        payments=[150_000, 300_000],
        refund_dm=[150_000],
    )

    # Back to before this revision: amounts as they were stored then, hundredths of every currency.
    before = ScriptDirectory.from_config(alembic_config()).get_revision("0013").down_revision
    await store.engine.dispose()
    await downgrade(store.engine, before)
    try:
        legacy = await _amounts(store, show_ids)
        scaled = {"KRW": lambda v: v * 100, "USD": lambda v: v, "KWD": lambda v: v // 10}
        for code, f in scaled.items():
            assert legacy[code] == dict(
                tier=f(now[code]["tier"]),
                tickets=[f(v) for v in now[code]["tickets"]],
                orders=[(f(a), f(b)) for a, b in now[code]["orders"]],
                payments=[f(v) for v in now[code]["payments"]],
                refund_dm=[f(v) for v in now[code]["refund_dm"]],
            ), code
        assert legacy["KRW"]["tier"] == 15_000_000 and legacy["KWD"]["tier"] == 150  # ₩150,000 and KWD 1.50 as cents
    finally:
        await upgrade(store.engine)
    assert await _amounts(store, show_ids) == now
