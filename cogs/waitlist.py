"""The cancellation waitlist: /waitlist join | leave | status."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.booking import show_choices
from cogs.i18n import t
from cogs.services import Services, services_of
from cogs.ui import FromCustomId, edit, refusals, reply, thinking
from domain import shows, waitlist
from notifier.i18n import N_


async def join_or_send_to_queue(interaction: discord.Interaction, services: Services, info: shows.ShowView, *, quantity: int = 1, tier: str | None = None):
    """Join the waitlist. While the queue still sells the show's seats (or before the open) the
    domain refuses (``waitlist.queue_first``, ``waitlist.sale_not_open``), worded for the fan by
    notifier/errors_text.py like every refusal, and nothing is written."""
    return await waitlist.join_waitlist(
        services.store, show_id=info.id, fan_id=interaction.user.id, quantity=quantity, tier=tier, gateway=services.gateway
    )


def joined_text(interaction: discord.Interaction, entry, info: shows.ShowView) -> str:
    """What a fan who joined the waitlist (취소표 대기) reads, from /waitlist join or the
    announcement's button: how it works, the way Korean ticketing sites describe theirs."""
    return t(
        interaction,
        "You are #{position} on the waitlist for **{title}** ({quantity} seat(s)). When tickets are cancelled, fans on the waitlist "
        "get them in turn: your seats are booked and charged to your card automatically, and your tickets arrive by DM. "
        "Nothing is charged before.",
        position=entry.position, title=info.title, quantity=entry.quantity,
    )


class OfferButton(FromCustomId, discord.ui.DynamicItem[discord.ui.Button], template=r"picket:offer:(?P<action>accept|decline):(?P<entry_id>\d+)"):
    """Accept / Pass on a waitlist offer DM (shows in offer mode)."""

    def __init__(self, action: str, entry_id: int, locale: object = None):
        style = discord.ButtonStyle.success if action == "accept" else discord.ButtonStyle.secondary
        label = N_("Accept") if action == "accept" else N_("Pass")
        super().__init__(discord.ui.Button(label=t(locale, label), style=style, custom_id=f"picket:offer:{action}:{entry_id}"))
        self.action, self.entry_id = action, entry_id

    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        async with refusals(interaction):
            await interaction.response.defer()
            if self.action == "accept":
                order = await waitlist.accept_offer(services.store, services.gateway, entry_id=self.entry_id, fan_id=interaction.user.id)
                await edit(
                    interaction,
                    content=t(interaction, "Accepted: order #{id}, {n} ticket(s). They are on their way by DM.", id=order.id, n=len(order.tickets)),
                    view=None,
                )
            else:
                await waitlist.decline_offer(services.store, services.gateway, entry_id=self.entry_id, fan_id=interaction.user.id)
                await edit(interaction, content=t(interaction, "You passed; the seats went to the next fan on the waitlist."), view=None)


@app_commands.guild_only()
class WaitlistCog(commands.GroupCog, group_name="waitlist", group_description="Wait for cancelled seats", name="waitlist"):
    dynamic_items = (OfferButton,)

    def __init__(self, services: Services):
        self.services = services
        super().__init__()

    @app_commands.command(name="join", description="Wait for cancelled tickets: when one comes back it is booked and charged to you in turn")
    @app_commands.describe(show="The show", quantity="How many seats", tier="Price tier (optional)")
    @app_commands.autocomplete(show=show_choices)
    async def join(self, interaction: discord.Interaction, show: int, quantity: app_commands.Range[int, 1, 50] = 1, tier: app_commands.Range[str, 1, 40] | None = None) -> None:
        async with refusals(interaction):
            await thinking(interaction)  # the card is authorised with the payment provider
            info = await shows.get_show(self.services.store, show)
            entry = await join_or_send_to_queue(interaction, self.services, info, quantity=quantity, tier=tier)
            await reply(interaction, joined_text(interaction, entry, info))

    @app_commands.command(name="status", description="Your place on a show's waitlist")
    @app_commands.describe(show="The show")
    @app_commands.autocomplete(show=show_choices)
    async def status(self, interaction: discord.Interaction, show: int) -> None:
        async with refusals(interaction):
            info = await shows.get_show(self.services.store, show)
            entry = await waitlist.waitlist_position(self.services.store, show_id=show, fan_id=interaction.user.id)
            if entry:
                await reply(interaction, t(interaction, "You are #{position} on the waitlist for **{title}**.", position=entry.position, title=info.title))
            else:
                await reply(interaction, t(interaction, "You are not on the waitlist for **{title}**.", title=info.title))

    @app_commands.command(name="leave", description="Leave a show's waitlist")
    @app_commands.describe(show="The show")
    @app_commands.autocomplete(show=show_choices)
    async def leave(self, interaction: discord.Interaction, show: int) -> None:
        async with refusals(interaction):
            info = await shows.get_show(self.services.store, show)
            left = await waitlist.leave_waitlist(self.services.store, show_id=show, fan_id=interaction.user.id)
            if left:
                await reply(interaction, t(interaction, "You left the waitlist for **{title}**.", title=info.title))
            else:
                await reply(interaction, t(interaction, "You were not on the waitlist for **{title}**.", title=info.title))
