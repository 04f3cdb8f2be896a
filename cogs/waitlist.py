"""The cancellation waitlist: /waitlist join | leave | status."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.booking_flow import join_or_send_to_queue, joined_text
from cogs.common.i18n import t
from cogs.common.options import ShowOption
from cogs.common.requests import answered
from cogs.common.services import Services, services_of
from cogs.common.ui import FromCustomId, edit, reply, thinking
from domain import waitlist, waitlist_promotion
from notifier.i18n import N_


class OfferButton(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"picket:offer:(?P<action>accept|decline):(?P<entry_id>\d+)",
):
    """Accept / Pass on a waitlist offer DM (shows in offer mode)."""

    def __init__(self, action: str, entry_id: int, locale: discord.Locale | str | None = None):
        style = discord.ButtonStyle.success if action == "accept" else discord.ButtonStyle.secondary
        label = N_("Accept") if action == "accept" else N_("Pass")
        super().__init__(
            discord.ui.Button(label=t(locale, label), style=style, custom_id=f"picket:offer:{action}:{entry_id}")
        )
        self.action, self.entry_id = action, entry_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        await interaction.response.defer()
        if self.action == "accept":
            order = await waitlist_promotion.accept_offer(
                services.store, services.gateway, entry_id=self.entry_id, fan_id=interaction.user.id
            )
            await edit(
                interaction,
                content=t(
                    interaction,
                    "Accepted: order #{id}, {n} ticket(s). They are on their way by DM.",
                    id=order.id,
                    n=len(order.tickets),
                ),
                view=None,
            )
        else:
            await waitlist_promotion.decline_offer(
                services.store, services.gateway, entry_id=self.entry_id, fan_id=interaction.user.id
            )
            await edit(
                interaction,
                content=t(interaction, "You passed; the seats went to the next fan on the waitlist."),
                view=None,
            )


@app_commands.guild_only()
class WaitlistCog(
    commands.GroupCog, group_name="waitlist", group_description="Wait for cancelled seats", name="waitlist"
):
    dynamic_items = (OfferButton,)

    def __init__(self, services: Services):
        self.services = services
        super().__init__()

    @app_commands.command(
        name="join",
        description="Wait for cancelled tickets: when one comes back it is booked and charged to you in turn",
    )
    @app_commands.describe(show="The show", quantity="How many seats", tier="Price tier (optional)")
    async def join(
        self,
        interaction: discord.Interaction,
        show: ShowOption,
        quantity: app_commands.Range[int, 1, 50] = 1,
        tier: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        await thinking(interaction)  # the card is authorised with the payment provider
        entry = await join_or_send_to_queue(interaction, self.services, show, quantity=quantity, tier=tier)
        await reply(interaction, joined_text(interaction, entry, show))

    @app_commands.command(name="status", description="Your place on a show's waitlist")
    @app_commands.describe(show="The show")
    async def status(self, interaction: discord.Interaction, show: ShowOption) -> None:
        entry = await waitlist.waitlist_position(self.services.store, show_id=show.id, fan_id=interaction.user.id)
        if entry:
            await reply(
                interaction,
                t(
                    interaction,
                    "You are #{position} on the waitlist for **{title}**.",
                    position=entry.position,
                    title=show.title,
                ),
            )
        else:
            await reply(interaction, t(interaction, "You are not on the waitlist for **{title}**.", title=show.title))

    @app_commands.command(name="leave", description="Leave a show's waitlist")
    @app_commands.describe(show="The show")
    async def leave(self, interaction: discord.Interaction, show: ShowOption) -> None:
        left = await waitlist.leave_waitlist(self.services.store, show_id=show.id, fan_id=interaction.user.id)
        if left:
            await reply(interaction, t(interaction, "You left the waitlist for **{title}**.", title=show.title))
        else:
            await reply(interaction, t(interaction, "You were not on the waitlist for **{title}**.", title=show.title))
