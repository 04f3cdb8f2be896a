"""A show's cancellation policy (domain/refunds.py): what one cancellation refunds, in minor units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import errors
from domain.refunds import FeeStep, RefundPolicy, fee, parse_fees

START = datetime(2030, 6, 1, 11, 0, tzinfo=UTC)  # 20:00 in Seoul
KOREAN = RefundPolicy(
    24, (FeeStep(7 * 24, 10), FeeStep(72, 20))
)  # free, then 10% a week out, 20% from 3 days, closed the last day


def before(hours: float) -> datetime:
    return START - timedelta(hours=hours)


@pytest.mark.parametrize(
    "price, hours, refund, kept",
    [
        (150_000, 10 * 24, 150_000, 0),  # KRW (0 decimals): free until a week before
        (150_000, 7 * 24, 135_000, 15_000),  # from exactly 7 days before: 10%
        (99_000, 100, 89_100, 9_900),
        (99_000, 72, 79_200, 19_800),  # from 72 hours before: 20%
        (45_455, 100, 40_910, 4_545),  # ₩4,545.5 is not a won amount: the fee rounds down (the fan's favour)
        (4_550, 100, 4_095, 455),  # USD (2 decimals): $45.50 -> $4.55 kept
        (4_599, 30, 3_680, 919),  # $45.99 at 20%: $9.198 -> $9.19 kept, $36.80 refunded
    ],
)
def test_the_refund_is_the_price_minus_the_fee_in_minor_units(price, hours, refund, kept):
    quote = KOREAN.quote(price, START, before(hours))
    assert (quote.refund, quote.fee) == (refund, kept)
    assert quote.refund + quote.fee == price


def test_no_cancellation_within_the_deadline():
    assert KOREAN.quote(150_000, START, before(24)) is None
    assert KOREAN.quote(150_000, START, before(1)) is None
    assert KOREAN.quote(150_000, START, before(24.01)).fee == 30_000


def test_the_default_policy_refunds_in_full_until_a_day_before():
    policy = RefundPolicy()
    assert policy.quote(4_550, START, before(25)).refund == 4_550
    assert policy.quote(4_550, START, before(23)) is None
    assert RefundPolicy(0).quote(4_550, START, before(0.1)).refund == 4_550  # 0: until the start


def test_stages_are_what_a_fan_reads_before_paying():
    stages = KOREAN.stages(START, before(30 * 24))
    assert [(s.starts, s.percent) for s in stages] == [
        (None, 0),
        (before(168), 10),
        (before(72), 20),
        (before(24), None),
    ]
    later = KOREAN.stages(START, before(100))  # already within the 10% step
    assert [(s.starts, s.percent) for s in later] == [(None, 10), (before(72), 20), (before(24), None)]
    assert [(s.starts, s.percent) for s in KOREAN.stages(START, before(2))] == [(None, None)]


def test_fee_is_integer_arithmetic():
    assert fee(10_000_000, 30) == 3_000_000 and fee(1, 99) == 0 and fee(12_345, 100) == 12_345


def test_fee_steps_are_parsed_in_days_or_hours_english_or_korean():
    assert parse_fees("7d=10%, 72h=20%") == (FeeStep(168, 10), FeeStep(72, 20))
    assert parse_fees("72h=20%; 7일=10") == (FeeStep(168, 10), FeeStep(72, 20))
    assert parse_fees("48시간=30%") == (FeeStep(48, 30),)
    assert parse_fees("none") == () and parse_fees("") == ()


@pytest.mark.parametrize(
    "deadline, fees",
    [
        (24, "7d=30%, 3d=10%"),  # a fee must grow as the show nears
        (24, "12h=10%"),  # a fee step inside the closed window means nothing
        (24, "7d=0%"),
        (24, "7d=101%"),
        (-1, ""),
        (24 * 31, ""),
        (24, "1d=1, 2d=2, 3d=3, 4d=4, 5d=5, 6d=6"),
        (24, "7d=10, 7d=20"),
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(deadline, fees):
    with pytest.raises(errors.InvalidInput):
        RefundPolicy(deadline, parse_fees(fees))


def test_unreadable_fee_text_is_refused():
    with pytest.raises(errors.InvalidInput, match="is not a step like"):
        parse_fees("ten percent a week before")
