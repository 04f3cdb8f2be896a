"""/show: organizers run their shows: create and edit them (the forms are in
cogs/common/show_forms.py), set the cancellation policy, announce (the card and its fan buttons are
in cogs/common/announcement.py), add seats and door staff, read sales and the on-sale report, set
reminders, cancel. One cog, because discord.py gives a command group to exactly one cog."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common import around
from cogs.common.announcement import ShowButton, announcement_view, show_embed
from cogs.common.authority import may_post_in, organizer_only, organizer_rights
from cogs.common.fan_out import fan_out_note
from cogs.common.i18n import t
from cogs.common.options import ShowOption
from cogs.common.policy import policy_block
from cogs.common.requests import answered
from cogs.common.services import Services, services_of
from cogs.common.show_forms import TIMEZONE_MAX, ShowCreateModal, ShowEditModal, server_zone
from cogs.common.ui import FromCustomId, StatelessView, edit, money, post, reply, thinking
from domain import cancellations, changes, checkin, errors, refunds, shows, stats
from domain.specs import MAX_NAMES_TEXT, MAX_SEATMAP_TEXT, excerpt, parse_names, parse_timezone
from notifier import money as money_units
from notifier.charts import sales_chart

# --- /show cancel's confirmation ----------------------------------------------------------------------


class CancelShowButton(
    FromCustomId, discord.ui.DynamicItem[discord.ui.Button], template=r"picket:show-cancel:(?P<show_id>\d+)"
):
    def __init__(self, show_id: int, locale: discord.Locale | str | None = None):
        super().__init__(
            discord.ui.Button(
                label=t(locale, "Yes, cancel the show"),
                style=discord.ButtonStyle.danger,
                custom_id=f"picket:show-cancel:{show_id}",
            )
        )
        self.show_id = show_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        await organizer_rights(interaction)
        await interaction.response.defer()
        done = await cancellations.cancel_show(
            services.store, services.gateway, show_id=self.show_id, organizer_discord_id=interaction.user.id
        )
        await around.drop_event(interaction.guild, services, self.show_id)  # off the server's Events
        await edit(
            interaction,
            content=t(
                interaction,
                "Cancelled. {tickets} tickets voided, {orders} orders refunded, {fans} fans notified by DM.",
                tickets=done.tickets_revoked,
                orders=done.orders_refunded,
                fans=done.fans_notified,
            ),
            view=None,
        )


# --- the cog ------------------------------------------------------------------------------------------


@app_commands.guild_only()
class ShowsCog(
    commands.GroupCog, group_name="show", group_description="Create, announce and run your shows", name="shows"
):
    dynamic_items = (ShowButton, CancelShowButton)

    def __init__(self, services: Services):
        self.services = services
        super().__init__()

    @app_commands.command(
        name="create", description="Create a show: a form asks for title, artists, times, venue and prices"
    )
    @organizer_only
    @app_commands.describe(
        genres="Genres, comma-separated (fans following them get an alert)",
        per_fan_limit="Most tickets one fan may buy",
        timezone="The venue's time zone, e.g. Asia/Seoul (default: the server's)",
        currency="Three-letter currency code",
        queue_rate="Fans let in from the queue per minute during the on-sale",
        waitlist_mode="charge: the next waiting fan is charged at once; offer: they get minutes to accept",
    )
    @app_commands.choices(
        waitlist_mode=[
            app_commands.Choice(name="charge", value="charge"),
            app_commands.Choice(name="offer", value="offer"),
        ]
    )
    async def create(
        self,
        interaction: discord.Interaction,
        genres: app_commands.Range[str, 1, MAX_NAMES_TEXT] = "",
        per_fan_limit: app_commands.Range[int, 1, 50] = 4,
        timezone: app_commands.Range[str, 1, TIMEZONE_MAX] | None = None,
        currency: app_commands.Range[str, 3, 3] = "USD",
        queue_rate: app_commands.Range[int, 1, 100_000] = 120,
        waitlist_mode: str = "charge",
    ) -> None:
        zone = parse_timezone(timezone or await server_zone(self.services, interaction)).key  # an unknown zone,
        parse_names(
            genres, field="Genres", required=False
        )  # a bad genre list, an unknown currency: refused before the form
        currency = currency.strip().upper()
        if not money_units.known(currency):
            await reply(
                interaction,
                t(
                    interaction,
                    "Currency: `{code}` is not an ISO 4217 currency code such as KRW, USD or EUR.",
                    code=excerpt(currency),
                ),
            )
            return
        await interaction.response.send_modal(
            ShowCreateModal(
                self.services,
                genres=genres,
                per_fan_limit=per_fan_limit,
                timezone=zone,
                currency=currency,
                queue_rate=queue_rate,
                waitlist_mode=waitlist_mode,
                locale=interaction.locale,
            )
        )

    @app_commands.command(name="edit", description="Edit one of your shows")
    @organizer_only
    @app_commands.describe(
        show="The show",
        timezone="Move the show to another time zone (default: keep its own)",
        venue="Move the show to another venue, same seat map (ticket holders are told)",
    )
    async def edit(
        self,
        interaction: discord.Interaction,
        show: ShowOption,
        timezone: app_commands.Range[str, 1, TIMEZONE_MAX] | None = None,
        venue: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        info = await shows.require_organizer(self.services.store, show.id, interaction.user.id, "edit")
        zone = parse_timezone(timezone).key if timezone else None  # refuse an unknown zone before the form
        await interaction.response.send_modal(
            ShowEditModal(self.services, info, zone, locale=interaction.locale, venue=venue)
        )

    @app_commands.command(
        name="policy", description="Set until when fans may cancel a show's tickets, and the cancellation fees"
    )
    @organizer_only
    @app_commands.describe(
        show="The show",
        deadline_hours="No cancellation within this many hours of the start (0: until the start; new shows: 24)",
        fees="Fee steps as the show nears, e.g. 7d=10%, 72h=20% (none: a full refund until the deadline)",
    )
    async def policy(
        self,
        interaction: discord.Interaction,
        show: ShowOption,
        deadline_hours: app_commands.Range[int, 0, refunds.MAX_DEADLINE_HOURS] | None = None,
        fees: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        if deadline_hours is None and fees is None:  # just show it
            info = await shows.require_organizer(self.services.store, show.id, interaction.user.id, "policy_view")
        else:
            steps = None if fees is None else refunds.parse_fees(fees)
            info = await shows.set_refund_policy(
                self.services.store, show.id, interaction.user.id, deadline_hours=deadline_hours, steps=steps
            )
        block = policy_block(interaction, info.refund_policy, info.starts_at, self.services.now())
        await reply(
            interaction,
            t(interaction, "Cancellation policy of **{title}**, as fans see it before paying:", title=info.title)
            + "\n"
            + block,
        )

    @app_commands.command(name="cancel", description="Cancel one of your shows: every fan is refunded and told")
    @organizer_only
    @app_commands.describe(show="The show")
    async def cancel(self, interaction: discord.Interaction, show: ShowOption) -> None:
        info = await shows.require_organizer(self.services.store, show.id, interaction.user.id, "cancel")
        view = StatelessView()
        view.add_item(CancelShowButton(info.id, interaction.locale))
        await reply(
            interaction,
            t(
                interaction,
                "Cancel **{title}**? Every order is refunded, every ticket voided, and every holder and "
                "waitlisted fan gets a DM. This cannot be undone.",
                title=info.title,
            ),
            view=view,
        )

    @app_commands.command(
        name="announce", description="Post a show's announcement with Book / Follow / Waitlist buttons"
    )
    @organizer_only
    @app_commands.describe(show="The show", channel="Where to post it", poster="An optional poster image")
    async def announce(
        self,
        interaction: discord.Interaction,
        show: ShowOption,
        channel: discord.TextChannel,
        poster: discord.Attachment | None = None,
    ) -> None:
        info = await shows.require_organizer(self.services.store, show.id, interaction.user.id, "announce")
        if info.status == "cancelled":
            raise errors.ShowCancelled("show.cancelled", title=info.title)
        # The bot posts on the organizer's behalf only where they could post themselves, and only
        # where it can post: otherwise nothing is written and no follower is alerted.
        may_post_in(interaction, channel)
        poster_url = poster.url if poster and (poster.content_type or "").startswith("image/") else None
        try:
            # Public: in the server's language (a Korean server reads a Korean announcement).
            language = channel.guild.preferred_locale
            message = await post(
                channel, embed=show_embed(info, poster_url, language), view=announcement_view(info.id, language)
            )
        except discord.Forbidden:
            raise errors.NotPermitted(
                t(
                    interaction,
                    "Picket can't post in {channel}: give it View Channel, Send Messages and Embed Links there.",
                    channel=channel.mention,
                )
            ) from None
        try:  # posted: now record it and queue the followers' alerts, in one transaction
            announced = await shows.record_announcement(
                self.services.store, show.id, interaction.user.id, channel.id, channel.guild.id
            )
        except errors.DomainError:
            await message.delete()  # e.g. cancelled meanwhile: take the post back
            raise
        listed = await around.announce_event(
            channel.guild, self.services, info, message, language
        )  # the server's Events
        # How long the followers' DMs take at Discord's pace, and the alert-role posts (cogs/alert_roles.py).
        note = fan_out_note(interaction, announced.alerts, self.services.sender.fan_out_seconds(announced.alerts))
        text = t(interaction, "Announced in {channel}.", channel=channel.mention) + note
        if listed == "told":
            text += "\n" + t(
                interaction,
                "Picket could not list it in the server's Events: that needs the Manage Events permission. The announcement is posted all the same.",
            )
        await reply(interaction, text)

    @app_commands.command(name="seats", description="Add sections to one of your shows; waitlisted fans get them first")
    @organizer_only
    @app_commands.describe(show="The show", seatmap="New sections, e.g. Balcony:2x10:Standard")
    async def seats(
        self, interaction: discord.Interaction, show: ShowOption, seatmap: app_commands.Range[str, 1, MAX_SEATMAP_TEXT]
    ) -> None:
        await thinking(interaction)  # thousands of seats, then waitlist charges
        done = await changes.add_seats(
            self.services.store, self.services.gateway, show.id, interaction.user.id, seatmap
        )  # holders are told
        await reply(
            interaction,
            t(
                interaction,
                "Added {added} seats to show #{show}. {given} waitlisted fan(s) got them first; the rest are on sale.",
                added=done.added,
                show=show.id,
                given=done.given,
            )
            + around.told_text(interaction, done.change),
        )

    @app_commands.command(name="staff", description="Let a member check tickets in at one of your shows")
    @organizer_only
    @app_commands.describe(show="The show", member="Who checks tickets in at the door")
    async def staff(self, interaction: discord.Interaction, show: ShowOption, member: discord.Member) -> None:
        await checkin.add_door_staff(self.services.store, show.id, interaction.user.id, member.id)
        await reply(
            interaction,
            t(
                interaction,
                "{member} can now check tickets in for show #{show} with /checkin.",
                member=member.mention,
                show=show.id,
            ),
        )

    @app_commands.command(name="sales", description="Sales of one of your shows: per tier, revenue, waitlist, chart")
    @organizer_only
    @app_commands.describe(show="The show")
    async def sales(self, interaction: discord.Interaction, show: ShowOption) -> None:
        await thinking(interaction)  # the chart is drawn with Pillow
        info = await shows.require_organizer(self.services.store, show.id, interaction.user.id, "sales")
        report = await stats.sales_report(self.services.store, show.id)
        embed = discord.Embed(title=t(interaction, "Sales · {title}", title=info.title), colour=discord.Colour.teal())
        for tier in report.tiers:
            embed.add_field(
                name=f"{tier.tier} ({money(tier.price_cents, info.currency, interaction)})",
                value=t(
                    interaction,
                    "sold {sold} · held {held} · available {available}",
                    sold=tier.sold,
                    held=tier.held,
                    available=tier.available,
                ),
                inline=False,
            )
        embed.add_field(
            name=t(interaction, "Revenue"), value=money(report.revenue_cents, info.currency, interaction), inline=True
        )
        embed.add_field(
            name=t(interaction, "Refunded"), value=money(report.refunded_cents, info.currency, interaction), inline=True
        )
        embed.add_field(name=t(interaction, "Waitlist"), value=str(report.waitlist_waiting), inline=True)
        capacity = sum(tier.sold + tier.held + tier.available for tier in report.tiers)
        chart = await asyncio.to_thread(  # its words in the organizer's language, as the embed's
            sales_chart,
            list(report.issued_times),
            capacity,
            info.title,
            info.timezone,
            locale=str(interaction.locale),
            sold=sum(tier.sold for tier in report.tiers),
        )
        embed.set_image(url="attachment://sales.png")
        await reply(interaction, embed=embed, file=discord.File(io.BytesIO(chart), filename="sales.png"))

    # --- around the show (issue 19): the bodies are in cogs/common/around.py ------------------------

    @app_commands.command(
        name="report",
        description="The on-sale report of one of your shows: queue, admissions, sell-out, refusals, waitlist",
    )
    @organizer_only
    @app_commands.describe(show="The show")
    async def report(self, interaction: discord.Interaction, show: ShowOption) -> None:
        await around.show_report(self.services, interaction, show.id)

    @app_commands.command(
        name="reminders", description="When ticket holders of one of your shows get a reminder DM before it"
    )
    @organizer_only
    @app_commands.describe(show="The show", hours="Hours before the start, e.g. 24, 2 (none: no reminders)")
    async def reminders(
        self, interaction: discord.Interaction, show: ShowOption, hours: app_commands.Range[str, 1, 40]
    ) -> None:
        await around.set_reminders(self.services, interaction, show.id, hours)
