"""Who may act where, checked before any command runs: the command tree's gate.

- Every command with a ``show`` option, in a server, reaches only that server's shows: a show of
  another server does not exist there.
- Commands of a cog marked ``organizer_only`` (every /show command) re-check the caller's organizer
  rights each time, with their roles and admin flag as they are now: rights follow the organizer
  role, and a server admin can revoke them (/organizer revoke).

A refusal is answered ephemerally here and the command never runs; the tree treats it as a failed
check, not an error. Modals and buttons are not commands: those that act as an organizer call
:func:`organizer_rights` themselves.
"""

from __future__ import annotations

import discord

from cogs.organizer import is_admin, role_ids
from cogs.services import services_of
from cogs.ui import refusals
from domain import organizers, shows
from domain.errors import DomainError


async def organizer_rights(interaction: discord.Interaction) -> organizers.OrganizerView:
    """The caller's organizer record if they may act as an organizer in this server now; a
    DomainError (not an organizer, role gone, revoked) otherwise."""
    return await organizers.authorize_organizer(
        services_of(interaction).store,
        interaction.guild_id,
        interaction.user.id,
        caller_is_admin=is_admin(interaction.user),
        caller_role_ids=role_ids(interaction.user),
    )


def _option(options: list[dict] | None, name: str):
    """The value of the option ``name`` anywhere under a command's (sub)command options."""
    for option in options or []:
        if option.get("name") == name and "value" in option:
            return option["value"]
        found = _option(option.get("options"), name)
        if found is not None:
            return found
    return None


async def gate(interaction: discord.Interaction) -> bool:
    """The tree's interaction_check: True lets the command run."""
    if interaction.type is not discord.InteractionType.application_command:
        return True  # autocomplete filters by server itself; components check in their callbacks
    command = interaction.command
    if command is None:
        return True
    try:
        if getattr(command.binding, "organizer_only", False):
            await organizer_rights(interaction)
        show = _option((interaction.data or {}).get("options"), "show")
        if interaction.guild_id is not None and isinstance(show, int):
            await shows.require_show_in_guild(services_of(interaction).store, show, interaction.guild_id)
    except DomainError as refused:
        async with refusals(interaction):  # answered, counted and logged like any other refusal
            raise refused
        return False
    return True
