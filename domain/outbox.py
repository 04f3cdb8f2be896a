"""Queueing messages in the outbox, inside the caller's transaction.

The notifier drains the table; the domain only writes to it. A message's ``dedupe_key`` names its
cause ("order:12:tickets"), so queueing the same cause twice (a retried transaction, two processes
racing to promote the same fan) leaves one message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import OutboxMessage, OutboxStatus
from domain.store import Store


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
