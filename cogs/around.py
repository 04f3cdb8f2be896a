"""Around the show, in Discord (issue 19): the buttons of the holder reminder ("Show my ticket") and
of the "show changed" DM ("Refund my tickets"). They answer after restarts: everything they need is
in their custom_id. (/show report, /show reminders and the server's Scheduled Event are in
cogs/common/around.py, which cogs/shows.py and cogs/common/show_forms.py use.)"""

from __future__ import annotations

import discord
from discord.ext import commands

from cogs.common.i18n import t
from cogs.common.requests import answered
from cogs.common.services import Services, services_of
from cogs.common.ui import FromCustomId, money, reply
from domain import changes, reminders

# --- the DM buttons -----------------------------------------------------------------------------------


class MyTicketButton(
    FromCustomId, discord.ui.DynamicItem[discord.ui.Button], template=r"picket:mycode:(?P<show_id>\d+)"
):
    """The holder reminder's "Show my ticket": a fresh entry code by DM for each of the fan's tickets."""

    def __init__(self, show_id: int):
        super().__init__(discord.ui.Button(label="-", custom_id=f"picket:mycode:{show_id}"))
        self.show_id = show_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        sent = await reminders.send_codes(services.store, self.show_id, interaction.user.id)
        await reply(
            interaction,
            t(
                interaction,
                "A fresh entry code for each of your {n} ticket(s) is on its way by DM. Each works for one minute.",
                n=sent,
            ),
        )


class ChangeRefundButton(
    FromCustomId, discord.ui.DynamicItem[discord.ui.Button], template=r"picket:change-refund:(?P<change_id>\d+)"
):
    """The "show changed" DM's "Refund my tickets" (a new date or venue): a full refund, one click."""

    def __init__(self, change_id: int):
        super().__init__(discord.ui.Button(label="-", custom_id=f"picket:change-refund:{change_id}"))
        self.change_id = change_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        # Refunds, then the waitlist's charges: "thinking..." under the DM, answered there (the DM stays).
        await interaction.response.defer(ephemeral=True, thinking=True)
        done = await changes.refund(
            services.store, services.gateway, change_id=self.change_id, fan_id=interaction.user.id
        )
        amount = money(done.amount_cents, done.currency, interaction)
        if done.pending:
            text = t(
                interaction,
                "Your {n} ticket(s) for **{title}** are cancelled. The payment provider has not confirmed your full refund of {amount} "
                "yet: it is pending and we retry it automatically; you need not do anything.",
                n=done.tickets,
                title=done.title,
                amount=amount,
            )
        else:
            text = t(
                interaction,
                "Your {n} ticket(s) for **{title}** are cancelled; {amount} is on its way back to your card, in full.",
                n=done.tickets,
                title=done.title,
                amount=amount,
            )
        await reply(interaction, text)


class AroundCog(commands.Cog, name="around"):
    """No commands of its own: it carries the DM buttons, which must answer after restarts."""

    dynamic_items = (MyTicketButton, ChangeRefundButton)

    def __init__(self, services: Services):
        self.services = services
