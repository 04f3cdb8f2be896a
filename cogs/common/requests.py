"""Every request is answered, counted and logged the same way, through discord.py's own hooks:

- slash commands: :class:`PicketTree`, the bot's command tree (its ``interaction_check`` opens the
  request, its ``on_error`` answers what went wrong, the client's ``on_app_command_completion`` closes
  a request that went through);
- forms: :class:`Form` (``Modal.interaction_check`` and ``Modal.on_error``);
- persistent buttons and selects: :func:`answered` on their callback, since discord.py gives a
  DynamicItem's callback no error hook (it logs and drops what the callback raises).

A domain refusal (unknown show, sold out, not yours...) is an answer, not an error: an ephemeral
message in the user's language (notifier/errors_text.describe), and the request goes no further. So is
a failed check (organizer rights), an option's lookup (no such show in this server) and a cooldown.
Anything else gets a short apology and reaches the logs. Every request is counted and timed by command
and outcome, and its log lines carry the command, the fan and the show.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import TypeGuard

import discord
from discord import app_commands

from cogs.common.i18n import t
from cogs.common.ui import reply
from domain import fan_settings, locales, telemetry
from domain.errors import DomainError
from domain.specs import excerpt
from domain.store import count_committed_writes
from notifier import errors_text, i18n
from notifier.i18n import N_

log = logging.getLogger("picket.cogs")

GENERIC_FAILURE = N_("Something went wrong on our side and nothing was changed. Please try again in a moment.")
# When the request had already written something (a show saved, a ticket cancelled), saying nothing
# changed would be false, and a retry could do it twice.
FAILURE_AFTER_WRITE = N_(
    "Your request went through, but something went wrong on our side while answering. Check the result before trying again."
)
SLOW_DOWN = N_("You're going too fast. Try this command again in {seconds} s.")

# What an option holds, as a refusal names it (discord.AppCommandOptionType names).
OPTION_KINDS = {
    "string": N_("text"),
    "integer": N_("whole number"),
    "number": N_("number"),
    "boolean": N_("yes/no"),
    "user": N_("member"),
    "channel": N_("channel"),
    "role": N_("role"),
    "mentionable": N_("member or role"),
    "attachment": N_("attachment"),
}


class Refused(app_commands.CheckFailure):
    """A domain refusal raised by a check (``raise Refused() from refusal``): discord.py passes only
    AppCommandErrors from checks on to the tree's ``on_error``."""


