"""Fans book: /shows (the upcoming shows here, page by page) and /book (through the show's queue).

The queue message, the seat picker and the reservation's buttons are in cogs/common/booking_flow.py
(/queue and the announcement's Book button use them too); this cog registers them.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.booking_flow import (
    HoldButton,
    QuantitySelect,
    QueueButton,
    SeatSelect,
    SectionSelect,
    Wanted,
    describe_queue_status,
    hold_embed,
    hold_view,
    queue_view,
)
from cogs.common.i18n import t
from cogs.common.options import ShowOption
from cogs.common.requests import answered, cooldown
from cogs.common.services import Services, services_of
from cogs.common.ui import StatelessView, edit, reply
from domain import onsale, shows
from notifier import messages
from notifier.messages import join_within
from notifier.times import discord_ts


def _show_field(interaction: discord.Interaction, s: shows.ShowView) -> dict:
    return {
        "name": f"#{s.id} {s.title}",
        "value": t(
            interaction,
            "{when} at {venue}\nOn sale {on_sale} · {artists}",
            when=discord_ts(s.starts_at),
            venue=s.venue_name,
            on_sale=discord_ts(s.on_sale_at, "R"),
            artists=join_within(s.artists, SHOW_ARTISTS),
        ),
        "inline": False,
    }


SHOW_ARTISTS = 150  # characters of a lineup in /shows; the rest is summarised
PAGE_FOOTER_RESERVE = 40  # room kept for the translated "Page x/y" footer


def shows_page(
    interaction: discord.Interaction, found: list[shows.ShowView], page: int
) -> tuple[discord.Embed, discord.ui.View | None]:
    """Page ``page`` (1-based, clamped) of /shows: as many shows as fit one embed (25 fields, 6,000
    characters), with Previous / Next buttons when there is more than one page."""
    title = t(interaction, "Upcoming shows")
    pages = messages.paginate_fields(
        [_show_field(interaction, s) for s in found], reserve=len(title) + PAGE_FOOTER_RESERVE
    )
    page = min(max(page, 1), len(pages))
    embed = discord.Embed.from_dict({"title": title, "fields": pages[page - 1]})
    if len(pages) == 1:
        return embed, None
    embed.set_footer(
        text=t(interaction, "Page {page}/{pages} · {count} shows", page=page, pages=len(pages), count=len(found))
    )
    view = StatelessView(
        ShowsPageButton("prev", page - 1, label=t(interaction, "Previous"), disabled=page == 1),
        ShowsPageButton("next", page + 1, label=t(interaction, "Next"), disabled=page == len(pages)),
    )
    return embed, view


class ShowsPageButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"picket:shows:(?P<way>prev|next):(?P<page>\d+)"
):
    """Previous / Next under /shows: the page to show is in the custom_id; the list is read again."""

    def __init__(self, way: str, page: int, *, label: str | None = None, disabled: bool = False):
        super().__init__(
            discord.ui.Button(
                label=label or way.title(),
                style=discord.ButtonStyle.secondary,
                custom_id=f"picket:shows:{way}:{page}",
                disabled=disabled,
            )
        )
        self.way, self.page = way, page

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["way"], int(match["page"]), label=item.label)

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        found = await shows.list_shows(services.store, interaction.guild_id)
        if not found:
            await edit(interaction, content=t(interaction, "No upcoming shows here yet."), embed=None, view=None)
            return
        embed, view = shows_page(interaction, found, self.page)
        await edit(interaction, embed=embed, view=view)


class BookingCog(commands.Cog, name="booking"):
    dynamic_items = (HoldButton, QueueButton, SectionSelect, SeatSelect, QuantitySelect, ShowsPageButton)

    def __init__(self, services: Services):
        self.services = services

    @app_commands.command(name="shows", description="Upcoming shows in this server")
    @app_commands.guild_only()
    async def list_shows(self, interaction: discord.Interaction) -> None:
        found = await shows.list_shows(self.services.store, interaction.guild_id)
        if not found:
            await reply(interaction, t(interaction, "No upcoming shows here yet."))
            return
        embed, view = shows_page(interaction, found, 1)
        await reply(interaction, embed=embed, view=view)

    @app_commands.command(name="book", description="Reserve the best available seats for a show (through its queue)")
    @app_commands.describe(show="The show", quantity="How many seats", tier="Price tier (optional)")
    @cooldown(5, 30.0, option="show")  # a fan hammering /book during an on-sale is told to slow down
    @app_commands.guild_only()
    async def book(
        self,
        interaction: discord.Interaction,
        show: ShowOption,
        quantity: app_commands.Range[int, 1, 50] = 1,
        tier: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        chosen = show.tier(tier) if tier is not None else None  # an unknown tier is refused before joining the line
        booked = await onsale.book(
            self.services.store,
            self.services.redis,
            show_id=show.id,
            fan_id=interaction.user.id,
            quantity=quantity,
            tier=chosen.name if chosen else None,
        )
        status, hold = booked.status, booked.hold
        if hold is None:
            wanted = Wanted(quantity, chosen.id if chosen else 0)
            await reply(
                interaction,
                describe_queue_status(interaction, status, show),
                view=queue_view(show.id, status, wanted, show, interaction),
            )
            return
        await reply(interaction, embed=hold_embed(interaction, hold, show), view=hold_view(hold, show, interaction))
