"""A fan's own tickets: /ticket list and /ticket cancel."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common import ui
from cogs.common.i18n import t
from cogs.common.requests import cooldown
from cogs.common.services import Services, services_of
from cogs.common.ui import money, reply, thinking
from domain import cancellations, checkin, errors, shows
from domain.tickets import list_tickets
from notifier.seats import seat_label
from notifier.times import discord_ts


async def own_ticket_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    tickets = await list_tickets(services_of(interaction).store, interaction.user.id)
    return ui.choices(
        (f"#{tk.id} · {seat_label(tk.seat, interaction.locale)}", tk.id)
        for tk in tickets
        if not current
        or current in str(tk.id)
        or current.casefold() in seat_label(tk.seat, interaction.locale).casefold()
    )


class TicketsCog(commands.GroupCog, group_name="ticket", group_description="Your tickets and refunds", name="tickets"):
    def __init__(self, services: Services):
        self.services = services
        super().__init__()

    @app_commands.command(name="list", description="Your tickets")
    async def list_(self, interaction: discord.Interaction) -> None:
        tickets = await list_tickets(self.services.store, interaction.user.id)
        if not tickets:
            await reply(interaction, t(interaction, "You have no tickets yet. Use /book to get some."))
            return
        titles = {sid: (await shows.get_show(self.services.store, sid)).title for sid in {tk.show_id for tk in tickets}}
        embed = discord.Embed(title=t(interaction, "Your tickets"))
        for ticket in tickets:  # past 25 fields (or 6,000 characters) reply() summarises the rest
            state = t(interaction, "checked in") if ticket.status == "checked_in" else t(interaction, "valid")
            embed.add_field(
                name=f"#{ticket.id} · {titles[ticket.show_id]}"[:256],
                value=f"{seat_label(ticket.seat, interaction.locale)} · {state}",
                inline=False,
            )
        await reply(interaction, embed=embed)

    @app_commands.command(name="show", description="DM me a fresh entry QR for one of my tickets (valid one minute)")
    @app_commands.describe(ticket="The ticket to show at the door")
    @app_commands.autocomplete(ticket=own_ticket_choices)
    @cooldown(3, 60.0, option="ticket")  # each one DMs a fresh code of that ticket: no DM flood
    async def show(self, interaction: discord.Interaction, ticket: int) -> None:
        found = await checkin.request_code(self.services.store, ticket, interaction.user.id)
        await reply(
            interaction,
            t(
                interaction,
                "A fresh entry code for ticket #{id} ({seat}) is in your DMs. It works for one minute.",
                id=found.id,
                seat=seat_label(found.seat, interaction.locale),
            ),
        )

    @app_commands.command(
        name="cancel", description="Cancel one of your tickets: refunded as the show's cancellation policy says"
    )
    @app_commands.describe(ticket="The ticket to cancel")
    @app_commands.autocomplete(ticket=own_ticket_choices)
    async def cancel(self, interaction: discord.Interaction, ticket: int) -> None:
        await thinking(interaction)  # a refund, then charges to waitlisted fans
        try:
            done = await cancellations.cancel_ticket(
                self.services.store, self.services.gateway, ticket_id=ticket, fan_id=interaction.user.id
            )
        except errors.CancellationClosed as closed:
            await reply(
                interaction,
                t(
                    interaction,
                    "Tickets for **{title}** could be cancelled until {when}. The cancellation deadline has passed, so this "
                    "ticket can no longer be cancelled or refunded.",
                    title=closed.title,
                    when=discord_ts(closed.deadline, "f"),
                ),
            )
            return
        show = await shows.get_show(self.services.store, done.show_id)
        refund = done.seat.price_cents if done.refund_cents is None else done.refund_cents
        if done.fee_cents:
            fee = dict(
                price=money(done.seat.price_cents, show.currency, interaction),
                fee=money(done.fee_cents, show.currency, interaction),
            )
            if done.refund_pending:
                text = t(
                    interaction,
                    "Ticket #{id} ({seat}) for **{title}** is cancelled. Refund: {amount} (price {price} minus a cancellation fee of "
                    "{fee}, as the show's cancellation policy says). The payment provider has not confirmed it yet: it is pending "
                    "and we retry it automatically; you need not do anything.",
                    id=done.id,
                    seat=seat_label(done.seat, interaction.locale),
                    title=show.title,
                    amount=money(refund, show.currency, interaction),
                    **fee,
                )
            else:
                text = t(
                    interaction,
                    "Ticket #{id} ({seat}) for **{title}** is cancelled; {amount} is on its way back to your card (price {price} "
                    "minus a cancellation fee of {fee}, as the show's cancellation policy says).",
                    id=done.id,
                    seat=seat_label(done.seat, interaction.locale),
                    title=show.title,
                    amount=money(refund, show.currency, interaction),
                    **fee,
                )
        elif done.refund_pending:
            text = t(
                interaction,
                "Ticket #{id} ({seat}) for **{title}** is cancelled. The payment provider has not confirmed your refund of "
                "{amount} yet: it is pending and we retry it automatically; you need not do anything.",
                id=done.id,
                seat=seat_label(done.seat, interaction.locale),
                title=show.title,
                amount=money(refund, show.currency, interaction),
            )
        else:
            text = t(
                interaction,
                "Ticket #{id} ({seat}) for **{title}** is cancelled; {amount} is on its way back to your card.",
                id=done.id,
                seat=seat_label(done.seat, interaction.locale),
                title=show.title,
                amount=money(refund, show.currency, interaction),
            )
        await reply(interaction, text)
