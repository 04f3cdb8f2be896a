"""The fair virtual waiting queue for an on-sale, in Redis.

- Fans who join before sales open get a random place (a uniformly random score, drawn once): joining
  early, or refreshing, buys nothing. Fans who join after the open line up behind them, first come
  first served. Leaving and joining again goes to the back.
- The head of the line is let in at the organizer's rate (fans per minute). A let-in fan holds an
  admission token with a time limit; only a fan holding one can reserve seats.
- Every step is one Lua script, atomic on Redis: with many bot processes a place is given once and a
  fan is let in once. The same scripts run on fakeredis for the embedded default.

Redis holds the line; orders, holds and tickets live in the database, so losing Redis never loses a
booking. Each place is also written through to ``queue_places`` (one row per fan and show, with the
Redis score and the end of the fan's turn), so when Redis comes back empty :func:`restore_lines`
rebuilds every line in its old order and gives admitted fans the rest of their turn.

Redis Cluster: every key of one show carries the show id as a hash tag (``pq:{42}:line``), so a show's
keys share one slot and each script names every key it touches in KEYS. Shows spread over the nodes.
A show's lines and its ``epoch`` marker live in that slot, so a node that restarts empty is noticed
(and its lines rebuilt) show by show, while the other nodes keep theirs. The two show indexes
(``ACTIVE_SHOWS``, ``KNOWN_SHOWS``) share their own slot and are written outside the per-show scripts.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from redis.asyncio import Redis
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from domain import cancellations, errors, holds, outbox, reports, telemetry
from domain.holds import HoldSummary
from domain.models import QueuePlace, SeatStatus, Show, ShowSeat, ShowStatus
from domain.shows import load_show
from domain.store import Store

# The show indexes: one slot of their own ({shows}), never touched by a per-show script.
ACTIVE_SHOWS = "pq:{shows}:active"  # show ids whose line is not empty
KNOWN_SHOWS = "pq:{shows}:known"  # show ids with any queue state in Redis (deleted when the show ends)


def _keys(show_id: int) -> dict[str, str]:
    base = f"pq:{{{show_id}}}"  # the hash tag: all of a show's keys in one cluster slot
    return {
        "line": f"{base}:line",
        "seq": f"{base}:seq",
        "ever": f"{base}:ever",
        "admitted": f"{base}:admitted",
        "admit_seq": f"{base}:admit_seq",
        "clock": f"{base}:clock",
        "turns": f"{base}:turns",  # fan -> end of their turn, on the Redis server's clock (seconds)
        "restoring": f"{base}:restored",
        "epoch": f"{base}:epoch",  # set once this show's line is known complete (restored, or nothing to restore)
    }


# A show's queue state (Redis keys and ``queue_places`` rows) is deleted once the show has ended:
# cancelled, or started this long ago.
ENDED_AFTER_START = timedelta(hours=6)


# The Redis server's clock in seconds, for the end of a fan's turn (as a key's TTL would count it).
_NOW = "local t = redis.call('TIME')\nlocal server_now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

_JOIN = _NOW + """
local line, seq, ever, turns, epoch = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if redis.call('EXISTS', epoch) == 0 then return {'lost', 0} end  -- Redis lost this show's line: restore it first
local fan, now, on_sale, draw = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local left = tonumber(redis.call('ZSCORE', turns, fan) or '0') - server_now
if left > 0 then return {'admitted', math.ceil(left)} end
local rank = redis.call('ZRANK', line, fan)
if rank then return {'queued', rank} end
local again = redis.call('SISMEMBER', ever, fan)
redis.call('SADD', ever, fan)
local score
if now < on_sale and again == 0 then
  score = draw
else
  score = 1 + redis.call('INCR', seq)
