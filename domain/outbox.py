"""Queueing messages in the outbox, inside the caller's transaction.

The notifier drains the table; the domain only writes to it. A message's ``dedupe_key`` names its
cause ("order:12:tickets"), so queueing the same cause twice (a retried transaction, two processes
racing to promote the same fan) leaves one message. The sender learns of new messages from the store
itself (:func:`on_queued`), after the commit that queued them: no caller has to remember to wake it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import DMChannel, Fan, OutboxMessage, OutboxStatus, Show, ShowStatus
from domain.store import Store, rowcount

# Sent messages are kept this long (to look a delivery up, and so a repeat of the same cause folds
# into the first message), then purged.
RETENTION = timedelta(days=14)
# A show's alert rows are what keeps a show announced again from alerting anyone twice: they are
# kept until the show is over, however old (see :func:`purge_sent`).
ALERT_KIND = "show_alert"

# Which messages go first when Discord's budget (about 50 requests/s per bot) is the limit: what a
# fan is waiting for right now (tickets, refunds, waitlist seats, their turn in the queue: any kind
# not listed) before on-sale reminders and the channel posts that ping an alert role (one message for
# a whole server), those before new-show alerts, alerts before the weekly digest. Lower goes first.
TRANSACTIONAL = 0
PRIORITIES = {"onsale_reminder": 1, "alert_role_post": 1, ALERT_KIND: 2, "digest": 3}
LOWEST = max(PRIORITIES.values())


def priority_of(kind: str) -> int:
    return PRIORITIES.get(kind, TRANSACTIONAL)


def on_queued(store: Store, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback()`` after each commit of ``store`` that queued messages (by :func:`enqueue`
    or any other insert into the outbox). Returns the function that stops it."""
    return store.after_commit(OutboxMessage.__tablename__, callback)


async def enqueue(
    store: Store,
    session: AsyncSession,
    *,
    kind: str,
    recipient_discord_id: int,
    payload: dict[str, Any],
    dedupe_key: str,
) -> None:
    now = store.now()
    await session.execute(
        store.insert_ignore(
            OutboxMessage.__table__,
            dedupe_key=dedupe_key,
            kind=kind,
            recipient_discord_id=recipient_discord_id,
            payload=payload,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            priority=priority_of(kind),
        )
    )


async def enqueue_many(
    store: Store,
    session: AsyncSession,
    *,
    kind: str,
    messages: Sequence[tuple[int, dict[str, Any], str]],
) -> None:
    """:func:`enqueue` for many messages of one kind, each ``(recipient_discord_id, payload,
    dedupe_key)``, in one statement (a multi-row INSERT on MariaDB), in this order. A message whose
    dedupe key is already queued is skipped, as :func:`enqueue` skips it."""
    if not messages:
        return
    now = store.now()
    priority = priority_of(kind)
    await session.execute(
        store.insert_ignore_many(OutboxMessage.__table__, "dedupe_key"),
        [
            dict(
                dedupe_key=dedupe_key,
                kind=kind,
                recipient_discord_id=recipient,
                payload=payload,
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                priority=priority,
            )
            for recipient, payload, dedupe_key in messages
        ],
    )


def insert_selected(dialect: str, kind: str, rows: Select[Any]) -> Insert:
    """An INSERT ... SELECT of messages of ``kind``, for many at once with no value of theirs crossing
    the driver: ``rows`` selects columns labelled ``recipient``, ``payload`` (JSON text) and
    ``dedupe_key``. Run it with ``rows``' parameters and ``now``, through the session (whose commit
    wakes the sender, :func:`on_queued`); a message whose dedupe key is queued already is skipped, as
    :func:`enqueue` skips it. Build it once: it is the same for every batch."""
    r = rows.subquery()
    now = bindparam("now", type_=OutboxMessage.created_at.type)
    messages = select(
        r.c.recipient,
        r.c.payload,
        r.c.dedupe_key,
        literal(kind, String),
        literal(OutboxStatus.PENDING.value, String),
        literal(0, Integer),
        now,
        now,
        literal(priority_of(kind), Integer),
    )
    columns = [
        "recipient_discord_id",
        "payload",
        "dedupe_key",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "priority",
    ]
    # IGNORE skips a queued dedupe key; the rows are our own SELECT's, so no bad data can hide behind it.
    table = cast(Table, OutboxMessage.__table__)  # a Core insert: the ORM's bulk insert takes no SELECT
    return (
        insert(table)
        .from_select([table.c[c] for c in columns], messages)
        .prefix_with("OR IGNORE" if dialect == "sqlite" else "IGNORE")
    )


