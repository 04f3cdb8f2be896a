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
"""

from __future__ import annotations

import asyncio
import random
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import delete, func, select, update

from domain import cancellations, errors, holds, outbox, telemetry
from domain.holds import HoldSummary
from domain.models import QueuePlace, SeatStatus, Show, ShowSeat, ShowStatus
from domain.shows import load_show
from domain.store import Store

ACTIVE_SHOWS = "pq:active"  # show ids whose line is not empty
KNOWN_SHOWS = "pq:shows"  # show ids with any queue state in Redis (deleted when the show ends)
EPOCH = "pq:epoch"  # set once the lines are known to be complete (restored, or nothing to restore)


def _keys(show_id: int) -> dict[str, str]:
    base = f"pq:{show_id}"
    return {
        "line": f"{base}:line",
        "seq": f"{base}:seq",
        "ever": f"{base}:ever",
        "admitted": f"{base}:admitted",
        "admit_seq": f"{base}:admit_seq",
        "clock": f"{base}:clock",
        "token": f"{base}:adm:",
        "restoring": f"{base}:restored",
    }


# A show's queue state (Redis keys and ``queue_places`` rows) is deleted once the show has ended:
# cancelled, or started this long ago.
ENDED_AFTER_START = timedelta(hours=6)


_JOIN = """
local line, seq, ever, token_prefix, active, epoch, known = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
if redis.call('EXISTS', epoch) == 0 then return {'lost', 0} end  -- Redis is new: restore_lines first
local fan, now, on_sale, draw, show = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local ttl = redis.call('TTL', token_prefix .. fan)
if ttl > 0 then return {'admitted', ttl} end
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
redis.call('SADD', active, show)
redis.call('SADD', known, show)
return {'queued', redis.call('ZRANK', line, fan), tostring(score)}
"""

_ADMIT = """
local line, clock, admitted, admit_seq, token_prefix, active = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now, on_sale, rate, ttl, show = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
if now < on_sale then return {} end
-- Unused admissions pile up to a burst of 10 seconds' worth (at least one): a fan who arrives at a
-- quiet moment goes straight in, a crowd is still let in at the rate.
local burst = math.max(1, rate / 6)
local last = math.max(tonumber(redis.call('GET', clock) or on_sale), now - burst * 60 / rate)
local allowance = math.floor((now - last) * rate / 60 + 1e-9)
if allowance <= 0 then return {} end
local popped = redis.call('ZPOPMIN', line, allowance)
local fans = {}
for i = 1, #popped, 2 do
  local fan = popped[i]
  redis.call('SET', token_prefix .. fan, ARGV[6], 'EX', ttl)
  redis.call('ZADD', admitted, redis.call('INCR', admit_seq), fan)
  fans[#fans + 1] = fan
end
redis.call('SET', clock, last + #fans * 60 / rate)
if #fans < allowance then
  redis.call('SREM', active, show)  -- the line ran dry
end
return fans
"""

_CLOSE = """
local line, active = KEYS[1], KEYS[2]
local fans = redis.call('ZRANGE', line, 0, -1)
redis.call('DEL', line)
redis.call('SREM', active, ARGV[1])
return fans
"""


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


def _status(raw, q: ShowQueue, now: datetime) -> QueueStatus:
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
    for _ in range(2):
        raw = await redis.eval(
            _JOIN, 7, k["line"], k["seq"], k["ever"], k["token"], ACTIVE_SHOWS, EPOCH, KNOWN_SHOWS,
            fan_id, now.timestamp(), q.on_sale_at.timestamp(), random.random(), q.show_id,
        )
        if raw[0] != "lost":
            break
        await restore_lines(store, redis)  # Redis lost its lines: put them back before adding to one
    if len(raw) > 2:  # a new place: write it through, so a lost Redis can be rebuilt in this order
        await _record_place(store, q.show_id, fan_id, float(raw[2]))
        telemetry.count("queue_joined")
    if raw[0] == "queued" and now >= q.on_sale_at:
        await admit(store, redis, q, answering=fan_id)
        return await status(store, redis, show_id, fan_id, q)
    return _status(raw, q, now)


async def status(store: Store, redis: Redis, show_id: int, fan_id: int, q: ShowQueue | None = None) -> QueueStatus:
    q = q or await show_queue(store, show_id)
    k = _keys(q.show_id)
    ttl = await redis.ttl(k["token"] + str(fan_id))
    if ttl > 0:
        return QueueStatus("admitted", admitted_for_seconds=ttl)
    rank = await redis.zrank(k["line"], fan_id)
    if rank is None:
        return QueueStatus("none")
    return _status(("queued", rank), q, store.now())


async def leave(store: Store, redis: Redis, show_id: int, fan_id: int) -> bool:
    k = _keys(show_id)
    removed = await redis.zrem(k["line"], fan_id)
    dropped = await redis.delete(k["token"] + str(fan_id))
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
    fans = await redis.eval(
        _ADMIT, 6, k["line"], k["clock"], k["admitted"], k["admit_seq"], k["token"], ACTIVE_SHOWS,
        store.now().timestamp(), q.on_sale_at.timestamp(), q.admission_per_minute, q.admission_minutes * 60, q.show_id,
        secrets.token_hex(8),
    )
    fans = [int(f) for f in fans]
    if not fans:
        return fans
    now = store.now()
    until = now + timedelta(minutes=q.admission_minutes)

    async def work(s) -> None:
        await s.execute(
            update(QueuePlace).where(QueuePlace.show_id == q.show_id, QueuePlace.fan_discord_id.in_(fans)).values(admitted_until=until)
        )
        for fan in fans:
            if fan != answering:
                await outbox.enqueue(
                    store, s, kind=ADMISSION_DM, recipient_discord_id=fan, payload={"show_id": q.show_id},
                    dedupe_key=f"queue:{q.show_id}:turn:{fan}:{int(now.timestamp())}",
                )

    await store.transaction(work)
    telemetry.count("queue_admitted", len(fans))
    return fans


async def line_length(redis: Redis, show_id: int) -> int:
    return await redis.zcard(_keys(show_id)["line"])


async def admitted_after(redis: Redis, show_id: int, after: float) -> list[tuple[int, float]]:
    """Fans let in after admission number ``after``, as (fan, admission number): lets a reader
    (a worker, a dashboard) follow admissions incrementally."""
    rows = await redis.zrangebyscore(_keys(show_id)["admitted"], f"({after}", "+inf", withscores=True)
    return [(int(fan), score) for fan, score in rows]


async def admission_order(redis: Redis, show_id: int) -> list[int]:
    return [int(f) for f in await redis.zrange(_keys(show_id)["admitted"], 0, -1)]


async def close(redis: Redis, show_id: int) -> list[int]:
    """Empty the line (sold out, show cancelled); returns the fans who were waiting. Their places
    are forgotten in the same transaction that queues their "sold out" DMs (:func:`admit_all`)."""
    k = _keys(show_id)
    return [int(f) for f in await redis.eval(_CLOSE, 2, k["line"], ACTIVE_SHOWS, show_id)]


async def active_shows(redis: Redis) -> list[int]:
    return [int(s) for s in await redis.smembers(ACTIVE_SHOWS)]


async def require_admission(redis: Redis, q: ShowQueue, fan_id: int, now: datetime) -> None:
    if now < q.on_sale_at:
        raise errors.SaleNotOpen("queue.sale_not_open", title=q.title, opens_at=q.on_sale_at)
    if await redis.ttl(_keys(q.show_id)["token"] + str(fan_id)) <= 0:
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
    return await holds.hold_seats(store, show_id=show_id, fan_id=fan_id, quantity=quantity, seat_ids=seat_ids, tier=tier)


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

    async def work(s) -> None:
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

    async def work(s) -> None:
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
        self.waiting: list[tuple[dict, asyncio.Future]] = []
        self.writer: asyncio.Task | None = None

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
            try:
                await self.store.transaction(
                    lambda s: s.execute(self.store.upsert(QueuePlace.__table__, rows, ["score", "admitted_until", "joined_at"]))
                )
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


_journals: "weakref.WeakKeyDictionary[Store, _PlaceJournal]" = weakref.WeakKeyDictionary()


async def _record_place(store: Store, show_id: int, fan_id: int, score: float) -> None:
    journal = _journals.get(store)
    if journal is None:
        journal = _journals[store] = _PlaceJournal(store)
    await journal.record(show_id, fan_id, score)


# --- rebuilding a lost queue ----------------------------------------------------------------------

_RESTORE_BEGIN = """
local restoring, seq, active, known = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('SET', restoring, '1', 'NX') == false then return 0 end
redis.call('SET', seq, ARGV[1])  -- before any new join: newcomers line up behind the restored places
redis.call('SADD', active, ARGV[2])
redis.call('SADD', known, ARGV[2])
return 1
"""

_RESTORE_PLACES = """
local line, ever, token_prefix, admitted, admit_seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
for i = 1, #ARGV, 3 do
  local fan, score, ttl = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  redis.call('SADD', ever, fan)
  if ttl > 0 then
    redis.call('SET', token_prefix .. fan, 'restored', 'EX', ttl, 'NX')
    redis.call('ZADD', admitted, redis.call('INCR', admit_seq), fan)
  elseif ttl == 0 then
    redis.call('ZADD', line, 'NX', score, fan)
  end
end
return 1
"""


async def restore_lines(store: Store, redis: Redis, *, chunk: int = 2000) -> int:
    """Rebuild the lines of shows on sale that Redis lost (restart without persistence, failover):
    each fan gets their old place back, in the old order, and a fan whose turn had started gets the
    rest of it. Run at start, by the scheduler and by the first join that finds Redis new; when Redis
    still has its lines it costs one EXISTS, and a per-show Lua check makes one process rebuild each
    line. Returns the number of places restored."""
    if await redis.exists(EPOCH):
        return 0
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
        k = _keys(show_id)
        async with store.session() as s:
            places = (await s.execute(select(QueuePlace).where(QueuePlace.show_id == show_id).order_by(QueuePlace.score))).scalars().all()
        top = max((p.score for p in places if p.score >= 1), default=0)
        if not await redis.eval(_RESTORE_BEGIN, 4, k["restoring"], k["seq"], ACTIVE_SHOWS, KNOWN_SHOWS, int(top), show_id):
            continue  # another process is rebuilding it
        for i in range(0, len(places), chunk):
            args: list = []
            for p in places[i : i + chunk]:
                if p.admitted_until is None:
                    ttl = 0
                else:
                    ttl = max(-1, int((p.admitted_until - now).total_seconds()))  # -1: the turn is over
                args += [p.fan_discord_id, repr(p.score), ttl]
            await redis.eval(_RESTORE_PLACES, 5, k["line"], k["ever"], k["token"], k["admitted"], k["admit_seq"], *args)
        restored += len(places)
        telemetry.count("recovery", len(places), action="queue_place_restored")
    await redis.set(EPOCH, int(now.timestamp()))
    return restored


# --- forgetting the lines of shows that ended -------------------------------------------------------

_PURGE = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
"""


def _ended(now: datetime):
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
            k = _keys(show_id)
            start = 0
            while fans := await redis.zrange(k["admitted"], start, start + 999):  # turns still running
                await redis.delete(*(k["token"] + str(f) for f in fans))
                start += len(fans)
            keys = [k[name] for name in ("line", "seq", "ever", "admitted", "admit_seq", "clock", "restoring")]
            await redis.eval(_PURGE, len(keys) + 2, ACTIVE_SHOWS, KNOWN_SHOWS, *keys, show_id)
        while True:  # in batches: one on-sale may have left 100,000 places
            async def work(s) -> int:
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
