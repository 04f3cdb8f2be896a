"""The fair virtual waiting queue for an on-sale, in Redis.

- Fans who join before sales open get a random place (a uniformly random score, drawn once): joining
  early, or refreshing, buys nothing. Fans who join after the open line up behind them, first come
  first served. Leaving and joining again goes to the back.
- The head of the line is let in at the organizer's rate (fans per minute). A let-in fan holds an
  admission token with a time limit; only a fan holding one can reserve seats.
- The live-turns cap: no more fans are choosing at once (let in, holding no seat yet, for at most
  ``CHOOSING_SECONDS`` of their turn) than there are seats they could take now (free, or held by a hold
  that ran out). A crowd ten times the house waits in line with its places instead of being let in to
  find the seats gone; a fan who holds seats, is refused (sold out, at the limit), leaves, or has not
  chosen within two minutes makes room for the next (a slow fan keeps the rest of their turn, and a
  fan who walked away holds the line back two minutes, not ten), and so does a seat that comes back.
  After a Redis loss the cap starts again from nobody choosing (looser, never tighter). The seats are
  counted in the database and the fans choosing in Redis, a moment apart: a hold committing between the
  two lets one more fan in. The cap only paces admissions; holds decide who gets a seat.
- Every step is one Lua script, atomic on Redis: with many bot processes a place is given once and a
  fan is let in once. The same scripts run on fakeredis for the embedded default (domain/queue_scripts.py).
- An on-sale burst is served in batches, with no timer: the joins of one show that arrive while its
  last script call is in flight share the next one (domain/queue_joins.py), and so do their seat
  count and admission step after the open; what the queue reads about a show is cached in the
  process for at most a second, and dropped at once by this process's own edits (domain/show_facts.py).

Redis holds the line; orders, holds and tickets live in the database, so losing Redis never loses a
booking. Each place is also written through to ``queue_places`` (one row per fan and show, with the
Redis score and the end of the fan's turn), so when Redis comes back empty :func:`domain.queue_places.restore_lines`
rebuilds every line in its old order and gives admitted fans the rest of their turn.

Redis Cluster: every key of one show carries the show id as a hash tag (``pq:{42}:line``), so a show's
keys share one slot and each script names every key it touches in KEYS. Shows spread over the nodes.
A show's lines and its ``epoch`` marker live in that slot, so a node that restarts empty is noticed
(and its lines rebuilt) show by show, while the other nodes keep theirs. The two show indexes
(``ACTIVE_SHOWS``, ``KNOWN_SHOWS``) share their own slot and are written outside the per-show scripts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Insert, Integer, String, bindparam, case, delete, func, literal, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from domain import cancellations, errors, holds, outbox, queue_places, queue_scripts, reports, seats, telemetry
from domain.batching import Batched
from domain.holds import HoldSummary
from domain.models import QueuePlace, SeatStatus, ShowSeat
from domain.queue_joins import take_place
from domain.queue_keys import ACTIVE_SHOWS, show_keys
from domain.show_facts import ShowQueue as ShowQueue
from domain.show_facts import show_queue as show_queue
from domain.store import Store, rowcount


async def _deactivate(redis: Redis, show_id: int) -> None:
    """The show's line ran dry: the admission tick stops visiting it. The index is in another slot
    than the line, so this is not atomic with the line: take the show off, then look at the line
    again, and put it back if a join came in meanwhile (a join lists its show after taking its place,
    so one of the two always sees the other)."""
    await redis.srem(ACTIVE_SHOWS, show_id)
    if await redis.zcard(show_keys(show_id)["line"]):
        await redis.sadd(ACTIVE_SHOWS, show_id)


CHOOSING_SECONDS = 120  # how long a fan let in counts against the live-turns cap without holding seats


@dataclass(frozen=True)
class QueueStatus:
    state: str  # "lobby" (before the open) | "queued" | "admitted" | "none"
    position: int | None = None  # 1-based, when queued after the open
    ahead: int | None = None
    eta_seconds: int | None = None
    admitted_for_seconds: int | None = None
    # queued while every seat left is being chosen or paid for by fans let in before (the live-turns
    # cap): no time can be promised, only a turn when seats come back
    waiting_for_seats: bool = False


def _status(raw: Sequence[Any], q: ShowQueue, now: datetime, held_back: bool = False) -> QueueStatus:
    state, value = raw[0], int(raw[1])
    if state == "admitted":
        return QueueStatus("admitted", admitted_for_seconds=value)
    if now < q.on_sale_at:
        return QueueStatus("lobby")
    if held_back:
        return QueueStatus("queued", position=value + 1, ahead=value, waiting_for_seats=True)
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
    raw = await take_place(store, redis, q, fan_id, now)  # with the joins of this show arriving meanwhile
    if raw[0] == "queued" and now >= q.on_sale_at:
        # Let the head of the line in, then read where the fan stands (with the joins arriving meanwhile)
        where = await _admitting((id(store), id(redis), q.show_id), (store, redis, q), fan_id)
        return QueueStatus("none") if where[0] == "none" else _status(where, q, store.now(), where[2])
    return _status(raw, q, now)


async def _where(redis: Redis, show_id: int, fan_id: int) -> tuple[str, int]:
    """("admitted", seconds of the turn left) | ("queued", rank) | ("none", 0). The asks of one show
    arriving together (every reserve of an on-sale asks) share one script call."""
    return await _turns((id(redis), show_id), (redis, show_id), (False, fan_id))


async def _done_choosing(redis: Redis, show_id: int, fan_id: int) -> None:
    """The fan holds seats now: they no longer count against the live-turns cap. Shares the script
    call of the asks arriving meanwhile."""
    await _turns((id(redis), show_id), (redis, show_id), (True, fan_id))


async def _turns_for(
    context: tuple[Redis, int], batch: list[tuple[tuple[bool, int], asyncio.Future[tuple[str, int]]]]
) -> None:
    redis, show_id = context
    k = show_keys(show_id)
    done = [fan for (is_done, fan), _ in batch if is_done]
    asking = [answer for (is_done, _), answer in batch if not is_done]
    raw = await queue_scripts.TURNS(
        redis,
        (k["turns"], k["line"], k["choosing"]),
        (len(done), *done, *(fan for (is_done, fan), _ in batch if not is_done)),
    )
    for answer, i in zip(asking, range(0, len(raw), 2), strict=True):
        if not answer.done():
            answer.set_result((str(raw[i]), int(raw[i + 1])))
    for (is_done, _), answer in batch:
        if is_done and not answer.done():
            answer.set_result(("", 0))


_turns: Batched[tuple[Redis, int], tuple[bool, int], tuple[str, int]] = Batched(_turns_for, most=500)


async def status(store: Store, redis: Redis, show_id: int, fan_id: int, q: ShowQueue | None = None) -> QueueStatus:
    q = q or await show_queue(store, show_id)
    raw = await _where(redis, q.show_id, fan_id)
    if raw[0] == "none":
        return QueueStatus("none")
    now = store.now()
    held_back = False
    if raw[0] == "queued" and now >= q.on_sale_at and not q.closed(now):  # the live-turns cap, as ADMIT sees it
        counts = await _counting((id(store), q.show_id), (store, q.show_id), None)
        choosing = int(await queue_scripts.CHOOSING(redis, (show_keys(q.show_id)["choosing"],), (now.timestamp(),)))
        held_back = int(raw[1]) >= max(0, counts.takeable - choosing)  # more fans ahead than seats left
    return _status(raw, q, now, held_back)


async def leave(store: Store, redis: Redis, show_id: int, fan_id: int) -> bool:
    k = show_keys(show_id)
    removed = await redis.zrem(k["line"], fan_id)
    dropped = await redis.zrem(k["turns"], fan_id)
    await redis.zrem(k["choosing"], fan_id)
    await store.transaction(
        lambda s: s.execute(
            delete(QueuePlace).where(QueuePlace.show_id == show_id, QueuePlace.fan_discord_id == fan_id)
        )
    )
    return bool(removed or dropped)


async def admit(
    store: Store, redis: Redis, q: ShowQueue, *, answering: int | None = None, room: int | None = None
) -> list[int]:
    """Let the head of the line in, as many as the rate allows since the last admission.

    In one transaction right after the Redis step, each fan let in gets their turn written through
    (so a lost Redis gives them the rest of it) and a "your turn" DM queued; except ``answering``,
    the fan whose own join let them in and who reads it in the reply. A crash can only fall between
    the Redis step and that commit; the fan is then in (``/queue status`` says so) without a DM.
    ``room``: the show's takeable seats when the caller has just counted them (:func:`seat_counts`)."""
    return (await _admit(store, redis, q, [] if answering is None else [answering], (), room))[0]


