"""Shared rendering and reply helpers for cogs."""

from __future__ import annotations

import logging
import re
import time
from contextlib import asynccontextmanager
from datetime import datetime

import discord
from discord import app_commands

from cogs.i18n import t
from domain import alerts, telemetry
from domain.errors import DomainError

log = logging.getLogger("picket.cogs")

GENERIC_FAILURE = "Something went wrong on our side and nothing was changed. Please try again in a moment."


def ts(when: datetime, style: str = "f") -> str:
    """A Discord timestamp: every fan sees it in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


class FromCustomId:
    """Mixin for DynamicItems whose constructor takes exactly the named groups of their template:
    rebuilding one from a clicked custom_id is then the same everywhere (digits become ints)."""

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(**{k: int(v) if v.isdigit() else v for k, v in match.groupdict().items()})


class StatelessView(discord.ui.View):
    """A view made only of DynamicItems: their custom_ids carry all the state, and the bot's
    registered DynamicItem classes answer them, after restarts too. So discord.py need not keep the
    view once sent; :func:`reply` and :func:`edit` stop it, which drops it from the view store and
    cancels the 15-minute timeout task discord.py gives every ephemeral view (thousands of those
    during an on-sale)."""

    def __init__(self, *items: discord.ui.Item):
        super().__init__(timeout=None)
        for item in items:
            self.add_item(item)


def _release(kwargs: dict) -> None:
    view = kwargs.get("view")
    if isinstance(view, StatelessView):
        view.stop()


async def reply(interaction: discord.Interaction, content: str | None = None, **kwargs) -> None:
    """Answer ephemerally, whether or not the interaction was already answered or deferred."""
    kwargs.setdefault("ephemeral", True)
    if interaction.response.is_done():
        await interaction.followup.send(content, **kwargs)
    else:
        await interaction.response.send_message(content, **kwargs)
    _release(kwargs)


async def edit(interaction: discord.Interaction, **kwargs) -> None:
    """Update the message a component was used on, in place."""
    if interaction.response.is_done():
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.edit_message(**kwargs)
    _release(kwargs)


async def post(channel: discord.abc.Messageable, **kwargs) -> discord.Message:
    """Post a (public) message, e.g. an announcement."""
    message = await channel.send(**kwargs)
    _release(kwargs)
    return message


async def report_error(interaction: discord.Interaction, error: BaseException) -> bool:
    """Tell the user why their request was refused. Returns False for unexpected errors, which the
    caller re-raises so they reach the logs (and fail tests)."""
    original = getattr(error, "original", error)
    if isinstance(original, DomainError):
        await reply(interaction, original.message)
        return True
    if isinstance(error, app_commands.TransformerError):
        await reply(interaction, f"`{error.value}` is not a valid {error.type.name.lower()} here.")
        return True
    if isinstance(error, app_commands.CheckFailure):
        await reply(interaction, str(error) or "You can't use this command here.")
        return True
    log.error("unexpected error in %s", getattr(interaction.command, "qualified_name", "component"), exc_info=original)
    try:
        await reply(interaction, t(interaction, GENERIC_FAILURE))
    except discord.HTTPException:
        pass
    return False


_SHOW_IN_CUSTOM_ID = re.compile(r"^picket:(?:show|show-cancel|queue:\w+|seats:\w+|book):(?:\w+:)?(\d+)")


def command_label(interaction: discord.Interaction) -> str:
    """What the user did, as a metric label: the slash command's name, or a component's custom_id
    with its ids dropped ("picket:hold:pay")."""
    if interaction.command is not None:
        return interaction.command.qualified_name
    custom_id = (interaction.data or {}).get("custom_id", "") if isinstance(interaction.data, dict) else ""
    return re.sub(r":\d+", "", custom_id) or "unknown"


def show_of(interaction: discord.Interaction) -> int | None:
    """The show a request is about, when its options or custom_id say (for the log context)."""
    if interaction.command is not None:
        show = getattr(interaction.namespace, "show", None)
        return show if isinstance(show, int) else None
    custom_id = (interaction.data or {}).get("custom_id", "") if isinstance(interaction.data, dict) else ""
    found = _SHOW_IN_CUSTOM_ID.match(custom_id)
    return int(found.group(1)) if found else None


@asynccontextmanager
async def refusals(interaction: discord.Interaction):
    """Wrap the body of every command and component callback::

        async with refusals(interaction):
            ...call the domain, render...

    A domain refusal (unknown show, sold out, not yours...) becomes an ephemeral message and goes no
    further: it is an answer, not an error. Anything else gets a generic apology and is re-raised so it
    reaches the logs (and fails the test that caused it). Every request is counted and timed by
    command and outcome, and its log lines carry the command, the fan and the show.
    """
    command = command_label(interaction)
    started = time.perf_counter()
    outcome = "ok"
    with telemetry.log_fields(command=command, fan=interaction.user.id, show=show_of(interaction)):
        try:
            yield
        except Exception as exc:
            handled = await report_error(interaction, exc)
            outcome = "refused" if handled else "error"
            if not handled:
                raise
        finally:
            elapsed = time.perf_counter() - started
            telemetry.count("command", command=command, outcome=outcome)
            telemetry.observe("command_latency", elapsed, command=command)
            log.info("%s: %s in %.0f ms", command, outcome, elapsed * 1000)
        await tell_if_dms_closed(interaction)


DMS_CLOSED_NOTICE = (
    "⚠️ I could not send you a DM: your Discord privacy settings block DMs from me. Allow direct messages"
    " from this server's members to get your tickets and alerts by DM (/ticket list shows your tickets)."
)


async def tell_if_dms_closed(interaction: discord.Interaction) -> None:
    """After the reply: if a DM to this fan was refused because their DMs are closed, tell them once,
    in one more ephemeral line. Never fails the command it follows."""
    if interaction.response.type == discord.InteractionResponseType.modal:
        return  # a form is open: no message may follow it
    services = getattr(interaction.client, "services", None)
    if services is None:
        return
    try:
        if await alerts.take_dms_closed_notice(services.store, interaction.user.id):
            await reply(interaction, t(interaction, DMS_CLOSED_NOTICE))
    except Exception:
        log.warning("could not tell fan %s their DMs are closed", interaction.user.id, exc_info=True)
