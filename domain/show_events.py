"""The link between a show and the Scheduled Event that lists it in its server's Events (Discord's
own list, where members look for what is coming and mark themselves interested).

The event itself is Discord's: cogs/ creates, edits and deletes it (cogs/common/around.py). This
keeps which event belongs to which show, so edits and the cancellation reach the right one, and
whether Discord refused to create one (the bot lacks the Manage Events permission), so the
organizer is told that once per show, not at every announcement or edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import ShowEvent
from domain.store import Store


@dataclass(frozen=True)
class EventLink:
    show_id: int
    guild_id: int
    event_id: int | None
    refused_told: bool


async def link_of(store: Store, show_id: int) -> EventLink | None:
    async with store.session() as s:
        row = await s.get(ShowEvent, show_id)
    return None if row is None else EventLink(row.show_id, row.guild_id, row.event_id, row.refused_at is not None)


async def _row(store: Store, s: AsyncSession, show_id: int, guild_id: int) -> ShowEvent:
    await s.execute(
        store.insert_ignore(
            ShowEvent.__table__,
            show_id=show_id,
            guild_id=guild_id,
            event_id=None,
            refused_at=None,
            updated_at=store.now(),
        )
    )
    return (await s.execute(select(ShowEvent).where(ShowEvent.show_id == show_id).with_for_update())).scalar_one()


async def linked(store: Store, show_id: int, guild_id: int, event_id: int) -> None:
    """The show's event is ``event_id`` (just created)."""

    async def work(s: AsyncSession) -> None:
        row = await _row(store, s, show_id, guild_id)
        row.event_id, row.updated_at = event_id, store.now()

    await store.transaction(work)


async def refused(store: Store, show_id: int, guild_id: int) -> bool:
    """Discord refused to create the show's event. True the first time (tell the organizer), False
    after: they were told already."""

    async def work(s: AsyncSession) -> bool:
        row = await _row(store, s, show_id, guild_id)
        if row.refused_at is not None:
            return False
        row.refused_at = row.updated_at = store.now()
        return True

    return await store.transaction(work)


async def unlinked(store: Store, show_id: int) -> None:
    """The show's event is gone (deleted with the show's cancellation, or by a member)."""

    async def work(s: AsyncSession) -> None:
        await s.execute(
            update(ShowEvent).where(ShowEvent.show_id == show_id).values(event_id=None, updated_at=store.now())
        )

    await store.transaction(work)