async def _admit(
    store: Store,
    redis: Redis,
    q: ShowQueue,
    answering: Sequence[int],
    asking: Sequence[int],
    room: int | None = None,
) -> tuple[list[int], list[tuple[str, int, bool]]]:
    """:func:`admit`, and where each fan of ``asking`` stands right after it (in the same script):
    (the fans let in, [(state, value, whether the live-turns cap holds the line back) of each fan asking])."""
    k = show_keys(q.show_id)
    now = store.now()
    admitting = not q.closed(now)  # a cancelled or started show lets nobody in; admit_all closes its line
    if not admitting and not asking:
        return [], []
    if room is None:
        room = -1
        if admitting and now >= q.on_sale_at:  # the live-turns cap: seats the fans let in could take
            room = (await _counting((id(store), q.show_id), (store, q.show_id), None)).takeable
    raw = await queue_scripts.ADMIT(
        redis,
        (k["line"], k["clock"], k["admitted"], k["admit_seq"], k["turns"], k["choosing"]),
        (
            now.timestamp(),
            q.on_sale_at.timestamp(),
            q.admission_per_minute,
            q.admission_minutes * 60,
            int(admitting),
            room,
            CHOOSING_SECONDS,
            *asking,
        ),
    )
    if int(raw[0]):
        await _deactivate(redis, q.show_id)
    let_in = 2 + int(raw[1])
    fans = [int(f) for f in raw[2:let_in]]
    where = [  # 'held': queued behind more fans than there are seats left for them to choose
        ("queued", int(raw[i + 1]), True) if raw[i] == "held" else (str(raw[i]), int(raw[i + 1]), False)
        for i in range(let_in, len(raw), 2)
    ]
    if not fans:
        return fans, where
    until = now + timedelta(minutes=q.admission_minutes)
    told = set(answering)

    async def work(s: AsyncSession) -> None:
        let_in = await s.execute(_LET_IN, {"show": q.show_id, "fans": fans, "until": until})
        # The "your turn" DMs and the on-sale report's rows are made from the places' rows (INSERT ...
        # SELECT): an admission lets hundreds in at an on-sale's open, and sending each one's values
        # to the driver again made it as costly as their holds (bench/onsale.py).
        stamp = int(now.timestamp())
        placed = set(fans)
        if rowcount(let_in) < len(fans):
            # A fan whose place is in Redis but not (yet) in the database: their join's write-through
            # is still committing, or failed. They are told and recorded from the list, as before.
            placed = set((await s.execute(_PLACED, {"show": q.show_id, "fans": fans})).scalars())
        dm = [fan for fan in fans if fan not in told and fan in placed]
        if dm:  # through the session: its commit wakes the sender
            await s.execute(_turn_dms(store.dialect), {"show": q.show_id, "fans": dm, "stamp": stamp, "now": now})
        await reports.note_admitted(s, q.show_id, [fan for fan in fans if fan in placed], now)
        unplaced = [fan for fan in fans if fan not in placed]
        if unplaced:
            await outbox.enqueue_many(
                store,
                s,
                kind=ADMISSION_DM,
                messages=[
                    (fan, {"show_id": q.show_id}, f"queue:{q.show_id}:turn:{fan}:{stamp}")
                    for fan in unplaced
                    if fan not in told
                ],
            )
            await reports.note_many(s, q.show_id, reports.ADMITTED, unplaced, now)

    await store.transaction(work)
    telemetry.count("queue_admitted", len(fans))
    return fans, where


