"""Organizer rights in a server: /organizer register, /organizer grant, /organizer revoke, /organizer role.

Rights are checked again at every organizer command (cogs/common/authority.py): a server admin, a member
an admin granted them to (until revoked), or a member holding the organizer role right now."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.authority import is_admin, role_ids, server_id
from cogs.common.i18n import t
from cogs.common.services import Services
from cogs.common.ui import reply
from domain import organizers


@app_commands.guild_only()
class OrganizerCog(
    commands.GroupCog, group_name="organizer", group_description="Organizer tools for this server", name="organizer"
):
    def __init__(self, services: Services):
        self.services = services
        super().__init__()

    @app_commands.command(
        name="register", description="Become an organizer in this server (admins, or the organizer role)"
    )
    async def register(self, interaction: discord.Interaction) -> None:
        await organizers.claim_organizer(
            self.services.store,
            server_id(interaction),
            interaction.user.id,
            interaction.user.display_name,
            caller_is_admin=is_admin(interaction.user),
            caller_role_ids=role_ids(interaction.user),
        )
        await reply(
            interaction,
            t(interaction, "You are an organizer here. Create a show with /show create: no agency, no commission."),
        )

    @app_commands.command(name="grant", description="Make a member an organizer (server admins)")
    @app_commands.describe(member="Who may create and sell shows here")
    async def grant(self, interaction: discord.Interaction, member: discord.Member) -> None:
        await organizers.grant_organizer(
            self.services.store,
            server_id(interaction),
            member.id,
            member.display_name,
            caller_is_admin=is_admin(interaction.user),
        )
        await reply(interaction, t(interaction, "{member} is now an organizer here.", member=member.mention))

    @app_commands.command(name="revoke", description="Take a member's organizer rights away (server admins)")
    @app_commands.describe(member="Who may no longer create, announce or sell shows here")
    async def revoke(self, interaction: discord.Interaction, member: discord.Member) -> None:
        await organizers.revoke_organizer(
            self.services.store, server_id(interaction), member.id, caller_is_admin=is_admin(interaction.user)
        )
        await reply(
            interaction,
            t(
                interaction,
                "{member} is no longer an organizer here. Their shows stay on sale for ticket holders; they can no longer manage them.",
                member=member.mention,
            ),
        )

    @app_commands.command(name="role", description="Let members with this role register as organizers (server admins)")
    @app_commands.describe(role="Members holding it may register as organizers")
    async def role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        await organizers.set_organizer_role(
            self.services.store, server_id(interaction), role.id, caller_is_admin=is_admin(interaction.user)
        )
        await reply(
            interaction, t(interaction, "Members with {role} can now run /organizer register.", role=role.mention)
        )

    @app_commands.command(
        name="timezone", description="The time zone of new shows here when their organizer names none (server admins)"
    )
    @app_commands.describe(zone="An IANA time zone, e.g. Asia/Seoul or Europe/Paris")
    async def timezone(self, interaction: discord.Interaction, zone: app_commands.Range[str, 1, 64]) -> None:
        name = await organizers.set_server_timezone(
            self.services.store, server_id(interaction), zone, caller_is_admin=is_admin(interaction.user)
        )
        await reply(
            interaction,
            t(
                interaction,
                "New shows in this server use {zone} unless their organizer names another time zone.",
                zone=name,
            ),
        )
