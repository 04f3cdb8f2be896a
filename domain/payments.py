"""The payment port and its sandbox provider.

Picket never touches card data: a :class:`PaymentGateway` charges and refunds by idempotency key, the
way real providers do, so a retried or double-clicked payment reaches the provider twice with the same
key and is charged once.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class PaymentResult:
    ok: bool
    reference: str | None = None
    reason: str | None = None


class PaymentTimeout(Exception):
    """The provider did not answer. The outcome is unknown until the same key is retried."""


class PaymentGateway(Protocol):
    async def authorize(self, *, customer: int) -> PaymentResult:
        """Save a payment method for later charges (the waitlist); ``reference`` names it."""
        ...

    async def charge(
        self, *, idempotency_key: str, amount_cents: int, currency: str, customer: int, authorization: str | None = None
    ) -> PaymentResult: ...

    async def refund(self, *, idempotency_key: str, charge_reference: str, amount_cents: int) -> PaymentResult: ...


@dataclass
class SandboxGateway:
    """In-process provider for the embedded default, the demo and tests.

    Behaves like a real provider on the points Picket relies on: the same idempotency key returns the
    first result and never charges twice; refunds are also idempotent and never exceed the charge.
    It can be told to decline a customer's cards or to time out once.
    """

    declined_customers: set[int] = field(default_factory=set)
    unauthorizable_customers: set[int] = field(default_factory=set)
    authorizations: dict[str, int] = field(default_factory=dict)  # reference -> customer
    timeouts_left: int = 0
    charges: dict[str, tuple[PaymentResult, int, int]] = field(default_factory=dict)  # key -> result, amount, customer
    refunds: dict[str, tuple[PaymentResult, str, int]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def authorize(self, *, customer: int) -> PaymentResult:
        async with self._lock:
            if customer in self.unauthorizable_customers:
                return PaymentResult(False, reason="Your card could not be authorized.")
            reference = f"auth_{next(self._ids)}"
            self.authorizations[reference] = customer
            return PaymentResult(True, reference=reference)

    async def charge(
        self, *, idempotency_key: str, amount_cents: int, currency: str, customer: int, authorization: str | None = None
    ) -> PaymentResult:
        async with self._lock:
            if idempotency_key in self.charges:
                return self.charges[idempotency_key][0]
            if self.timeouts_left > 0:
                self.timeouts_left -= 1
                raise PaymentTimeout("the payment provider did not answer")
            if authorization is not None and self.authorizations.get(authorization) != customer:
                result = PaymentResult(False, reason="The saved card authorization is no longer valid.")
            elif customer in self.declined_customers:
                result = PaymentResult(False, reason="Your card was declined.")
            else:
                result = PaymentResult(True, reference=f"ch_{next(self._ids)}")
            self.charges[idempotency_key] = (result, amount_cents, customer)
            return result

    async def refund(self, *, idempotency_key: str, charge_reference: str, amount_cents: int) -> PaymentResult:
        async with self._lock:
            if idempotency_key in self.refunds:
                return self.refunds[idempotency_key][0]
            charged = next((amt for res, amt, _ in self.charges.values() if res.reference == charge_reference), None)
            refunded = sum(amt for res, ref, amt in self.refunds.values() if ref == charge_reference and res.ok)
            if charged is None or refunded + amount_cents > charged:
                result = PaymentResult(False, reason="refund exceeds the charge")
            else:
                result = PaymentResult(True, reference=f"re_{next(self._ids)}")
            self.refunds[idempotency_key] = (result, charge_reference, amount_cents)
            return result

    @property
    def charged_total(self) -> int:
        return sum(amt for res, amt, _ in self.charges.values() if res.ok)

    @property
    def successful_charges(self) -> int:
        return sum(1 for res, _, _ in self.charges.values() if res.ok)