async def _admit_for(
    context: tuple[Store, Redis, ShowQueue], batch: list[tuple[int, asyncio.Future[tuple[str, int, bool]]]]
) -> None:
    """The admission step of the joins after the open that arrived together: one script lets the head
    in and reads where each of them stands; they read it in their replies, so none is sent a DM."""
    store, redis, q = context
    fans = [fan for fan, _ in batch]
    for (_, answer), where in zip(batch, (await _admit(store, redis, q, fans, fans))[1], strict=True):
        if not answer.done():
            answer.set_result(where)


_admitting: Batched[tuple[Store, Redis, ShowQueue], int, tuple[str, int, bool]] = Batched(_admit_for, most=500)


async def line_length(redis: Redis, show_id: int) -> int:
    return await redis.zcard(show_keys(show_id)["line"])


async def admitted_after(redis: Redis, show_id: int, after: float) -> list[tuple[int, float]]:
    """Fans let in after admission number ``after``, as (fan, admission number): lets a reader
    (a worker, a dashboard) follow admissions incrementally."""
    rows = cast(
        list[tuple[str, float]],
        await redis.zrangebyscore(show_keys(show_id)["admitted"], f"({after}", "+inf", withscores=True),
    )  # withscores: pairs
    return [(int(fan), score) for fan, score in rows]


