"""The on-sale from a fan's side: the waiting queue, then the seat picker.

Booking always starts here (/book, the announcement's Book button, /queue join): the fan joins the
queue, and once the queue lets them in they pick seats on a seat map or take the best available.
The queue message is ephemeral and updated in place (Refresh edits it; it never posts a new one).
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.booking_flow import describe_queue_status, queue_view, start_booking
from cogs.common.i18n import t
from cogs.common.options import ShowOption
from cogs.common.requests import cooldown
from cogs.common.services import Services
from cogs.common.ui import reply
from domain import queue


@app_commands.guild_only()
class QueueCog(
    commands.GroupCog, group_name="queue", group_description="The waiting queue for an on-sale", name="queue"
):
    def __init__(self, services: Services):
        self.services = services
        super().__init__()

    @app_commands.command(name="join", description="Join the queue for a show's on-sale")
    @app_commands.describe(show="The show")
    @cooldown(5, 30.0, option="show")
    async def join(self, interaction: discord.Interaction, show: ShowOption) -> None:
        await start_booking(interaction, show)

    @app_commands.command(name="status", description="Your place in a show's queue")
    @app_commands.describe(show="The show")
    @cooldown(5, 30.0, option="show")  # the queue message's Refresh button is the way to follow one's place
    async def status(self, interaction: discord.Interaction, show: ShowOption) -> None:
        st = await queue.status(self.services.store, self.services.redis, show.id, interaction.user.id)
        await reply(
            interaction,
            describe_queue_status(interaction, st, show),
            view=queue_view(show.id, st, interaction=interaction),
        )

    @app_commands.command(name="leave", description="Leave a show's queue (joining again puts you at the back)")
    @app_commands.describe(show="The show")
    async def leave(self, interaction: discord.Interaction, show: ShowOption) -> None:
        left = await queue.leave(self.services.store, self.services.redis, show.id, interaction.user.id)
        if left:
            await reply(interaction, t(interaction, "You left the queue for **{title}**.", title=show.title))
        else:
            await reply(interaction, t(interaction, "You were not in the queue for **{title}**.", title=show.title))
