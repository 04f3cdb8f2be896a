"""On-sale: N fans join the waiting queue in one burst, then P bot processes sell M seats, on MariaDB + Redis.

    python bench/onsale.py [--fans 100000] [--seats 10000] [--processes 4] [--concurrency 8] [--buyers 64]
                           [--admit-rate FANS_PER_MINUTE | --admit-seconds S] [--no-naive]

What runs (one show of M seats, per-fan limit 4, every fan buys one seat):
0. the database is created if missing (``CREATE DATABASE IF NOT EXISTS``), and its schema rebuilt.
1. join burst: before sales open, all N fans call ``queue.join`` from this process, ``--join-concurrency``
   (500) at a time, on a pool of ``--pool`` (20) connections. Each join reads the show from MariaDB,
   then runs the join script on Redis.
2a. raw anchor, just before the sale, on the same database: the limit of this box for what a hold
   must do, measured with the bare driver (aiomysql, no ORM, no pool) by the same P processes x
   ``--concurrency`` connections the sale uses. A table of ``--raw-rows`` seats; each connection
   repeats ``UPDATE bench_raw_seat SET status='held', holder=? WHERE id=? AND status='available'``
   + COMMIT on seats nobody else takes, for ``--raw-seconds`` or until the seats run out: one seat per
   transaction (raw_holds_per_s), then, the table reset, 50 such UPDATEs per transaction
   (raw_batched_rows_per_s). The sale's ratios are taken against raw_holds_per_s.
2b. admission rate: the show's ``admission_per_minute`` is set to ``--admit-rate`` or, by default, to
   120 x raw_holds_per_s (twice the anchor's single-seat hold rate, in fans per minute): fans are let
   in faster than the database could hold seats for them, so admission is never the bottleneck. With
   many more fans than seats this lets most of them in during the sale, and each admission's writes
   (the turn, the "your turn" DM, the report's journal) are part of what is measured: a show whose
   organizer sets the rate near what sells a minute lets fewer in. ``--admit-seconds S`` instead
   sets the rate that lets all N fans in within S seconds. The rate used is printed.
2. sale: at one wall-clock instant (the show's on-sale time) P worker processes start. Each has its
   own Store (SystemClock) with a pool of ``--concurrency`` connections (no overflow: as many as the
   anchor's) and its own Redis client, and has first bought one seat of a warm-up show of its own (a
   bot process that has been running has sold before: its statement caches are warm), lets fans in with ``queue.admit`` every ``--tick`` seconds,
   and serves only its own fans (fan id modulo P) with ``--buyers`` buyers: a buyer takes the next
   admitted fan and calls ``queue.reserve(quantity=1)`` (best available). When the fans pay
   (``--pay``):
   - ``after-rush`` (the default): as fans do. A hold keeps the seats for minutes, and a fan takes
     longer to enter a payment than a sell-out of these sizes lasts, so the rush for seats and the
     payments do not meet. The buyer takes the next fan as soon as the hold is granted (at most
     ``--buyers`` fans reserving per process); when no seat is left to hold (every seat held or sold:
     the rush is over), ``--buyers`` payers per process run each held fan's ``orders.purchase``
     (SandboxGateway), in the order held.
   - ``at-once``: the fan's ``orders.purchase`` runs in a task of its own as soon as the hold is
     granted, beside the next fans' reserves (at most ``--buyers`` fans reserving or paying per
     process), until a reserve answers SoldOut; the payments then in flight are awaited. The rate a
     sale much longer than a fan's time to pay settles into.
   All P processes compete for the same seats.
3. naive baseline (skipped with ``--no-naive``): a second show of M seats, the same P processes x
   ``--buyers`` buyers on ``--concurrency`` connections each, no queue, selling by read-then-write
   without locks: SELECT the first available seat (no FOR UPDATE), a plain
   ``UPDATE show_seats SET status='sold' WHERE id=...`` (no status condition), INSERT a ticket with
   ``active_seat_key`` NULL (so the UNIQUE key cannot refuse a duplicate). One transaction per sale.

Figures (the last line printed is JSON):
- admission_per_minute: the show's admission rate during the sale (2b); admission_rate_from says why.
- join_p50_ms / join_p99_ms / join_max_ms: latency of one ``queue.join`` under the burst (including
  the wait for a pooled DB connection); joins_per_s: N / burst wall time.
- holds_per_s: successful holds / (last hold - on-sale instant); purchases_per_s: paid orders /
  (last purchase - on-sale instant); sale_seconds: on-sale instant to the last purchase (sold out).
  So purchases_per_s counts the holds' work and the payments' work in either ``--pay``: after the
  rush, the payers start when the rush ends, with no pause between. pay: the ``--pay`` used.
  hold_p50_ms / purchase_p50_ms...: per-call latency inside the workers. holds_first_10pct_per_s and
  holds_last_10pct_per_s show whether the rate decays as the show fills. hold_seat_unavailable: how
  often a best-available reserve still answered SeatUnavailable ("someone else just took one of those
  seats") after its internal retries; the buyer then tries again (up to 5 times).
- raw_holds_per_s / raw_batched_rows_per_s: the raw anchor (2a). holds_vs_raw = holds_per_s /
  raw_holds_per_s and purchases_vs_raw = purchases_per_s / raw_holds_per_s (a purchase is at least one
  hold's worth of work: hold, charge, tickets, the DM's outbox row).
- cpu_ms_per_purchase: CPU (user + system) the P worker processes used from the on-sale instant to
  their end, by their own resource usage (getrusage), plus this process's over the same span, per
  paid order. The database and Redis servers are not counted (on a shared box they serve others too).
- db_cpu_ms_per_purchase / redis_cpu_ms_per_purchase: CPU the local database server / Redis used over
  the sale (the workers' start to their end), per paid order; raw_db_cpu_ms_per_hold: the database
  server's CPU per hold in the raw anchor's single-seat pass. Read from /proc, so only for servers on
  this machine (None otherwise), and they count whatever else those servers served meanwhile.
- cpu_ms_per_join: CPU this process used over the join burst, per join.
- rss_per_queued_fan_bytes: how much the resident memory of the process taking the joins grew over
  the burst, per fan in line (the latencies it records are preallocated, so not counted);
  redis_bytes_per_queued_fan: Redis' used_memory growth per fan in line (None on a cluster).
- sold / oversold: read back with ``stats.show_totals``: sold must equal M and oversold must be 0.
- naive_*: the baseline's tickets written, distinct seats, oversold (= tickets - distinct seats) and
  rate (naive_holds_per_s: tickets written / its wall time; naive_seats_per_s: distinct seats / its
  wall time). holds_vs_naive = holds_per_s / naive_holds_per_s and sellout_seconds_vs_naive =
  sale_seconds / naive_seconds, measured in the same run on the same machine. Every naive buyer
  starts from the same "first free seat", so most of its writes are duplicates: it writes fast but
  sells distinct seats slowly. The naive sale does one short transaction per seat and none
  of the bookkeeping (no hold, order, payment, quota, outbox), so the ratio is the price of the whole
  correct path, not of the locking alone; its oversold count is what that shortcut costs. None of
  these figures is printed with ``--no-naive``.
- peak_rss_mb (this process) and worker_peak_rss_mb (the largest worker, of the sale and the naive sale).
- batches: for each group commit of the sale (holds, purchase-prepare, purchase-settle; domain/batching.py),
  the batches run, their mean size, and the requests a batch left to the one-request path (``alone``).

Defaults use the MariaDB database ``bench`` (created when missing) and Redis db 13, which this script
empties: never point it at real data.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from bot import heap  # noqa: E402
from domain import errors, orders, organizers, queue, shows, stats, telemetry  # noqa: E402
from domain.clock import SystemClock  # noqa: E402
from domain.holds import hold_seats  # noqa: E402
from domain.models import Hold, HoldStatus, Order, OrderStatus, SeatStatus, Show, ShowSeat, Ticket, TicketStatus  # noqa: E402
from domain.payments import SandboxGateway  # noqa: E402
from domain.redis_client import make_redis  # noqa: E402
from domain.store import Store, is_retryable, make_engine  # noqa: E402

# Printed one a line before the JSON.
SUMMARY = (
    "admission_per_minute",
    "joins_per_s",
    "join_p50_ms",
    "join_p99_ms",
    "rss_per_queued_fan_bytes",
    "raw_holds_per_s",
    "raw_batched_rows_per_s",
    "holds_per_s",
    "purchases_per_s",
    "holds_vs_raw",
    "purchases_vs_raw",
    "cpu_ms_per_purchase",
    "db_cpu_ms_per_purchase",
    "raw_db_cpu_ms_per_hold",
    "sold",
    "oversold",
)

GUILD = 900_000_000_000_000_001
ORGANIZER = 900_000_000_000_000_002
FAN_BASE = 800_000_000_000_000_000  # fan ids FAN_BASE + i, snowflake-sized
WARM_FAN = 700_000_000_000_000_000  # + the worker's index: the fan of its warm-up purchase
PRICE = 5000  # $50.00: ISO 4217 minor units of the shows' currency (USD, the default)


def log(msg: str) -> None:
    print(f"[onsale {os.getpid()}] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_now() -> int:
    """This process's resident memory now (bytes), not its peak."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(who=resource.RUSAGE_SELF) -> float:
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime


