"""``picket try``: the real bot inside SimCord, served to a browser for a person to play with.

A seeded server (an organizer, a handful of fans, door staff, one show announced and going on sale
within minutes) is shown through SimCord's own preview (``simcord[preview]``): a Discord-like page
with the channel, its messages and buttons, and a composer for slash commands. Everything a click
or a command does goes through discord.py's real command tree, as in ``picket demo`` and the tests.

What this module adds around SimCord's preview, without changing SimCord:

- **People and places.** A SimCord preview shows one channel; its "Viewing as" switch changes the
  member looking at it, and a DM can only be shown to its owner in a preview of its own. The
  switchboard here serves the page at one stable loopback address and puts a bar above SimCord's
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
import secrets
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.seed import CASTS, Cast, open_server, seed_show, speaking
from bot.settings import Settings
from notifier.i18n import N_, translate

if TYPE_CHECKING:  # dev extras (simcord[preview] brings aiohttp's server side): imported where used
    import aiohttp
    import simcord
    from aiohttp import web

    from bot.app import PicketBot

log = logging.getLogger("picket.try")

PAGE_DIR = Path(__file__).resolve().parent / "trypage"


@dataclass(frozen=True)
class People:
    """The names the seeded people go by (their Discord display names), in the server's language."""

    organizer: str
    fans: tuple[str, ...]
    door: str


PEOPLE = {
    "en": People("Olivia", ("Ava", "Ben", "Chloe", "Dan", "Emma"), "Sam"),
    "ko": People("한지민", ("민준", "서연", "지호", "하은", "도윤"), "박경호"),
}
LOCALES = tuple(PEOPLE)
SEATMAP = "A:2x3:{tier}"  # six seats: two fans buying three each sell the show out; then the waitlist
PER_FAN_LIMIT = 4
FOLLOWERS = 2  # the first fans follow the artist, so the announcement reaches them by DM
ON_SALE_IN = 120.0  # seconds from the page being ready to the on-sale

# What the bar above SimCord's page says (the rest of the page is SimCord's, in English).
ROLE_ORGANIZER = N_("organizer")
ROLE_FAN = N_("fan")
ROLE_DOOR = N_("door staff")
BAR_TITLE = N_("Picket: try it")
BAR_WHERE = N_("Where")
BAR_WHO = N_("Who")
BAR_DMS = N_("Direct messages")
BAR_OPENS = N_("Sales open in {time}")
BAR_ON_SALE = N_("On sale now")
BAR_HINT = N_("Type / in the message box for commands; press the buttons under a message.")
BAR_UNREAD = N_("{n} new direct message(s)")


@dataclass
class Person:
    key: str  # "organizer", "fan-1".., "door"
    role: str  # one of the ROLE_ texts, in English
    member: simcord.MemberActor

    @property
    def id(self) -> int:
        return self.member.id

    @property
    def name(self) -> str:
        return self.member.user.global_name or self.member.user.name


@dataclass
class Seeded:
    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    people: list[Person]
    show_id: int
    opens_at: datetime

    def person(self, key: str) -> Person:
        for person in self.people:
            if person.key == key:
                return person
        raise KeyError(key)

    @property
    def organizer(self) -> Person:
        return self.person("organizer")

    @property
    def fans(self) -> list[Person]:
        return [p for p in self.people if p.role == ROLE_FAN]

    @property
    def door(self) -> Person:
        return self.person("door")


def _next_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


