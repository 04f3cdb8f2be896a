"""The ``show`` option of every command: its autocomplete, and its lookup before the command runs.

A command in one server never reaches a show of another: there, that show does not exist ("There is
no show #7."), whether typed or offered. ``show: ShowOption`` hands the command the show itself
(``shows.ShowView``); ``show: DoorShowOption`` (/checkin) offers the shows the caller may check
tickets in at instead, in DMs too.
"""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.common.i18n import lang
from cogs.common.services import services_of
from cogs.common.ui import choices
from domain import checkin, shows
from notifier import messages
from notifier.times import venue_time


class ServerShow(app_commands.Transformer):
    """A show of this server, by id (outside a server, any show: the command checks the caller's
    rights there)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.integer

    async def transform(self, interaction: discord.Interaction, value: int, /) -> shows.ShowView:
        return await shows.get_show(services_of(interaction).store, value, guild_id=interaction.guild_id)

    async def autocomplete(
        self, interaction: discord.Interaction, value: int | float | str, /
    ) -> list[app_commands.Choice[int | float | str]]:
        """This server's upcoming shows, matching what was typed (outside a server, none: list_shows
        without a server would list every server's)."""
        if interaction.guild_id is None:
            return []
        found = await shows.list_shows(services_of(interaction).store, interaction.guild_id)
        current = str(value).casefold().strip()
        return choices(
            (
                f"{messages.clip(s.title, 60)} · {venue_time(s.starts_at, s.timezone, date=False, lang=lang(interaction))} · #{s.id}",
                s.id,
            )  # a long title must not push out its id
            for s in found
            if not current or current in s.title.casefold() or current == str(s.id)
        )


class StaffedShow(ServerShow):
    """A show for /checkin: offered are the shows this member may check tickets in at; in a server,
    that server's only (in DMs, theirs in every server, and nobody else's)."""

    async def autocomplete(
        self, interaction: discord.Interaction, value: int | float | str, /
    ) -> list[app_commands.Choice[int | float | str]]:
        found = await checkin.door_shows(services_of(interaction).store, interaction.user.id, interaction.guild_id)
        current = str(value).casefold().strip()
        offered: list[app_commands.Choice[int | float | str]] = [
            app_commands.Choice(name=f"{s.title} · {s.starts_at:%d %b %H:%M} · #{s.id}"[:100], value=s.id)
            for s in found
            if not current or current in s.title.casefold() or current == str(s.id)
        ]
        return offered[:25]


ShowOption = app_commands.Transform[shows.ShowView, ServerShow]
DoorShowOption = app_commands.Transform[shows.ShowView, StaffedShow]
