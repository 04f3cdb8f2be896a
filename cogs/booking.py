"""Fans reserve and pay: /shows, /book, and the Pay / Release buttons on a reservation."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.services import Services, services_of
from cogs.i18n import t
from cogs.ui import money, refusals, reply, ts
from domain import booking, shows
from domain.booking import HoldView, OrderView


async def show_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Autocomplete for any ``show`` option: this server's upcoming shows, matching what was typed."""
    found = await shows.list_shows(services_of(interaction).store, interaction.guild_id)
    current = current.casefold().strip()
    return [
        app_commands.Choice(name=f"{s.title} · {s.starts_at:%d %b %H:%M} · #{s.id}"[:100], value=s.id)
        for s in found
        if not current or current in s.title.casefold() or current == str(s.id)
    ][:25]


def hold_embed(interaction: discord.Interaction, hold: HoldView, show: shows.ShowView) -> discord.Embed:
    embed = discord.Embed(title=t(interaction, "Reserved: {title}", title=show.title), colour=discord.Colour.gold())
    embed.description = (
        f"{len(hold.seats)} seat(s), **{money(hold.total_cents, show.currency)}**.\n"
        f"Held for you until {ts(hold.expires_at, 'T')} ({ts(hold.expires_at, 'R')}); then they go back on sale."
    )
    for seat in hold.seats[:24]:
        embed.add_field(name=seat.tier, value=seat.label, inline=True)
    return embed


def order_embed(interaction: discord.Interaction, order: OrderView, show: shows.ShowView) -> discord.Embed:
    embed = discord.Embed(title=t(interaction, "Paid: {title}", title=show.title), colour=discord.Colour.green())
    embed.description = (
        f"Order #{order.id}: {len(order.tickets)} ticket(s), {money(order.amount_cents, order.currency)}.\n"
        "Your tickets are on their way by DM."
    )
    for ticket in order.tickets[:24]:
        embed.add_field(name=f"Ticket #{ticket.id}", value=ticket.seat.label, inline=True)
    return embed


class HoldButton(discord.ui.DynamicItem[discord.ui.Button], template=r"picket:hold:(?P<action>pay|release):(?P<hold_id>\d+)"):
    """Pay / Release on a reservation. The custom_id carries the hold id, so the button works after a
    restart with no state kept in memory."""

    def __init__(self, action: str, hold_id: int, label: str | None = None):
        style = discord.ButtonStyle.success if action == "pay" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(label=label or action.title(), style=style, custom_id=f"picket:hold:{action}:{hold_id}")
        )
        self.action = action
        self.hold_id = hold_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["action"], int(match["hold_id"]), item.label)

    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        async with refusals(interaction):
            if self.action == "release":
                await booking.release_hold(services.store, self.hold_id, interaction.user.id)
                await interaction.response.edit_message(content=t(interaction, "Released: the seats are back on sale."), embed=None, view=None)
                return
            await interaction.response.defer()
            order = await booking.purchase(
                services.store,
                services.gateway,
                hold_id=self.hold_id,
                fan_discord_id=interaction.user.id,
                fan_name=interaction.user.display_name,
            )
            services.queued()
            show = await shows.get_show(services.store, order.show_id)
            await interaction.edit_original_response(content=None, embed=order_embed(interaction, order, show), view=None)


def hold_view(hold: HoldView, show: shows.ShowView) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HoldButton("pay", hold.id, f"Pay {money(hold.total_cents, show.currency)}"))
    view.add_item(HoldButton("release", hold.id, "Release"))
    return view


class BookingCog(commands.Cog, name="booking"):
    dynamic_items = (HoldButton,)

    def __init__(self, services: Services):
        self.services = services

    @app_commands.command(name="shows", description="Upcoming shows in this server")
    @app_commands.guild_only()
    async def list_shows(self, interaction: discord.Interaction) -> None:
        async with refusals(interaction):
            found = await shows.list_shows(self.services.store, interaction.guild_id)
            if not found:
                await reply(interaction, t(interaction, "No upcoming shows here yet."))
                return
            embed = discord.Embed(title=t(interaction, "Upcoming shows"))
            for s in found[:25]:
                embed.add_field(
                    name=f"#{s.id} {s.title}"[:256],
                    value=f"{ts(s.starts_at)} at {s.venue_name}\nOn sale {ts(s.on_sale_at, 'R')} · {', '.join(s.artists)}"[:1024],
                    inline=False,
                )
            await reply(interaction, embed=embed)

    @app_commands.command(name="book", description="Reserve the best available seats for a show")
    @app_commands.describe(show="The show", quantity="How many seats", tier="Price tier (optional)")
    @app_commands.autocomplete(show=show_choices)
    @app_commands.guild_only()
    async def book(
        self,
        interaction: discord.Interaction,
        show: int,
        quantity: app_commands.Range[int, 1, 50] = 1,
        tier: str | None = None,
    ) -> None:
        async with refusals(interaction):
            hold = await booking.hold_seats(
                self.services.store, show_id=show, fan_discord_id=interaction.user.id, quantity=quantity, tier=tier
            )
            info = await shows.get_show(self.services.store, show)
            await reply(interaction, embed=hold_embed(interaction, hold, info), view=hold_view(hold, info))
