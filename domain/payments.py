"""The payment port and its sandbox provider.

Picket never touches card data: a :class:`PaymentGateway` charges and refunds by idempotency key, the
way real providers do, so a retried or double-clicked payment reaches the provider twice with the same
key and is charged once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
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
    ) -> PaymentResult:
        """Charge ``amount_cents`` ISO 4217 minor units of ``currency``, as providers take them:
        150000 KRW is ₩150,000 (KRW has no minor unit), 4550 USD is $45.50."""
        ...

    async def refund(self, *, idempotency_key: str, charge_reference: str, amount_cents: int) -> PaymentResult: ...

    async def lookup(self, *, idempotency_key: str) -> PaymentResult | None:
        """The result of the charge made under this key, or None when the provider never saw it.
        Recovery uses it to finish a purchase whose process died waiting for the answer."""
        ...


_LEDGER_TABLES = """
CREATE TABLE IF NOT EXISTS authorizations (reference TEXT PRIMARY KEY, customer INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS charges (key TEXT PRIMARY KEY, ok INTEGER NOT NULL, reference TEXT,
    reason TEXT, amount INTEGER NOT NULL, customer INTEGER NOT NULL, currency TEXT);
CREATE TABLE IF NOT EXISTS refunds (key TEXT PRIMARY KEY, ok INTEGER NOT NULL, reference TEXT,
    reason TEXT, charge_reference TEXT NOT NULL, amount INTEGER NOT NULL);
"""


def _set_up_ledger(db: sqlite3.Connection, attempts: int = 50) -> None:
    """WAL, the tables, and the column a ledger from before lacks. Bot processes that start together
    on a fresh machine (two shards) open a new ledger at once, and SQLite answers the loser of the
    switch to WAL "database is locked" at once, without waiting out its busy timeout: try again,
    briefly. (Every step is idempotent, so a retry after any of them is safe.)"""
    for attempt in range(1, attempts + 1):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_LEDGER_TABLES)
            if "currency" not in {row[1] for row in db.execute("PRAGMA table_info(charges)")}:
                db.execute("ALTER TABLE charges ADD COLUMN currency TEXT")  # a ledger from before
            return
        except sqlite3.OperationalError as exc:
            if "duplicate column" in str(exc):  # another process added it first
                return
            if "locked" not in str(exc) or attempt == attempts:
                raise
            time.sleep(0.005 * attempt)


class SandboxGateway:
    """The provider for the embedded default, the demo and tests.

    Behaves like a real provider on the points Picket relies on: the same idempotency key returns the
    first result and never charges twice; refunds are also idempotent and never exceed the charge; a
    charge can be looked up by its key. Its ledger is its own SQLite file (``ledger_path``; in memory
    when None), written before it answers: like a real provider's records, it outlives a crash of the
    bot, which is what lets recovery reconcile half-finished payments.
    It can be told to decline a customer's cards, or to time out once (before or after charging, or
    on a refund).
    """

    def __init__(self, ledger_path: str | Path | None = None):
        self.declined_customers: set[int] = set()
        self.unauthorizable_customers: set[int] = set()
        self.timeouts_left = 0  # the provider does not answer, and charges nothing
        self.lost_answers_left = 0  # the provider charges, but the answer never arrives
        self.refund_timeouts_left = 0  # a refund is not answered, and nothing is refunded
        if ledger_path is not None:
            Path(ledger_path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(ledger_path) if ledger_path else ":memory:", isolation_level=None, timeout=30)
        _set_up_ledger(self._db)
        self._lock = asyncio.Lock()

    @staticmethod
    def _reference(prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex[:16]}"

    def _charge_result(self, key: str) -> PaymentResult | None:
        row = self._db.execute("SELECT ok, reference, reason FROM charges WHERE key = ?", (key,)).fetchone()
        return None if row is None else PaymentResult(bool(row[0]), row[1], row[2])

    async def authorize(self, *, customer: int) -> PaymentResult:
        async with self._lock:
            if customer in self.unauthorizable_customers:
                return PaymentResult(False, reason="Your card could not be authorized.")
            reference = self._reference("auth")
            self._db.execute("INSERT INTO authorizations VALUES (?, ?)", (reference, customer))
            return PaymentResult(True, reference=reference)

    async def charge(
        self, *, idempotency_key: str, amount_cents: int, currency: str, customer: int, authorization: str | None = None
    ) -> PaymentResult:
        async with self._lock:
            first = self._charge_result(idempotency_key)
            if first is not None:
                return first
            if self.timeouts_left > 0:
                self.timeouts_left -= 1
                raise PaymentTimeout("the payment provider did not answer")
            if authorization is not None and self.authorizations.get(authorization) != customer:
                result = PaymentResult(False, reason="The saved card authorization is no longer valid.")
            elif customer in self.declined_customers:
                result = PaymentResult(False, reason="Your card was declined.")
            else:
                result = PaymentResult(True, reference=self._reference("ch"))
            self._db.execute(
                "INSERT INTO charges (key, ok, reference, reason, amount, customer, currency) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (idempotency_key, int(result.ok), result.reference, result.reason, amount_cents, customer, currency),
            )
            if self.lost_answers_left > 0:
                self.lost_answers_left -= 1
                raise PaymentTimeout("the payment provider's answer was lost")
            return result

    async def lookup(self, *, idempotency_key: str) -> PaymentResult | None:
        async with self._lock:
            return self._charge_result(idempotency_key)

    async def refund(self, *, idempotency_key: str, charge_reference: str, amount_cents: int) -> PaymentResult:
        async with self._lock:
            row = self._db.execute(
                "SELECT ok, reference, reason FROM refunds WHERE key = ?", (idempotency_key,)
            ).fetchone()
            if row is not None:
                return PaymentResult(bool(row[0]), row[1], row[2])
            if self.refund_timeouts_left > 0:
                self.refund_timeouts_left -= 1
                raise PaymentTimeout("the payment provider did not answer the refund")
            charged = self._db.execute(
                "SELECT amount FROM charges WHERE ok = 1 AND reference = ?", (charge_reference,)
            ).fetchone()
            refunded = self._db.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE ok = 1 AND charge_reference = ?",
                (charge_reference,),
            ).fetchone()[0]
            if charged is None or refunded + amount_cents > charged[0]:
                result = PaymentResult(False, reason="refund exceeds the charge")
            else:
                result = PaymentResult(True, reference=self._reference("re"))
            self._db.execute(
                "INSERT INTO refunds VALUES (?, ?, ?, ?, ?, ?)",
                (idempotency_key, int(result.ok), result.reference, result.reason, charge_reference, amount_cents),
            )
            return result

    # --- the ledger, for tests and the demo ------------------------------------------------------

    @property
    def authorizations(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT reference, customer FROM authorizations"))

    @property
    def charges(self) -> dict[str, tuple[PaymentResult, int, int]]:
        """key -> (result, amount, customer)"""
        rows = self._db.execute("SELECT key, ok, reference, reason, amount, customer FROM charges")
        return {k: (PaymentResult(bool(ok), ref, why), amt, cust) for k, ok, ref, why, amt, cust in rows}

    @property
    def charged_amounts(self) -> dict[str, tuple[int, str]]:
        """key -> (amount in minor units, currency) of every successful charge: what the fan paid."""
        rows = self._db.execute("SELECT key, amount, currency FROM charges WHERE ok = 1")
        return {k: (amt, cur) for k, amt, cur in rows}

    @property
    def refunds(self) -> dict[str, tuple[PaymentResult, str, int]]:
        """key -> (result, charge reference, amount)"""
        rows = self._db.execute("SELECT key, ok, reference, reason, charge_reference, amount FROM refunds")
        return {k: (PaymentResult(bool(ok), ref, why), charge, amt) for k, ok, ref, why, charge, amt in rows}

    @property
    def charged_total(self) -> int:
        return int(self._db.execute("SELECT COALESCE(SUM(amount), 0) FROM charges WHERE ok = 1").fetchone()[0])

    @property
    def successful_charges(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM charges WHERE ok = 1").fetchone()[0])

    def close(self) -> None:
        self._db.close()