def server_cpu_seconds(names: tuple[str, ...]) -> float | None:
    """CPU (user + system) used so far by the local processes called ``names`` (the database server,
    Redis), from /proc; None when there is none (a remote server): then its share is not reported."""
    total, found = 0.0, False
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm") as f:
                if f.read().strip() not in names:
                    continue
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        found = True
    return total if found else None


DB_SERVER = ("mariadbd", "mysqld")
REDIS_SERVER = ("redis-server",)


def per_op_ms(before: float | None, after: float | None, ops: int) -> float | None:
    return round((after - before) * 1000 / ops, 3) if before is not None and after is not None and ops else None


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def seatmap(seats: int) -> str:
    """A seat map of exactly ``seats`` seats: sections of up to 700 rows of 100, then a short row."""
    parts, left, n = [], seats, 0
    while left >= 100:
        rows = min(700, left // 100)
        parts.append(f"S{n}:{rows}x100:Standard")
        left -= rows * 100
        n += 1
    if left:
        parts.append(f"S{n}:1x{left}:Standard")
    return ", ".join(parts)


# --- workers (separate OS processes) --------------------------------------------------------------


async def _wait_for_go() -> float:
    print("ready", flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    start = float(line.split()[1])
    await asyncio.sleep(max(0.0, start - time.time()))
    return start


class _BatchSizes:
    """A telemetry sink counting the group commits' batches (domain/batching.py) of one worker."""

    def __init__(self) -> None:
        self.runs: Counter = Counter()
        self.items: Counter = Counter()
        self.alone: Counter = Counter()

    def count(self, event: str, n: float, labels: dict) -> None:
        if event == "batch_alone":
            self.alone[labels["kind"]] += int(n)

    def observe(self, event: str, value: float, labels: dict) -> None:
        if event == "batch_size":
            self.runs[labels["kind"]] += 1
            self.items[labels["kind"]] += int(value)

    def summary(self) -> dict:
        return {k: {"batches": self.runs[k], "requests": self.items[k], "alone": self.alone[k]} for k in self.runs}


def _batch_totals(workers: list[dict]) -> dict:
    """Per group commit (holds, purchase-prepare, purchase-settle): batches run, mean requests a batch,
    and requests served alone (left by their batch to the one-request path)."""
    out = {}
    for kind in sorted({k for w in workers for k in w["batches"]}):
        runs = sum(w["batches"].get(kind, {}).get("batches", 0) for w in workers)
        items = sum(w["batches"].get(kind, {}).get("requests", 0) for w in workers)
        alone = sum(w["batches"].get(kind, {}).get("alone", 0) for w in workers)
        out[kind] = {"batches": runs, "mean_size": round(items / runs, 1) if runs else None, "alone": alone}
    return out


async def picket_worker(cfg: dict) -> dict:
    """Admit fans, and for this worker's own admitted fans reserve one seat then pay, until sold out."""
    show_id, me, procs, conc, buyers = cfg["show_id"], cfg["index"], cfg["processes"], cfg["concurrency"], cfg["buyers"]
    # ``concurrency`` connections and no more (no overflow): the raw anchor's count per process.
    store = Store.from_url(cfg["database_url"], SystemClock(), pool_size=conc, max_overflow=0)
    redis = make_redis(cfg["redis_url"])
    gateway = SandboxGateway()
    # Warm the pools so the on-sale instant does not also measure connecting. Not with show_queue: it is
    # cached (one read for all), and a copy read now would predate the on-sale time set just before go.
    await asyncio.gather(*(queue.sold_out(store, show_id) for _ in range(conc)))
    await redis.ping()
    # A bot process that has been running has sold before: its statement caches are warm. So each worker
    # first buys one seat of a warm-up show of its own before the sale (a cold process spends about
    # 0.2 s of the sale's first second compiling the hold and purchase statements, measured).
    if cfg.get("warm_show_id"):
        hold = await hold_seats(store, show_id=cfg["warm_show_id"], fan_id=WARM_FAN + me, quantity=1)
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=WARM_FAN + me)
    batches = _BatchSizes()
    telemetry.install(batches)
    heap.settle()  # as a started bot process does (bot/heap.py)
    start = await _wait_for_go()
    cpu0 = cpu_seconds()
    profiler = None
    if cfg.get("profile"):  # --profile: cProfile over worker 0's sale, on CPU time (not wall time)
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()

    q = await queue.show_queue(store, show_id)
    done = asyncio.Event()  # a reserve answered SoldOut
    admitting_over = asyncio.Event()
    mine: asyncio.Queue = asyncio.Queue()
    # --pay at-once: at most ``buyers`` fans between their reserve and the end of their purchase.
    # --pay after-rush: at most ``buyers`` fans reserving; the held seats are paid for once the rush
    # is over, by ``buyers`` payers.
    pay_at_once = cfg.get("pay", "at-once") == "at-once"
    in_flight = asyncio.Semaphore(buyers)
    paying: set[asyncio.Task] = set()
    held: list[tuple[int, int]] = []  # (fan, hold) to pay for after the rush
    admitted_by_me = 0
    holds = purchases = contended = 0
    hold_lat: list[float] = []
    buy_lat: list[float] = []
    hold_times: list[float] = []
    last_hold = last_purchase = None
    errs: Counter = Counter()

    async def admitter() -> None:
        nonlocal admitted_by_me
        try:
            while not done.is_set():
                # What the scheduler's admission tick does (queue.admit_all), for this one show: one
                # count of the seats, then admission within the live-turns cap.
                counts = await queue.seat_counts(store, show_id)
                if counts.open == 0 or (not pay_at_once and counts.takeable == 0):
                    # Every seat sold: the line is held back for good (admit_all would now close it and
                    # tell those still waiting). Over for this worker. Paying after the rush: every seat
                    # held is the rush's end (the line waits for seats that come back).
                    done.set()
                    return
                let_in = await queue.admit(store, redis, q, room=counts.takeable)
                admitted_by_me += len(let_in)
                if not let_in and await queue.line_length(redis, show_id) == 0:
                    return
                await asyncio.sleep(cfg["tick"])
        finally:
            admitting_over.set()

    async def feeder() -> None:
        cursor = 0.0
        while not done.is_set():
            line_empty = admitting_over.is_set() and await queue.line_length(redis, show_id) == 0
            rows = await queue.admitted_after(redis, show_id, cursor)
            for fan, score in rows:
                cursor = max(cursor, score)
                if int(fan) % procs == me:
                    mine.put_nowait(int(fan))
            if not rows and line_empty:
                break
            await asyncio.sleep(cfg["tick"])
        for _ in range(buyers):
            mine.put_nowait(None)

    async def pay(fan: int, hold_id: int, slot: asyncio.Semaphore | None) -> None:
        nonlocal purchases, last_purchase
        try:
            t = time.perf_counter()
            try:
                await orders.purchase(store, gateway, hold_id=hold_id, fan_id=fan)
            except errors.DomainError as exc:
                errs["purchase:" + type(exc).__name__] += 1
                return
            buy_lat.append(time.perf_counter() - t)
            purchases += 1
            last_purchase = time.time()
        finally:
            if slot is not None:
                slot.release()

    async def buyer() -> None:
        """Takes the next fan, reserves, and leaves the payment to a task of its own (--pay at-once: while
        it is in flight this buyer already serves the next fan, at most ``buyers`` fans in flight), or to
        the payers after the rush (--pay after-rush)."""
        nonlocal holds, contended, last_hold
        while True:
            await in_flight.acquire()
            fan = await mine.get()
            if fan is None or done.is_set():
                in_flight.release()
                return
            hold = None
            for _attempt in range(5):
                t = time.perf_counter()
                try:
                    hold = await queue.reserve(store, redis, show_id=show_id, fan_id=fan, quantity=1)
                except errors.SoldOut:
                    done.set()
                    break
                except errors.SeatUnavailable:
                    contended += 1
                    continue
                except errors.DomainError as exc:
                    errs[type(exc).__name__] += 1
                    break
                hold_lat.append(time.perf_counter() - t)
                holds += 1
                last_hold = time.time()
                hold_times.append(last_hold)
                break
            if hold is None:
                in_flight.release()
                if done.is_set():
                    return
                continue
            if not pay_at_once:
                held.append((fan, hold.id))
                in_flight.release()
                continue
            task = asyncio.create_task(pay(fan, hold.id, in_flight))
            paying.add(task)
            task.add_done_callback(paying.discard)

    async def payer() -> None:
        while held:
            fan, hold_id = held.pop()
            await pay(fan, hold_id, None)

    async def progress() -> None:
        while not done.is_set():
            await asyncio.sleep(5)
            log(
                f"worker {me}: {holds} holds, {purchases} purchases, {len(paying)} paying, "
                f"{mine.qsize()} of its fans waiting"
            )

    ticker = asyncio.create_task(progress())
    await asyncio.gather(admitter(), feeder(), *(buyer() for _ in range(buyers)))
    while paying:  # the payments still in flight when the show sold out
        await asyncio.gather(*list(paying))
    held.reverse()  # paid in the order held
    await asyncio.gather(*(payer() for _ in range(buyers)))
    ticker.cancel()
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        for order in ("tottime", "cumulative"):
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(45)
        Path(cfg["profile"]).write_text(out.getvalue())
        profiler.dump_stats(cfg["profile"] + ".pstats")  # for pstats / snakeviz
    await store.dispose()
    await redis.aclose()
    return dict(
        index=me,
        start=start,
        cpu_s=cpu_seconds() - cpu0,
        admitted_by_me=admitted_by_me,
        holds=holds,
        purchases=purchases,
        contended_retries=contended,
        errors=dict(errs),
        sold_out_seen=done.is_set(),
        last_hold=last_hold,
        last_purchase=last_purchase,
        hold_times=hold_times,
        hold_lat=hold_lat,
        buy_lat=buy_lat,
        rss_mb=rss_mb(),
        batches=batches.summary(),
    )


async def naive_worker(cfg: dict) -> dict:
    """The deliberately wrong sale: read a free seat, then write it sold, with nothing stopping a race."""
    show_id, me, procs, conc = cfg["show_id"], cfg["index"], cfg["processes"], cfg["concurrency"]
    engine = make_engine(cfg["database_url"], pool_size=conc, max_overflow=0)  # the sale's connections
    # This worker's fans, round and round: a fan whose ticket turned out to be a duplicate is not told,
    # so buyers go on until the SELECT finds no free seat.
    fans = itertools.cycle(range(FAN_BASE + me, FAN_BASE + cfg["fans"], procs))
    async with engine.connect() as conn:
        await conn.execute(select(1))
    start = await _wait_for_go()
    done = asyncio.Event()
    sales = retries = 0
    lat: list[float] = []
    last_sale = None

    async def sell_one(fan: int) -> bool:
        async with engine.begin() as conn:
            seat = (
                await conn.execute(
                    select(ShowSeat.id)
                    .where(ShowSeat.show_id == show_id, ShowSeat.status == SeatStatus.AVAILABLE.value)
                    .order_by(ShowSeat.position)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if seat is None:
                return False
            await conn.execute(update(ShowSeat).where(ShowSeat.id == seat).values(status=SeatStatus.SOLD.value))
            await conn.execute(
                insert(Ticket).values(
                    order_id=cfg["order_id"],
                    show_id=show_id,
                    show_seat_id=seat,
                    holder_discord_id=fan,
                    price_cents=PRICE,
                    status=TicketStatus.VALID.value,
                    active_seat_key=None,
                    issued_at=datetime.now(UTC),
                )
            )
        return True

    async def buyer() -> None:
        nonlocal sales, retries, last_sale
        for fan in fans:
            if done.is_set():
                return
            t = time.perf_counter()
            while True:
                try:
                    sold = await sell_one(fan)
                    break
                except DBAPIError as exc:
                    if not is_retryable(exc):
                        raise
                    retries += 1
            if not sold:
                done.set()
                return
            lat.append(time.perf_counter() - t)
            sales += 1
            last_sale = time.time()

    await asyncio.gather(*(buyer() for _ in range(cfg["buyers"])))
    await engine.dispose()
    return dict(index=me, start=start, sales=sales, retries=retries, last_sale=last_sale, lat=lat, rss_mb=rss_mb())


RAW_TABLE = "bench_raw_seat"


def _driver_args(url: str) -> dict:
    u = make_url(url)
    return dict(
        host=u.host or "127.0.0.1",
        port=u.port or 3306,
        user=u.username or "root",
        password=u.password or "",
        db=u.database,
    )


async def raw_worker(cfg: dict) -> dict:
    """The raw anchor: the bare driver, ``concurrency`` connections, each taking seats nobody else takes
    (this worker's share of the table) with the conditional single-seat UPDATE, ``batch`` per COMMIT."""
    import aiomysql

    me, procs, conc, batch = cfg["index"], cfg["processes"], cfg["concurrency"], cfg["batch"]
    conns = [await aiomysql.connect(autocommit=False, **_driver_args(cfg["database_url"])) for _ in range(conc)]
    for conn in conns:
        async with conn.cursor() as cur:
            await cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    seats = iter(range(1 + me, cfg["rows"] + 1, procs))
    start = await _wait_for_go()
    deadline = start + cfg["seconds"]
    held = transactions = 0
    last = None

    async def one(conn) -> None:
        nonlocal held, transactions, last
        async with conn.cursor() as cur:
            while time.time() < deadline:
                ids = list(itertools.islice(seats, batch))
                if not ids:
                    return
                got = 0
                for seat in ids:
                    got += await cur.execute(
                        f"UPDATE {RAW_TABLE} SET status='held', holder=%s WHERE id=%s AND status='available'",
                        (FAN_BASE + seat, seat),
                    )
                await conn.commit()
                held += got
                transactions += 1
                last = time.time()

    await asyncio.gather(*(one(c) for c in conns))
    for conn in conns:
        conn.close()
    return dict(index=me, start=start, held=held, transactions=transactions, last=last)


async def raw_anchor(args, rows: int) -> dict:
    """Run the raw anchor twice (one seat per COMMIT, then 50) on a fresh table; returns its figures."""
    engine = make_engine(args.database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {RAW_TABLE}"))
        await conn.execute(
            text(
                f"CREATE TABLE {RAW_TABLE} (id INT PRIMARY KEY, status VARCHAR(16) NOT NULL, holder BIGINT NULL) ENGINE=InnoDB"
            )
        )
        for i in range(1, rows + 1, 10_000):
            ids = range(i, min(rows, i + 9_999) + 1)
            await conn.execute(
                text(f"INSERT INTO {RAW_TABLE} (id, status) VALUES " + ",".join(f"({n},'available')" for n in ids))
            )
    out: dict = {}
    for name, batch in (("raw_holds_per_s", 1), ("raw_batched_rows_per_s", 50)):
        async with engine.begin() as conn:
            await conn.execute(text(f"UPDATE {RAW_TABLE} SET status='available', holder=NULL"))
        db0 = server_cpu_seconds(DB_SERVER)
        start, results = await run_workers(args, "raw", 0, {"batch": batch, "rows": rows, "seconds": args.raw_seconds})
        held = sum(r["held"] for r in results)
        if batch == 1:  # what the database server spends on one conditional UPDATE + COMMIT
            out["raw_db_cpu_ms_per_hold"] = per_op_ms(db0, server_cpu_seconds(DB_SERVER), held)
        last = max((r["last"] for r in results if r["last"]), default=start)
        out[name] = round(held / (last - start), 1) if last > start else None
        out[name.replace("_per_s", "_seconds")] = round(last - start, 2)
        log(f"raw anchor, {batch} per transaction: {held} rows in {last - start:.1f}s = {out[name]}/s")
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {RAW_TABLE}"))
    await engine.dispose()
    return out


async def ensure_database(url: str) -> None:
    """``CREATE DATABASE IF NOT EXISTS`` for a MariaDB URL: a fresh machine has no ``bench``."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" or not u.database:
        return
    server = make_engine(u.set(database="").render_as_string(hide_password=False))
    async with server.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{u.database}`"))
    await server.dispose()


async def redis_used_memory(redis) -> int | None:
    try:
        info = await redis.info("memory")
    except Exception:  # noqa: BLE001 - a figure we can do without
        return None
    return info.get("used_memory") if isinstance(info, dict) and "used_memory" in info else None


def worker_main(cfg: dict) -> None:
    run = {"picket": picket_worker, "naive": naive_worker, "raw": raw_worker}[cfg["mode"]]
    out = asyncio.run(run(cfg))
    print(json.dumps(out), flush=True)


# --- the parent -----------------------------------------------------------------------------------


async def run_workers(args, mode: str, show_id: int, extra: dict, before_go=None) -> tuple[float, list[dict]]:
    """Start P workers, wait until each has connected, pick the common start instant, run, collect."""
    procs = []
    for i in range(args.processes):
        cfg = dict(
            mode=mode,
            index=i,
            processes=args.processes,
            concurrency=args.concurrency,
            buyers=args.buyers,
            show_id=show_id,
            fans=args.fans,
            database_url=args.database_url,
            redis_url=args.redis_url,
            tick=args.tick,
            pay=args.pay,
            profile=args.profile if i == 0 else None,
            **extra,
        )
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                json.dumps(cfg),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        )
    for p in procs:
        line = (await p.stdout.readline()).decode().strip()
        if line != "ready":
            raise RuntimeError(f"worker did not start (said {line!r})")
    start = time.time() + args.lead
    if before_go is not None:
        await before_go(start)
    for p in procs:
        p.stdin.write(f"go {start!r}\n".encode())
        await p.stdin.drain()
    results = []
    for p in procs:
        out, _ = await p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"a {mode} worker failed (exit {p.returncode})")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    return start, results


async def join_burst(store: Store, redis, show_id: int, fans: int, concurrency: int) -> dict:
    lat = array.array("d", bytes(8 * fans))  # preallocated: the burst's RSS growth is the joins', not ours
    done = 0
    errs: Counter = Counter()
    ids = iter(range(FAN_BASE, FAN_BASE + fans))
    step = max(1, fans // 10)

    async def joiner() -> None:
        nonlocal done
        for fan in ids:
            t = time.perf_counter()
            try:
                st = await queue.join(store, redis, show_id, fan)
            except errors.DomainError as exc:
                errs[type(exc).__name__] += 1
                continue
            lat[done] = time.perf_counter() - t
            done += 1
            if st.state != "lobby":
                errs[f"state:{st.state}"] += 1
            if done % step == 0:
                log(f"join burst: {done}/{fans}")

    rss0, redis0 = rss_now(), await redis_used_memory(redis)
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(joiner() for _ in range(concurrency)))
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    rss1, redis1 = rss_now(), await redis_used_memory(redis)
    return dict(
        lat=lat[:done].tolist(),
        seconds=seconds,
        cpu=cpu,
        errors=dict(errs),
        rss_growth=rss1 - rss0,
        redis_growth=None if redis0 is None or redis1 is None else redis1 - redis0,
    )


def admission_rate(args, raw_holds_per_s: float | None) -> tuple[int, str]:
    """The show's admission rate (fans per minute) for the sale, and where it came from."""
    if args.admit_rate:
        return args.admit_rate, "--admit-rate"
    if args.admit_seconds:
        return max(
            1, math.ceil(args.fans * 60 / args.admit_seconds)
        ), f"every fan within --admit-seconds {args.admit_seconds:g}"
    if raw_holds_per_s:
        return max(1, math.ceil(120 * raw_holds_per_s)), f"2 x the raw anchor's {raw_holds_per_s} holds/s"
    return max(1, math.ceil(args.fans * 60 / 10)), "no raw anchor figure: every fan within 10 s"


async def naive_phase(args, store: Store, naive_id: int, naive_order: int, result: dict, sale_seconds: float) -> dict:
    """Phase 3, the naive baseline; returns its figures (and the peak RSS figures, now including it)."""
    log(f"naive: starting {args.processes} workers x {args.buyers} buyers on {args.concurrency} connections each")
    nstart, nworkers = await run_workers(args, "naive", naive_id, {"order_id": naive_order})
    ntotals = await stats.show_totals(store, naive_id)
    async with store.session() as s:
        nseats_sold = (
            await s.execute(
                select(func.count()).where(ShowSeat.show_id == naive_id, ShowSeat.status == SeatStatus.SOLD.value)
            )
        ).scalar_one()
    nsales = sum(w["sales"] for w in nworkers)
    nlast = max((w["last_sale"] for w in nworkers if w["last_sale"]), default=nstart)
    nlat = [x for w in nworkers for x in w["lat"]]
    nseconds = nlast - nstart
    naive_rate = nsales / nseconds if nseconds > 0 else None
    out = dict(
        naive_seconds=round(nseconds, 2),
        naive_tickets=ntotals.sold,
        naive_distinct_seats=ntotals.sold - ntotals.oversold,
        naive_seats_marked_sold=nseats_sold,
        naive_holds_per_s=round(naive_rate, 1) if naive_rate else None,
        naive_seats_per_s=round((ntotals.sold - ntotals.oversold) / nseconds, 1) if nseconds > 0 else None,
        naive_p50_ms=ms(pct(nlat, 50)),
        naive_p99_ms=ms(pct(nlat, 99)),
        naive_retries=sum(w["retries"] for w in nworkers),
        naive_oversold=ntotals.oversold,
        holds_vs_naive=round(result["holds_per_s"] / naive_rate, 3) if naive_rate and result["holds_per_s"] else None,
        sellout_seconds_vs_naive=round(sale_seconds / nseconds, 3) if nseconds > 0 else None,
        peak_rss_mb=round(rss_mb(), 1),
        worker_peak_rss_mb=round(max([result["worker_peak_rss_mb"]] + [w["rss_mb"] for w in nworkers]), 1),
    )
    log(f"naive: {ntotals.sold} tickets for {ntotals.sold - ntotals.oversold} seats in {nseconds:.1f}s")
    return out


async def main(args) -> dict:
    result: dict = dict(
        bench="onsale",
        fans=args.fans,
        seats=args.seats,
        processes=args.processes,
        concurrency=args.concurrency,
        buyers=args.buyers,
        database=args.database_url.split("@")[-1],
        redis=args.redis_url.split("@")[-1],
    )
    t0 = time.perf_counter()
    await ensure_database(args.database_url)
    engine = make_engine(args.database_url)
    from migrations import rebuild

    await rebuild(engine)
    await engine.dispose()
    redis = make_redis(args.redis_url)
    await redis.flushdb()
    store = Store.from_url(args.database_url, SystemClock(), pool_size=args.pool)

    org = await organizers.register_organizer(store, GUILD, ORGANIZER, "bench organizer")
    now = store.now()
    common = dict(
        organizer_id=org.id,
        seatmap_spec=seatmap(args.seats),
        artists=["Bench Act"],
        genres=[],
        starts_at=now + timedelta(days=30),
        on_sale_at=now + timedelta(days=1),  # moved to the workers' start instant after the join burst
        tiers={"Standard": PRICE},
        per_fan_limit=4,
    )
    show = await shows.create_show(store, venue_name="Bench Arena", title="On-sale", **common)
    naive = await shows.create_show(store, venue_name="Naive Arena", title="Naive baseline", **common)
    warm_up = await shows.create_show(
        store,
        venue_name="Warm-up Hall",
        title="Warm-up",
        **{**common, "seatmap_spec": seatmap(args.processes), "on_sale_at": now - timedelta(minutes=1)},
    )

    async def setup(s) -> int:
        # The naive tickets need an order to point at: one placeholder hold and order, made here.
        hold_id = (
            await s.execute(
                insert(Hold).values(
                    show_id=naive.id,
                    fan_discord_id=0,
                    quantity=0,
                    status=HoldStatus.CONVERTED.value,
                    expires_at=now,
                    created_at=now,
                )
            )
        ).inserted_primary_key[0]
        return (
            await s.execute(
                insert(Order).values(
                    show_id=naive.id,
                    fan_discord_id=0,
                    hold_id=hold_id,
                    status=OrderStatus.PAID.value,
                    amount_cents=0,
                    organizer_amount_cents=0,
                    currency="USD",
                    created_at=now,
                )
            )
        ).inserted_primary_key[0]

    naive_order = await store.transaction(setup)
    result["setup_s"] = round(time.perf_counter() - t0, 2)
    log(f"setup done in {result['setup_s']}s: show {show.id} and naive show {naive.id}, {args.seats} seats each")

    # Phase 1: the join burst, before sales open. A few joins to the naive show first (it sells without
    # a queue), so the pools and statement caches are warm and the RSS growth is the burst's own.
    await asyncio.gather(*(queue.join(store, redis, naive.id, FAN_BASE + i) for i in range(min(args.fans, args.pool))))
    heap.settle()  # as a started bot process does (bot/heap.py)
    burst = await join_burst(store, redis, show.id, args.fans, args.join_concurrency)
    in_line = await queue.line_length(redis, show.id)
    lat = burst["lat"]
    result.update(
        join_seconds=round(burst["seconds"], 2),
        joins_per_s=round(len(lat) / burst["seconds"], 1),
        join_p50_ms=ms(pct(lat, 50)),
        join_p99_ms=ms(pct(lat, 99)),
        join_max_ms=ms(max(lat) if lat else None),
        cpu_ms_per_join=round(burst["cpu"] * 1000 / len(lat), 2) if lat else None,
        in_line=in_line,
        join_errors=burst["errors"],
        rss_per_queued_fan_bytes=round(burst["rss_growth"] / in_line, 1) if in_line else None,
        redis_bytes_per_queued_fan=round(burst["redis_growth"] / in_line, 1)
        if in_line and burst["redis_growth"] is not None
        else None,
    )
    log(f"join burst: {len(lat)} joins in {burst['seconds']:.1f}s, {in_line} in line")
    del burst, lat
    await store.dispose()  # give the connections back while the workers run

    # Phase 2a: the raw anchor, on the same database, with the sale's P x concurrency connections.
    raw_rows = args.raw_rows or max(args.seats, 100_000)
    log(f"raw anchor: {args.processes} processes x {args.concurrency} connections, {raw_rows} seats")
    result.update(await raw_anchor(args, raw_rows))
    rate, rate_from = admission_rate(args, result.get("raw_holds_per_s"))
    await store.transaction(
        lambda s: s.execute(update(Show).where(Show.id == show.id).values(admission_per_minute=rate))
    )
    result.update(admission_per_minute=rate, admission_rate_from=rate_from)
    log(f"admission rate: {rate} fans/minute ({rate_from})")

    # Phase 2: the sale, P processes.
    async def open_sales(start: float) -> None:
        await shows.update_show(store, show.id, ORGANIZER, on_sale_at=datetime.fromtimestamp(start, UTC))
        await store.dispose()

    log(f"sale: starting {args.processes} workers x {args.buyers} buyers on {args.concurrency} connections each")
    parent_cpu0 = cpu_seconds()
    db0, redis0 = server_cpu_seconds(DB_SERVER), server_cpu_seconds(REDIS_SERVER)
    start, workers = await run_workers(args, "picket", show.id, {"warm_show_id": warm_up.id}, before_go=open_sales)
    sale_cpu = sum(w["cpu_s"] for w in workers) + cpu_seconds() - parent_cpu0
    db1, redis1 = server_cpu_seconds(DB_SERVER), server_cpu_seconds(REDIS_SERVER)
    totals = await stats.show_totals(store, show.id)
    holds = sum(w["holds"] for w in workers)
    purchases = sum(w["purchases"] for w in workers)
    last_hold = max((w["last_hold"] for w in workers if w["last_hold"]), default=start)
    last_purchase = max((w["last_purchase"] for w in workers if w["last_purchase"]), default=start)
    hold_lat = [x for w in workers for x in w["hold_lat"]]
    buy_lat = [x for w in workers for x in w["buy_lat"]]
    times = sorted(t for w in workers for t in w["hold_times"])
    tenth = max(1, len(times) // 10)

    def window_rate(chunk: list[float], since: float) -> float | None:
        span = chunk[-1] - since if chunk else 0
        return round(len(chunk) / span, 1) if span > 0 else None

    async with store.session() as s:
        left = dict(
            (
                await s.execute(
                    select(ShowSeat.status, func.count()).where(ShowSeat.show_id == show.id).group_by(ShowSeat.status)
                )
            ).all()
        )
    errs: Counter = Counter()
    for w in workers:
        errs.update(w["errors"])
    sale_seconds = last_purchase - start
    result.update(
        pay=args.pay,
        sale_seconds=round(sale_seconds, 2),
        holds=holds,
        purchases=purchases,
        holds_per_s=round(holds / (last_hold - start), 1) if last_hold > start else None,
        purchases_per_s=round(purchases / sale_seconds, 1) if sale_seconds > 0 else None,
        holds_first_10pct_per_s=window_rate(times[:tenth], start),
        holds_last_10pct_per_s=window_rate(times[-tenth:], times[-tenth - 1] if len(times) > tenth else start),
        hold_p50_ms=ms(pct(hold_lat, 50)),
        hold_p99_ms=ms(pct(hold_lat, 99)),
        purchase_p50_ms=ms(pct(buy_lat, 50)),
        purchase_p99_ms=ms(pct(buy_lat, 99)),
        hold_seat_unavailable=sum(w["contended_retries"] for w in workers),
        sale_errors=dict(errs),
        admitted=sum(w["admitted_by_me"] for w in workers),
        sold=totals.sold,
        oversold=totals.oversold,
        seats_left=dict(left),
        cpu_ms_per_purchase=round(sale_cpu * 1000 / purchases, 2) if purchases else None,
        sale_cpu_seconds=round(sale_cpu, 2),
        db_cpu_ms_per_purchase=per_op_ms(db0, db1, purchases),
        redis_cpu_ms_per_purchase=per_op_ms(redis0, redis1, purchases),
        batches=_batch_totals(workers),
    )
    raw = result.get("raw_holds_per_s")
    result.update(
        holds_vs_raw=round(result["holds_per_s"] / raw, 3) if raw and result["holds_per_s"] else None,
        purchases_vs_raw=round(result["purchases_per_s"] / raw, 3) if raw and result["purchases_per_s"] else None,
    )
    log(
        f"sale: {holds} holds, {purchases} purchases in {sale_seconds:.1f}s; sold {totals.sold}, oversold {totals.oversold}"
    )
    picket_rss = max(w["rss_mb"] for w in workers)
    del hold_lat, buy_lat, times, workers

    # Phase 3: the naive baseline, the same P processes x buyers on the same connections (not with --no-naive).
    result.update(peak_rss_mb=round(rss_mb(), 1), worker_peak_rss_mb=round(picket_rss, 1))
    if not args.no_naive:
        result.update(await naive_phase(args, store, naive.id, naive_order, result, sale_seconds))
    await store.dispose()
    await redis.aclose()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fans", type=int, default=100_000)
    parser.add_argument("--seats", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=4, help="bot processes selling at once")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="DB connections per worker process (its pool, no overflow), and the raw anchor's per process",
    )
    parser.add_argument(
        "--buyers", type=int, default=64, help="fans reserving per worker process (and payers; see --pay)"
    )
    parser.add_argument("--join-concurrency", type=int, default=500, help="joins in flight during the burst")
    admission = parser.add_mutually_exclusive_group()
    admission.add_argument(
        "--admit-rate",
        type=int,
        default=0,
        help="the show's admission rate, fans per minute (default: 120 x raw_holds_per_s, twice the raw anchor's rate)",
    )
    admission.add_argument(
        "--admit-seconds", type=float, default=None, help="instead of --admit-rate: every fan let in within this"
    )
    parser.add_argument("--tick", type=float, default=0.05, help="seconds between a worker's admission ticks")
    parser.add_argument(
        "--pay",
        choices=("after-rush", "at-once"),
        default="after-rush",
        help="when fans pay for their seats: once the rush for seats is over (as fans do, who take longer to pay "
        "than a sell-out lasts) or at once, each payment beside the next fans' reserves",
    )
    parser.add_argument(
        "--lead", type=float, default=1.0, help="seconds from 'all workers ready' to the on-sale instant"
    )
    parser.add_argument("--pool", type=int, default=20, help="DB pool size of this process (join burst)")
    parser.add_argument(
        "--raw-rows", type=int, default=0, help="seats in the raw anchor's table (default: max(seats, 100000))"
    )
    parser.add_argument("--raw-seconds", type=float, default=5.0, help="how long each raw anchor pass runs at most")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "mysql+aiomysql://root@127.0.0.1:3306/bench")
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline (phase 3)")
    parser.add_argument(
        "--profile", default=None, help="write a profile (cProfile, CPU time) of worker 0's sale to this file"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.worker:
        worker_main(json.loads(ns.worker))
        sys.exit(0)
    out = asyncio.run(main(ns))
    for key in SUMMARY:
        print(f"{key}: {out.get(key)}")
    print(json.dumps(out), flush=True)
