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

from sqlalchemy import Table, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Fan, OutboxMessage, OutboxStatus, Show, ShowStatus
from domain.store import Store, rowcount

# Sent messages are kept this long (to look a delivery up, and so a repeat of the same cause folds
# into the first message), then purged.
RETENTION = timedelta(days=14)
# A show's alert rows are what keeps a show announced again from alerting anyone twice: they are
# kept until the show is over, however old (see :func:`purge_sent`).
ALERT_KIND = "show_alert"


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
        )
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


async def claim_due(store: Store, worker_id: str, *, limit: int, lease: timedelta) -> list[ClaimedMessage]:
    """Claim up to ``limit`` due messages for this worker until ``now + lease``.

    Rows are picked with ``FOR UPDATE SKIP LOCKED`` (MariaDB) so several processes draining one outbox
    never claim the same row; a claim whose worker died lapses after the lease and is claimed again.
    """

    async def work(s: AsyncSession) -> list[ClaimedMessage]:
        now = store.now()
        rows = (
            await s.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING.value,
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars().all()
        if not rows:
            return []
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([r.id for r in rows]))
            .values(claimed_by=worker_id, claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        return [ClaimedMessage(r.id, r.kind, r.recipient_discord_id, r.payload, r.attempts, r.created_at) for r in rows]

    return await store.transaction(work)


async def mark_sent_many(store: Store, sent: Sequence[tuple[int, int | None]], *, reached: Sequence[int] = ()) -> int:
    """Record deliveries: (outbox id, Discord message id) pairs, in one executemany UPDATE.

    ``reached``: fans a DM just got through to who may be flagged as having closed DMs; the flag
    clears (their DMs work again), in the same transaction."""
    if not sent:
        return 0
    table = cast(Table, OutboxMessage.__table__)  # typed FromClause; a declarative class's own table is a Table
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == OutboxStatus.PENDING.value)
        .values(
            status=OutboxStatus.SENT.value,
            sent_at=store.now(),
            discord_message_id=bindparam("b_mid"),
            attempts=table.c.attempts + 1,
            claimed_by=None,
            claimed_until=None,
        )
    )
    reached = sorted(set(reached))

    async def work(s: AsyncSession) -> int:
        result = await s.execute(stmt, [{"b_id": i, "b_mid": m} for i, m in sent])
        if reached:
            await s.execute(
                update(Fan)
                .where(Fan.discord_id.in_(reached), Fan.dms_closed.is_(True))
                .values(dms_closed=False, dms_closed_told=False)
                .execution_options(synchronize_session=False)
            )
        return rowcount(result)

    return await store.transaction(work)


async def mark_retry(store: Store, worker_id: str, message_id: int, *, delay: timedelta, error: str, max_attempts: int | None = None) -> str:
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


async def mark_undeliverable(store: Store, message_id: int, recipient_discord_id: int, error: str, *, dms_closed: bool = False) -> None:
    """Discord refused the message for good: it is dead. ``dms_closed`` (Discord's 50007, "cannot
    send messages to this user", and only that) also records the fan as unreachable, so alerts skip
    them until they are told at their next command; any other refusal says nothing about the fan."""

    async def work(s: AsyncSession) -> None:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=OutboxStatus.DEAD.value, last_error=error[:300], claimed_by=None, claimed_until=None, attempts=OutboxMessage.attempts + 1)
        )
        if dms_closed:
            await s.execute(store.insert_ignore(Fan.__table__, discord_id=recipient_discord_id, alerts_enabled=True, timezone="UTC", dms_closed=False))
            await s.execute(update(Fan).where(Fan.discord_id == recipient_discord_id).values(dms_closed=True, dms_closed_told=False))

    await store.transaction(work)


async def backlog(store: Store) -> int:
    async with store.session() as s:
        return (await s.execute(select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING.value))).scalar_one()


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
        and_(OutboxMessage.status == OutboxStatus.SENT.value, OutboxMessage.next_attempt_at < cutoff, OutboxMessage.sent_at < cutoff),
        and_(OutboxMessage.status == OutboxStatus.SKIPPED.value, OutboxMessage.next_attempt_at < cutoff),
    )
    purgeable = and_(old_enough, or_(OutboxMessage.kind != ALERT_KIND, ~upcoming))
    total = 0
    while True:
        async def work(s: AsyncSession) -> int:
            ids = (await s.execute(select(OutboxMessage.id).where(purgeable).order_by(OutboxMessage.id).limit(batch))).scalars().all()
            if ids:
                await s.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
            return len(ids)

        n = await store.transaction(work)
        total += n
        if n < batch:
            return total
