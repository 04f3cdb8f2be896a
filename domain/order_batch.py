"""Purchases taken together (group commit, domain/batching.py): the two transactions of a purchase
(domain/orders.py: prepare the order, then settle the provider's answer) for the fans paying while
the previous batch commits, in one transaction each.

Only the plain case is batched: a first purchase of an active hold, and a charge that went
through on seats still held. Everything else (a retry of an order that exists, a hold that lapsed,
a declined charge, a cancelled show, the same hold twice) is handed to the one-order path in
orders.py, which knows each answer; so the batch only has to be right about the common case, and
every request gets the answer the one-order path would have given.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Insert,
    String,
    Update,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.batching import ALONE, Batcher, batcher_for, numbered
from domain.models import (
    Hold,
    HoldStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    PriceTier,
    SeatStatus,
    Show,
    ShowSeat,
    ShowStatus,
    Ticket,
    TicketStatus,
)
from domain.orders import OrderSummary, prepare_alone, settle_alone
from domain.outbox import insert_selected
from domain.payments import PaymentResult
from domain.seats import SeatView
from domain.store import Store
from domain.tickets import TicketView

Prepared = tuple[int, str, int, str]  # order id, the charge's idempotency key, amount, currency
_ONE = "all"  # one batch for every show: a batch reads the shows of its holds


@dataclass(frozen=True)
class _Prepare:
    hold_id: int
    fan_id: int


@dataclass(frozen=True)
class _Settle:
    order_id: int
    result: PaymentResult
    fan_name: str | None


async def prepare(store: Store, hold_id: int, fan_id: int) -> OrderSummary | Prepared:
    batcher = batcher_for(store, "purchase-prepare", lambda: _prepare_batcher(store))
    return await batcher.submit(_ONE, _Prepare(hold_id, fan_id))


async def settle(store: Store, order_id: int, result: PaymentResult, fan_name: str | None) -> Any:
    """What orders.settle_charge's transaction returns: the OrderSummary, an error, or either
    paired with what happened when this call settled the order."""
    batcher = batcher_for(store, "purchase-settle", lambda: _settle_batcher(store))
    return await batcher.submit(_ONE, _Settle(order_id, result, fan_name))


# The batches' statements, built once: a hot sale runs a batch for every few dozen fans, and building a
# statement costs this box about as much CPU as running it (bench/purchase_steps.py). An UPDATE's
# parameters may not bear a column's name.
_P_HOLDS = (
    select(Hold.id, Hold.fan_discord_id, Hold.status, Hold.expires_at)
    .where(Hold.id.in_(bindparam("ids", expanding=True)))
    .with_for_update()
)
# The orders already made from those holds: a plain read. Locked together with the holds (one statement,
# an outer join), a hold would be locked before its order, the reverse of settling's order: a double
# click's prepare and settle could deadlock.
_P_ORDERED = select(Order.hold_id).where(Order.hold_id.in_(bindparam("ids", expanding=True)))
# The orders are made from the holds' rows (their amount: the sum of their seats' prices) and the
# charges' payments from the orders' rows, INSERT ... SELECT: a fan's values never cross the driver,
# whose escaping of each value was most of a batch's CPU (bench/purchase_steps.py).
_AMOUNT = func.coalesce(func.sum(PriceTier.price_cents), 0)
_P_ORDERS = (
    insert(Order)
    .from_select(
        [
            "show_id",
            "fan_discord_id",
            "hold_id",
            "status",
            "amount_cents",
            "organizer_amount_cents",
            "currency",
            "created_at",
        ],
        select(
            Hold.show_id,
            Hold.fan_discord_id,
            Hold.id,
            literal(OrderStatus.PENDING.value, String),
            _AMOUNT,
            _AMOUNT,
            Show.currency,
            bindparam("now", type_=Order.created_at.type),
        )
        .join(Show, Show.id == Hold.show_id)
        .outerjoin(ShowSeat, ShowSeat.hold_id == Hold.id)
        .outerjoin(PriceTier, PriceTier.id == ShowSeat.tier_id)
        # A cancelled show's hold makes no order here: the one-fan path refuses it, saying why.
        .where(Hold.id.in_(bindparam("ids", expanding=True)), Show.status != ShowStatus.CANCELLED.value)
        .group_by(Hold.id, Hold.show_id, Hold.fan_discord_id, Show.currency),
    )
    .returning(Order.id, Order.hold_id, Order.amount_cents, Order.currency)
)
_CHARGE_KEY = literal("order:", String) + cast(Order.id, String) + literal(":charge", String)


def _charge_key(order_id: int) -> str:
    return f"order:{order_id}:charge"  # what _CHARGE_KEY makes in SQL


@functools.cache
def _payments_for_orders(store_dialect: str) -> Insert:
    rows = select(
        Order.id,
        literal(PaymentKind.CHARGE.value, String),
        Order.amount_cents,
        Order.currency,
        _CHARGE_KEY,
        literal(PaymentStatus.PENDING.value, String),
        bindparam("now", type_=Payment.created_at.type),
    ).where(Order.id.in_(bindparam("ids", expanding=True)))
    columns = ["order_id", "kind", "amount_cents", "currency", "idempotency_key", "status", "created_at"]
    # A charge's key already there is skipped (IGNORE: the rows are our own SELECT's, so no bad data hides).
    return (
        insert(Payment).from_select(columns, rows).prefix_with("OR IGNORE" if store_dialect == "sqlite" else "IGNORE")
    )


# The orders with their holds, both locked (the order's row, then its hold's, as the one-order path).
_S_ORDERS = (
    select(
        Order.id,
        Order.status,
        Order.hold_id,
        Order.show_id,
        Order.fan_discord_id,
        Order.amount_cents,
        Order.organizer_amount_cents,
        Order.currency,
        Hold.status.label("hold_status"),
        Hold.quantity,
    )
    .outerjoin(Hold, Hold.id == Order.hold_id)
    .where(Order.id.in_(bindparam("ids", expanding=True)))
    .with_for_update()
)
_S_SEATS = (
    select(ShowSeat.id, ShowSeat.tier_id, ShowSeat.hold_id, ShowSeat.section, ShowSeat.row_label, ShowSeat.seat_number)
    .where(ShowSeat.hold_id.in_(bindparam("ids", expanding=True)), ShowSeat.status == SeatStatus.HELD.value)
    .with_for_update()
)
_S_TIERS = select(PriceTier.id, PriceTier.name, PriceTier.price_cents).where(
    PriceTier.show_id.in_(bindparam("ids", expanding=True))
)
_S_SOLD = (
    update(ShowSeat)
    .where(ShowSeat.id.in_(bindparam("ids", expanding=True)), ShowSeat.status == SeatStatus.HELD.value)
    .values(status=SeatStatus.SOLD.value, held_until=None)
)
# The tickets from the orders' and seats' rows (INSERT ... SELECT), their ids back with the insert.
_S_TICKETS = (
    insert(Ticket)
    .from_select(
        [
            "order_id",
            "show_id",
            "show_seat_id",
            "holder_discord_id",
            "price_cents",
            "status",
            "active_seat_key",
            "issued_at",
        ],
        select(
            Order.id,
            Order.show_id,
            ShowSeat.id,
            Order.fan_discord_id,
            PriceTier.price_cents,
            literal(TicketStatus.VALID.value, String),
            ShowSeat.id,
            bindparam("now", type_=Ticket.issued_at.type),
        )
        .join(ShowSeat, ShowSeat.hold_id == Order.hold_id)
        .join(PriceTier, PriceTier.id == ShowSeat.tier_id)
        .where(Order.id.in_(bindparam("orders", expanding=True)), ShowSeat.id.in_(bindparam("seats", expanding=True))),
    )
    .returning(Ticket.id, Ticket.show_seat_id)
)
_S_CONVERTED = (
    update(Hold).where(Hold.id.in_(bindparam("ids", expanding=True))).values(status=HoldStatus.CONVERTED.value)
)
_S_PAID = (
    update(Order)
    .where(Order.id.in_(bindparam("ids", expanding=True)))
    .values(status=OrderStatus.PAID.value, paid_at=bindparam("now", type_=Order.paid_at.type))
)


@functools.cache
def _charges_succeeded(n: int) -> Update:
    """The UPDATE marking ``n`` charges succeeded with the provider's references (parameters key0...,
    ref0...), built once for each batch size."""
    return (
        update(Payment)
        .where(Payment.idempotency_key.in_([bindparam(f"key{i}") for i in range(n)]))
        .values(
            status=PaymentStatus.SUCCEEDED.value,
            provider_ref=case(
                {bindparam(f"key{i}"): bindparam(f"ref{i}") for i in range(n)}, value=Payment.idempotency_key
            ),
        )
    )


@functools.cache
def _tickets_issued(dialect: str, n: int) -> Insert:
    """The ticket DMs' outbox rows of ``n`` paid orders (parameters order0..., name0... (the holder's
    name or None), now), made from the orders' rows: the payload as JSON_OBJECT, the dedupe key as
    order:<id>:tickets."""
    orders: list[BindParameter[Any]] = [bindparam(f"order{i}") for i in range(n)]
    holder = case({orders[i]: bindparam(f"name{i}", type_=String) for i in range(n)}, value=Order.id)
    rows = select(
        Order.fan_discord_id.label("recipient"),
        func.json_object("order_id", Order.id, "show_id", Order.show_id, "holder_name", holder).label("payload"),
        (literal("order:", String) + cast(Order.id, String) + literal(":tickets", String)).label("dedupe_key"),
    ).where(Order.id.in_(orders))
    return insert_selected(dialect, "tickets_issued", rows)


def _prepare_batcher(store: Store) -> Batcher[_Prepare, OrderSummary | Prepared]:
    async def run_batch(_key: Hashable, asks: list[_Prepare]) -> list[object]:
        return await store.transaction(lambda s: _prepare_many(store, s, asks))

    async def run_one(ask: _Prepare) -> OrderSummary | Prepared:
        return await prepare_alone(store, ask.hold_id, ask.fan_id)

    return Batcher(run_batch, run_one, distinct=lambda ask: ask.hold_id)


async def _prepare_many(store: Store, s: AsyncSession, asks: list[_Prepare]) -> list[object]:
    now = store.now()
    conn = await s.connection()
    ids = [a.hold_id for a in asks]
    holds = {h.id: h for h in await conn.execute(_P_HOLDS, {"ids": ids})}
    ordered = set((await conn.execute(_P_ORDERED, {"ids": ids})).scalars())
    outcomes: list[object] = [ALONE] * len(asks)
    plain = [
        i
        for i, a in enumerate(asks)
        if (h := holds.get(a.hold_id)) is not None
        and h.fan_discord_id == a.fan_id
        and a.hold_id not in ordered
        and h.status == HoldStatus.ACTIVE.value
        and h.expires_at > now
    ]
    if not plain:
        return outcomes
    plain_ids = [asks[i].hold_id for i in plain]
    made = {r.hold_id: r for r in await conn.execute(_P_ORDERS, {"ids": plain_ids, "now": now})}
    if not made:
        return outcomes
    await conn.execute(_payments_for_orders(store.dialect), {"ids": [r.id for r in made.values()], "now": now})
    for i, hid in zip(plain, plain_ids, strict=True):
        if (order := made.get(hid)) is not None:
            outcomes[i] = (order.id, _charge_key(order.id), order.amount_cents, order.currency)
    return outcomes


def _settle_batcher(store: Store) -> Batcher[_Settle, Any]:
    async def run_batch(_key: Hashable, asks: list[_Settle]) -> list[object]:
        return await store.transaction(lambda s: _settle_many(store, s, asks))

    async def run_one(ask: _Settle) -> Any:
        return await settle_alone(store, ask.order_id, ask.result, ask.fan_name)

    return Batcher(run_batch, run_one, distinct=lambda ask: ask.order_id)


async def _settle_many(store: Store, s: AsyncSession, asks: list[_Settle]) -> list[object]:
    outcomes: list[object] = [ALONE] * len(asks)
    if not asks:
        return outcomes
    now = store.now()
    conn = await s.connection()
    orders = {o.id: o for o in await conn.execute(_S_ORDERS, {"ids": [a.order_id for a in asks]})}
    pending = [  # a declined charge goes to the one-order path
        i
        for i, a in enumerate(asks)
        if a.result.ok and (o := orders.get(a.order_id)) and o.status == OrderStatus.PENDING.value
    ]
    hold_ids = [orders[asks[i].order_id].hold_id for i in pending]
    seats: dict[int, list[Any]] = defaultdict(list)
    for seat in await conn.execute(_S_SEATS, {"ids": hold_ids}):
        seats[seat.hold_id].append(seat)
    paid = [
        i
        for i in pending
        if (o := orders[asks[i].order_id]).hold_status == HoldStatus.ACTIVE.value
        and len(seats[o.hold_id]) == o.quantity
    ]
    if not paid:
        return outcomes
    paid_orders = [orders[asks[i].order_id] for i in paid]
    tiers = {t.id: t for t in await conn.execute(_S_TIERS, {"ids": list({o.show_id for o in paid_orders})})}
    charged = [(_charge_key(asks[i].order_id), asks[i].result.reference) for i in paid]
    size, refs = numbered(charged, ("key", "ref"), ("", None))  # no charge has the key ""
    await conn.execute(_charges_succeeded(size), refs)
    sold = [seat.id for o in paid_orders for seat in seats[o.hold_id]]
    await conn.execute(_S_SOLD, {"ids": sold})
    # The tickets' ids come back with the insert (matched by seat: no row order is asked, which SQLite
    # could only keep one INSERT per row): the summaries are built from what this batch already read.
    issued = await conn.execute(_S_TICKETS, {"orders": [o.id for o in paid_orders], "seats": sold, "now": now})
    await conn.execute(_S_CONVERTED, {"ids": [o.hold_id for o in paid_orders]})
    await conn.execute(_S_PAID, {"ids": [o.id for o in paid_orders], "now": now})
    holders = [(o.id, asks[i].fan_name) for i, o in zip(paid, paid_orders, strict=True)]
    size, names = numbered(holders, ("order", "name"), (0, None))  # no order 0
    # Through the session: its commit wakes the sender.
    await s.execute(_tickets_issued(store.dialect, size), {**names, "now": now})
    ticket_of = {seat: tid for tid, seat in issued.tuples()}
    tickets: dict[int, list[TicketView]] = defaultdict(list)
    for o in paid_orders:
        for seat in seats[o.hold_id]:
            tier = tiers[seat.tier_id]
            tickets[o.id].append(
                TicketView(
                    id=ticket_of[seat.id],
                    order_id=o.id,
                    show_id=o.show_id,
                    holder_discord_id=o.fan_discord_id,
                    status=TicketStatus.VALID.value,
                    seat=SeatView(seat.id, seat.section, seat.row_label, seat.seat_number, tier.name, tier.price_cents),
                )
            )
        tickets[o.id].sort(key=lambda t: t.id)
    for i, o in zip(paid, paid_orders, strict=True):
        outcomes[i] = (
            OrderSummary(
                o.id,
                o.show_id,
                o.fan_discord_id,
                OrderStatus.PAID.value,
                o.amount_cents,
                o.organizer_amount_cents,
                o.currency,
                tuple(tickets[o.id]),
            ),
            "paid",
        )
    return outcomes
