"""``picket demo``: the real bot inside SimCord, playing a show's life with simulated people.

Everything goes through Discord as a user would: slash commands, button clicks, DMs. The closing line
is read back from the store and from SimCord's record of what was delivered, never counted by this
script as it goes. Before it, one line per act (``act N name: key=value ...``) on stdout.

The story: fans follow and get alerts; the organizer creates and announces; the on-sale queue lets
fans in until the show sells out; fans who came too late join the waitlist; a few holders cancel and
the waitlist takes those seats (charged, tickets by DM); door staff check fans in; the organizer reads
the sales report. The waitlist joins come before the cancellations on purpose: a seat that comes back
while nobody waits goes straight back on sale (domain.booking.return_seats), and by then the queue
that would sell it is over, so the show would end short of sold out.
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
from bot.seed import CASTS, Cast, open_server, seed_show, speaking
from bot.settings import Settings
from domain import queue, stats
from domain.payments import SandboxGateway
from notifier.money import format_money
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


def seatmap_for(seats: int, tier: str = "Standard") -> str:
    """Rows of 10 in section A, the remainder as a short last section."""
    rows, rest = divmod(seats, 10)
    parts = [f"A:{rows}x10:{tier}"] if rows else []
    if rest:
        parts.append(f"B:1x{rest}:{tier}")
    return ", ".join(parts)


def _button_id(message, id_prefix: str) -> str | None:
    """A button of ``message`` by its custom_id (labels are in the reader's language)."""
    for row in message.components or []:
        for comp in row.get("components", []):
            if str(comp.get("custom_id", "")).startswith(id_prefix):
                return comp["custom_id"]
    return None


def act(number: int, name: str, **figures) -> None:
    """One line per act of the story, with its figures (on stdout, before the summary line)."""
    print(f"act {number} {name}: " + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


def _texts(message) -> str:
    """What a reader reads of a message: its content and embeds' titles and descriptions."""
    embeds = getattr(message, "embeds", None) or []
    return " ".join([message.content or ""] + [f"{e.title or ''} {e.description or ''}" for e in embeds])


async def play(
    *,
    fans: int = 200,
    seats: int = 100,
    out: Path | None = None,
    var_dir: Path = Path("var"),
    seed: int = 7,
    locale: str = "en",
) -> DemoResult:
    cast = CASTS[locale]
    with speaking(cast.locale):
        return await _play(fans=fans, seats=seats, out=out, var_dir=var_dir, seed=seed, cast=cast)


async def _play(*, fans: int, seats: int, out: Path | None, var_dir: Path, seed: int, cast: Cast) -> DemoResult:
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
    # A fresh ledger for a fresh database; SimCord's Discord starts with no commands: sync them once.
    bot = create_bot(settings, gateway=SandboxGateway(), sync_commands=True)
    started = time.perf_counter()
    async with simcord.run(bot, settle_timeout=30) as env:
        guild, box_office, organizer = open_server(env, cast)
        people = [
            guild.add_member(env.create_user(f"fan{i:04d}", global_name=cast.fan_name.format(i=i + 1) or None))
            for i in range(fans)
        ]
        services, jobs = bot.services, bot.jobs
        assert services is not None and jobs is not None  # the bot's setup_hook made them
        store = services.store
        replies: list[str] = []  # what fans read in the replies to their commands and clicks
        kept: dict[str, bytes] = {}  # images people saw, for --out: the seat map, the sales chart

        async def delivered() -> None:
            """Let the bot send what it queued (DMs go through the outbox) and go quiet."""
            await services.sender.idle()
            await env.settle()

        def dms_of(fans, test) -> int:
            return sum(1 for fan in fans if fan.user.dm_channel for m in fan.user.dm_channel.history() if test(m))

        # Act 1: fans follow what they like (some the headliner, some the genre, some both).
        followers = set()
        for i, fan in enumerate(people):
            if i % 3 == 0:
                await fan.slash(box_office, "follow", artist=cast.artist)
                followers.add(fan.id)
            if i % 5 == 0:
                await fan.slash(box_office, "follow", genre=cast.genre)
                followers.add(fan.id)
        act(
            1,
            "follow",
            followers=len(followers),
            artist=sum(1 for i in range(fans) if i % 3 == 0),
            genre=sum(1 for i in range(fans) if i % 5 == 0),
        )

        # Act 2: the organizer registers, creates the show through the form, and announces it; the
        # followers hear about it by DM.
        now = store.now()
        show_id = await seed_show(
            organizer,
            box_office,
            cast,
            starts=now + timedelta(days=14),
            opens=now + timedelta(minutes=10),
            seatmap=seatmap_for(seats, cast.tier),
            per_fan_limit=4,
        )
        announcement = box_office.last_message
        assert announcement is not None  # the announcement just posted
        await delivered()
        alerted = dms_of(people, lambda m: (m.content or "").startswith(ALERT_PREFIX))
        act(
            2,
            "announce",
            show=show_id,
            seats=(await stats.show_totals(store, show_id)).seats,
            on_sale_in="10min",
            alerts_dm=alerted,
        )

        # Act 3: before the open every fan presses Book and waits in the queue's lobby; at the open
        # the queue draws a random order and lets fans in at the organizer's rate, each told by DM.
        # Fans let in after the last seat went are told it sold out, with a "Join waitlist" button.
        for fan in people:
            await fan.click(announcement, custom_id=f"picket:show:book:{show_id}")
        await env.advance_time(600)
        buyers, turns_taken = [], set()
        late: dict[int, tuple] = {}  # fans who found it sold out -> (fan, the message with a "Join waitlist" button)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("queue: fans let in", total=fans)
            for _ in range(10_000):
                await env.advance_time(15)
                messaged = await jobs.admit_queues()
                await services.sender.idle()
                for fan in people:
                    if fan.id in turns_taken:
                        continue
                    inbox = fan.user.dm_channel.history()
                    last = inbox[-1] if inbox else None
                    if last is None or (last.content or "").startswith(ALERT_PREFIX):
                        continue  # an alert, not the queue speaking
                    buttons = {c.custom_id for row in (last.components or []) for c in getattr(row, "children", [])}
                    if f"picket:show:wait:{show_id}" in buttons:  # sold out while waiting: offered the waitlist
                        turns_taken.add(fan.id)
                        late[fan.id] = (fan, last)
                        progress.advance(task)
                        continue
                    if f"picket:show:book:{show_id}" not in buttons:
                        continue  # not a "your turn" DM (a reminder, a ticket)
                    turns_taken.add(fan.id)
                    progress.advance(task)
                    turn = await fan.user.click(last, custom_id=f"picket:show:book:{show_id}")
                    seats_button = _button_id(turn.response, f"picket:queue:seats:{show_id}")
                    if seats_button is None:  # let in as the last seats went: "sold out, you can join the waitlist"
                        late[fan.id] = (fan, announcement)
                        continue
                    await fan.user.click(turn.response, custom_id=seats_button)
                    if out is not None and turn.response.attachments:  # the seat map this fan picked from
                        kept["seatmap.png"] = await turn.response.attachments[0].read()
                    quantity = str(rng.choice((1, 1, 2)))
                    await fan.user.select(turn.response, [quantity], custom_id=f"picket:book:{show_id}:4")
                    replies.append(_texts(turn.response))  # the reservation, with the cancellation policy
                    pay = _button_id(turn.response, "picket:hold:pay:")
                    if pay:
                        await fan.user.click(turn.response, custom_id=pay)
                        replies.append(_texts(turn.response))  # the paid order
                        buyers.append(fan)
                    else:  # fewer seats left than asked for
                        late[fan.id] = (fan, announcement)
                if not messaged and len(turns_taken) == len(people):
                    break
                if not messaged and not await queue.active_shows(services.redis):
                    break
        await delivered()
        totals = await stats.show_totals(store, show_id)
        act(
            3,
            "on-sale",
            queued=fans,
            admitted=len(await queue.admission_order(services.redis, show_id)),
            buyers=len(buyers),
            sold=f"{totals.sold}/{totals.seats}",
        )
        act(
            4,
            "sold-out" if totals.sold == totals.seats else "not-sold-out",
            sold=f"{totals.sold}/{totals.seats}",
            too_late=len(late),
        )

        # Act 5: fans who came too late press "Join waitlist" (취소표 대기), in the DM that told them it
        # sold out or on the announcement: their card is authorised now, charged only if a seat comes
        # back to them. All of this happens before any holder cancels: a seat that comes back while
        # nobody waits goes straight back on sale, and the queue that would sell it is over.
        waiting = []
        for fan, message in late.values():
            if rng.random() < 0.4:
                continue  # not that keen
            press = fan.user.click if message is not announcement else fan.click
            joined = await press(message, custom_id=f"picket:show:wait:{show_id}")
            replies.append(_texts(joined.response))
            waiting.append(fan)
        report = await stats.sales_report(store, show_id)
        act(5, "waitlist", joined=report.waitlist_waiting, pressed=len(waiting))

        # Act 6: a few ticket holders cancel (refunded as the policy says). Each cancelled seat is kept
        # for the waitlist, whose next fan is booked and charged automatically and gets the ticket by DM.
        cancelled = []
        for fan in rng.sample(buyers, k=min(len(buyers), max(1, len(buyers) // 20))):
            listing = await fan.slash(box_office, "ticket list")
            replies.append(_texts(listing.response))
            first = (
                (listing.response.embeds[0].fields[0].name or "")
                if listing.response and listing.response.embeds
                else ""
            )
            if first.startswith("#"):
                done = await fan.slash(box_office, "ticket cancel", ticket=int(first[1:].split(" ")[0]))
                replies.append(_texts(done.response))
                cancelled.append(fan)
        await delivered()
        totals = await stats.show_totals(store, show_id)
        promoted_fans = [
            fan
            for fan in waiting
            if dms_of([fan], lambda m: any(a.filename.startswith("ticket-") for a in m.attachments))
        ]
        act(
            6,
            "cancel",
            cancelled=len(cancelled),
            promoted=totals.promoted,
            ticket_dms_to_waitlist=len(promoted_fans),
            still_waiting=(await stats.sales_report(store, show_id)).waitlist_waiting,
            sold=f"{totals.sold}/{totals.seats}",
        )

        # Act 7: doors open. The organizer names door staff; fans show a fresh QR, staff scan a photo.
        door = guild.add_member(env.create_user("door"))
        await organizer.slash(box_office, "show staff", show=show_id, member=door)
        holders = [fan for fan in buyers if fan not in cancelled] + promoted_fans
        scanned = 0
        for fan in dict.fromkeys(promoted_fans[:1] + holders[::3]):  # a promoted fan among them
            listing = await fan.slash(box_office, "ticket list")
            first = (
                (listing.response.embeds[0].fields[0].name or "")
                if listing.response and listing.response.embeds
                else ""
            )
            if not first.startswith("#"):
                continue  # this fan cancelled their only ticket
            await fan.slash(box_office, "ticket show", ticket=int(first[1:].split(" ")[0]))
            code_dm = fan.user.dm_channel.history()[-1]
            if code_dm.attachments:
                await door.slash(
                    box_office, "checkin", show=show_id, photo=("qr.png", await code_dm.attachments[0].read())
                )
                scanned += 1
        totals = await stats.show_totals(store, show_id)
        act(7, "doors", scanned=scanned, checked_in=totals.checked_in)

        # Act 8: the organizer reads the sales report (per tier, revenue, refunds, waitlist, chart).
        sales = await organizer.slash(box_office, "show sales", show=show_id)
        if out is not None and sales.response and sales.response.attachments:
            kept["sales.png"] = await sales.response.attachments[0].read()
        report = await stats.sales_report(store, show_id)
        act(
            8,
            "sales",
            revenue=format_money(report.revenue_cents, cast.currency, "en"),
            refunded=format_money(report.refunded_cents, cast.currency, "en"),
            waitlist=report.waitlist_waiting,
        )

        # The summary: the store's counts and SimCord's record of delivered DMs.
        totals = await stats.show_totals(store, show_id)
        tickets_dm = alerts_dm = dms = dms_in_hangul = 0
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name, image in kept.items():
                (out / name).write_bytes(image)
        for fan in people:
            for message in fan.user.dm_channel.history():
                dms += 1
                dms_in_hangul += cast.in_its_language(_texts(message))
                images = [a for a in message.attachments if a.filename.startswith("ticket-")]
                tickets_dm += len(images)
                if out is not None:
                    for a in images:
                        (out / f"{fan.name}-{a.filename}").write_bytes(await a.read())
                if (message.content or "").startswith(ALERT_PREFIX):
                    alerts_dm += 1
    console.print(f"played in {time.perf_counter() - started:.1f}s")
    if cast.locale != "en-US":  # what the fans read, checked by tests/test_cli.py
        korean = sum(cast.in_its_language(text) for text in replies)
        console.print(
            f"language {cast.locale}: replies_in_hangul={korean}/{len(replies)} dms_in_hangul={dms_in_hangul}/{dms}",
            soft_wrap=True,
        )
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


def run_demo(fans: int, seats: int, out: Path | None, locale: str = "en") -> int:
    result = asyncio.run(play(fans=fans, seats=seats, out=out, locale=locale))
    print(result.line(), flush=True)
    return 0 if result.oversold == 0 else 1
