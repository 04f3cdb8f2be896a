"""Shared rendering and reply helpers for cogs: answers within Discord's limits, amounts, views made
of persistent items, autocomplete choices."""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.common.i18n import locale_of, t
from notifier import messages
from notifier.money import format_money


def money(minor: int, currency: str, interaction: discord.Interaction | discord.Locale | None = None) -> str:
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
    """ "…and N more" in the user's language: the summary the message builders put in place of what
    did not fit."""
    return lambda n: t(interaction, "…and {n} more", n=n)


def choices(pairs) -> list[app_commands.Choice]:
    """Autocomplete answers within Discord's limits: the first 25 (name, value) pairs, names clipped
    to 100 characters."""
    out: list[app_commands.Choice] = []
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
        out["embeds"] = [
            discord.Embed.from_dict(messages.fit_embed(e.to_dict(), budget=budget, more=more(interaction)))
            for e in kept
        ]
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
    assert first is not None  # split_parts gives at least one message
    return first
