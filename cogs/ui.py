"""Shared rendering and reply helpers for cogs."""

from __future__ import annotations

import logging
import re
import time
from contextlib import asynccontextmanager
from datetime import datetime

import discord
from discord import app_commands

from cogs.i18n import locale_of, t
from domain import alerts, locales, telemetry
from domain.errors import DomainError
from notifier import errors_text, i18n, messages
from notifier.i18n import N_
from notifier.money import format_money
from domain.specs import excerpt
from domain.store import committed_writes

log = logging.getLogger("picket.cogs")

GENERIC_FAILURE = N_("Something went wrong on our side and nothing was changed. Please try again in a moment.")
# When the request had already written something (a show saved, a ticket cancelled), saying nothing
# changed would be false, and a retry could do it twice.
FAILURE_AFTER_WRITE = N_("Your request went through, but something went wrong on our side while answering. Check the result before trying again.")


def ts(when: datetime, style: str = "f") -> str:
    """A Discord timestamp: every fan sees it in their own time zone (and language)."""
    return discord.utils.format_dt(when, style)


def money(minor: int, currency: str, interaction: discord.Interaction | None = None) -> str:
    """An amount in ISO 4217 minor units, written the way the user's locale writes it (₩150,000,
    $45.50; US$45.50 in Korean). Without an interaction (a public post): English."""
    return format_money(minor, currency, locale_of(interaction))


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


def more(interaction: discord.Interaction | None):
    """"…and N more" in the user's language: the summary the message builders put in place of what
    did not fit."""
    return lambda n: t(interaction, "…and {n} more", n=n)


def choices(pairs) -> list[app_commands.Choice]:
    """Autocomplete answers within Discord's limits: the first 25 (name, value) pairs, names clipped
    to 100 characters."""
    out = []
    for name, value in pairs:
        if len(out) == messages.CHOICES:
            break
        out.append(app_commands.Choice(name=messages.clip(name, messages.CHOICE_NAME), value=value))
    return out


def _split(interaction: discord.Interaction | None, content: str | None, kwargs: dict) -> tuple[list[dict], object]:
    """``content`` and ``kwargs`` (discord.py's send arguments) as one or more sends, each inside
    Discord's limits (notifier/messages.py): long content is split on line ends, embeds are clipped and
    summarised, more than 10 embeds or files go on to further messages. The view goes on the last."""
    rest = dict(kwargs)
    embeds = rest.pop("embeds", None) or []
    if rest.get("embed") is not None:
        embeds = [rest.pop("embed")]
    rest.pop("embed", None)
    files = rest.pop("files", None) or []
    if rest.get("file") is not None:
        files = [rest.pop("file")]
    rest.pop("file", None)
    view = rest.pop("view", None)
    sends = []
    for part in messages.split_parts(content, [e.to_dict() for e in embeds], files, more=more(interaction)):
        one = dict(rest, content=part.content)
        if part.embeds:
            one["embeds"] = [discord.Embed.from_dict(e) for e in part.embeds]
        if part.files:
            one["files"] = part.files
        if part.last and view is not None:
            one["view"] = view
        sends.append(one)
    return sends, view


async def reply(interaction: discord.Interaction, content: str | None = None, **kwargs) -> None:
    """Answer ephemerally, whether or not the interaction was already answered or deferred. What does
    not fit one Discord message goes on in follow-ups."""
    kwargs.setdefault("ephemeral", True)
    sends, view = _split(interaction, content, kwargs)
    for one in sends:
        if interaction.response.is_done():
            await interaction.followup.send(**one)
        else:
            await interaction.response.send_message(**one)
    _release({"view": view})


async def thinking(interaction: discord.Interaction, *, ephemeral: bool = True) -> None:
    """Acknowledge now, answer later: for work that can take longer than Discord's 3 seconds (payments,
    thousands of seats, images). A slash command or form shows "thinking..." and :func:`reply` then
    fills it in; the deferred answer's ephemeral-ness is fixed here, so it must match the reply's
    (replies are ephemeral by default). A component keeps its message and :func:`edit` updates it."""
    if interaction.response.is_done():
        return
    if interaction.type is discord.InteractionType.component:
        await interaction.response.defer()
    else:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)


async def edit(interaction: discord.Interaction, **kwargs) -> None:
    """Update the message a component was used on, in place. One message cannot become several, so
    what is over Discord's limits is clipped and summarised here."""
    kwargs = _fit_in_place(interaction, kwargs)
    if interaction.response.is_done():
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.edit_message(**kwargs)
    _release(kwargs)


def _fit_in_place(interaction: discord.Interaction, kwargs: dict) -> dict:
    out = dict(kwargs)
    if isinstance(out.get("content"), str):
        out["content"] = messages.clip(out["content"], messages.CONTENT)
    if isinstance(out.get("embed"), discord.Embed):
        out["embed"] = discord.Embed.from_dict(messages.fit_embed(out["embed"].to_dict(), more=more(interaction)))
    if out.get("embeds"):
        kept = out["embeds"][: messages.EMBEDS]
        budget = messages.EMBED_TOTAL // len(kept)
        out["embeds"] = [discord.Embed.from_dict(messages.fit_embed(e.to_dict(), budget=budget, more=more(interaction))) for e in kept]
    if out.get("attachments"):
        out["attachments"] = out["attachments"][: messages.ATTACHMENTS]
    return out


async def post(channel: discord.abc.Messageable, **kwargs) -> discord.Message:
    """Post a (public) message, e.g. an announcement; several when it does not fit one. Returns the
    first."""
    content = kwargs.pop("content", None)
    sends, view = _split(None, content, kwargs)
    first = None
    for one in sends:
        message = await channel.send(**one)
        first = first or message
    _release({"view": view})
    return first


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


async def report_error(interaction: discord.Interaction, error: BaseException, *, wrote: bool = False) -> bool:
    """Tell the user why their request was refused. Returns False for unexpected errors, which the
    caller re-raises so they reach the logs (and fail tests)."""
    original = getattr(error, "original", error)
    if isinstance(original, DomainError):  # a code and params: worded in the user's language
        await reply(interaction, errors_text.describe(original, interaction.locale))
        return True
    if isinstance(error, app_commands.TransformerError):
        kind = t(interaction, OPTION_KINDS.get(error.type.name, N_("value")))
        await reply(interaction, t(interaction, "`{value}` is not a valid {kind} here.", value=excerpt(error.value), kind=kind))
        return True
    if isinstance(error, app_commands.CheckFailure):
        await reply(interaction, str(error) or t(interaction, "You can't use this command here."))
        return True
    log.error("unexpected error in %s", getattr(interaction.command, "qualified_name", "component"), exc_info=original)
    try:
        await reply(interaction, t(interaction, FAILURE_AFTER_WRITE if wrote else GENERIC_FAILURE))
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
    await remember_locale(interaction)  # before the body: the DMs it causes are in this language
    with telemetry.log_fields(command=command, fan=interaction.user.id, show=show_of(interaction)), committed_writes() as writes:
        try:
            yield
        except Exception as exc:
            handled = await report_error(interaction, exc, wrote=writes[0] > 0)
            outcome = "refused" if handled else "error"
            if not handled:
                raise
        finally:
            elapsed = time.perf_counter() - started
            telemetry.count("command", command=command, outcome=outcome)
            telemetry.observe("command_latency", elapsed, command=command)
            log.info("%s: %s in %.0f ms", command, outcome, elapsed * 1000)
        await tell_if_dms_closed(interaction)


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