end
redis.call('ZADD', line, score, fan)
return {'queued', redis.call('ZRANK', line, fan), tostring(score)}
"""

_STATUS = _NOW + """
local turns, line, fan = KEYS[1], KEYS[2], ARGV[1]
local left = tonumber(redis.call('ZSCORE', turns, fan) or '0') - server_now
if left > 0 then return {'admitted', math.ceil(left)} end
local rank = redis.call('ZRANK', line, fan)
if rank then return {'queued', rank} end
return {'none', 0}
"""

_ADMIT = _NOW + """
local line, clock, admitted, admit_seq, turns = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, on_sale, rate, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
-- The reply: {1 if the line ran dry, else 0; the fans let in...}
if now < on_sale then return {0} end
-- Unused admissions pile up to a burst of 10 seconds' worth (at least one): a fan who arrives at a
-- quiet moment goes straight in, a crowd is still let in at the rate.
local burst = math.max(1, rate / 6)
local last = math.max(tonumber(redis.call('GET', clock) or on_sale), now - burst * 60 / rate)
local allowance = math.floor((now - last) * rate / 60 + 1e-9)
if allowance <= 0 then return {0} end
redis.call('ZREMRANGEBYSCORE', turns, '-inf', server_now)  -- turns that are over
local popped = redis.call('ZPOPMIN', line, allowance)
local out = {0}
for i = 1, #popped, 2 do
  local fan = popped[i]
  redis.call('ZADD', turns, server_now + ttl, fan)
  redis.call('ZADD', admitted, redis.call('INCR', admit_seq), fan)
  out[#out + 1] = fan
end
redis.call('SET', clock, last + (#out - 1) * 60 / rate)
if #out - 1 < allowance then out[1] = 1 end  -- the line ran dry
return out
"""

_CLOSE = """
local fans = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return fans
"""

# The show indexes (one slot): list a show, or forget it.
_LIST = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

_UNLIST = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""


async def _list(redis: Redis, show_id: int) -> None:
    """The show has a line: the admission tick visits it, and the cleanup knows it."""
    await redis.eval(_LIST, 2, ACTIVE_SHOWS, KNOWN_SHOWS, show_id)


async def _deactivate(redis: Redis, show_id: int) -> None:
    """The show's line ran dry: the admission tick stops visiting it. The index is in another slot
    than the line, so this is not atomic with the line: take the show off, then look at the line
    again, and put it back if a join came in meanwhile (a join lists its show after taking its place,
    so one of the two always sees the other)."""
    await redis.srem(ACTIVE_SHOWS, show_id)
    if await redis.zcard(_keys(show_id)["line"]):
        await redis.sadd(ACTIVE_SHOWS, show_id)


@dataclass(frozen=True)
class QueueStatus:
    state: str  # "lobby" (before the open) | "queued" | "admitted" | "none"
    position: int | None = None  # 1-based, when queued after the open
    ahead: int | None = None
    eta_seconds: int | None = None
    admitted_for_seconds: int | None = None


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


def _show_queue(show: Show) -> ShowQueue:
    return ShowQueue(
        show.id, show.title, show.on_sale_at, show.admission_per_minute, show.admission_minutes,
        starts_at=show.starts_at, cancelled=show.status == ShowStatus.CANCELLED.value,
    )


async def show_queue(store: Store, show_id: int) -> ShowQueue:
    async with store.session() as s:
        return _show_queue(await load_show(s, show_id))


def _status(raw: Sequence[Any], q: ShowQueue, now: datetime) -> QueueStatus:
    state, value = raw[0], int(raw[1])
    if state == "admitted":
        return QueueStatus("admitted", admitted_for_seconds=value)
    if now < q.on_sale_at:
        return QueueStatus("lobby")
    eta = int((value + 1) * 60 / max(1, q.admission_per_minute))
    return QueueStatus("queued", position=value + 1, ahead=value, eta_seconds=eta)


async def join(store: Store, redis: Redis, show_id: int, fan_id: int) -> QueueStatus:
    """Take a place in line (or report the place already held). Let the fan in at once when the
    line is short enough for the admission rate."""
    q = await show_queue(store, show_id)
    now = store.now()
    if q.cancelled:
        raise errors.ShowCancelled("queue.show_cancelled", title=q.title)
    if q.closed(now):
        raise errors.SaleNotOpen("sale.closed", title=q.title)
    if now >= q.on_sale_at:
        await _refuse_if_closed(store, q)
    k = _keys(q.show_id)
    for _ in range(RESTORE_WAITS):
        raw = await redis.eval(
            _JOIN, 5, k["line"], k["seq"], k["ever"], k["turns"], k["epoch"],
            fan_id, now.timestamp(), q.on_sale_at.timestamp(), random.random(),
        )
        if raw[0] != "lost":
            break
        # Redis lost this show's line (or never had one): put it back before adding to it. If
        # another process is rebuilding it, wait for that.
        if await _restore_line(store, redis, q.show_id, now) is None:
            await asyncio.sleep(RESTORE_POLL)
    else:
        raise RuntimeError(f"the line of show {q.show_id} is still being rebuilt")
    if len(raw) > 2:  # a new place: write it through, so a lost Redis can be rebuilt in this order
        await _list(redis, q.show_id)  # after the place is taken: see _deactivate
        await _record_place(store, q.show_id, fan_id, float(raw[2]))
        telemetry.count("queue_joined")
    if raw[0] == "queued" and now >= q.on_sale_at:
        await admit(store, redis, q, answering=fan_id)
        return await status(store, redis, show_id, fan_id, q)
    return _status(raw, q, now)


async def _where(redis: Redis, show_id: int, fan_id: int) -> tuple[Any, ...]:
    """("admitted", seconds of the turn left) | ("queued", rank) | ("none", 0)."""
    k = _keys(show_id)
    return tuple(await redis.eval(_STATUS, 2, k["turns"], k["line"], fan_id))


async def status(store: Store, redis: Redis, show_id: int, fan_id: int, q: ShowQueue | None = None) -> QueueStatus:
    q = q or await show_queue(store, show_id)
    raw = await _where(redis, q.show_id, fan_id)
    if raw[0] == "none":
        return QueueStatus("none")
    return _status(raw, q, store.now())


async def leave(store: Store, redis: Redis, show_id: int, fan_id: int) -> bool:
    k = _keys(show_id)
    removed = await redis.zrem(k["line"], fan_id)
    dropped = await redis.zrem(k["turns"], fan_id)
    await store.transaction(
        lambda s: s.execute(delete(QueuePlace).where(QueuePlace.show_id == show_id, QueuePlace.fan_discord_id == fan_id))
    )
    return bool(removed or dropped)


async def admit(store: Store, redis: Redis, q: ShowQueue, *, answering: int | None = None) -> list[int]:
    """Let the head of the line in, as many as the rate allows since the last admission.

    In one transaction right after the Redis step, each fan let in gets their turn written through
    (so a lost Redis gives them the rest of it) and a "your turn" DM queued; except ``answering``,
    the fan whose own join let them in and who reads it in the reply. A crash can only fall between
    the Redis step and that commit; the fan is then in (``/queue status`` says so) without a DM."""
    if q.closed(store.now()):
        return []  # a cancelled or started show lets nobody in; admit_all closes its line
    k = _keys(q.show_id)
    raw = await redis.eval(
        _ADMIT, 5, k["line"], k["clock"], k["admitted"], k["admit_seq"], k["turns"],
        store.now().timestamp(), q.on_sale_at.timestamp(), q.admission_per_minute, q.admission_minutes * 60,
    )
    if int(raw[0]):
        await _deactivate(redis, q.show_id)
    fans = [int(f) for f in raw[1:]]
    if not fans:
        return fans
    now = store.now()
    until = now + timedelta(minutes=q.admission_minutes)

    async def work(s: AsyncSession) -> None:
        await s.execute(
            update(QueuePlace).where(QueuePlace.show_id == q.show_id, QueuePlace.fan_discord_id.in_(fans)).values(admitted_until=until)
        )
        for fan in fans:
            if fan != answering:
                await outbox.enqueue(
                    store, s, kind=ADMISSION_DM, recipient_discord_id=fan, payload={"show_id": q.show_id},
                    dedupe_key=f"queue:{q.show_id}:turn:{fan}:{int(now.timestamp())}",
                )
        await reports.note_many(s, q.show_id, reports.ADMITTED, fans, now)  # the on-sale report's record

    await store.transaction(work)
    telemetry.count("queue_admitted", len(fans))
    return fans


async def line_length(redis: Redis, show_id: int) -> int:
    return await redis.zcard(_keys(show_id)["line"])


async def admitted_after(redis: Redis, show_id: int, after: float) -> list[tuple[int, float]]:
    """Fans let in after admission number ``after``, as (fan, admission number): lets a reader
    (a worker, a dashboard) follow admissions incrementally."""
    rows = cast(list[tuple[str, float]], await redis.zrangebyscore(_keys(show_id)["admitted"], f"({after}", "+inf", withscores=True))  # withscores: pairs
    return [(int(fan), score) for fan, score in rows]


async def admission_order(redis: Redis, show_id: int) -> list[int]:
    return [int(f) for f in cast(list[str], await redis.zrange(_keys(show_id)["admitted"], 0, -1))]  # decoded members


async def close(redis: Redis, show_id: int) -> list[int]:
    """Empty the line (sold out, show cancelled); returns the fans who were waiting. Their places
    are forgotten in the same transaction that queues their "sold out" DMs (:func:`admit_all`)."""
    fans = [int(f) for f in await redis.eval(_CLOSE, 1, _keys(show_id)["line"])]
    await _deactivate(redis, show_id)
    return fans


async def active_shows(redis: Redis) -> list[int]:
    return [int(s) for s in await redis.smembers(ACTIVE_SHOWS)]


async def require_admission(redis: Redis, q: ShowQueue, fan_id: int, now: datetime) -> None:
    if now < q.on_sale_at:
        raise errors.SaleNotOpen("queue.sale_not_open", title=q.title, opens_at=q.on_sale_at)
    if (await _where(redis, q.show_id, fan_id))[0] != "admitted":
        raise errors.NotAdmitted("queue.not_your_turn", title=q.title)


async def _refuse_if_closed(store: Store, q: ShowQueue) -> None:
    if await sold_out(store, q.show_id):
        raise errors.SoldOut("sold_out.show", title=q.title)


async def sold_out(store: Store, show_id: int) -> bool:
    """No seat free and none held: nothing can come back except through cancellations."""
    async with store.session() as s:
        open_seats = (
            await s.execute(
                select(func.count()).where(
                    ShowSeat.show_id == show_id,
                    (ShowSeat.status == SeatStatus.AVAILABLE.value) | (ShowSeat.status == SeatStatus.HELD.value),
                )
            )
        ).scalar_one()
    return open_seats == 0  # a held seat counts as open: it comes back if its hold lapses


async def shows_on_sale_with_lines(store: Store, redis: Redis) -> list[ShowQueue]:
    ids = await active_shows(redis)
    found = []
    async with store.session() as s:
        for show_id in ids:
            show = await s.get(Show, show_id)
            if show is not None:
                found.append(_show_queue(show))
    return found


async def reserve(
    store: Store,
    redis: Redis,
    *,
    show_id: int,
    fan_id: int,
    quantity: int | None = None,
    seat_ids: list[int] | None = None,
    tier: str | None = None,
) -> HoldSummary:
    """Hold seats for a fan the queue has let in. The one way fans reserve during an on-sale."""
    q = await show_queue(store, show_id)
    await require_admission(redis, q, fan_id, store.now())
    try:
        return await holds.hold_seats(store, show_id=show_id, fan_id=fan_id, quantity=quantity, seat_ids=seat_ids, tier=tier)
    except errors.FanLimitExceeded:
        await reports.note_refusal(store, q.show_id, fan_id)  # the on-sale report counts refusals at the limit
        raise


async def admit_all(store: Store, redis: Redis) -> int:
    """The scheduler's admission tick, for every show with a line: let fans in at each show's rate
    and DM them that it is their turn; when a show is sold out, close its line and tell everyone
    still waiting (with the waitlist offer). Returns the number of fans messaged."""
    messaged = 0
    await restore_lines(store, redis)  # one EXISTS while Redis is intact; a rebuild after it was lost
    for q in await shows_on_sale_with_lines(store, redis):
        if q.closed(store.now()):
            waiting = await close(redis, q.show_id)
            await _tell_closed(store, waiting, q)
            messaged += len(waiting)
            continue
        if store.now() < q.on_sale_at:
            continue
        if await sold_out(store, q.show_id):
            waiting = await close(redis, q.show_id)
            await _tell_sold_out(store, waiting, q.show_id)
            messaged += len(waiting)
            continue
        messaged += len(await admit(store, redis, q))
    return messaged


async def _tell_sold_out(store: Store, fans: list[int], show_id: int) -> None:
    """DM the fans whose line closed (sold out) and forget their places, in one transaction."""
    if not fans:
        return
    stamp = int(store.now().timestamp())

    async def work(s: AsyncSession) -> None:
        for fan in fans:
            await outbox.enqueue(
                store, s, kind=SOLD_OUT_DM, recipient_discord_id=fan, payload={"show_id": show_id}, dedupe_key=f"queue:{show_id}:soldout:{fan}:{stamp}"
            )
        await s.execute(delete(QueuePlace).where(QueuePlace.show_id == show_id, QueuePlace.fan_discord_id.in_(fans)))

    await store.transaction(work)


async def _tell_closed(store: Store, fans: list[int], q: ShowQueue) -> None:
    """DM the fans still in the line of a show that was cancelled or has started, once each (the
    dedupe key folds a repeat from another process, and the cancellation's own DM), and forget
    their places, in one transaction."""
    if not fans:
        return

    async def work(s: AsyncSession) -> None:
        for fan in fans:
            if q.cancelled:
                await cancellations.tell_show_cancelled(store, s, q.show_id, fan, was="queue")
            else:
                await outbox.enqueue(
                    store, s, kind=CLOSED_DM, recipient_discord_id=fan, payload={"show_id": q.show_id}, dedupe_key=f"queue:{q.show_id}:closed:{fan}"
                )
        await s.execute(delete(QueuePlace).where(QueuePlace.show_id == q.show_id, QueuePlace.fan_discord_id.in_(fans)))

    await store.transaction(work)


class _PlaceJournal:
    """Writes queue places through to the database with group commit: a join waits until its row
    is committed, but the joins arriving while one batch commits share the next transaction. At a
    quiet moment a join costs one small transaction; in an on-sale burst hundreds share one, so the
    write-through does not cap joins at the database's commit rate."""

    def __init__(self, store: Store):
        self.store = store
        self.waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self.writer: asyncio.Task[None] | None = None

    async def record(self, show_id: int, fan_id: int, score: float) -> None:
        done = asyncio.get_running_loop().create_future()
        self.waiting.append(({"show_id": show_id, "fan_discord_id": fan_id, "score": score, "admitted_until": None, "joined_at": self.store.now()}, done))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.get_running_loop().create_task(self._write())
        await done

    async def _write(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:1000], self.waiting[1000:]
            rows = list({(r["show_id"], r["fan_discord_id"]): r for r, _ in batch}.values())  # last wins

            async def work(s: AsyncSession, rows: list[dict[str, Any]] = rows) -> None:
                await s.execute(self.store.upsert(QueuePlace.__table__, rows, ["score", "admitted_until", "joined_at"]))
                await reports.note_joins(s, rows)  # the on-sale report's record of who joined when

            try:
                await self.store.transaction(work)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


_journals: weakref.WeakKeyDictionary[Store, _PlaceJournal] = weakref.WeakKeyDictionary()


async def _record_place(store: Store, show_id: int, fan_id: int, score: float) -> None:
    journal = _journals.get(store)
    if journal is None:
        journal = _journals[store] = _PlaceJournal(store)
    await journal.record(show_id, fan_id, score)


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

_RESTORE_PLACES = _NOW + """
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
            await s.execute(
                select(Show.id)
                .where(Show.status == ShowStatus.SCHEDULED.value, Show.starts_at > now)
                .where(select(QueuePlace.show_id).where(QueuePlace.show_id == Show.id).exists())
            )
        ).scalars().all()
    restored = 0
    for show_id in shows:
        restored += await _restore_line(store, redis, show_id, now, chunk=chunk) or 0
    return restored


async def _restore_line(store: Store, redis: Redis, show_id: int, now: datetime, *, chunk: int = 2000) -> int | None:
    """Rebuild one show's line if Redis lost it, from ``queue_places``. Returns the places restored
    (0 when the line was intact), or None when another process is rebuilding it right now."""
    k = _keys(show_id)
    if await redis.exists(k["epoch"]):
        if await redis.zcard(k["line"]):
            await _list(redis, show_id)  # the index may sit on a node that lost it
        return 0
    async with store.session() as s:
        places = (await s.execute(select(QueuePlace).where(QueuePlace.show_id == show_id).order_by(QueuePlace.score))).scalars().all()
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
        await _list(redis, show_id)
        telemetry.count("recovery", len(places), action="queue_place_restored")
    await redis.set(k["epoch"], int(now.timestamp()))
    return len(places)


# --- forgetting the lines of shows that ended -------------------------------------------------------


def _ended(now: datetime) -> ColumnElement[bool]:
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
        ended = set((await s.execute(select(Show.id).where(_ended(now), with_rows))).scalars())
        if known:
            ended |= set((await s.execute(select(Show.id).where(Show.id.in_(known), _ended(now)))).scalars())
            ended |= set(known) - set((await s.execute(select(Show.id).where(Show.id.in_(known)))).scalars())  # deleted shows
    for show_id in sorted(ended):
        if redis is not None:
            await redis.delete(*_keys(show_id).values())  # one slot: one command
            await redis.eval(_UNLIST, 2, ACTIVE_SHOWS, KNOWN_SHOWS, show_id)
        while True:  # in batches: one on-sale may have left 100,000 places
            async def work(s: AsyncSession, show_id: int = show_id) -> int:
                fans = (await s.execute(select(QueuePlace.fan_discord_id).where(QueuePlace.show_id == show_id).limit(batch))).scalars().all()
                if fans:
                    await s.execute(delete(QueuePlace).where(QueuePlace.show_id == show_id, QueuePlace.fan_discord_id.in_(fans)))
                return len(fans)

            if await store.transaction(work) < batch:
                break
        telemetry.count("cleanup", action="queue_purged")
    return len(ended)


ADMISSION_DM = "queue_turn"
SOLD_OUT_DM = "queue_sold_out"
CLOSED_DM = "queue_closed"  # the show started while the fan was still in line
