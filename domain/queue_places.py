"""The queue's copy in the database of record: every place in line is written through to
``queue_places`` (group commit, so a burst of joins shares transactions), so when Redis loses a line
(restart without persistence, failover, a cluster node restarting empty) it is rebuilt in the same
order; and what shows that ended leave behind is forgotten: their queue state, and later their
on-sale journal (``onsale_activity``)."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from domain import reports, telemetry
from domain.models import OnSaleActivity, QueuePlace, Show, ShowStatus
from domain.queue_keys import ACTIVE_SHOWS, KNOWN_SHOWS, NOW, UNLIST, list_show, show_keys
from domain.store import Store

# A show's queue state (Redis keys and ``queue_places`` rows) is deleted once the show has ended:
# cancelled, or started this long ago.
ENDED_AFTER_START = timedelta(hours=6)
# A show's on-sale journal (``onsale_activity``, read by the on-sale report) is deleted this long
# after its start, cancelled or not. The report's DM goes out at the sell-out or at the start (the
# scheduler looks at a show until reports.CLOSED_REPORT_WINDOW after it, and reads the journal's
# "reported" row only then, so deleting later never sends it twice); after that the organizer asks
# /show report in the weeks after the show (settling with the venue, planning the next one). A month
# covers that; past it the report would read no queue at all, and nobody asks for it.
ACTIVITY_KEPT_AFTER_START = timedelta(days=30)
assert ACTIVITY_KEPT_AFTER_START > reports.CLOSED_REPORT_WINDOW


Row = dict[str, Any]


class _PlaceJournal:
    """Writes queue places through to the database with group commit: a join waits until its row
    is committed, but the joins arriving while one batch commits share the next transaction. At a
    quiet moment a join costs one small transaction; in an on-sale burst thousands share one, so the
    write-through does not cap joins at the database's commit rate. Places wait as plain tuples (the
    garbage collector skips those) and become rows only in their transaction."""

    ROWS_PER_TRANSACTION = 1000

    def __init__(self, store: Store):
        self.store = store
        self.waiting: deque[tuple[int, list[tuple[int, float]], datetime, asyncio.Future[None]]] = deque()
        self.writer: asyncio.Task[None] | None = None

    def submit(self, show_id: int, places: list[tuple[int, float]]) -> asyncio.Future[None]:
        """Queue the places (fan, score) of one show for the next transaction; the future is done when
        they are committed (or holds the error)."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self.waiting.append((show_id, places, self.store.now(), done))
        if self.writer is None or self.writer.done():
            self.writer = loop.create_task(self._write())
        return done

    async def _write(self) -> None:
        while self.waiting:
            batch: list[tuple[int, list[tuple[int, float]], datetime, asyncio.Future[None]]] = []
            count = 0
            while self.waiting and count < self.ROWS_PER_TRANSACTION:
                batch.append(self.waiting.popleft())
                count += len(batch[-1][1])

            async def work(
                s: AsyncSession, batch: list[tuple[int, list[tuple[int, float]], datetime, Any]] = batch
            ) -> None:
                # one row per (show, fan): the last wins
                rows = list(
                    {
                        (show_id, fan): {
                            "show_id": show_id,
                            "fan_discord_id": fan,
                            "score": score,
                            "admitted_until": None,
                            "joined_at": joined_at,
                        }
                        for show_id, places, joined_at, _ in batch
                        for fan, score in places
                    }.values()
                )
                if self.store.dialect in ("mysql", "mariadb"):
                    await _upsert_as_json(s, rows)
                else:
                    await s.execute(
                        self.store.upsert_many(QueuePlace.__table__, ["score", "admitted_until", "joined_at"]), rows
                    )
                await reports.note_joins(s, rows)  # the on-sale report's record of who joined when

            try:
                await self.store.transaction(work)
            except Exception as exc:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for *_, done in batch:
                    if not done.done():
                        done.set_result(None)


# MariaDB: a burst's places reach the server as one JSON document a show, unpacked there by
# JSON_TABLE, instead of five values a row through the pure-Python driver's escaping (the journal's
# write was a quarter of the joining process's CPU; bench/onsale.py). Fan ids go as JSON strings, so
# no parser's handling of numbers past a double's 53 bits can touch a snowflake's digits.
_PLACES_FROM_JSON = text(
    "INSERT INTO queue_places (show_id, fan_discord_id, score, admitted_until, joined_at) "
    "SELECT :show, j.fan, j.score, NULL, j.joined FROM JSON_TABLE(:places, '$[*]' COLUMNS ("
    "fan BIGINT PATH '$[0]', score DOUBLE PATH '$[1]', joined DATETIME(6) PATH '$[2]')) AS j "
    "ON DUPLICATE KEY UPDATE score = VALUES(score), admitted_until = VALUES(admitted_until), "
    "joined_at = VALUES(joined_at)"
)


