"""Kill the bot with SIGKILL, again and again, in the middle of an on-sale: nothing is lost or doubled.

The process that books and sends (tests/fault_worker.py: the real bot, its sender, recovery and
jobs) is killed at random moments at least ten times and started again. What Discord received is
recorded here, outside that process, by tests/discord_standin.py. Afterwards:
- no seat is sold twice, and every paid order has its tickets;
- money adds up: what the provider charged, less what it refunded, is what the live tickets cost;
- every ticket DM reached its fan exactly once (resends after a crash were folded by their nonce);
- no hold is left past its expiry, and every fan's story ended (bought, cancelled, walked away,
  promoted from the waitlist).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from domain import organizers, shows, venues
from domain.models import Hold, Order, OutboxMessage, Ticket, WaitlistEntry
from domain.payments import SandboxGateway
from domain.store import Store
from tests import backends
from tests.discord_standin import DiscordStandIn
from tests.fault_worker import BUYERS, SEATMAP, WAITLISTERS, WALKAWAYS, ScaledClock, cancels, fan_id, quantity

REPO = Path(__file__).resolve().parents[1]
KILLS = 12


async def _spawn(args: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fault_worker",
        *args,
        cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def test_sigkill_during_an_on_sale_loses_and_doubles_nothing(store, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    clock = ScaledClock(var / "clock.json")
    fast = Store(store.engine, clock)
    org = await organizers.register_organizer(fast, 1000, 1, "Organizer")
    venue = await venues.create_venue(fast, org.id, "The Hall", SEATMAP)
    show = await shows.create_show(
        fast,
        organizer_id=org.id,
        venue_id=venue.id,
        title="Night Shift",
        artists=["The Nightjars"],
        genres=["indie"],
        starts_at=clock.now() + timedelta(days=30),
        on_sale_at=clock.now() - timedelta(minutes=1),
        tiers={"Standard": 4500},
        per_fan_limit=4,
        admission_per_minute=4,  # about one fan every 0.4 s of live time: the sale outlasts the kills
    )
    await backends.flush_redis()

    standin = DiscordStandIn()
    port = await standin.start()
    args = [
        "--db",
        backends.database_url(),
        "--redis",
        backends.REDIS_URL or "",
        "--var",
        str(var),
        "--port",
        str(port),
        "--show",
        str(show.id),
    ]
    rng = random.Random(20261125)
    kills = 0
    logs: list[str] = []
    try:
        while kills < KILLS:
            proc = await _spawn(args)
            if rng.random() < 0.25:  # during start-up and recovery
                await asyncio.sleep(rng.uniform(0.3, 1.5))
            else:  # mid-sale: booking, paying, sending
                try:
                    await asyncio.wait_for(proc.stdout.readuntil(b"READY\n"), timeout=30)
                except (TimeoutError, asyncio.IncompleteReadError):
                    pass
                await asyncio.sleep(rng.uniform(0.1, 1.0))
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            out, err = await proc.communicate()
            logs.append(err.decode()[-2000:])
            if b"DONE" in out:
                break  # the sale finished before this kill: the rest were done across restarts
        proc = await _spawn(args)  # the last run finishes whatever is left
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(), timeout=300
            )  # a hang guard; a loaded box is slow, not wrong
        except TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
        assert proc.returncode == 0 and b"DONE" in out, err.decode()[-4000:]
    finally:
        await standin.stop()
        await backends.flush_redis()
    assert kills >= 10, f"only {kills} kills landed before the sale finished"

    async with fast.session() as s:
        live = (await s.execute(select(Ticket).where(Ticket.status != "revoked"))).scalars().all()
        every_ticket = (await s.execute(select(Ticket))).scalars().all()
        orders = (await s.execute(select(Order))).scalars().all()
        holds_quantity = dict((await s.execute(select(Hold.id, Hold.quantity))).all())
        overdue = (
            await s.execute(
                select(func.count()).select_from(Hold).where(Hold.status == "active", Hold.expires_at <= clock.now())
            )
        ).scalar_one()
        entries = dict((await s.execute(select(WaitlistEntry.fan_discord_id, WaitlistEntry.status))).all())
        ticket_dms = (
            (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "tickets_issued"))).scalars().all()
        )
        unsent = (
            await s.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
        ).scalar_one()

    # No seat sold twice.
    seats = Counter(t.show_seat_id for t in live)
    assert seats and max(seats.values()) == 1, "a seat has two live tickets"
    # Every paid order has its tickets (one per seat held), and only paid orders have tickets.
    tickets_by_order = Counter(t.order_id for t in every_ticket)
    for order in orders:
        if order.status in ("paid", "refunded"):
            assert tickets_by_order[order.id] == holds_quantity[order.hold_id], f"order {order.id} is missing tickets"
        else:
            assert tickets_by_order[order.id] == 0
    # Money: charged - refunded == the price of the live tickets.
    provider = SandboxGateway(var / "provider.sqlite3")
    charged = provider.charged_total
    refunded = sum(amount for result, _, amount in provider.refunds.values() if result.ok)
    assert charged - refunded == sum(t.price_cents for t in live), (charged, refunded)
    # Every fan's story ended.
    holders = Counter(t.holder_discord_id for t in live)
    for n in BUYERS:
        assert holders[fan_id(n)] == quantity(n) - cancels(n), f"fan {n}"
    for n in WAITLISTERS:
        assert entries[fan_id(n)] == "promoted" and holders[fan_id(n)] == 1
    for n in WALKAWAYS:
        assert holders[fan_id(n)] == 0
    assert overdue == 0 and unsent == 0
    # Every ticket DM reached its fan exactly once.
    created = standin.recorder.created_by_nonce()
    assert all(len(msgs) == 1 for msgs in created.values()), "Discord created two messages for one outbox row"
    for row in ticket_dms:
        msgs = created.get(f"pk{row.id}", [])
        assert len(msgs) == 1 and msgs[0].recipient_id == row.recipient_discord_id, (
            f"ticket DM {row.id}: {len(msgs)} delivered"
        )
        # A QR card per ticket live when it was sent: every ticket live now, perhaps one cancelled since.
        cards = set(msgs[0].attachments)
        order_id = row.payload["order_id"]
        assert (
            {f"ticket-{t.id}.png" for t in live if t.order_id == order_id}
            <= cards
            <= {f"ticket-{t.id}.png" for t in every_ticket if t.order_id == order_id}
        )
    assert len(ticket_dms) == sum(1 for o in orders if o.status in ("paid", "refunded"))
    resent = sum(n - 1 for n in standin.recorder.posts_by_nonce.values() if n > 1)
    print(
        f"fault test: kills={kills} orders={len(orders)} live_tickets={len(live)} dms={len(standin.recorder.messages)} resends={resent} folded_by_nonce={standin.recorder.folded}"
    )