async def admission_order(redis: Redis, show_id: int) -> list[int]:
    return [
        int(f) for f in cast(list[str], await redis.zrange(show_keys(show_id)["admitted"], 0, -1))
    ]  # decoded members


async def close(redis: Redis, show_id: int) -> list[int]:
    """Empty the line (sold out, show cancelled); returns the fans who were waiting. Their places
    are forgotten in the same transaction that queues their "sold out" DMs (:func:`admit_all`)."""
    fans = [int(f) for f in await queue_scripts.CLOSE(redis, (show_keys(show_id)["line"],))]
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
    if (await _counting((id(store), q.show_id), (store, q.show_id), None)).open == 0:
        raise errors.SoldOut("sold_out.show", title=q.title)


@dataclass(frozen=True)
class SeatCounts:
    takeable: int  # seats a fan could hold now: free, or held by a hold that ran out
    open: int  # seats not sold: free or held (a held seat comes back if its hold lapses)


# Built once: every admission tick and every join after the open reads it (through _counting).
_SEAT_COUNTS = select(
    # what a buyer's hold may take: free, or its hold (or waitlist keep) ran out
    func.sum(case((seats.sellable(bindparam("now", type_=ShowSeat.held_until.type)), 1), else_=0)),
    func.count(),
).where(
    ShowSeat.show_id == bindparam("show_id"),
    ShowSeat.status.in_((SeatStatus.AVAILABLE.value, SeatStatus.HELD.value)),
)


async def seat_counts(store: Store, show_id: int) -> SeatCounts:
    """What the queue needs to know of a show's seats, in one read: whether anything is left to sell,
    and how many fans the live-turns cap may let choose (not seats kept back for the waitlist)."""
    async with store.connection() as conn:
        row = (await conn.execute(_SEAT_COUNTS, {"now": store.now(), "show_id": show_id})).one()
    return SeatCounts(takeable=int(row[0] or 0), open=int(row[1]))


async def sold_out(store: Store, show_id: int) -> bool:
    """No seat free and none held: nothing can come back except through cancellations."""
    return (await seat_counts(store, show_id)).open == 0


async def _count_for(context: tuple[Store, int], batch: list[tuple[None, asyncio.Future[SeatCounts]]]) -> None:
    counts = await seat_counts(*context)
    for _, answer in batch:
        if not answer.done():
            answer.set_result(counts)


# The calls arriving while the seats are being counted share the next count (still made after they arrived).
_counting: Batched[tuple[Store, int], None, SeatCounts] = Batched(_count_for, most=100_000)


async def shows_on_sale_with_lines(store: Store, redis: Redis) -> list[ShowQueue]:
    found = []
    for show_id in await active_shows(redis):
        try:
            found.append(await show_queue(store, show_id))
        except errors.ShowNotFound:
            continue  # deleted: the cleanup forgets its line
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
        hold = await holds.hold_seats(
            store, show_id=show_id, fan_id=fan_id, quantity=quantity, seat_ids=seat_ids, tier=tier
        )
    except errors.FanLimitExceeded:
        await reports.note_refusal(store, q.show_id, fan_id)  # the on-sale report counts refusals at the limit
        await _stop_choosing(redis, show_id, fan_id)  # holds what they may: takes no more seats
        raise
    except errors.SoldOut:
        await _stop_choosing(redis, show_id, fan_id)  # told sold out: their place goes to a seat that comes back
        raise
    # Holding seats, the fan no longer counts against the live-turns cap: their seats are taken, so
    # the next admission lets in as many more as there are seats left.
    await _stop_choosing(redis, show_id, fan_id)
    return hold