async def _upsert_as_json(s: AsyncSession, rows: list[Row]) -> None:
    """:meth:`Store.upsert_many` of queue places (each row's admitted_until None), on MariaDB."""
    shows: dict[int, list[list[object]]] = {}
    for r in rows:
        joined = r["joined_at"].astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        shows.setdefault(r["show_id"], []).append([str(r["fan_discord_id"]), r["score"], joined])
    conn = await s.connection()
    for show_id, places in shows.items():
        await conn.execute(_PLACES_FROM_JSON, {"show": show_id, "places": json.dumps(places)})


_journals: weakref.WeakKeyDictionary[Store, _PlaceJournal] = weakref.WeakKeyDictionary()


def record_places(store: Store, show_id: int, places: list[tuple[int, float]]) -> asyncio.Future[None]:
    """Write these new places (fan, score) of one show through to ``queue_places``, in the order
    asked; the future is done once they are committed."""
    journal = _journals.get(store)
    if journal is None:
        journal = _journals[store] = _PlaceJournal(store)
    return journal.submit(show_id, places)


# --- rebuilding a lost queue ----------------------------------------------------------------------

# The claim lapses, so a process that died while rebuilding a line does not block it for good.
RESTORE_CLAIM_SECONDS = 30
RESTORE_WAITS, RESTORE_POLL = 200, 0.05  # a join waits up to 10 s for another process's rebuild

_RESTORE_BEGIN = """
local restoring, seq, epoch = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', epoch) == 1 then return 0 end  -- complete already
if redis.call('SET', restoring, '1', 'NX', 'EX', tonumber(ARGV[2])) == false then return 0 end
redis.call('SET', seq, ARGV[1])  -- before any new join: newcomers line up behind the restored places
return 1
"""

_RESTORE_PLACES = (
    NOW
    + """
local line, ever, turns, admitted, admit_seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
for i = 1, #ARGV, 3 do
  local fan, score, ttl = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  redis.call('SADD', ever, fan)
  if ttl > 0 then
    redis.call('ZADD', turns, 'NX', server_now + ttl, fan)
    redis.call('ZADD', admitted, redis.call('INCR', admit_seq), fan)
  elseif ttl == 0 then
    redis.call('ZADD', line, 'NX', score, fan)
  end
end
return 1
"""
)


async def restore_lines(store: Store, redis: Redis, *, chunk: int = 2000) -> int:
    """Rebuild the lines of shows on sale that Redis lost (restart without persistence, failover, one
    cluster node restarting empty): each fan gets their old place back, in the old order, and a fan
    whose turn had started gets the rest of it. Run at start, by the scheduler and (for its own show)
    by the first join that finds the line lost; while Redis still has a show's line it costs one
    EXISTS for it, and a per-show Lua claim makes one process rebuild each line. Returns the number
    of places restored."""
    now = store.now()
    async with store.session() as s:
        shows = (
            (
                await s.execute(
                    select(Show.id)
                    .where(Show.status == ShowStatus.SCHEDULED.value, Show.starts_at > now)
                    .where(select(QueuePlace.show_id).where(QueuePlace.show_id == Show.id).exists())
                )
            )
            .scalars()
            .all()
        )
    restored = 0
    for show_id in shows:
        restored += await restore_line(store, redis, show_id, now, chunk=chunk) or 0
    return restored


async def restore_line(store: Store, redis: Redis, show_id: int, now: datetime, *, chunk: int = 2000) -> int | None:
    """Rebuild one show's line if Redis lost it, from ``queue_places``. Returns the places restored
    (0 when the line was intact), or None when another process is rebuilding it right now."""
    k = show_keys(show_id)
    if await redis.exists(k["epoch"]):
        if await redis.zcard(k["line"]):
            await list_show(redis, show_id)  # the index may sit on a node that lost it
        return 0
    async with store.session() as s:
        places = (
            (await s.execute(select(QueuePlace).where(QueuePlace.show_id == show_id).order_by(QueuePlace.score)))
            .scalars()
            .all()
        )
    top = max((p.score for p in places if p.score >= 1), default=0)
    if not await redis.eval(_RESTORE_BEGIN, 3, k["restoring"], k["seq"], k["epoch"], int(top), RESTORE_CLAIM_SECONDS):
        return 0 if await redis.exists(k["epoch"]) else None  # rebuilt meanwhile, or being rebuilt
    for i in range(0, len(places), chunk):
        args: list[int | str] = []
        for p in places[i : i + chunk]:
            if p.admitted_until is None:
                ttl = 0
            else:
                ttl = max(-1, int((p.admitted_until - now).total_seconds()))  # -1: the turn is over
            args += [p.fan_discord_id, repr(p.score), ttl]
        await redis.eval(_RESTORE_PLACES, 5, k["line"], k["ever"], k["turns"], k["admitted"], k["admit_seq"], *args)
    if places:
        await list_show(redis, show_id)
        telemetry.count("recovery", len(places), action="queue_place_restored")
    await redis.set(k["epoch"], int(now.timestamp()))
    return len(places)


