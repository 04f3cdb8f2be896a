"""The process the fault test kills: a real Picket bot (unmodified discord.py, the real sender,
recovery and jobs) that books for a crowd of fans and sends their DMs, through discord.py's HTTP
client, to the recording stand-in for Discord that lives in the test's process.

Fans act the way they would in Discord, with the same domain calls the cogs make: join the queue,
wait to be let in, reserve, pay; some walk away from a hold (or go home when it sold out before
their turn); some join the waitlist once the show is sold out (the waitlist is refused before), and
some buyers cancel a ticket once those are waiting, which is how the waitlist gets its seats. Each fan's next step is read from the store, so after a restart every fan
picks up where the crash left them (a fan whose Pay click died presses Pay again, as a fan would).

Time runs ``SPEED`` times faster than the wall clock (``ScaledClock``, its origin kept in a file so
restarts share it): 5-minute holds, the outbox lease and recovery's in-flight grace all pass within
seconds, so expiry and recovery happen during the test.

Prints READY once logged in and recovered, DONE when every fan is finished and nothing is pending.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp.abc import AbstractResolver
from sqlalchemy import func, select

from bot.app import create_bot
from bot.settings import Settings
from domain import cancellations, errors, orders, queue, waitlist
from domain.models import Hold, Order, OutboxMessage, Payment, Ticket, WaitlistEntry
from domain.payments import SandboxGateway
from domain.store import Store

SPEED = 40.0
BUYERS = range(1, 25)  # quantity 1 or 2 (36 seats in all); every third one cancels a ticket once the waitlist is full
WALKAWAYS = range(25, 28)  # hold one seat and never pay: the hold must lapse and the seat return
WAITLISTERS = range(28, 36)  # one seat each from the waitlist: the 8 cancelled tickets
SEATMAP = "A:6x6:Standard"  # 36 seats: the buyers sell it out, then the waitlist gets the cancelled ones
FAN_BASE = 500_000


def fan_id(n: int) -> int:
    return FAN_BASE + n


def quantity(n: int) -> int:
    return 1 + n % 2


def cancels(n: int) -> bool:
    return n in BUYERS and n % 3 == 0


class ScaledClock:
    """UTC time running ``speed`` times faster than the wall clock from an origin kept in a file."""

    def __init__(self, origin_file: Path, speed: float = SPEED):
        if not origin_file.exists():
            origin_file.write_text(json.dumps({"wall": time.time(), "base": datetime.now(UTC).isoformat()}))
        origin = json.loads(origin_file.read_text())
        self.wall0, self.base, self.speed = origin["wall"], datetime.fromisoformat(origin["base"]), speed

    def now(self) -> datetime:
        return self.base + timedelta(seconds=(time.time() - self.wall0) * self.speed)


class ToStandIn(AbstractResolver):
    """Resolves every host (discord.com) to the stand-in on loopback."""

    def __init__(self, port: int):
        self.port = port

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": self.port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


STATE: dict[int, str] = {}  # each unfinished fan's last step, for the reporter when a run hangs


async def reporter() -> None:
    """Every few seconds, what each fan still in the sale last did (stderr): a hang names its fan."""
    while True:
        await asyncio.sleep(5)
        if STATE:
            print(f"fans still going: {dict(sorted(STATE.items()))}", file=sys.stderr, flush=True)


async def one(store: Store, q):
    async with store.session() as s:
        return (await s.execute(q)).scalar_one_or_none()


async def buyer(store, redis, gateway, show_id: int, n: int) -> None:
    fan = fan_id(n)
    while True:
        order = await one(
            store, select(Order).where(Order.fan_discord_id == fan, Order.status.in_(("paid", "refunded"))).limit(1)
        )
        if order is not None:
            break
        hold = await one(
            store,
            select(Hold.id)
            .where(Hold.fan_discord_id == fan, Hold.status == "active", Hold.expires_at > store.now())
            .order_by(Hold.id.desc())
            .limit(1),
        )
        try:
            if hold is None:
                state = await queue.join(store, redis, show_id, fan)
                STATE[n] = f"queue:{state.state}"
                if state.state != "admitted":
                    await asyncio.sleep(0.05)
                    continue
                hold = (await queue.reserve(store, redis, show_id=show_id, fan_id=fan, quantity=quantity(n))).id
            STATE[n] = f"pay:{hold}"
            await orders.purchase(store, gateway, hold_id=hold, fan_id=fan)
        except (errors.SoldOut, errors.SeatUnavailable, errors.NotAdmitted, errors.HoldExpired) as exc:
            STATE[n] = type(exc).__name__
            await asyncio.sleep(0.1)  # seats come back (cancellations, lapsed holds): try again
        except errors.PaymentDeclined:
            STATE[n] = "PaymentDeclined"
            await asyncio.sleep(0.05)  # a payment recovery gave up: reserve again
        except errors.DomainError as exc:
            STATE[n] = type(exc).__name__
            await asyncio.sleep(0.1)  # e.g. the provider did not answer: press Pay again
    STATE[n] = "paid"
    if cancels(n):
        while await one(store, select(func.count()).select_from(WaitlistEntry)) < len(WAITLISTERS):  # noqa: ASYNC110  (rows other processes write)
            await asyncio.sleep(0.1)  # the show sells out and the waitlist fills first
        revoked = await one(
            store,
            select(func.count()).select_from(Ticket).where(Ticket.holder_discord_id == fan, Ticket.status == "revoked"),
        )
        if not revoked:
            first = await one(
                store,
                select(Ticket.id)
                .where(Ticket.holder_discord_id == fan, Ticket.status == "valid")
                .order_by(Ticket.id)
                .limit(1),
            )
            await cancellations.cancel_ticket(
                store, gateway, ticket_id=first, fan_id=fan
            )  # as /ticket cancel does: the waitlist promoted too
    STATE.pop(n, None)


async def walkaway(store, redis, show_id: int, n: int) -> None:
    fan = fan_id(n)
    while not await one(store, select(func.count()).select_from(Hold).where(Hold.fan_discord_id == fan)):
        try:
            state = await queue.join(store, redis, show_id, fan)
            STATE[n] = f"walkaway queue:{state.state}"
            if state.state == "admitted":
                await queue.reserve(store, redis, show_id=show_id, fan_id=fan, quantity=1)
                break
        except errors.SoldOut:
            if await queue.sold_out(store, show_id):
                break  # sold out before their turn: they go home
        except errors.DomainError as exc:
            STATE[n] = f"walkaway {type(exc).__name__}"
        await asyncio.sleep(0.05)
    STATE.pop(n, None)


async def waitlister(store, gateway, show_id: int, n: int) -> None:
    while True:
        if await one(
            store, select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.fan_discord_id == fan_id(n))
        ):
            break  # joined in an earlier run (and perhaps promoted since): a fan joins once
        try:
            await waitlist.join_waitlist(store, show_id=show_id, fan_id=fan_id(n), quantity=1, gateway=gateway)
            break
        except errors.QueueFirst:
            STATE[n] = "waitlister: still on sale"
            await asyncio.sleep(0.1)  # still on sale: the waitlist opens once it is sold out
    STATE.pop(n, None)


async def finished(store: Store) -> bool:
    """Every fan's story has ended and nothing is left pending anywhere."""

    async def count(model, *where) -> int:
        async with store.session() as s:
            return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()

    left = {
        "payments": await count(Payment, Payment.status == "pending"),
        "dms": await count(OutboxMessage, OutboxMessage.status == "pending"),
        "holds": await count(Hold, Hold.status == "active"),
        "unpromoted": await count(WaitlistEntry, WaitlistEntry.status != "promoted"),
        "missing_entries": len(WAITLISTERS) - await count(WaitlistEntry),
    }
    print(f"waiting for: {left}", file=sys.stderr, flush=True)
    return not any(left.values())