async def seed(env, bot, cast: Cast, people: People, *, on_sale_in: float = ON_SALE_IN) -> Seeded:
    """The server, its people and the show, made the way people make them: the organizer registers,
    fills in /show create's form and announces the show; fans follow the artist.

    The form takes minutes, so the simulated clock is first moved (less than a minute) to make the
    on-sale fall ``on_sale_in`` seconds from the end of the seeding (0: already on sale)."""

    await bot.user.edit(username="Picket")  # SimCord names every bot "TestBot"
    guild, channel, organizer = open_server(env, cast, organizer_name=people.organizer)
    cast_people = [Person("organizer", ROLE_ORGANIZER, organizer)]
    for i, name in enumerate(people.fans, start=1):
        cast_people.append(Person(f"fan-{i}", ROLE_FAN, guild.add_member(env.create_user(f"fan{i}", global_name=name))))
    cast_people.append(Person("door", ROLE_DOOR, guild.add_member(env.create_user("door", global_name=people.door))))
    world = Seeded(guild, channel, cast_people, 0, env.now())

    for fan in world.fans[:FOLLOWERS]:
        await fan.member.slash(channel, "follow", artist=cast.artist)

    now = env.now()
    if on_sale_in > 0:
        opens = _next_minute(now + timedelta(seconds=on_sale_in))
        await env.advance_time(((opens - timedelta(seconds=on_sale_in)) - now).total_seconds())
    else:
        opens = now.replace(second=0, microsecond=0)
    starts = (opens.astimezone(ZoneInfo(cast.zone)) + timedelta(days=14)).replace(hour=19, minute=30)
    world.show_id = await seed_show(
        organizer,
        channel,
        cast,
        starts=starts,
        opens=opens,
        seatmap=SEATMAP.format(tier=cast.tier),
        per_fan_limit=PER_FAN_LIMIT,
    )
    world.opens_at = opens
    await organizer.slash(channel, "show staff", show=world.show_id, member=world.door.member)
    return world


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


# --- the switchboard: one address, people and places, SimCord's page behind it --------------------


def without_vtt_sources(font: bytes) -> bytes:
    """A TrueType font without its TSI* tables (Visual TrueType's hinting sources, which no renderer
    reads). Browsers refuse NanumGothic as it ships because one of them is empty ("OTS parsing
    error: TSI3: zero-length table"); the glyphs and hints that draw it are untouched."""
    version, count = struct.unpack(">IH", font[:6])
    tables = []
    for i in range(count):
        tag, checksum, offset, length = struct.unpack(">4sIII", font[12 + 16 * i : 28 + 16 * i])
        if not tag.startswith(b"TSI"):
            tables.append((tag, checksum, font[offset : offset + length]))
    n = len(tables)
    search_range = (1 << (n.bit_length() - 1)) * 16
    header = struct.pack(">IHHHH", version, n, search_range, search_range.bit_length() - 5, n * 16 - search_range)
    records, bodies, offset = [], [], 12 + 16 * n
    for tag, checksum, body in tables:
        records.append(struct.pack(">4sIII", tag, checksum, offset, len(body)))
        padded = body + b"\0" * (-len(body) % 4)
        bodies.append(padded)
        offset += len(padded)
    return header + b"".join(records) + b"".join(bodies)


_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "upgrade",
    "host",
    "date",
    "server",
}
_PASSED = ("X-Simcord-Capability", "X-Simcord-Context", "Content-Type", "Accept")


