"""Alert roles, a server's opt-in: /alertrole add|remove, and the button members take the role with.

DMs go out at Discord's pace, so a big artist's followers are told over many minutes. A server can
also reach its members at once: an organizer offers an alert role for an artist or genre in a
channel; members press the button there to take it (or give it back); each new show of that artist or
genre announced in the server is then posted in that channel mentioning the role. Who took the role
there gets the ping and no DM for that show (domain/alert_roles.py).
"""

from __future__ import annotations

from typing import cast

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.authority import may_post_in, organizer_only, server_id
from cogs.common.i18n import t
from cogs.common.names import Name, artist_choices, genre_choices
from cogs.common.requests import answered
from cogs.common.services import Services, services_of
from cogs.common.ui import FromCustomId, StatelessView, post, reply
from domain import alert_roles, errors
from notifier.i18n import N_

ROLE_NAME_MAX = 100  # Discord's limit on a role's name


def _one(interaction: discord.Interaction, artist: str | None, genre: str | None) -> tuple[str, str]:
    if bool(artist) == bool(genre):
        raise errors.InvalidInput(t(interaction, "Give an artist or a genre (one of them)."))
    return ("artist", artist) if artist else ("genre", genre or "")


class AlertRoleButton(
    FromCustomId, discord.ui.DynamicItem[discord.ui.Button], template=r"picket:alertrole:(?P<role_id>\d+)"
):
    """Take the alert role, or give it back: the same button. Its id carries the role, so it keeps
    working after restarts."""

    LABEL = N_("Ping me for new shows")

    def __init__(self, role_id: int, locale: discord.Locale | str | None = None):
        super().__init__(
            discord.ui.Button(
                label=t(locale, self.LABEL),
                style=discord.ButtonStyle.primary,
                custom_id=f"picket:alertrole:{role_id}",
                emoji="🔔",
            )
        )
        self.role_id = role_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        member = cast(discord.Member, interaction.user)  # the button is in a server channel: a Member
        holding = any(r.id == self.role_id for r in getattr(member, "roles", ()))
        role = await alert_roles.set_member(
            services.store, server_id(interaction), self.role_id, member.id, holding=not holding
        )
        try:
            if holding:
                await member.remove_roles(discord.Object(self.role_id), reason="Picket alert role: given back")
            else:
                await member.add_roles(discord.Object(self.role_id), reason="Picket alert role: taken")
        except discord.HTTPException:
            await alert_roles.set_member(
                services.store, server_id(interaction), self.role_id, member.id, holding=holding
            )  # as it was
            raise errors.NotPermitted(
                t(
                    interaction,
                    "Picket can't give out that role: it needs Manage Roles, with its own role above <@&{role}>.",
                    role=self.role_id,
                )
            ) from None
        name = discord.utils.escape_markdown(role.name)
        if holding:
            await reply(interaction, t(interaction, "You won't be pinged for **{name}** any more.", name=name))
        else:
            await reply(
                interaction,
                t(
                    interaction,
                    "You'll be pinged in <#{channel}> when **{name}** has a new show in this server, and get no DM for those shows. "
                    "Press again to stop.",
                    channel=role.channel_id,
                    name=name,
                ),
            )


@app_commands.guild_only()
class AlertRolesCog(
    commands.GroupCog,
    group_name="alertrole",
    group_description="Ping a role for an artist's or genre's new shows, instead of thousands of DMs",
    name="alert_roles",
):
    dynamic_items = (AlertRoleButton,)

    def __init__(self, services: Services):
        self.services = services
        super().__init__()

    @app_commands.command(
        name="add", description="Offer an alert role: members take it with a button and are pinged at each new show"
    )
    @organizer_only
    @app_commands.describe(
        channel="Where the button goes, and the posts that ping the role",
        artist="An artist (or give a genre)",
        genre="A genre (or give an artist)",
    )
    @app_commands.autocomplete(artist=artist_choices, genre=genre_choices)
    async def add(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        artist: Name | None = None,
        genre: Name | None = None,
    ) -> None:
        kind, typed = _one(interaction, artist, genre)
        name = alert_roles.clean_name(kind, typed)
        guild = interaction.guild
        assert guild is not None  # a guild-only command
        may_post_in(interaction, channel)
        if not (guild.me and guild.me.guild_permissions.manage_roles):
            raise errors.NotPermitted(t(interaction, "Picket can't make roles here: give it Manage Roles."))
        # In the server's language: the role and its button are public.
        language = guild.preferred_locale
        role_name = t(language, "{name} alerts", name=name)[:ROLE_NAME_MAX]
        try:
            role = await guild.create_role(
                name=role_name, mentionable=True, reason=f"Picket alert role for {kind} {name}"
            )
        except discord.HTTPException:
            raise errors.NotPermitted(t(interaction, "Picket can't make roles here: give it Manage Roles.")) from None
        try:
            offered = await alert_roles.add_alert_role(
                self.services.store, server_id(interaction), kind, name, role_id=role.id, channel_id=channel.id
            )
        except errors.DomainError:
            await role.delete(reason="Picket: that alert role already exists")
            raise
        try:
            await post(
                channel,
                content=t(
                    language,
                    "🔔 **{name}**: press the button to be pinged here when they have a new show in this server "
                    "(no DM for those shows). Press again to stop.",
                    name=discord.utils.escape_markdown(offered.name),
                ),
                view=StatelessView(AlertRoleButton(role.id, language)),
            )
        except discord.HTTPException:
            await alert_roles.remove_alert_role(self.services.store, server_id(interaction), kind, name)
            await role.delete(reason="Picket: could not post the alert role's button")
            raise errors.NotPermitted(
                t(
                    interaction,
                    "Picket can't post in {channel}: give it View Channel, Send Messages and Embed Links there.",
                    channel=channel.mention,
                )
            ) from None
        await reply(
            interaction,
            t(
                interaction,
                "Members can take {role} with the button in {channel}. New shows of **{name}** announced here will ping it there.",
                role=role.mention,
                channel=channel.mention,
                name=discord.utils.escape_markdown(offered.name),
            ),
        )

    @app_commands.command(name="remove", description="Stop offering an alert role; the role is deleted")
    @organizer_only
    @app_commands.describe(artist="An artist (or give a genre)", genre="A genre (or give an artist)")
    @app_commands.autocomplete(artist=artist_choices, genre=genre_choices)
    async def remove(
        self, interaction: discord.Interaction, artist: Name | None = None, genre: Name | None = None
    ) -> None:
        kind, typed = _one(interaction, artist, genre)
        gone = await alert_roles.remove_alert_role(self.services.store, server_id(interaction), kind, typed)
        role = interaction.guild.get_role(gone.role_id) if interaction.guild is not None else None
        if role is not None:
            try:
                await role.delete(reason="Picket alert role removed")
            except discord.HTTPException:
                pass  # no longer ours to delete: the alert role is gone from Picket all the same
        await reply(
            interaction,
            t(interaction, "The alert role for **{name}** is gone.", name=discord.utils.escape_markdown(gone.name)),
        )