def domain_refusal(error: BaseException | None) -> DomainError | None:
    """The domain refusal behind ``error``: the error itself, or what discord.py wrapped it in (a
    command body's CommandInvokeError, an option lookup's TransformerError, a check's Refused)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, DomainError):
            return error
        seen.add(id(error))
        error = getattr(error, "original", None) or error.__cause__
    return None


def _bad_value(error: BaseException) -> TypeGuard[app_commands.TransformerError]:
    """An option's value discord.py could not turn into what it names (a member who left...). A
    TransformerError with another cause is a failure of our own lookup (the database down...)."""
    return isinstance(error, app_commands.TransformerError) and error.__cause__ is None


def is_refusal(error: BaseException) -> bool:
    """True when ``error`` is answered as a refusal (the user asked for something they may not have,
    or gave a value that is not one), False when it is our fault."""
    return domain_refusal(error) is not None or isinstance(error, app_commands.CheckFailure) or _bad_value(error)


async def answer_error(interaction: discord.Interaction, error: BaseException, *, wrote: bool = False) -> bool:
    """Tell the user why their request was refused. Returns False for unexpected errors (logged
    here, with an apology to the user)."""
    refusal = domain_refusal(error)
    if refusal is not None:  # a code and params: worded in the user's language
        await reply(interaction, errors_text.describe(refusal, interaction.locale))
        return True
    if isinstance(error, app_commands.CommandOnCooldown):
        await reply(interaction, t(interaction, SLOW_DOWN, seconds=max(1, math.ceil(error.retry_after))))
        return True
    if _bad_value(error):
        kind = t(interaction, OPTION_KINDS.get(error.type.name, N_("value")))
        await reply(
            interaction, t(interaction, "`{value}` is not a valid {kind} here.", value=excerpt(error.value), kind=kind)
        )
        return True
    if isinstance(error, app_commands.CheckFailure):
        await reply(interaction, t(interaction, "You can't use this command here."))
        return True
    original = getattr(error, "original", None) or error.__cause__ or error
    log.error("unexpected error in %s", command_label(interaction), exc_info=original)
    try:
        await reply(interaction, t(interaction, FAILURE_AFTER_WRITE if wrote else GENERIC_FAILURE))
    except discord.HTTPException:
        pass
    return False


# --- one request, from its first hook to its last ----------------------------------------------------

_REQUEST = "picket.request"  # its key in Interaction.extras


@dataclass
class _Request:
    command: str
    started: float
    writes: list[int]  # transactions committed while answering (domain.store.count_committed_writes)


async def begin(interaction: discord.Interaction) -> None:
    """Open the request: the user's locale is kept first (the DMs the request causes are in it),
    then its commits are counted and its log lines name the command, the fan and the show. Each
    interaction runs in a task of its own, which all three last for."""
    command = command_label(interaction)
    await remember_locale(interaction)
    telemetry.bind_log_fields(command=command, fan=interaction.user.id, show=show_of(interaction))
    interaction.extras[_REQUEST] = _Request(command, time.perf_counter(), count_committed_writes())


async def succeeded(interaction: discord.Interaction) -> None:
    _close(interaction, "ok")
    await tell_if_dms_closed(interaction)


async def failed(interaction: discord.Interaction, error: BaseException) -> bool:
    """Answer ``error`` and close the request; False if it was unexpected."""
    request = interaction.extras.get(_REQUEST)
    handled = await answer_error(interaction, error, wrote=bool(request and request.writes[0]))
    _close(interaction, "refused" if handled else "error")
    if handled:
        await tell_if_dms_closed(interaction)
    return handled


def _close(interaction: discord.Interaction, outcome: str) -> None:
    request = interaction.extras.pop(_REQUEST, None)
    if request is None:  # never opened, or already closed
        return
    elapsed = time.perf_counter() - request.started
    telemetry.count("command", command=request.command, outcome=outcome)
    telemetry.observe("command_latency", elapsed, command=request.command)
    log.info("%s: %s in %.0f ms", request.command, outcome, elapsed * 1000)


class PicketTree(app_commands.CommandTree):
    """The bot's command tree: every slash command is a request (see the module's docstring). Who may
    run what is not decided here: commands carry their checks (cogs/common/authority.py), options
    their lookups (cogs/common/options.py), spammable commands their cooldowns."""

    def __init__(self, client: discord.Client, **options):
        super().__init__(client, **options)
        self.cooldowns = Cooldowns()
        add_listener = getattr(client, "add_listener", None)  # commands.Bot; a bare Client has none
        if add_listener is not None:
            add_listener(self.on_app_command_completion)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.type is discord.InteractionType.application_command:  # autocomplete is not a request
            await begin(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError, /) -> None:
        await failed(interaction, error)

    async def on_app_command_completion(self, interaction: discord.Interaction, command) -> None:
        """The client's event for a command that raised nothing."""
        await succeeded(interaction)


class Cooldowns:
    """The buckets of :func:`cooldown`, kept by the bot's tree: one bot, one count
    (app_commands.checks.cooldown keeps them in the decorator, shared by every bot the process ever
    builds)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple, app_commands.Cooldown] = {}
        self._swept = 0.0

    def take(self, key: tuple, rate: int, per: float, now: float) -> float | None:
        """Spend one use of ``key``'s bucket; the seconds to wait if there was none left."""
        if now - self._swept > per:  # drop the buckets that refilled (at most once a period)
            self._buckets = {k: b for k, b in self._buckets.items() if b.get_tokens(now) < b.rate}
            self._swept = now
        bucket = self._buckets.setdefault(key, app_commands.Cooldown(rate, per))
        return bucket.update_rate_limit(now)


