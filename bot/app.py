"""Wiring: settings -> store, Redis, gateway, notifier -> the discord.py bot and its cogs."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import metrics
from bot.clock import DiscordClock
from bot.settings import Settings
from bot.transport import DiscordTransport
from cogs.alert_roles import AlertRolesCog
from cogs.alerts import AlertsCog
from cogs.booking import BookingCog
from cogs.door import DoorCog
from cogs.i18n import PicketTranslator
from cogs.organizer import OrganizerCog
from cogs.queue import QueueCog
from cogs.services import Services
from cogs.shows import ShowsCog
from cogs.tickets import TicketsCog
from cogs.waitlist import WaitlistCog
from cogs import authority
from cogs.ui import report_error
from domain import locales, recovery, telemetry
from domain.payments import PaymentGateway, SandboxGateway
from domain.redis_client import make_redis
from domain.store import Store
from notifier import i18n, ticket_codes
from notifier.pacing import Pacer
from notifier.scheduler import Jobs, start_scheduler
from notifier.sender import OutboxSender

log = logging.getLogger("picket.bot")

COGS = (OrganizerCog, ShowsCog, BookingCog, QueueCog, TicketsCog, AlertsCog, DoorCog, WaitlistCog, AlertRolesCog)


class PicketBot(commands.AutoShardedBot):
    """Picket's bot. ``setup_hook`` is idempotent: SimCord's ``restart_bot()`` (and a real reconnect
    with the same object) runs it again, and it must re-attach persistent buttons without loading
    cogs twice."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        gateway: PaymentGateway | None = None,
        pacer: Pacer | None = None,
        sender_options: dict | None = None,
        **client_options,
    ):
        """``client_options`` go to discord.py's Client as they are (e.g. ``connector``, which the
        fault test uses to reach its recording stand-in for Discord)."""
        intents = discord.Intents.default()  # slash commands need no privileged intents
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids,
            help_command=None,
            **client_options,
        )
        self.settings = settings
        self._store = store
        self._gateway = gateway
        self._pacer = pacer
        self._sender_options = sender_options or {}
        self.services: Services | None = None
        self.jobs: Jobs | None = None
        self.metrics_server: metrics.MetricsServer | None = None
        self._scheduler = None
        self.tree.on_error = self._on_tree_error
        self.tree.interaction_check = authority.gate  # server scope and organizer rights, before any command

    async def _build_services(self) -> Services:
        store = self._store
        if store is None:
            store = Store.from_url(self.settings.resolved_database_url, DiscordClock(), pool_size=self.settings.database_pool_size)
            if store.dialect == "sqlite":  # embedded default: the newcomer gets a schema without a step
                from migrations import upgrade

                await upgrade(store.engine)
        ticket_codes.configure(self.settings.resolved_signing_key_path)
        redis = make_redis(self.settings.redis_url)
        # DM_GLOBAL_RATE is the bot's budget, shared through Redis by all of its processes.
        pacer = self._pacer or Pacer(
            global_rate=self.settings.dm_global_rate,
            channel_rate=self.settings.dm_channel_rate,
            channel_burst=self.settings.dm_channel_burst,
            enabled=self.settings.dm_pacing_enabled,
            redis=redis,
        )
        options = {"poll_interval": self.settings.outbox_poll_seconds, "worker_id": self.settings.instance_id, **self._sender_options}
        transport = DiscordTransport(self)
        sender = OutboxSender(store, transport, pacer=pacer, **options)
        transport.before_request = lambda: sender.pacer.acquire_global()  # the sender's pacer, even if swapped
        gateway = self._gateway or SandboxGateway(self.settings.var_dir / "sandbox-payments.sqlite3")
        return Services(store=store, gateway=gateway, sender=sender, redis=redis)

    async def setup_hook(self) -> None:
        telemetry.install(metrics.SINK)
        if self.services is None:
            self.services = await self._build_services()
            if self.settings.metrics_port >= 0:
                self.metrics_server = metrics.MetricsServer(
                    self.services.store, self.services.redis, host=self.settings.metrics_host, port=self.settings.metrics_port
                )
                await self.metrics_server.start()
        for cog_cls in COGS:
            if self.get_cog(cog_cls.__cog_name__) is None:
                await self.add_cog(cog_cls(self.services))
        for cog in self.cogs.values():
            for item in getattr(cog, "dynamic_items", ()):
                self.add_dynamic_items(item)
        await self.tree.set_translator(PicketTranslator())
        await self.tree.sync()
        # Before sending anything: finish what a crash of this (or another) process left behind.
        report = await recovery.recover(
            self.services.store, self.services.gateway, self.services.redis, worker_id=self.services.sender.worker_id
        )
        if report.anything:
            log.info("recovered at start: %s", report)
        self.services.sender.start()
        self.jobs = Jobs(self.services.store, self.services.gateway, self.services.sender, self.services.redis)
        if self.settings.scheduler_enabled and self._scheduler is None:
            self._scheduler = start_scheduler(self.jobs, tick_seconds=self.settings.scheduler_tick_seconds)

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

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if not await report_error(interaction, error):
            raise getattr(error, "original", error)

    async def close(self) -> None:
        """Graceful stop: background loops end, pooled connections close, then the gateway."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.services is not None:
            try:  # let DMs already handed to Discord be recorded as sent before stopping
                await asyncio.wait_for(self.services.sender.idle(), timeout=10)
            except (asyncio.TimeoutError, Exception):
                log.warning("outbox drain did not finish before shutdown; its claims lapse and another run resends")
            await self.services.sender.stop()
            if self.metrics_server is not None:
                await self.metrics_server.stop()
                self.metrics_server = None
            if self._store is None:
                await self.services.store.dispose()
            self.services = None
        await super().close()


def create_bot(settings: Settings | None = None, **kwargs) -> PicketBot:
    return PicketBot(settings or Settings(), **kwargs)