# --- the sender's side: claiming and settling messages -------------------------------------------


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    kind: str
    recipient_discord_id: int
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    priority: int = TRANSACTIONAL
    dm_channel_id: int | None = None  # the recipient's DM channel, when Discord opened one before


async def claim_due(
    store: Store, worker_id: str, *, limit: int, lease: timedelta, max_priority: int = LOWEST
) -> list[ClaimedMessage]:
    """Claim up to ``limit`` due messages for this worker until ``now + lease``, most urgent first
    (:data:`PRIORITIES`; ``max_priority=0`` claims only what fans are waiting for), each with the
    recipient's DM channel when one is known.

    Rows are picked with ``FOR UPDATE SKIP LOCKED`` (MariaDB) so several processes draining one outbox
    never claim the same row; a claim whose worker died lapses after the lease and is claimed again.
    The index (status, priority, next_attempt_at, id) is walked in that order and the walk stops at
    the LIMIT: a ticket is found first however many alerts wait behind it.
    """

    async def work(s: AsyncSession) -> list[ClaimedMessage]:
        now = store.now()
        claimable = (
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        order = (OutboxMessage.priority, OutboxMessage.next_attempt_at, OutboxMessage.id)
        # First a plain read of which rows are due, then a lock on exactly those (by primary key,
        # skipping any another worker holds). A locking range scan would also lock, for a moment,
        # the first row past its range: a lane claiming at that moment would skip it and, finding
        # nothing else, stop with the row unsent (the urgent lane's scan ends on the first alert).
        due = (
            (
                await s.execute(
                    select(OutboxMessage.id)
                    .where(*claimable, OutboxMessage.priority <= max_priority)
                    .order_by(*order)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        if not due:
            return []
        rows = (
            (
                await s.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(due), *claimable)
                    .order_by(*order)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            return []
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(claimed_by=worker_id, claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        recipients = {r.recipient_discord_id for r in rows}
        channels: dict[int, int] = {
            user: channel
            for user, channel in (
                await s.execute(
                    select(DMChannel.user_discord_id, DMChannel.channel_id).where(
                        DMChannel.user_discord_id.in_(recipients)
                    )
                )
            ).tuples()
        }
        return [
            ClaimedMessage(
                r.id,
                r.kind,
                r.recipient_discord_id,
                r.payload,
                r.attempts,
                r.created_at,
                r.priority,
                channels.get(r.recipient_discord_id),
            )
            for r in rows
        ]

    return await store.transaction(work)


async def mark_sent_many(
    store: Store,
    sent: Sequence[tuple[int, int | None]],
    *,
    reached: Sequence[int] = (),
    channels: dict[int, int] | None = None,
) -> int:
    """Record deliveries: (outbox id, Discord message id) pairs, in one executemany UPDATE.

    ``reached``: fans a DM just got through to who may be flagged as having closed DMs; the flag
    clears (their DMs work again), in the same transaction. ``channels``: DM channels Discord opened
    for these sends ({user: channel}), remembered so the next DM to them is one request."""
    if not sent and not channels:
        return 0
    table = cast(Table, OutboxMessage.__table__)  # typed FromClause; a declarative class's own table is a Table
    # One statement for the batch (an executemany UPDATE is one round trip per row on aiomysql).
    message_ids = {i: m for i, m in sent if m is not None}
    stmt = (
        update(table)
        .where(table.c.id.in_([i for i, _ in sent]), table.c.status == OutboxStatus.PENDING.value)
        .values(
            status=OutboxStatus.SENT.value,
            sent_at=store.now(),
            discord_message_id=case(message_ids, value=table.c.id, else_=table.c.discord_message_id)
            if message_ids
            else table.c.discord_message_id,
            attempts=table.c.attempts + 1,
            claimed_by=None,
            claimed_until=None,
        )
    )
    reached = sorted(set(reached))

    async def work(s: AsyncSession) -> int:
        result = await s.execute(stmt) if sent else None
        if channels:
            now = store.now()
            rows = [{"user_discord_id": u, "channel_id": c, "opened_at": now} for u, c in sorted(channels.items())]
            await s.execute(store.upsert(DMChannel.__table__, rows, ["channel_id", "opened_at"]))
        if reached:
            await s.execute(
                update(Fan)
                .where(Fan.discord_id.in_(reached), Fan.dms_closed.is_(True))
                .values(dms_closed=False, dms_closed_told=False)
                .execution_options(synchronize_session=False)
            )
        return rowcount(result) if result is not None else 0

    return await store.transaction(work)


async def mark_retry(
    store: Store, worker_id: str, message_id: int, *, delay: timedelta, error: str, max_attempts: int | None = None
) -> str:
    """Give the message back for a later attempt. With ``max_attempts``, mark it dead when attempts
    run out; without (the sender's default), a message that failed for a passing reason is never given
    up: only a permanent refusal from Discord (:func:`mark_undeliverable`) ends it."""

    async def work(s: AsyncSession) -> str:
        row = await s.get(OutboxMessage, message_id)
        if row is None or row.status != OutboxStatus.PENDING.value or row.claimed_by != worker_id:
            return "lost"
        row.attempts += 1
        row.last_error = error[:300]
        row.claimed_by = None
        row.claimed_until = None
        if max_attempts is not None and row.attempts >= max_attempts:
            row.status = OutboxStatus.DEAD.value
            return "dead"
        row.next_attempt_at = store.now() + delay
        return "retry"

    return await store.transaction(work)


async def mark_undeliverable(
    store: Store, message_id: int, recipient_discord_id: int, error: str, *, dms_closed: bool = False
) -> None:
    """Discord refused the message for good: it is dead. ``dms_closed`` (Discord's 50007, "cannot
    send messages to this user", and only that) also records the fan as unreachable, so alerts skip
    them until they are told at their next command; any other refusal says nothing about the fan."""

    async def work(s: AsyncSession) -> None:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=OutboxStatus.DEAD.value,
                last_error=error[:300],
                claimed_by=None,
                claimed_until=None,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        if dms_closed:
            await s.execute(
                store.insert_ignore(
                    Fan.__table__,
                    discord_id=recipient_discord_id,
                    alerts_enabled=True,
                    timezone="UTC",
                    dms_closed=False,
                )
            )
            await s.execute(
                update(Fan).where(Fan.discord_id == recipient_discord_id).values(dms_closed=True, dms_closed_told=False)
            )

    await store.transaction(work)


async def backlog(store: Store) -> int:
    async with store.session() as s:
        return (
            await s.execute(select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING.value))
        ).scalar_one()


async def defer(store: Store, worker_id: str, message_id: int, until: datetime) -> None:
    """Hold a message back until ``until`` (quiet hours). Not an attempt: nothing failed."""

    async def work(s: AsyncSession) -> None:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker_id)
            .values(next_attempt_at=until, claimed_by=None, claimed_until=None)
        )

    await store.transaction(work)


async def mark_skipped(store: Store, message_id: int, reason: str) -> None:
    async def work(s: AsyncSession) -> None:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=OutboxStatus.SKIPPED.value, last_error=reason[:300], claimed_by=None, claimed_until=None)
        )

    await store.transaction(work)


async def purge_sent(store: Store, *, retention: timedelta = RETENTION, batch: int = 5000) -> int:
    """Delete messages sent (or skipped on purpose) more than ``retention`` ago, in batches; pending
    and dead ones stay. An alert stays until its show is over (cancelled, or started a day ago):
    its dedupe key is what keeps a second announcement from alerting the same fan. Safe to run in
    many processes at once. Returns the rows deleted."""
    now = store.now()
    cutoff = now - retention
    upcoming = exists().where(
        Show.id == OutboxMessage.payload["show_id"].as_integer(),
        Show.status != ShowStatus.CANCELLED.value,
        Show.starts_at > now - timedelta(days=1),
    )
    old_enough = or_(
        and_(
            OutboxMessage.status == OutboxStatus.SENT.value,
            OutboxMessage.next_attempt_at < cutoff,
            OutboxMessage.sent_at < cutoff,
        ),
        and_(OutboxMessage.status == OutboxStatus.SKIPPED.value, OutboxMessage.next_attempt_at < cutoff),
    )
    purgeable = and_(old_enough, or_(OutboxMessage.kind != ALERT_KIND, ~upcoming))
    total = 0
    while True:

        async def work(s: AsyncSession) -> int:
            ids = (
                (await s.execute(select(OutboxMessage.id).where(purgeable).order_by(OutboxMessage.id).limit(batch)))
                .scalars()
                .all()
            )
            if ids:
                await s.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
            return len(ids)

        n = await store.transaction(work)
        total += n
        if n < batch:
            return total