# --- forgetting the lines of shows that ended -------------------------------------------------------


def has_ended(now: datetime) -> ColumnElement[bool]:
    """SQL condition: a show that has ended (cancelled, or started ENDED_AFTER_START ago)."""
    return (Show.status == ShowStatus.CANCELLED.value) | (Show.starts_at <= now - ENDED_AFTER_START)


async def purge_ended(store: Store, redis: Redis | None, *, batch: int = 5000) -> int:
    """Delete the queue state of shows that have ended: their Redis keys (line, places ever given,
    admissions, counters) and their ``queue_places`` rows. Run by the scheduler's cleanup tick;
    safe in many processes at once (deleting twice deletes nothing). Returns the shows purged."""
    now = store.now()
    known = [int(x) for x in await redis.smembers(KNOWN_SHOWS)] if redis is not None else []
    async with store.session() as s:
        with_rows = select(QueuePlace.show_id).where(QueuePlace.show_id == Show.id).exists()
        ended = set((await s.execute(select(Show.id).where(has_ended(now), with_rows))).scalars())
        if known:
            ended |= set((await s.execute(select(Show.id).where(Show.id.in_(known), has_ended(now)))).scalars())
            ended |= set(known) - set(
                (await s.execute(select(Show.id).where(Show.id.in_(known)))).scalars()
            )  # deleted shows
    for show_id in sorted(ended):
        if redis is not None:
            await redis.delete(*show_keys(show_id).values())  # one slot: one command
            await redis.eval(UNLIST, 2, ACTIVE_SHOWS, KNOWN_SHOWS, show_id)
        while True:  # in batches: one on-sale may have left 100,000 places

            async def work(s: AsyncSession, show_id: int = show_id) -> int:
                fans = (
                    (
                        await s.execute(
                            select(QueuePlace.fan_discord_id).where(QueuePlace.show_id == show_id).limit(batch)
                        )
                    )
                    .scalars()
                    .all()
                )
                if fans:
                    await s.execute(
                        delete(QueuePlace).where(QueuePlace.show_id == show_id, QueuePlace.fan_discord_id.in_(fans))
                    )
                return len(fans)

            if await store.transaction(work) < batch:
                break
        telemetry.count("cleanup", action="queue_purged")
    return len(ended)


async def purge_activity(store: Store, *, batch: int = 5000) -> int:
    """Delete the on-sale journal of shows that started ACTIVITY_KEPT_AFTER_START ago, ``batch``
    rows per transaction (a sell-out of 100,000 fans left a few hundred thousand rows: one DELETE
    would hold their locks for seconds). Run by the scheduler's cleanup tick with the purges above;
    safe in many processes at once. Returns the rows deleted."""
    cutoff = store.now() - ACTIVITY_KEPT_AFTER_START
    with_rows = select(OnSaleActivity.id).where(OnSaleActivity.show_id == Show.id).exists()
    async with store.session() as s:
        old = (await s.execute(select(Show.id).where(Show.starts_at <= cutoff, with_rows))).scalars().all()
    total = 0
    for show_id in old:
        while True:

            async def work(s: AsyncSession, show_id: int = show_id) -> int:
                ids = (
                    (
                        await s.execute(
                            select(OnSaleActivity.id)
                            .where(OnSaleActivity.show_id == show_id)
                            .order_by(OnSaleActivity.id)
                            .limit(batch)
                        )
                    )
                    .scalars()
                    .all()
                )
                if ids:
                    await s.execute(delete(OnSaleActivity).where(OnSaleActivity.id.in_(ids)))
                return len(ids)

            n = await store.transaction(work)
            total += n
            if n < batch:
                break
    if total:
        telemetry.count("cleanup", total, action="onsale_activity_purged")
    return total