async def ticker(bot, stopping: asyncio.Event) -> None:
    """The scheduler's jobs, at test speed, until ``stopping`` is set. It stops between ticks, never
    inside one: a task cancelled inside a transaction leaves SQLAlchemy's aiosqlite connection a
    close task that never ends, and asyncio.run then hangs at exit."""
    while not stopping.is_set():
        try:
            await bot.jobs.admit_queues()
            await bot.jobs.recover()
        except Exception as exc:  # a database hiccup: the next tick tries again
            print(f"tick failed: {exc!r}", file=sys.stderr, flush=True)
        await asyncio.sleep(0.1)


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--redis", default="")
    p.add_argument("--var", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--show", type=int, required=True)
    args = p.parse_args()
    var = Path(args.var)
    store = Store.from_url(args.db, ScaledClock(var / "clock.json"), pool_size=20)
    gateway = SandboxGateway(var / "provider.sqlite3")
    settings = Settings(
        _env_file=None,
        database_url=args.db,
        redis_url=args.redis or None,  # none: fakeredis in this process, lost at every kill
        instance_id="fault-worker",
        metrics_port=-1,
        scheduler_enabled=False,
        outbox_poll_seconds=0.2,
        var_dir=var,
        shard_count=1,
    )
    connector = aiohttp.TCPConnector(resolver=ToStandIn(args.port), ssl=False)
    bot = create_bot(settings, store=store, gateway=gateway, connector=connector)
    await bot.login("stand-in-token")  # setup_hook: recovery, then the sender starts
    print("READY", flush=True)
    services = bot.services
    stopping = asyncio.Event()
    tick = asyncio.create_task(ticker(bot, stopping))
    report = asyncio.create_task(reporter())
    await asyncio.gather(
        *(buyer(store, services.redis, gateway, args.show, n) for n in BUYERS),
        *(walkaway(store, services.redis, args.show, n) for n in WALKAWAYS),
        *(waitlister(store, gateway, args.show, n) for n in WAITLISTERS),
    )
    print("FANS DONE", flush=True)
    while not await finished(store):
        services.sender.kick()
        await asyncio.sleep(0.1)
    await services.sender.idle()
    print("DONE", flush=True)
    stopping.set()
    await tick
    report.cancel()
    await bot.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
