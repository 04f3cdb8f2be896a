"""How a fan gets seats, shared by /book, /queue and the announcement's buttons: the waiting queue's
message, the seat picker (seat map, section and seat selects, best available), the Pay / Release
buttons on a reservation, and the waitlist once the queue has nothing left to sell.

Booking always goes through the show's queue: the fan joins it, and once let in picks seats.
The queue message is ephemeral and updated in place (Refresh edits it; it never posts a new one).
Every item here is persistent (a DynamicItem): its custom_id carries what it needs, so it works
after a restart; BookingCog registers them.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import discord

from cogs.common.i18n import t
from cogs.common.policy import policy_block
from cogs.common.requests import answered
from cogs.common.services import Services, services_of
from cogs.common.ui import FromCustomId, StatelessView, edit, money, reply, thinking
from domain import holds, orders, queue, seats, shows, waitlist
from domain.holds import HoldSummary
from domain.orders import OrderSummary
from domain.queue import QueueStatus
from notifier import messages
from notifier.charts import seat_map_image
from notifier.i18n import N_
from notifier.seats import seat_label
from notifier.times import discord_ts


def hold_embed(interaction: discord.Interaction, hold: HoldSummary, show: shows.ShowView) -> discord.Embed:
    embed = discord.Embed(title=t(interaction, "Reserved: {title}", title=show.title), colour=discord.Colour.gold())
    embed.description = t(
        interaction,
        "{n} seat(s), **{amount}**.\nHeld for you until {until} ({left}); then they go back on sale.",
        n=len(hold.seats),
        amount=money(hold.total_cents, show.currency, interaction),
        until=discord_ts(hold.expires_at, "T"),
        left=discord_ts(hold.expires_at, "R"),
    )
    # Before paying, the fan reads the show's cancellation policy (Korean sites show it at this step).
    embed.description += "\n\n" + policy_block(
        interaction, show.refund_policy, show.starts_at, services_of(interaction).now()
    )
    for seat in hold.seats:  # past 25 fields, reply()/edit() summarise the rest
        embed.add_field(name=seat.tier, value=seat_label(seat, interaction.locale), inline=True)
    return embed


def order_embed(interaction: discord.Interaction, order: OrderSummary, show: shows.ShowView) -> discord.Embed:
    embed = discord.Embed(title=t(interaction, "Paid: {title}", title=show.title), colour=discord.Colour.green())
    embed.description = t(
        interaction,
        "Order #{id}: {n} ticket(s), {amount}.\nYour tickets are on their way by DM.",
        id=order.id,
        n=len(order.tickets),
        amount=money(order.amount_cents, order.currency, interaction),
    )
    embed.description += "\n\n" + policy_block(
        interaction, show.refund_policy, show.starts_at, services_of(interaction).now()
    )
    for ticket in order.tickets:  # past 25 fields, edit() summarises the rest
        embed.add_field(
            name=t(interaction, "Ticket #{id}", id=ticket.id),
            value=seat_label(ticket.seat, interaction.locale),
            inline=True,
        )
    return embed


class HoldButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"picket:hold:(?P<action>pay|release):(?P<hold_id>\d+)"
):
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

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        if self.action == "release":
            await holds.release_hold(services.store, self.hold_id, interaction.user.id)
            await edit(
                interaction, content=t(interaction, "Released: the seats are back on sale."), embed=None, view=None
            )
            return
        await interaction.response.defer()
        order = await orders.purchase(
            services.store,
            services.gateway,
            hold_id=self.hold_id,
            fan_id=interaction.user.id,
            fan_name=interaction.user.display_name,
        )
        show = await shows.get_show(services.store, order.show_id)
        await edit(interaction, content=None, embed=order_embed(interaction, order, show), view=None)


def hold_view(
    hold: HoldSummary, show: shows.ShowView, interaction: discord.Interaction | None = None
) -> discord.ui.View:
    view = StatelessView()
    view.add_item(
        HoldButton(
            "pay", hold.id, t(interaction, "Pay {amount}", amount=money(hold.total_cents, show.currency, interaction))
        )
    )
    view.add_item(HoldButton("release", hold.id, t(interaction, "Release")))
    return view


MAX_OPTIONS = messages.OPTIONS  # Discord: a select has at most 25 options


def describe_queue_status(interaction: discord.Interaction | None, status: QueueStatus, show: shows.ShowView) -> str:
    if status.state == "lobby":
        return t(
            interaction,
            "You're in the queue for **{title}**. Sales open {when}; then everyone who joined "
            "before the open gets a random place, so there is no need to hurry or refresh.",
            title=show.title,
            when=discord_ts(show.on_sale_at, "R"),
        )
    if status.state == "queued" and status.waiting_for_seats:
        return t(
            interaction,
            "You're **#{position}** in line for **{title}** ({ahead} ahead of you). Every seat left is being "
            "chosen or paid for by fans let in before you: if seats come back, you'll be let in, in turn, "
            "and we'll DM you.",
            position=status.position,
            title=show.title,
            ahead=status.ahead,
        )
    if status.state == "queued":
        minutes = max(1, round((status.eta_seconds or 0) / 60))
        return t(
            interaction,
            "You're **#{position}** in line for **{title}** ({ahead} ahead of you, about {minutes} min).",
            position=status.position,
            title=show.title,
            ahead=status.ahead,
            minutes=minutes,
        )
    if status.state == "admitted":
        minutes = max(1, (status.admitted_for_seconds or 0) // 60)
        return t(
            interaction,
            "It's your turn for **{title}**! You have {minutes} min to choose seats.",
            title=show.title,
            minutes=minutes,
        )
    return t(interaction, "You're not in the queue for **{title}**.", title=show.title)


@dataclass(frozen=True)
class Wanted:
    """What a fan asked /book for while still in line (tier 0: any), kept in the queue message's
    custom_ids so the step after admission honours it, after a restart too."""

    quantity: int
    tier_id: int = 0


def queue_view(
    show_id: int,
    status: QueueStatus,
    wanted: Wanted | None = None,
    show: shows.ShowView | None = None,
    interaction=None,
) -> discord.ui.View:
    view = StatelessView()
    if status.state == "admitted":
        if wanted is not None:
            tier = next((tr.name for tr in (show.tiers if show else ()) if tr.id == wanted.tier_id), None)
            label = (
                t(interaction, "Reserve {n} seat(s) · {tier}", n=wanted.quantity, tier=tier)
                if tier
                else t(interaction, "Reserve {n} seat(s)", n=wanted.quantity)
            )
            view.add_item(QueueButton("book", show_id, wanted.quantity, wanted.tier_id, label=label[:80]))
        view.add_item(QueueButton("seats", show_id, interaction=interaction))
    elif status.state in ("lobby", "queued"):
        view.add_item(
            QueueButton(
                "refresh",
                show_id,
                wanted.quantity if wanted else 0,
                wanted.tier_id if wanted else 0,
                interaction=interaction,
            )
        )
        view.add_item(QueueButton("leave", show_id, interaction=interaction))
    return view


async def start_booking(interaction: discord.Interaction, show: shows.ShowView) -> None:
    """Join the queue (a no-op for a fan already in it) and show where they stand."""
    services = services_of(interaction)
    status = await queue.join(services.store, services.redis, show.id, interaction.user.id)
    await reply(
        interaction,
        describe_queue_status(interaction, status, show),
        view=queue_view(show.id, status, interaction=interaction),
    )


async def seat_picker(interaction: discord.Interaction, show_id: int, *, in_place: bool) -> None:
    """The seat map with a section select and a best-available select."""
    services = services_of(interaction)
    await thinking(interaction)  # drawing 100,000 seats takes seconds
    choice = await seats.seat_picker(services.store, show_id)
    image = await asyncio.to_thread(  # Pillow, off the event loop; its words in the fan's language
        seat_map_image, choice.seats, choice.title, locale=str(interaction.locale)
    )
    picture = discord.File(io.BytesIO(image), filename="seatmap.png")
    embed = discord.Embed(
        title=t(interaction, "Choose seats · {title}", title=choice.title),
        description=t(interaction, "Green seats are free. Pick a section, or take the best available."),
    )
    embed.set_image(url="attachment://seatmap.png")
    sections = choice.sections_with_free_seats
    view = StatelessView()
    if sections:
        view.add_item(SectionSelect(show_id, sections[:MAX_OPTIONS], interaction))
    view.add_item(QuantitySelect(show_id, min(choice.per_fan_limit, 10), interaction))
    if in_place:
        await edit(interaction, content=None, embed=embed, attachments=[picture], view=view)
    else:
        await reply(interaction, embed=embed, file=picture, view=view)


class QueueButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"picket:queue:(?P<action>refresh|leave|seats|book):(?P<show_id>\d+)(?::(?P<quantity>\d+):(?P<tier_id>\d+))?",
):
    """The queue message's buttons. Refresh and Reserve carry what the fan asked /book for
    (quantity, tier id), so their turn uses it."""

    LABELS = {
        "refresh": N_("Refresh"),
        "leave": N_("Leave the queue"),
        "seats": N_("Choose seats"),
        "book": N_("Reserve"),
    }

    def __init__(
        self,
        action: str,
        show_id: int,
        quantity: int = 0,
        tier_id: int = 0,
        label: str | None = None,
        interaction: discord.Interaction | None = None,
    ):
        style = discord.ButtonStyle.success if action in ("seats", "book") else discord.ButtonStyle.secondary
        wanted = f":{quantity}:{tier_id}" if quantity else ""
        super().__init__(
            discord.ui.Button(
                label=label or t(interaction, self.LABELS[action]),
                style=style,
                custom_id=f"picket:queue:{action}:{show_id}{wanted}",
            )
        )
        self.action, self.show_id = action, show_id
        self.wanted = Wanted(quantity, tier_id) if quantity else None

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["action"], int(match["show_id"]), int(match["quantity"] or 0), int(match["tier_id"] or 0))

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        show = await shows.get_show(services.store, self.show_id)
        if self.action == "seats":
            await seat_picker(interaction, self.show_id, in_place=True)
            return
        if self.action == "book" and self.wanted is not None:
            tier = next((tr.name for tr in show.tiers if tr.id == self.wanted.tier_id), None)
            hold = await queue.reserve(
                services.store,
                services.redis,
                show_id=self.show_id,
                fan_id=interaction.user.id,
                quantity=self.wanted.quantity,
                tier=tier,
            )
            await edit(
                interaction,
                content=None,
                embed=hold_embed(interaction, hold, show),
                view=hold_view(hold, show, interaction),
            )
            return
        if self.action == "leave":
            await queue.leave(services.store, services.redis, self.show_id, interaction.user.id)
            await edit(
                interaction, content=t(interaction, "You left the queue for **{title}**.", title=show.title), view=None
            )
            return
        status = await queue.status(services.store, services.redis, self.show_id, interaction.user.id)
        await edit(
            interaction,
            content=describe_queue_status(interaction, status, show),
            view=queue_view(self.show_id, status, self.wanted, show, interaction),
        )


class SectionSelect(
    FromCustomId, discord.ui.DynamicItem[discord.ui.Select], template=r"picket:seats:section:(?P<show_id>\d+)"
):
    def __init__(self, show_id: int, sections: list[str] | None = None, interaction: discord.Interaction | None = None):
        options = [
            discord.SelectOption(label=t(interaction, "Section {name}", name=name), value=name)
            for name in (sections or ["-"])
        ]
        super().__init__(
            discord.ui.Select(
                placeholder=t(interaction, "Section"), options=options, custom_id=f"picket:seats:section:{show_id}"
            )
        )
        self.show_id = show_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        section = self.item.values[0]
        choice = await seats.free_in_section(services.store, self.show_id, section, most=MAX_OPTIONS)
        free = choice.seats
        if not free:
            await reply(
                interaction,
                t(
                    interaction,
                    "Section {section} has no free seats left. Pick another, or take the best available.",
                    section=section,
                ),
            )
            return
        view = StatelessView()
        view.add_item(SeatSelect(self.show_id, free, min(choice.per_fan_limit, len(free)), interaction))
        await reply(
            interaction,
            t(
                interaction,
                "Seats in section {section} (the best {n} free ones):",
                section=section,
                n=len(free),
            ),
            view=view,
        )


class SeatSelect(
    FromCustomId, discord.ui.DynamicItem[discord.ui.Select], template=r"picket:seats:pick:(?P<show_id>\d+)"
):
    def __init__(self, show_id: int, free=None, most: int = 1, interaction: discord.Interaction | None = None):
        options = [
            discord.SelectOption(
                label=(
                    t(interaction, "Row {row} seat {seat}", row=s.row_label, seat=s.seat_number)
                    if s.row_label
                    else t(interaction, "Place {seat}", seat=s.seat_number)
                ),
                value=str(s.id),
            )
            for s in (free or [])
        ] or [discord.SelectOption(label="-", value="0")]
        super().__init__(
            discord.ui.Select(
                placeholder=t(interaction, "Seats"),
                options=options,
                min_values=1,
                max_values=max(1, most),
                custom_id=f"picket:seats:pick:{show_id}",
            )
        )
        self.show_id = show_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        hold = await queue.reserve(
            services.store,
            services.redis,
            show_id=self.show_id,
            fan_id=interaction.user.id,
            seat_ids=[int(v) for v in self.item.values],
        )
        show = await shows.get_show(services.store, self.show_id)
        await edit(
            interaction,
            content=None,
            embed=hold_embed(interaction, hold, show),
            view=hold_view(hold, show, interaction),
        )


class QuantitySelect(
    FromCustomId, discord.ui.DynamicItem[discord.ui.Select], template=r"picket:book:(?P<show_id>\d+):(?P<most>\d+)"
):
    def __init__(self, show_id: int, most: int, interaction: discord.Interaction | None = None):
        options = [discord.SelectOption(label=str(n), value=str(n)) for n in range(1, most + 1)]
        super().__init__(
            discord.ui.Select(
                placeholder=t(interaction, "How many seats"), options=options, custom_id=f"picket:book:{show_id}:{most}"
            )
        )
        self.show_id = show_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        quantity = int(self.item.values[0])
        hold = await queue.reserve(
            services.store, services.redis, show_id=self.show_id, fan_id=interaction.user.id, quantity=quantity
        )
        show = await shows.get_show(services.store, self.show_id)
        await edit(
            interaction,
            content=None,
            embed=hold_embed(interaction, hold, show),
            view=hold_view(hold, show, interaction),
        )


# --- the waitlist, once the queue has nothing left to sell ---------------------------------------------


async def join_or_send_to_queue(
    interaction: discord.Interaction,
    services: Services,
    info: shows.ShowView,
    *,
    quantity: int = 1,
    tier: str | None = None,
):
    """Join the waitlist. While the queue still sells the show's seats (or before the open) the
    domain refuses (``waitlist.queue_first``, ``waitlist.sale_not_open``), worded for the fan by
    notifier/errors_text.py like every refusal, and nothing is written."""
    return await waitlist.join_waitlist(
        services.store,
        show_id=info.id,
        fan_id=interaction.user.id,
        quantity=quantity,
        tier=tier,
        gateway=services.gateway,
    )


def joined_text(interaction: discord.Interaction, entry, info: shows.ShowView) -> str:
    """What a fan who joined the waitlist (취소표 대기) reads, from /waitlist join or the
    announcement's button: how it works, the way Korean ticketing sites describe theirs."""
    return t(
        interaction,
        "You are #{position} on the waitlist for **{title}** ({quantity} seat(s)). When tickets are cancelled, fans on the waitlist "
        "get them in turn: your seats are booked and charged to your card automatically, and your tickets arrive by DM. "
        "Nothing is charged before.",
        position=entry.position,
        title=info.title,
        quantity=entry.quantity,
    )