class Switchboard:
    """An HTTP server on loopback in front of the current SimCord preview. It serves SimCord's page
    with Picket's bar above it, answers the bar (``/picket/state``, ``/picket/view``), and passes
    every other request to the preview, swapping its own key for the preview's capability.

    The key (the URL's fragment) is a credential like SimCord's: requests without it are refused,
    and so are requests whose Host or Origin is not this server (a page elsewhere cannot drive it)."""

    def __init__(self, session: TrySession, port: int = 0):
        self.session = session
        self.requested_port = port
        self.port: int | None = None
        self.key = secrets.token_urlsafe(24)
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._hangul: bytes | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/#{self.key}"

    async def start(self) -> None:
        import aiohttp
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/picket/try.js", self._asset)
        app.router.add_get("/picket/try.css", self._asset)
        app.router.add_get("/picket/hangul.ttf", self._font)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/picket/state", self._state)
        app.router.add_post("/picket/view", self._view)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120), auto_decompress=True)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the one site's (host, port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- checks

    def _check_host(self, request) -> None:
        from aiohttp import web

        if request.headers.get("Host", "") not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            raise web.HTTPForbidden()

    def _check_origin(self, request) -> None:
        from aiohttp import web

        origin = request.headers.get("Origin")
        if origin is not None and origin not in (
            f"http://127.0.0.1:{self.port}",
            f"http://localhost:{self.port}",
            "null",
        ):
            raise web.HTTPForbidden()

    def _check_key(self, request) -> None:
        from aiohttp import web

        self._check_host(request)
        self._check_origin(request)
        if not secrets.compare_digest(request.headers.get("X-Picket-Key", ""), self.key):
            raise web.HTTPUnauthorized()

    # -- the page

    async def _index(self, request):
        from aiohttp import web

        self._check_host(request)
        status, body, headers = await self._pass(request, path="/")
        if status != 200:
            return web.Response(status=status, body=body, headers=headers)
        page = body.decode("utf-8")
        lang = self.session.lang
        page = page.replace('<html lang="en">', f'<html lang="{lang}">', 1)
        page = page.replace(
            "<title>SimCord Preview</title>", f"<title>{html.escape(self.session.say(BAR_TITLE))}</title>", 1
        )
        page = page.replace("</head>", '<link rel="stylesheet" href="/picket/try.css">\n</head>', 1)
        page = page.replace("<body>", "<body>\n" + self.session.bar_html(), 1)
        page = page.replace("</body>", '<script type="module" src="/picket/try.js"></script>\n</body>', 1)
        headers.pop("Content-Type", None)
        return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)

    async def _asset(self, request):
        from aiohttp import web

        self._check_host(request)
        name = request.path.rsplit("/", 1)[-1]
        kind = "application/javascript" if name.endswith(".js") else "text/css"
        return web.Response(
            text=(PAGE_DIR / name).read_text(encoding="utf-8"), content_type=kind, headers={"Cache-Control": "no-store"}
        )

    async def _font(self, request):
        """Picket's own Hangul font for the page: SimCord's preview fonts have none (its CJK face is
        Simplified Chinese), so on a machine without a Korean system font Hangul would be boxes."""
        from importlib import resources

        from aiohttp import web

        import notifier.fonts

        self._check_host(request)
        if self._hangul is None:
            self._hangul = without_vtt_sources(
                (resources.files(notifier.fonts) / notifier.fonts.FONT_FILE).read_bytes()
            )
        return web.Response(body=self._hangul, content_type="font/ttf", headers={"Cache-Control": "max-age=3600"})

    async def _no_icon(self, request):
        from aiohttp import web

        return web.Response(status=204)

    async def _state(self, request):
        from aiohttp import web

        self._check_key(request)
        return web.json_response(self.session.bar_state(), headers={"Cache-Control": "no-store"})

    async def _view(self, request):
        from aiohttp import web

        self._check_key(request)
        try:
            wanted = await request.json()
            where, who = wanted["where"], wanted["who"]
            if where not in ("channel", "dm"):
                raise ValueError(where)
            self.session.seeded.person(who)
        except (ValueError, KeyError, TypeError):
            raise web.HTTPBadRequest(text="where: channel|dm, who: a person's key") from None
        await self.session.view(who, where)
        return web.json_response(self.session.bar_state(), headers={"Cache-Control": "no-store"})

    # -- everything else: SimCord's

    async def _forward(self, request):
        import aiohttp
        from aiohttp import web

        self._check_host(request)
        self._check_origin(request)
        try:
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                async with self.session.lock:  # an action is a SimCord operation: one at a time
                    status, body, headers = await self._pass(request)
                    if request.path == "/api/action" and self.session.preview is not None:
                        self.session.published()  # the action's answer carries the page as it left it
            else:
                status, body, headers = await self._pass(request)
        except aiohttp.ClientConnectionError:
            # The preview is gone: the page's "End preview session" closes it. Open the same view
            # again; the bar sees the new view and reloads the page on it.
            await self.session.reopen()
            raise web.HTTPServiceUnavailable(text="the preview was restarted; the page reloads") from None
        return web.Response(status=status, body=body, headers=headers)

    async def _pass(self, request, path: str | None = None) -> tuple[int, bytes, dict]:
        preview = self.session.preview
        assert preview is not None and self._client is not None, "a request before start()"
        target = urlsplit(preview.url)
        headers = {name: request.headers[name] for name in _PASSED if name in request.headers}
        if secrets.compare_digest(headers.get("X-Simcord-Capability", ""), self.key):
            headers["X-Simcord-Capability"] = target.fragment
        data = await request.read()
        url = f"http://127.0.0.1:{target.port}{path or request.rel_url}"
        async with self._client.request(
            request.method, url, headers=headers, data=data or None, allow_redirects=False
        ) as answer:
            body = await answer.read()
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return answer.status, body, passed


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
