"""Who may act as an organizer, checked at every organizer request with the caller's roles and admin
flag as they are now: rights follow the organizer role, and a server admin can revoke them
(/organizer revoke).

Commands say so with :data:`organizer_only` (an app_commands check: a refusal is answered
ephemerally and the command never runs). Forms and buttons are not commands: those that act as an
organizer call :func:`organizer_rights` themselves. That a command in one server never reaches a show
of another is the ``show`` option's own lookup (cogs/common/options.py).
"""

from __future__ import annotations

from typing import cast

import discord
from discord import app_commands

from cogs.common.i18n import t
from cogs.common.requests import Refused
from cogs.common.services import services_of
from domain import organizers
from domain.errors import DomainError, NotPermitted


def server_id(interaction: discord.Interaction) -> int:
    """The server a guild-only command (``app_commands.guild_only``) was used in: Discord sends those
    from servers only."""
    assert interaction.guild_id is not None, "a guild-only command used outside a server"
    return interaction.guild_id


def is_admin(member: discord.abc.User) -> bool:
    perms = getattr(member, "guild_permissions", None)
    return bool(perms and (perms.manage_guild or perms.administrator))


def role_ids(member: discord.abc.User) -> list[int]:
    return [r.id for r in getattr(member, "roles", [])]


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


async def _organizer_now(interaction: discord.Interaction) -> bool:
    try:
        await organizer_rights(interaction)
    except DomainError as refusal:
        raise Refused() from refusal
    except Exception as failure:  # ours (the database...): the tree apologises and logs it
        raise app_commands.AppCommandError("organizer rights could not be read") from failure
    return True


organizer_only = app_commands.check(_organizer_now)
"""A command only an organizer of this server may run (every /show command)."""


def may_post_in(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
    """Picket posts on an organizer's behalf (an announcement, an alert role's button) only in a
    channel of this server where the organizer could post themselves, and where Picket can post:
    otherwise NotPermitted, saying what is missing, and nothing is written."""
    if channel.guild.id != interaction.guild_id:
        raise NotPermitted(t(interaction, "Pick a channel of this server."))
    if not channel.permissions_for(cast(discord.Member, interaction.user)).send_messages:  # in a server: a Member
        raise NotPermitted(
            t(interaction, "You can't post in {channel}, so Picket won't post there for you.", channel=channel.mention)
        )
    me = channel.guild.me
    mine = channel.permissions_for(me) if me else discord.Permissions.none()
    if not (mine.view_channel and mine.send_messages and mine.embed_links):
        raise NotPermitted(
            t(
                interaction,
                "Picket can't post in {channel}: give it View Channel, Send Messages and Embed Links there.",
                channel=channel.mention,
            )
        )
