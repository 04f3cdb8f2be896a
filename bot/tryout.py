"""``picket try``: the real bot inside SimCord, served to a browser for a person to play with.

A seeded server (an organizer, a handful of fans, door staff, one show announced and going on sale
within minutes) is shown through SimCord's own preview (``simcord[preview]``): a Discord-like page
with the channel, its messages and buttons, and a composer for slash commands. Everything a click
or a command does goes through discord.py's real command tree, as in ``picket demo`` and the tests.

What ``picket try`` adds around SimCord's preview, without changing SimCord (the seeded world is
bot/try_world.py, the page server bot/try_switchboard.py; this module is the session that joins
them, its clock, and the command):

- **People and places.** A SimCord preview shows one channel; its "Viewing as" switch changes the
  member looking at it, and a DM can only be shown to its owner in a preview of its own. The
  switchboard serves the page at one stable loopback address and puts a bar above SimCord's
  toolbar: where (the box office channel, or the DMs) and who (the organizer, each fan, door staff,
  with a count of DMs not yet read). Changing the viewer in the channel is SimCord's own switch;
  going to someone's DMs (or back) closes the preview and opens one on that place, and the page
  reloads itself. Every other request is passed to the current preview as it is.
- **Wall-clock time.** SimCord runs a virtual clock that moves only when asked. A ticker moves it
  with the wall clock, once a second, and runs the timed jobs (queue admission, lapsed holds,
  reminders) that APScheduler runs in production, then republishes the page when a message of the
  channel it shows was added or changed, so the on-sale "in two minutes" happens two real minutes
  later and a DM sent by the outbox appears without pressing Refresh.
- **One actor at a time.** SimCord takes one operation at a time (a click, ``advance_time``, a
  refresh); the switchboard and the ticker take turns through one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.seed import CASTS, Cast, speaking
from bot.settings import Settings
from bot.try_switchboard import (
    BAR_DMS,
    BAR_HINT,
    BAR_ON_SALE,
    BAR_OPENS,
    BAR_TITLE,
    BAR_UNREAD,
    BAR_WHERE,
    BAR_WHO,
    Switchboard,
)
from bot.try_world import ON_SALE_IN, PEOPLE, Person, Seeded, seed
from notifier.i18n import translate

if TYPE_CHECKING:  # dev extras (simcord[preview] brings aiohttp's server side): imported where used
    import simcord

    from bot.app import PicketBot

log = logging.getLogger("picket.try")


# --- the ticker: SimCord's clock follows the wall clock ------------------------------------------


class WallClock:
    """Once a ``tick``: move the simulated clock to where the wall clock says it is, run the timed
    jobs that are due, let the bot finish what they started, and republish the page if a message of
    the channel it shows was added or edited meanwhile."""

    JOBS = (("admit_queues", 1.0), ("recover", 5.0), ("send_due_notices", 30.0))

    def __init__(self, session: TrySession, tick: float = 1.0):
        self.session = session
        self.tick = tick
        self._origin: tuple[datetime, float] | None = None
        self._due: dict[str, float] = {}
        self.steps = 0

    def start(self) -> None:
        self._origin = (self.session.env.now(), time.perf_counter())

    def wall_now(self) -> datetime:
        assert self._origin is not None, "start() first"
        simulated, real = self._origin
        return simulated + timedelta(seconds=time.perf_counter() - real)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                async with self.session.lock:
                    await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a playground keeps going; the page shows the bot's own errors
                log.exception("picket try: a tick failed")

    async def step(self) -> None:
        env, jobs = self.session.env, self.session.bot.jobs
        behind = (self.wall_now() - env.now()).total_seconds()
        if behind > 0.01:
            await env.advance_time(behind)
        now = time.perf_counter()
        for name, every in self.JOBS:
            if self._due.get(name, 0.0) <= now:
                self._due[name] = now + every
                await getattr(jobs, name)()
        await env.settle()
        self.steps += 1
        await self.session.republish_if_changed()


# --- the session ---------------------------------------------------------------------------------


@dataclass
class TrySession:
    env: simcord.Env
    bot: PicketBot
    cast: Cast
    seeded: Seeded
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    preview: simcord.Preview | None = None
    where: str = "channel"
    who: str = "fan-1"
    generation: int = 0
    switchboard: Switchboard | None = None
    clock: WallClock | None = None
    _seen_dms: dict[str, int] = field(default_factory=dict)
    _published: tuple = ()

    @property
    def lang(self) -> str:
        return "ko" if self.cast.locale == "ko" else "en"

    @property
    def url(self) -> str:
        assert self.switchboard is not None, "open_try() sets it"
        return self.switchboard.url

    def say(self, text: str, **params) -> str:
        return translate(self.cast.locale, text, **params)

    @contextlib.asynccontextmanager
    async def turn(self):
        """For code that drives people itself (tests): SimCord's operations, one at a time."""
        async with self.lock:
            yield

    # -- places

    def dm_count(self, person: Person) -> int:
        backend = self.env.backend
        channel = backend.dm_channels.get(person.id)
        return len(backend.messages.get(channel, {})) if channel is not None else 0

    def shown_fingerprint(self) -> tuple:
        """Changes when a message is added to, removed from or edited in the channel shown now."""
        assert self.preview is not None, "a view is open"
        found = self.env.backend.messages.get(self.preview.channel.id, {})
        return (len(found), max(found, default=0), max((m.edited_timestamp or "" for m in found.values()), default=""))

    def published(self) -> None:
        """The page shows the channel as it is now (it was just opened, or an action republished it)."""
        self._published = self.shown_fingerprint()

    async def republish_if_changed(self) -> None:
        """Republish when something other than the page's own actions changed the channel shown (a
        DM from the outbox, a queue turn). Only then: each publication is a new revision, and a click
        made on the one before is refused by SimCord as stale (the person clicks again)."""
        if self.preview is not None and self.shown_fingerprint() != self._published:
            await self.preview.refresh()
            self.published()

    async def open_view(self, who: str, where: str) -> None:
        """Close the preview shown now and open one on ``where`` as ``who`` (call with the lock held)."""
        person = self.seeded.person(who)
        if self.preview is not None:
            await self.preview.close()
            self.preview = None
        viewers: list[simcord.MemberActor | simcord.UserHandle]
        if where == "dm":
            channel, viewers = person.member.user.dm_channel, [person.member.user]
        else:
            others = [p.member for p in self.seeded.people if p.key != who]
            channel, viewers = self.seeded.channel, [person.member, *others]
        preview = self.env.preview(
            channel, viewers=viewers, layout="channel", locale=self.cast.locale, timezone=self.cast.zone
        )
        await preview.__aenter__()
        self.preview, self.where, self.who = preview, where, who
        self.generation += 1
        self.published()
        if where == "dm":
            self._seen_dms[who] = self.dm_count(person)

    async def reopen(self) -> None:
        async with self.lock:
            await self.open_view(self.who, self.where)

    async def view(self, who: str, where: str) -> None:
        async with self.lock:
            if where == self.where == "channel":
                self.who = who  # the page switched its viewer itself (SimCord's "Viewing as")
                return
            if (where, who) != (self.where, self.who):
                await self.open_view(who, where)

    # -- the bar

    def bar_state(self) -> dict:
        if self.where == "dm":
            self._seen_dms[self.who] = self.dm_count(self.seeded.person(self.who))
        opens_in = (self.seeded.opens_at - self.env.now()).total_seconds()
        people = []
        for person in self.seeded.people:
            dms = self.dm_count(person)
            people.append(
                {
                    "key": person.key,
                    "id": str(person.id),
                    "name": person.name,
                    "role": self.say(person.role),
                    "dms": dms,
                    "unread": max(0, dms - self._seen_dms.get(person.key, 0)),
                }
            )
        return {
            "view": self.generation,
            "where": self.where,
            "who": self.who,
            "opens_in": max(0, round(opens_in)),
            "people": people,
            "words": {
                "opens": self.say(BAR_OPENS, time="{time}"),
                "on_sale": self.say(BAR_ON_SALE),
                "unread": self.say(BAR_UNREAD, n="{n}"),
            },
        }

    def bar_html(self) -> str:
        state = self.bar_state()
        e = html.escape
        places = [("channel", f"# {self.seeded.channel.name}"), ("dm", f"✉ {self.say(BAR_DMS)}")]
        where = "".join(
            f'<button type="button" class="picket-place" data-where="{key}" aria-pressed="{str(key == state["where"]).lower()}">{e(label)}</button>'
            for key, label in places
        )
        who = "".join(
            f'<button type="button" class="picket-person" data-who="{e(p["key"])}" data-user="{p["id"]}" '
            f'aria-pressed="{str(p["key"] == state["who"]).lower()}">{e(p["name"])} <small>{e(p["role"])}</small>'
            f'<span class="picket-unread" data-unread="{p["unread"]}" hidden></span></button>'
            for p in state["people"]
        )
        data = e(json.dumps(state, ensure_ascii=False))
        return (
            f'<nav id="picket-try" class="picket-bar" data-state="{data}" aria-label="{e(self.say(BAR_TITLE))}">'
            f'<strong class="picket-title">{e(self.say(BAR_TITLE))}</strong>'
            f'<span class="picket-group" role="group" aria-label="{e(self.say(BAR_WHERE))}"><span class="picket-label">{e(self.say(BAR_WHERE))}</span>{where}</span>'
            f'<span class="picket-group" role="group" aria-label="{e(self.say(BAR_WHO))}"><span class="picket-label">{e(self.say(BAR_WHO))}</span>{who}</span>'
            f'<span id="picket-clock" class="picket-clock" role="status"></span>'
            f'<span class="picket-hint">{e(self.say(BAR_HINT))}</span>'
            "</nav>"
        )


