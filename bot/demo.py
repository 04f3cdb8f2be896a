"""``picket demo``: the real bot inside SimCord, playing a show's life with simulated people.

Everything goes through Discord as a user would: slash commands, button clicks, DMs. The closing line
is read back from the store and from SimCord's record of what was delivered, never counted by this
script as it goes.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import simcord
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.app import create_bot
from domain.payments import SandboxGateway
from bot.settings import Settings
from domain import queue, stats
from notifier.render import ALERT_PREFIX

console = Console(stderr=True)


@dataclass
class DemoResult:
    fans: int
    seats: int
    sold: int
    oversold: int
    tickets_dm: int
    alerts_dm: int
    promoted: int
    checked_in: int

    def line(self) -> str:
        return (
            f"demo: fans={self.fans} seats={self.seats} sold={self.sold} oversold={self.oversold} "
            f"tickets_dm={self.tickets_dm} alerts_dm={self.alerts_dm} promoted={self.promoted} checked_in={self.checked_in}"
        )


def seatmap_for(seats: int) -> str:
    """Rows of 10 in section A, the remainder as a short last section."""
    rows, rest = divmod(seats, 10)
    parts = [f"A:{rows}x10:Standard"] if rows else []
    if rest:
        parts.append(f"B:1x{rest}:Standard")
    return ", ".join(parts)


def _button_id(message, label_prefix: str) -> str | None:
    for row in message.components or []:
        for comp in row.get("components", []):
            if str(comp.get("label", "")).startswith(label_prefix):
                return comp["custom_id"]
    return None


async def play(*, fans: int = 200, seats: int = 100, out: Path | None = None, var_dir: Path = Path("var"), seed: int = 7) -> DemoResult:
    var_dir.mkdir(parents=True, exist_ok=True)
    db = var_dir / "demo.sqlite3"
    for leftover in var_dir.glob("demo.sqlite3*"):
        leftover.unlink()
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{db.resolve()}",
        redis_url=None,
        shard_count=1,
        outbox_poll_seconds=60.0,
        scheduler_enabled=False,
        dm_pacing_enabled=False,
        metrics_port=-1,
        var_dir=var_dir,
    )
    rng = random.Random(seed)
    bot = create_bot(settings, gateway=SandboxGateway())  # a fresh ledger for a fresh database
    started = time.perf_counter()
    async with simcord.run(bot, settle_timeout=30) as env:
        import discord

        guild = env.create_guild("Picket Live")
        box_office = guild.create_text_channel("box-office")
        admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
        organizer = guild.add_member(env.create_user("organizer"), roles=[admins])
        people = [guild.add_member(env.create_user(f"fan{i:04d}")) for i in range(fans)]
        store = bot.services.store

        # Act 1: fans follow what they like (some the headliner, some the genre, some both).
        for i, fan in enumerate(people):
            if i % 3 == 0:
                await fan.slash(box_office, "follow", artist="The Nightjars")
            if i % 5 == 0:
                await fan.slash(box_office, "follow", genre="indie")

        # Act 2: the organizer registers, creates the show through the form, and announces it.
        await organizer.slash(box_office, "organizer register")
        form = await organizer.slash(box_office, "show create", genres="indie", per_fan_limit=4)
        now = store.now()
        created = await organizer.submit_modal(
            form,
            {
                "title": "Midnight Static",
                "artists": "The Nightjars",
                "when": f"{now + timedelta(days=14):%Y-%m-%d %H:%M}\n{now + timedelta(minutes=10):%Y-%m-%d %H:%M}",
                "venue": f"Picket Hall\n{seatmap_for(seats)}",
                "tiers": "Standard=45",
            },
        )
        show_id = int(created.response.content.split("#")[1].split(".")[0])
        await organizer.slash(box_office, "show announce", show=show_id, channel=box_office)
        announcement = box_office.last_message
        console.print(f"[bold]show #{show_id}[/] Midnight Static: {seats} seats, on sale in 10 minutes, announced")

        # Act 3: before the open every fan presses Book and waits in the queue's lobby; at the open
        # the queue draws a random order and lets fans in at the organizer's rate, each told by DM.
        for fan in people:
            await fan.click(announcement, label="Book")
        await env.advance_time(600)
        buyers, turns_taken = [], set()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("queue: fans let in", total=fans)
            for _ in range(10_000):
                await env.advance_time(15)
                messaged = await bot.jobs.admit_queues()
                await bot.services.sender.idle()
                for fan in people:
                    if fan.id in turns_taken:
                        continue
                    dms = fan.user.dm_channel.history()
                    last = dms[-1] if dms else None
                    buttons = {c.custom_id for row in (last.components if last else []) for c in getattr(row, "children", [])}
                    if f"picket:show:wait:{show_id}" in buttons:  # sold out while waiting: offered the waitlist
                        turns_taken.add(fan.id)
                        progress.advance(task)
                        continue
                    if f"picket:show:book:{show_id}" not in buttons or not (last.content or "").startswith("🎫"):
                        continue  # not a "your turn" DM (an alert, a ticket)
                    turns_taken.add(fan.id)
                    progress.advance(task)
                    turn = await fan.user.click(last, label="Book")
                    if _button_id(turn.response, "Choose seats") is None:
                        continue
                    await fan.user.click(turn.response, label="Choose seats")
                    quantity = str(rng.choice((1, 1, 2)))
                    await fan.user.select(turn.response, [quantity], custom_id=f"picket:book:{show_id}:4")
                    pay = _button_id(turn.response, "Pay")
                    if pay:
                        await fan.user.click(turn.response, custom_id=pay)
                        buyers.append(fan)
                if not messaged and len(turns_taken) == len(people):
                    break
                if not messaged and not await queue.active_shows(bot.services.redis):
                    break
        await env.settle()

        # Act 4: a few fans cancel their tickets (refunded; the seat goes back on sale).
        for fan in rng.sample(buyers, k=min(len(buyers), max(1, len(buyers) // 20))):
            listing = await fan.slash(box_office, "ticket list")
            first = listing.response.embeds[0].fields[0].name if listing.response.embeds else ""
            if first.startswith("#"):
                await fan.slash(box_office, "ticket cancel", ticket=int(first[1:].split(" ")[0]))
        await env.settle()

        # Act 5: doors open. The organizer names door staff; fans show a fresh QR, staff scan a photo.
        door = guild.add_member(env.create_user("door"))
        await organizer.slash(box_office, "show staff", show=show_id, member=door)
        for fan in buyers[: max(1, len(buyers) // 3)]:
            listing = await fan.slash(box_office, "ticket list")
            first = listing.response.embeds[0].fields[0].name if listing.response.embeds else ""
            if not first.startswith("#"):
                continue  # this fan cancelled
            await fan.slash(box_office, "ticket show", ticket=int(first[1:].split(" ")[0]))
            code_dm = fan.user.dm_channel.history()[-1]
            if code_dm.attachments:
                await door.slash(box_office, "checkin", show=show_id, photo=("qr.png", await code_dm.attachments[0].read()))

        # The summary: the store's counts and SimCord's record of delivered DMs.
        totals = await stats.show_totals(store, show_id)
        tickets_dm = alerts_dm = 0
        for fan in people:
            for message in fan.user.dm_channel.history():
                images = [a for a in message.attachments if a.filename.startswith("ticket-")]
                tickets_dm += len(images)
                if out is not None:
                    out.mkdir(parents=True, exist_ok=True)
                    for a in images:
                        (out / f"{fan.name}-{a.filename}").write_bytes(await a.read())
                if (message.content or "").startswith(ALERT_PREFIX):
                    alerts_dm += 1
    console.print(f"played in {time.perf_counter() - started:.1f}s")
    return DemoResult(
        fans=fans,
        seats=totals.seats,
        sold=totals.sold,
        oversold=totals.oversold,
        tickets_dm=tickets_dm,
        alerts_dm=alerts_dm,
        promoted=totals.promoted,
        checked_in=totals.checked_in,
    )


def run_demo(fans: int, seats: int, out: Path | None) -> int:
    result = asyncio.run(play(fans=fans, seats=seats, out=out))
    print(result.line(), flush=True)
    return 0 if result.oversold == 0 else 1