async def _stop_choosing(redis: Redis, show_id: int, fan_id: int) -> None:
    """:func:`_done_choosing` after the hold committed: a Redis error here must not turn the fan's
    hold into an error (a fan left counted only keeps the cap tighter until their turn ends; a Redis
    crash forgets them, which makes it looser, never oversells: holds decide seats)."""
    try:
        await _done_choosing(redis, show_id, fan_id)
    except RedisError:
        log.warning("could not take fan %s of show %s off the choosing count", fan_id, show_id, exc_info=True)


async def admit_all(store: Store, redis: Redis) -> int:
    """The scheduler's admission tick, for every show with a line: let fans in at each show's rate
    and DM them that it is their turn; when a show is sold out, close its line and tell everyone
    still waiting (with the waitlist offer). Returns the number of fans messaged."""
    messaged = 0
    await queue_places.restore_lines(store, redis)  # one EXISTS while Redis is intact; a rebuild after it was lost
    for q in await shows_on_sale_with_lines(store, redis):
        if q.closed(store.now()):
            waiting = await close(redis, q.show_id)
            await _tell_closed(store, waiting, q)
            messaged += len(waiting)
            continue
        if store.now() < q.on_sale_at:
            continue
        counts = await seat_counts(store, q.show_id)  # one read for both questions
        if counts.open == 0:
            waiting = await close(redis, q.show_id)
            await _tell_sold_out(store, waiting, q.show_id)
            messaged += len(waiting)
            continue
        messaged += len(await admit(store, redis, q, room=counts.takeable))
    return messaged


async def _tell_sold_out(store: Store, fans: list[int], show_id: int) -> None:
    """DM the fans whose line closed (sold out) and forget their places, in one transaction."""
    if not fans:
        return
    stamp = int(store.now().timestamp())

    async def work(s: AsyncSession) -> None:
        await outbox.enqueue_many(
            store,
            s,
            kind=SOLD_OUT_DM,
            messages=[(fan, {"show_id": show_id}, f"queue:{show_id}:soldout:{fan}:{stamp}") for fan in fans],
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
        if q.cancelled:
            await cancellations.tell_many_show_cancelled(store, s, q.show_id, fans, was="queue")
        else:
            await outbox.enqueue_many(
                store,
                s,
                kind=CLOSED_DM,
                messages=[(fan, {"show_id": q.show_id}, f"queue:{q.show_id}:closed:{fan}") for fan in fans],
            )
        await s.execute(delete(QueuePlace).where(QueuePlace.show_id == q.show_id, QueuePlace.fan_discord_id.in_(fans)))

    await store.transaction(work)


ADMISSION_DM = "queue_turn"

_PLACED = select(QueuePlace.fan_discord_id).where(
    QueuePlace.show_id == bindparam("show"), QueuePlace.fan_discord_id.in_(bindparam("fans", expanding=True))
)
_LET_IN = (
    update(QueuePlace)
    .where(QueuePlace.show_id == bindparam("show"), QueuePlace.fan_discord_id.in_(bindparam("fans", expanding=True)))
    .values(admitted_until=bindparam("until", type_=QueuePlace.admitted_until.type))
)


@functools.cache
def _turn_dms(dialect: str) -> Insert:
    """The "your turn" DMs of the fans let in (parameters show, fans, stamp (the admission's time, in
    the dedupe key), now), made from their places' rows: payload {"show_id": ...}, dedupe key
    queue:<show>:turn:<fan>:<stamp>."""
    text = String()
    rows = select(
        QueuePlace.fan_discord_id.label("recipient"),
        func.json_object("show_id", QueuePlace.show_id).label("payload"),
        (
            literal("queue:", text)
            + sql_cast(QueuePlace.show_id, text)
            + literal(":turn:", text)
            + sql_cast(QueuePlace.fan_discord_id, text)
            + literal(":", text)
            + sql_cast(bindparam("stamp", type_=Integer), text)
        ).label("dedupe_key"),
    ).where(QueuePlace.show_id == bindparam("show"), QueuePlace.fan_discord_id.in_(bindparam("fans", expanding=True)))
    return outbox.insert_selected(dialect, ADMISSION_DM, rows)


SOLD_OUT_DM = "queue_sold_out"
CLOSED_DM = "queue_closed"  # the show started while the fan was still in line


log = logging.getLogger("picket.queue")
