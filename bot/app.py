"""Wiring: settings -> store, Redis, gateway, notifier -> the discord.py bot and its cogs."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import heap, metrics, ratelimits
from bot.clock import DiscordClock
from bot.settings import Settings
from bot.transport import DiscordTransport
from cogs.alert_roles import AlertRolesCog
from cogs.alerts import AlertsCog
from cogs.around import AroundCog
from cogs.booking import BookingCog
from cogs.common.i18n import PicketTranslator
from cogs.common.requests import PicketTree
from cogs.common.services import Services
from cogs.door import DoorCog
from cogs.organizer import OrganizerCog
from cogs.queue import QueueCog
from cogs.shows import ShowsCog
from cogs.tickets import TicketsCog
from cogs.waitlist import WaitlistCog
from domain import locales, recovery, telemetry
from domain.payments import PaymentGateway, SandboxGateway
from domain.redis_client import make_redis
from domain.store import Store
from notifier import i18n
from notifier.pacing import Pacer
from notifier.scheduler import Jobs, start_scheduler
from notifier.sender import OutboxSender
from notifier.ticket_codes import Keyring

log = logging.getLogger("picket.bot")

COGS = (
    OrganizerCog,
    ShowsCog,
    BookingCog,
    QueueCog,
    TicketsCog,
    AlertsCog,
    DoorCog,
    WaitlistCog,
    AroundCog,
    AlertRolesCog,
)


class PicketBot(commands.AutoShardedBot):
    """Picket's bot. ``setup_hook`` is idempotent: SimCord's ``restart_bot()`` (and a real reconnect
    with the same object) runs it again, and it must re-attach persistent buttons without loading
    cogs twice.

    The command tree is not sent to Discord when a bot process starts: every shard would PUT the same
    tree at every restart. ``picket sync`` (:func:`publish_commands`) sends it, once per release."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        gateway: PaymentGateway | None = None,
        keyring: Keyring | None = None,
        pacer: Pacer | None = None,
        sender_options: dict | None = None,
        sync_commands: bool = False,
        commands_only: bool = False,
        settle_heap: bool = False,
        **client_options,
    ):
        """``keyring``: the ticket signing keys (default: the folder ``settings`` names).
        ``sync_commands``: send the command tree at the first start, for a simulated Discord that
        starts with none (SimCord in the tests and the demo); never for ``picket run``.
        ``commands_only``: build the command tree and nothing that runs (no recovery, no outbox
        sender, no scheduler, no metrics server): what ``picket sync`` needs.
        ``settle_heap``: once started, and at the first READY, freeze what the process holds out of the
        garbage collector's walks (bot/heap.py): for ``picket run``, whose process is this one bot; not
        where one process starts bot after bot (the tests, the demo), which would keep each one's heap.
        ``client_options`` go to discord.py's Client as they are (e.g. ``connector``, which the
        fault test uses to reach its recording stand-in for Discord)."""
        intents = discord.Intents.default()  # slash commands need no privileged intents
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids,  # type: ignore[arg-type]  # None: discord.py picks them (its TypedDict says list only)
            help_command=None,
            tree_cls=PicketTree,  # answers refusals, counts and logs every command (cogs/common/requests.py)
            **client_options,
        )
        self.settings = settings
        self._store = store
        self._gateway = gateway
        self._keyring = keyring
        self._pacer = pacer
        self._sync_commands = sync_commands
        self._heap_settled = not settle_heap
        self.commands_only = commands_only
        self._sender_options = sender_options or {}
        self.services: Services | None = None
        self.jobs: Jobs | None = None
        self.metrics_server: metrics.MetricsServer | None = None
        self._scheduler = None

    async def _build_services(self) -> Services:
        store = self._store
        if store is None:
            store = Store.from_url(
                self.settings.resolved_database_url,
                DiscordClock(),
                pool_size=self.settings.database_pool_size,
                read_url=self.settings.database_read_url,
            )
            if store.dialect == "sqlite":  # embedded default: the newcomer gets a schema without a step
                from migrations import upgrade

                await upgrade(store.engine)
        keyring = self._keyring or Keyring(self.settings.resolved_signing_key_path)
        redis = make_redis(self.settings.redis_url)
        # DM_GLOBAL_RATE is the bot's budget, shared through Redis by all of its processes.
        pacer = self._pacer or Pacer(
            global_rate=self.settings.dm_global_rate,
            channel_rate=self.settings.dm_channel_rate,
            channel_burst=self.settings.dm_channel_burst,
            enabled=self.settings.dm_pacing_enabled,
            redis=redis,
        )
        options = {
            "poll_interval": self.settings.outbox_poll_seconds,
            "worker_id": self.settings.instance_id,
            **self._sender_options,
        }
        transport = DiscordTransport(self)
        sender = OutboxSender(store, transport, pacer=pacer, keyring=keyring, **options)
        transport.before_request = lambda: sender.pacer.acquire_global()  # the sender's pacer, even if swapped
        gateway = self._gateway or SandboxGateway(self.settings.var_dir / "sandbox-payments.sqlite3")
        return Services(store=store, gateway=gateway, sender=sender, redis=redis, keyring=keyring)

    async def setup_hook(self) -> None:
        telemetry.install(metrics.SINK)
        ratelimits.install()  # every 429 discord.py waits out, counted
        if self.services is None:
            self.services = await self._build_services()
            if self.settings.metrics_port >= 0 and not self.commands_only:
                self.metrics_server = metrics.MetricsServer(
                    self.services.store,
                    self.services.redis,
                    host=self.settings.metrics_host,
                    port=self.settings.metrics_port,
                )
                await self.metrics_server.start()
        for cog_cls in COGS:
            if self.get_cog(cog_cls.__cog_name__) is None:
                await self.add_cog(cog_cls(self.services))
        for cog in self.cogs.values():
            for item in getattr(cog, "dynamic_items", ()):
                self.add_dynamic_items(item)
        await self.tree.set_translator(PicketTranslator())
        if self.commands_only:
            return
        if self._sync_commands:
            self._sync_commands = False  # once: a restart finds the commands Discord already has
            await self.tree.sync()
        metrics.known_commands(
            c.qualified_name for c in self.tree.walk_commands() if not isinstance(c, app_commands.Group)
        )
        # Before sending anything: finish what a crash of this (or another) process left behind.
        report = await recovery.recover(
            self.services.store, self.services.gateway, self.services.redis, worker_id=self.services.sender.worker_id
        )
        if report.anything:
            log.info("recovered at start: %s", report)
        self.services.sender.start()
        self.jobs = Jobs(self.services.store, self.services.gateway, self.services.redis)
        if self.settings.scheduler_enabled and self._scheduler is None:
            self._scheduler = start_scheduler(self.jobs, tick_seconds=self.settings.scheduler_tick_seconds)
        if not self._heap_settled:  # what start-up loaded stays for the process's life: out of the collector's walks
            heap.settle()

    async def on_ready(self) -> None:
        if not self._heap_settled:  # the guilds and members the gateway sent at connect stay too
            self._heap_settled = True
            heap.settle()

    # --- a server's preferred locale: the DM language of fans never seen there (domain/locales.py)

    async def _remember_guild_locale(self, guild: discord.Guild) -> None:
        if self.services is None:
            return
        try:
            await locales.remember(
                self.services.store,
                guild_id=guild.id,
                guild_locale=guild.preferred_locale,
                guild_locale_is_default=i18n.language(guild.preferred_locale) == i18n.DEFAULT,
            )
        except Exception:
            log.warning("could not record the locale of server %s", guild.id, exc_info=True)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._remember_guild_locale(guild)

    async def on_guild_available(self, guild: discord.Guild) -> None:  # at every (re)connect
        await self._remember_guild_locale(guild)

    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        if before.preferred_locale != after.preferred_locale:
            await self._remember_guild_locale(after)

    async def close(self) -> None:
        """Graceful stop: background loops end, pooled connections close, then the gateway."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.services is not None:
            try:  # let DMs already handed to Discord be recorded as sent before stopping
                await asyncio.wait_for(self.services.sender.idle(), timeout=10)
            except (TimeoutError, Exception):
                log.warning("outbox drain did not finish before shutdown; its claims lapse and another run resends")
            await self.services.sender.stop()
            if self.metrics_server is not None:
                await self.metrics_server.stop()
                self.metrics_server = None
            if self._store is None:
                await self.services.store.dispose()
            try:
                await self.services.redis.aclose()
            except Exception:  # noqa: BLE001 - closing must not stop the shutdown
                log.warning("redis client did not close cleanly")
            self.services = None
        await super().close()


def create_bot(settings: Settings | None = None, **kwargs) -> PicketBot:
    return PicketBot(settings or Settings(), **kwargs)


async def publish_commands(settings: Settings, **client_options) -> list[app_commands.AppCommand]:
    """``picket sync``: log in over REST only (no gateway, no shard), build the command tree as
    ``picket run`` has it (names and descriptions in every language Picket speaks) and replace the
    bot's global commands with it, in one request. Run it once per release whose commands changed,
    from one place: bot processes never sync."""
    if not settings.discord_token:
        raise ValueError("DISCORD_TOKEN is not set")
    bot = create_bot(settings, commands_only=True, **client_options)
    async with bot:
        await bot.login(settings.discord_token)
        return await bot.tree.sync()
