"""A show's cancellation policy: until when a fan may cancel, and what share of the price is kept.

Korean ticketing sites (Interpark, YES24, Melon Ticket) work this way: cancellation is free until a
deadline draws near, a fee that grows as the show nears applies after that (10% from a week before,
20-30% in the last days), and there is no cancellation at all within the last hours. Picket models it
as two settings of a show, chosen by its organizer:

- ``deadline_hours``: no cancellation within this many hours of the start (0: until the start);
- ``steps``: fee steps ``(hours_before_start, percent)``: from that many hours before the start on,
  ``percent`` of the price is kept. No steps: a full refund until the deadline.

Everything here is pure (no store, no Discord): :func:`quote` says what one cancellation refunds.
Amounts are integers in ISO 4217 minor units, so the fee is integer arithmetic on the currency's own
precision (₩99,000 · 15% = ₩14,850; $45.50 · 15% = $6.82, rounded down in the fan's favour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import errors

DEFAULT_DEADLINE_HOURS = 24
MAX_DEADLINE_HOURS = 24 * 30
MAX_STEP_HOURS = 24 * 365
MAX_STEPS = 5


@dataclass(frozen=True)
class FeeStep:
    hours_before: int  # from this many hours before the start...
    percent: int  # ...this share of the price is kept


@dataclass(frozen=True)
class RefundQuote:
    price: int
    fee: int
    percent: int

    @property
    def refund(self) -> int:
        return self.price - self.fee


@dataclass(frozen=True)
class PolicyStage:
    """One stretch of time of a policy as a fan reads it: from ``starts`` (None: from now) the fee
    is ``percent``; ``percent`` None means cancellation is closed from then on."""

    starts: datetime | None
    percent: int | None


@dataclass(frozen=True)
class RefundPolicy:
    deadline_hours: int = DEFAULT_DEADLINE_HOURS
    steps: tuple[FeeStep, ...] = ()  # farthest from the start first; fees grow as the start nears

    def __post_init__(self) -> None:
        validate(self.deadline_hours, self.steps)

    @classmethod
    def from_row(cls, deadline_hours: int | None, fees: list[list[int]] | None) -> RefundPolicy:
        steps = tuple(FeeStep(int(h), int(p)) for h, p in (fees or []))
        return cls(
            deadline_hours if deadline_hours is not None else DEFAULT_DEADLINE_HOURS,
            tuple(sorted(steps, key=lambda s: -s.hours_before)),
        )

    def fees_json(self) -> list[list[int]] | None:
        return [[s.hours_before, s.percent] for s in self.steps] or None

    def deadline(self, starts_at: datetime) -> datetime:
        return starts_at - timedelta(hours=self.deadline_hours)

    def fee_percent(self, starts_at: datetime, now: datetime) -> int | None:
        """The share of the price kept by a cancellation at ``now``; None once cancellation is closed."""
        if now >= self.deadline(starts_at):
            return None
        percent = 0
        for step in self.steps:
            if now >= starts_at - timedelta(hours=step.hours_before):
                percent = step.percent
        return percent

    def quote(self, price: int, starts_at: datetime, now: datetime) -> RefundQuote | None:
        """What cancelling a ticket of ``price`` minor units at ``now`` refunds; None once closed."""
        percent = self.fee_percent(starts_at, now)
        if percent is None:
            return None
        return RefundQuote(price=price, fee=fee(price, percent), percent=percent)

    def stages(self, starts_at: datetime, now: datetime) -> list[PolicyStage]:
        """The policy as a fan reads it before paying, from ``now`` on: the stretch they are in
        (``starts`` None), each fee step still ahead, and the close."""
        deadline = self.deadline(starts_at)
        current = self.fee_percent(starts_at, now)
        if current is None:
            return [PolicyStage(None, None)]
        out = [PolicyStage(None, current)]
        for step in self.steps:
            when = starts_at - timedelta(hours=step.hours_before)
            if now < when < deadline:
                out.append(PolicyStage(when, step.percent))
        out.append(PolicyStage(deadline, None))
        return out


def fee(price: int, percent: int) -> int:
    """``percent`` of ``price`` (minor units), rounded down to the currency's smallest unit."""
    return price * percent // 100


def validate(deadline_hours: int, steps: tuple[FeeStep, ...]) -> None:
    if not isinstance(deadline_hours, int) or not 0 <= deadline_hours <= MAX_DEADLINE_HOURS:
        raise errors.InvalidInput("policy.deadline", most=MAX_DEADLINE_HOURS)
    if len(steps) > MAX_STEPS:
        raise errors.InvalidInput("policy.too_many_steps", most=MAX_STEPS)
    last_hours, last_percent = None, 0
    for step in steps:
        if not 1 <= step.percent <= 100:
            raise errors.InvalidInput("policy.bad_percent", percent=step.percent)
        if not deadline_hours < step.hours_before <= MAX_STEP_HOURS:
            raise errors.InvalidInput(
                "policy.step_hours", hours=step.hours_before, deadline_hours=deadline_hours, most=MAX_STEP_HOURS
            )
        if last_hours is not None and (step.hours_before >= last_hours or step.percent <= last_percent):
            raise errors.InvalidInput("policy.step_order")
        last_hours, last_percent = step.hours_before, step.percent


_STEP = re.compile(r"^(\d{1,5})\s*(h|hours?|d|days?|시간|일)?\s*(?:before)?\s*[=:]\s*(\d{1,3})\s*%?$", re.IGNORECASE)


def parse_fees(text: str) -> tuple[FeeStep, ...]:
    """``"7d=10%, 72h=20%"``: from 7 days before the start a 10% fee, from 72 hours before 20%.
    A bare number is hours; ``none`` (or nothing) means no fees."""
    text = (text or "").strip()
    if text.casefold() in ("", "none", "no", "0", "없음"):
        return ()
    steps = []
    for part in re.split(r"[,;\n]", text):
        part = part.strip()
        if not part:
            continue
        m = _STEP.match(part)
        if m is None:
            raise errors.InvalidInput("policy.bad_step", value=part[:40])
        amount, unit, percent = int(m[1]), (m[2] or "h").casefold(), int(m[3])
        hours = amount * 24 if unit in ("d", "day", "days", "일") else amount
        steps.append(FeeStep(hours, percent))
    steps.sort(key=lambda s: -s.hours_before)
    return tuple(steps)