def try_settings(var_dir: Path) -> Settings:
    """The embedded default on a fresh SQLite file of its own; the outbox sender is woken by what
    queues a DM (a poll would keep SimCord from ever settling), the jobs run from the ticker."""
    db = var_dir / "try.sqlite3"
    for leftover in var_dir.glob("try.sqlite3*"):
        leftover.unlink()
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{db.resolve()}",
        redis_url=None,
        shard_count=1,
        outbox_poll_seconds=3600.0,
        scheduler_enabled=False,
        dm_pacing_enabled=False,
        metrics_port=-1,
        var_dir=var_dir,
    )


@contextlib.asynccontextmanager
async def open_try(
    locale: str = "en", *, port: int = 0, on_sale_in: float = ON_SALE_IN, var_dir: Path = Path("var"), tick: float = 1.0
):
    """The whole playground, ready: the bot running in SimCord, the seeded server, the page served
    at ``session.url`` (channel view, as the first fan) and the clock following the wall clock."""
    import simcord

    from bot.app import create_bot
    from domain.payments import SandboxGateway

    cast = CASTS[locale]
    var_dir.mkdir(parents=True, exist_ok=True)
    bot = create_bot(try_settings(var_dir), gateway=SandboxGateway(), sync_commands=True)
    with speaking(cast.locale):
        async with simcord.run(bot, settle_timeout=30) as env:
            seeded = await seed(env, bot, cast, PEOPLE[locale], on_sale_in=on_sale_in)
            session = TrySession(env, bot, cast, seeded)
            session.switchboard = Switchboard(session, port)
            ticker = None
            try:
                await session.open_view("fan-1", "channel")
                await session.switchboard.start()
                session.clock = WallClock(session, tick)
                session.clock.start()
                ticker = asyncio.create_task(session.clock.run(), name="picket-try-clock")
                yield session
            finally:
                if ticker is not None:
                    ticker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await ticker
                await session.switchboard.close()
                async with session.lock:
                    if session.preview is not None:
                        await session.preview.close()


def run_try(locale: str = "en", port: int = 0) -> int:
    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with open_try(locale, port=port) as session:
                seeded = session.seeded
                print(f"picket try: open {session.url}", flush=True)
                print(
                    f"  {session.cast.guild} #{seeded.channel.name}: show #{seeded.show_id} {session.cast.title}, "
                    f"on sale in {max(0, round((seeded.opens_at - session.env.now()).total_seconds()))} s; "
                    f"act as {', '.join(f'{p.name} ({p.role})' for p in seeded.people)}",
                    flush=True,
                )
                print("  loopback only; the address is a key, do not share it. Ctrl-C stops.", flush=True)
                await stop.wait()
        except OSError as exc:
            print(f"picket try: could not serve the page: {exc}", file=sys.stderr)
            return 2
        print("picket try: stopped", flush=True)
        return 0

    return asyncio.run(main())
