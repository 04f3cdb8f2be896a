"""Shared rendering and reply helpers for cogs."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import datetime

import discord
from discord import app_commands

from cogs.i18n import t
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


@asynccontextmanager
async def refusals(interaction: discord.Interaction):
    """Wrap the body of every command and component callback::

        async with refusals(interaction):
            ...call the domain, render...

    A domain refusal (unknown show, sold out, not yours...) becomes an ephemeral message and goes no
    further: it is an answer, not an error. Anything else gets a generic apology and is re-raised so it
    reaches the logs (and fails the test that caused it).
    """
    try:
        yield
    except Exception as exc:
        if not await report_error(interaction, exc):
            raise
