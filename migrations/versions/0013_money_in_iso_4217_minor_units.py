"""money in ISO 4217 minor units: amounts stored as cents of currencies that have none are rescaled

Until now every amount was stored as hundredths of its currency, whatever the currency. From now the
integer is ISO 4217 minor units (Babel's ``get_currency_precision``): KRW and JPY have 0 decimals, so
15000000 (₩150,000 as "cents") becomes 150000; USD and EUR have 2 and stay; KWD and BHD have 3, so
1550 (KWD 15.50) becomes 15500. Codes Babel does not know stay as they were (they are shown with two
decimals). Rescaled: tier prices and ticket prices (by their show's currency), order totals and
payments (by their own currency), and the refund amount in queued cancellation DMs. A price of a
0-decimal currency that had cents (₩45.50 was accepted) is rounded down to the whole unit.

The sandbox ledger is the provider's record of what it was asked to charge, and is left alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 02:30:00
"""

import json

import sqlalchemy as sa
from alembic import op
from babel.numbers import get_currency_precision, is_currency

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _currencies(bind) -> set[str]:
    found: set[str] = set()
    for table in ("shows", "orders", "payments"):
        found |= {c for (c,) in bind.execute(sa.text(f"SELECT DISTINCT currency FROM {table}")) if c}
    return found


def _exponent(code: str) -> int | None:
    """Minor-unit digits, or None for a code Babel does not know (left as two)."""
    upper = code.upper()
    return get_currency_precision(upper) if len(upper) == 3 and is_currency(upper) else None


def _scale(bind, exponent_from: int, exponent_to: int, code: str) -> None:
    if exponent_from == exponent_to:
        return
    if exponent_to > exponent_from:
        factor = 10 ** (exponent_to - exponent_from)
        new = lambda col: f"{col} * {factor}"  # noqa: E731
    else:
        factor = 10 ** (exponent_from - exponent_to)
        # Integer division rounding down, the same on both backends (amounts are never negative).
        div = "DIV" if bind.dialect.name in ("mysql", "mariadb") else "/"
        new = lambda col: f"{col} {div} {factor}"  # noqa: E731
    of_show = "show_id IN (SELECT id FROM shows WHERE currency = :c)"
    for statement in (
        f"UPDATE price_tiers SET price_cents = {new('price_cents')} WHERE {of_show}",
        f"UPDATE tickets SET price_cents = {new('price_cents')} WHERE {of_show}",
        f"UPDATE orders SET amount_cents = {new('amount_cents')}, organizer_amount_cents = {new('organizer_amount_cents')} WHERE currency = :c",
        f"UPDATE payments SET amount_cents = {new('amount_cents')} WHERE currency = :c",
    ):
        bind.execute(sa.text(statement), {"c": code})
    # Cancellation DMs carry their refund amount in their payload (rendered when sent).
    show_ids = {i for (i,) in bind.execute(sa.text("SELECT id FROM shows WHERE currency = :c"), {"c": code})}
    if not show_ids:
        return
    rows = bind.execute(
        sa.text("SELECT id, payload FROM outbox WHERE kind IN ('ticket_cancelled', 'show_cancelled')")
    ).all()
    for row_id, payload in rows:
        data = json.loads(payload) if isinstance(payload, (str, bytes)) else dict(payload or {})
        if data.get("show_id") not in show_ids or not isinstance(data.get("refund_cents"), int):
            continue
        cents = data["refund_cents"]
        data["refund_cents"] = cents * factor if exponent_to > exponent_from else cents // factor
        bind.execute(sa.text("UPDATE outbox SET payload = :p WHERE id = :i"), {"p": json.dumps(data), "i": row_id})


def upgrade() -> None:
    bind = op.get_bind()
    for code in sorted(_currencies(bind)):
        exponent = _exponent(code)
        if exponent is not None:
            _scale(bind, 2, exponent, code)


def downgrade() -> None:
    bind = op.get_bind()
    for code in sorted(_currencies(bind)):
        exponent = _exponent(code)
        if exponent is not None:
            _scale(bind, exponent, 2, code)
