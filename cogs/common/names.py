"""Artist and genre options shared by /follow and /alertrole: the option type and its autocomplete
of the names Picket knows."""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.common import ui
from cogs.common.services import services_of
from domain import follows
from domain.specs import MAX_NAME

Name = app_commands.Range[str, 1, MAX_NAME]  # an artist or genre (the domain checks again)


async def _known(interaction: discord.Interaction, kind: str, current: str) -> list[app_commands.Choice[str]]:
    names = await follows.known_names(services_of(interaction).store, kind, current)
    return ui.choices((n, n) for n in names)


async def artist_choices(interaction: discord.Interaction, current: str):
    return await _known(interaction, "artist", current)


async def genre_choices(interaction: discord.Interaction, current: str):
    return await _known(interaction, "genre", current)