def cooldown(rate: int, per: float, *, option: str):
    """A check like ``app_commands.checks.cooldown(rate, per)``, counted per user and per value of
    ``option`` (one fan hammering /book for one show is slowed down; booking several shows is not),
    timed by Discord's clock (when the interaction was created) and answered "slow down" in the
    user's language."""

    async def predicate(interaction: discord.Interaction) -> bool:
        cooldowns = getattr(getattr(interaction.client, "tree", None), "cooldowns", None)
        if cooldowns is None:
            return True
        key = (predicate, interaction.user.id, getattr(interaction.namespace, option, None))
        retry_after = cooldowns.take(key, rate, per, interaction.created_at.timestamp())
        if retry_after is not None:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(rate, per), retry_after)
        return True

    return app_commands.check(predicate)


class Form(discord.ui.Modal):
    """A modal form answered like a command. Subclasses write :meth:`submit`."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        await begin(interaction)
        return True

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await self.submit(interaction)
        await succeeded(interaction)

    async def submit(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]  # Modal.on_error has no item
        await failed(interaction, error)


def answered(callback):
    """For a DynamicItem's ``callback``: the request's hooks around it, since discord.py has none
    there. Unexpected errors are re-raised after the apology, for discord.py to log."""

    @functools.wraps(callback)
    async def run(item, interaction: discord.Interaction) -> None:
        await begin(interaction)
        try:
            await callback(item, interaction)
        except Exception as error:
            if not await failed(interaction, error):
                raise
        else:
            await succeeded(interaction)

    return run


# --- what a request is about ------------------------------------------------------------------------

_SHOW_IN_CUSTOM_ID = re.compile(r"^picket:(?:show|show-cancel|queue:\w+|seats:\w+|book):(?:\w+:)?(\d+)")


def _custom_id(interaction: discord.Interaction) -> str:
    return str((interaction.data or {}).get("custom_id", "")) if isinstance(interaction.data, dict) else ""


def command_label(interaction: discord.Interaction) -> str:
    """What the user did, as a metric label: the slash command's name, or a component's custom_id
    with its ids dropped ("picket:hold:pay")."""
    if interaction.command is not None:
        return interaction.command.qualified_name
    return re.sub(r":\d+", "", _custom_id(interaction)) or "unknown"


def show_of(interaction: discord.Interaction) -> int | None:
    """The show a request is about, when its options or custom_id say (for the log context)."""
    if interaction.command is not None:
        show = getattr(interaction.namespace, "show", None)
        return show if isinstance(show, int) else None
    found = _SHOW_IN_CUSTOM_ID.match(_custom_id(interaction))
    return int(found.group(1)) if found else None


def guild_locale(interaction: discord.Interaction) -> discord.Locale | None:
    """The server's preferred locale (None in DMs)."""
    if interaction.guild is not None:
        return interaction.guild.preferred_locale
    return interaction.guild_locale if interaction.guild_id is not None else None


async def remember_locale(interaction: discord.Interaction) -> None:
    """Keep the user's client locale (their DMs' language) and the server's preferred locale (the DM
    language of fans never seen there): one read, and a write only when one changed. Outside the
    request's write count: a refusal after it still says nothing changed. Never fails the request."""
    services = getattr(interaction.client, "services", None)
    if services is None:
        return
    server = guild_locale(interaction)
    try:
        await locales.remember(
            services.store,
            fan_id=interaction.user.id,
            locale=interaction.locale,
            guild_id=interaction.guild_id,
            guild_locale=server,
            guild_locale_is_default=i18n.language(server) == i18n.DEFAULT,
        )
    except Exception:
        log.warning("could not record the locale of %s", interaction.user.id, exc_info=True)


DMS_CLOSED_NOTICE = N_(
    "⚠️ I could not send you a DM: your Discord privacy settings block DMs from me. Allow direct messages"
    " from this server's members to get your tickets and alerts by DM (/ticket list shows your tickets)."
)


async def tell_if_dms_closed(interaction: discord.Interaction) -> None:
    """After the reply: if a DM to this fan was refused because their DMs are closed, tell them once,
    in one more ephemeral line. Never fails the request it follows."""
    if interaction.response.type == discord.InteractionResponseType.modal:
        return  # a form is open: no message may follow it
    services = getattr(interaction.client, "services", None)
    if services is None:
        return
    try:
        if await fan_settings.take_dms_closed_notice(services.store, interaction.user.id):
            await reply(interaction, t(interaction, DMS_CLOSED_NOTICE))
    except Exception:
        log.warning("could not tell fan %s their DMs are closed", interaction.user.id, exc_info=True)
