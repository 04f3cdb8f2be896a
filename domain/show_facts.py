"""What the on-sale queue reads about a show (:class:`ShowQueue`), cached in this process.

Every join, status, reserve and admission tick needs a show's on-sale facts (title, on-sale time,
admission rate, start, cancelled). Reading the row each time was a quarter of a join's cost in an
on-sale burst, so each Store keeps them per show in this process:

- an entry lives at most :data:`TTL` seconds (monotonic time, counted from the start of the read that
  filled it), so a show edited by another process is seen within that;
- concurrent misses for one show share one read (single flight);
- this process's own writes to a show drop its entry, in every Store of the process: an ORM flush
  that adds, changes or deletes a ``Show`` (that show), or an UPDATE/DELETE statement on ``shows``
  (every show: such statements are rare, and an entry refills in one read). They drop it at the write and again after the commit,
  so a read that raced the write (and saw the row as it was) does not keep the old value.

Never for what decides availability inside a transaction: holds, purchases and promotions re-read
the show in their own transaction.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from domain.models import Show, ShowStatus
from domain.shows import load_show
from domain.store import SessionClass, Store

TTL = 1.0  # seconds an entry is trusted (another process's edit is seen within this)


@dataclass(frozen=True)
class ShowQueue:
    """The facts about a show the queue needs (read from the store)."""

    show_id: int
    title: str
    on_sale_at: datetime
    admission_per_minute: int
    admission_minutes: int
    starts_at: datetime | None = None
    cancelled: bool = False

    def closed(self, now: datetime) -> bool:
        """The line lets nobody in any more: the show was cancelled, or has started."""
        return self.cancelled or (self.starts_at is not None and now >= self.starts_at)


def facts(show: Show) -> ShowQueue:
    return ShowQueue(
        show.id,
        show.title,
        show.on_sale_at,
        show.admission_per_minute,
        show.admission_minutes,
        starts_at=show.starts_at,
        cancelled=show.status == ShowStatus.CANCELLED.value,
    )


class _Cache:
    """One Store's entries: show id -> (monotonic time its read started, facts), and the reads in flight."""

    def __init__(self) -> None:
        self.entries: dict[int, tuple[float, ShowQueue]] = {}
        self.flights: dict[int, asyncio.Task[ShowQueue]] = {}

    def drop(self, show_ids: Iterable[int] | None) -> None:
        """Forget these shows (None: every show), and let no read in flight for them fill the cache."""
        if show_ids is None:
            self.entries.clear()
            self.flights.clear()
            return
        for show_id in show_ids:
            self.entries.pop(show_id, None)
            self.flights.pop(show_id, None)


_caches: weakref.WeakKeyDictionary[Store, _Cache] = weakref.WeakKeyDictionary()


async def show_queue(store: Store, show_id: int) -> ShowQueue:
    """The show's on-sale facts, at most :data:`TTL` seconds old (never older than this process's own
    last write to the show). ShowNotFound for a show that does not exist (not cached)."""
    cache = _caches.get(store)
    if cache is None:
        cache = _caches[store] = _Cache()
    entry = cache.entries.get(show_id)
    if entry is not None:
        if time.monotonic() - entry[0] < TTL:
            return entry[1]
        del cache.entries[show_id]
    flight = cache.flights.get(show_id)
    if flight is None or flight.get_loop() is not asyncio.get_running_loop():
        flight = cache.flights[show_id] = asyncio.ensure_future(_read(store, cache, show_id))
        flight.add_done_callback(_retrieved)
    # shield: a caller that gives up (cancelled) does not cancel the read the others wait for
    return await asyncio.shield(flight)


def _retrieved(flight: asyncio.Task[ShowQueue]) -> None:
    if not flight.cancelled():
        flight.exception()  # its callers got it; if all gave up, nobody is left to (no warning then)


async def _load(store: Store, show_id: int) -> ShowQueue:
    async with store.session() as s:
        return facts(await load_show(s, show_id))


async def _read(store: Store, cache: _Cache, show_id: int) -> ShowQueue:
    started = time.monotonic()
    me = asyncio.current_task()
    try:
        q = await _load(store, show_id)
    finally:
        mine = cache.flights.get(show_id) is me  # else a write to the show dropped this read meanwhile
        if mine:
            del cache.flights[show_id]
    if mine:
        if len(cache.entries) >= 1000:  # shows come and go: drop the stale entries now and then
            now = time.monotonic()
            cache.entries = {k: e for k, e in cache.entries.items() if now - e[0] < TTL}
        cache.entries[show_id] = (started, q)
    return q


def forget(show_ids: Iterable[int] | None = None) -> None:
    """Drop these shows' entries (None: all) in every Store of this process."""
    ids = None if show_ids is None else list(show_ids)
    for cache in list(_caches.values()):
        cache.drop(ids)


# --- this process's own writes to shows drop their entries ------------------------------------------

_WRITTEN = "picket_shows_written"  # session.info: show ids written in this transaction; None in it: all
_EVERY = -1


def _written(session: Session, show_ids: set[int] | None) -> None:
    forget(show_ids)  # at the write...
    noted: set[int] = session.info.setdefault(_WRITTEN, set())
    noted |= {_EVERY} if show_ids is None else show_ids  # ...and again after the commit


def _id_of(show: Show) -> int | None:
    """The show's id without loading anything (an event handler must not do I/O)."""
    key = inspect(show).identity
    if key is not None:
        return int(key[0])
    value = show.__dict__.get("id")  # a show just inserted by this flush
    return value if isinstance(value, int) else None


@event.listens_for(SessionClass, "after_flush")
def _flushed(session: Session, _context: UOWTransaction) -> None:
    ids = {
        show_id
        for objs in (session.new, session.dirty, session.deleted)
        for obj in objs
        if isinstance(obj, Show) and (show_id := _id_of(obj)) is not None
    }
    if ids:
        _written(session, ids)


@event.listens_for(SessionClass, "do_orm_execute")
def _statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) != Show.__tablename__:
        return
    _written(session=state.session, show_ids=None)  # a statement on shows: every entry (edits are rare)


@event.listens_for(SessionClass, "after_commit")
def _committed(session: Session) -> None:
    noted = session.info.pop(_WRITTEN, None)
    if noted:
        forget(None if _EVERY in noted else noted)


@event.listens_for(SessionClass, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WRITTEN, None)  # nothing changed; the entries were dropped at the write anyway
