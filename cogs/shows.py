"""Organizers run their shows: /show create (modal), edit, cancel, announce, sales.
The announcement's buttons (Book, Follow artist, Join waitlist) are for fans and survive restarts."""

from __future__ import annotations

import asyncio
import io
import re
from typing import cast

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common import around
from cogs.common.authority import organizer_only, organizer_rights, server_id
from cogs.common.booking_flow import join_or_send_to_queue, joined_text, start_booking
from cogs.common.fan_out import fan_out_note
from cogs.common.i18n import lang, t
from cogs.common.options import ShowOption
from cogs.common.policy import policy_block
from cogs.common.requests import Form, answered
from cogs.common.services import Services, services_of
from cogs.common.ui import FromCustomId, StatelessView, edit, money, post, reply, thinking
from domain import cancellations, changes, checkin, errors, follows, notices, organizers, refunds, shows, stats
from domain.specs import (
    MAX_NAMES_TEXT,
    MAX_SEATMAP_TEXT,
    excerpt,
    parse_names,
    parse_price_tiers,
    parse_timezone,
    parse_when,
)
from notifier import money as money_units
from notifier.charts import sales_chart
from notifier.i18n import N_
from notifier.times import discord_ts, venue_time

# --- forms ------------------------------------------------------------------------------------------


_TIME_LABEL = re.compile(r"^(start|starts|doors|on[ -]?sale|sale|opens?)\s*:\s*", re.IGNORECASE)


def _two_lines(text: str, problem: str) -> tuple[str, str]:
    """Split a two-line form field; the second part may run over several lines (a long seat map).
    ``problem`` (already in the user's language) is the refusal when there are not two lines."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if len(lines) < 2:
        raise errors.InvalidInput(problem)
    return lines[0], " ".join(lines[1:])


def _times(interaction: discord.Interaction, text: str) -> tuple[str, str]:
    start, on_sale = _two_lines(
        text,
        t(
            interaction,
            "Start time / On-sale time: put the start time on the first line and the on-sale time on the second.",
        ),
    )
    return _TIME_LABEL.sub("", start), _TIME_LABEL.sub("", on_sale)


# Longest values the forms and options take (declared to Discord, and checked again by the domain).
TITLE_MAX, TIERS_MAX, WHEN_MAX, TIMEZONE_MAX = 200, 1000, 100, 64
LABEL_MAX = 45  # a form field's label


async def server_zone(services: Services, interaction: discord.Interaction) -> str:
    """The zone of a new show whose organizer named none: the one the server's admins chose
    (/organizer timezone), else Asia/Seoul in a server whose language is Korean, else UTC."""
    chosen = await organizers.server_timezone(services.store, server_id(interaction))
    if chosen:
        return chosen
    locale = interaction.guild.preferred_locale if interaction.guild is not None else interaction.guild_locale
    return "Asia/Seoul" if locale == discord.Locale.korean else "UTC"


def _zone_label(text: str, zone: str) -> str:
    label = f"{text} ({zone})"
    return label if len(label) <= LABEL_MAX else zone[:LABEL_MAX]


def _fits(default: str, most: int) -> int:
    """A field's max_length that still holds its pre-filled value (Discord refuses the form otherwise)."""
    return min(4000, max(most, len(default)))


class ShowCreateModal(Form):
    """The /show create form, written in ``locale`` (the organizer's language)."""

    def __init__(
        self,
        services: Services,
        *,
        genres: str,
        per_fan_limit: int,
        timezone: str,
        currency: str,
        queue_rate: int = 120,
        waitlist_mode: str = "charge",
        locale: discord.Locale | str | None = None,
    ):
        super().__init__(title=t(locale, "Create a show"))
        self.show_title: discord.ui.TextInput[ShowCreateModal] = discord.ui.TextInput(
            label=t(locale, "Title"), custom_id="title", max_length=TITLE_MAX
        )
        self.artists: discord.ui.TextInput[ShowCreateModal] = discord.ui.TextInput(
            label=t(locale, "Artists (comma-separated)"), custom_id="artists", max_length=MAX_NAMES_TEXT
        )
        self.when: discord.ui.TextInput[ShowCreateModal] = discord.ui.TextInput(
            label=t(locale, "Start, then on-sale time (one per line)"),
            custom_id="when",
            style=discord.TextStyle.paragraph,
            placeholder="2026-06-01 20:00\n2026-05-01 10:00",
            max_length=WHEN_MAX,
        )
        self.venue: discord.ui.TextInput[ShowCreateModal] = discord.ui.TextInput(
            label=t(locale, "Venue name, then seat map (next line)"),
            custom_id="venue",
            style=discord.TextStyle.paragraph,
            placeholder=t(locale, "Picket Hall\nA:10x20:VIP, Floor:300:GA"),
            max_length=MAX_SEATMAP_TEXT,
        )
        self.tiers: discord.ui.TextInput[ShowCreateModal] = discord.ui.TextInput(
            label=t(locale, "Price tiers"),
            custom_id="tiers",
            placeholder=t(locale, "VIP=120, GA=45"),
            max_length=TIERS_MAX,
        )
        for item in (self.show_title, self.artists, self.when, self.venue, self.tiers):
            self.add_item(item)
        self.services = services
        self.queue_rate = queue_rate
        self.waitlist_mode = waitlist_mode
        self.genres = genres
        self.per_fan_limit = per_fan_limit
        self.timezone = timezone
        self.currency = currency
        self.when.placeholder = f"{self.when.placeholder} ({timezone})"  # the clock the times are read on

    async def submit(self, interaction: discord.Interaction) -> None:
        await thinking(interaction)  # a 100,000-seat map takes seconds to write
        organizer = await organizer_rights(interaction)  # rights may have gone while the form was open
        start_text, on_sale_text = _times(interaction, self.when.value)
        venue_name, seatmap = _two_lines(
            self.venue.value,
            t(
                interaction,
                "Venue name / Seat map: put the venue name on the first line and the seat map on the second.",
            ),
        )
        show = await shows.create_show(
            self.services.store,
            organizer_id=organizer.id,
            venue_name=venue_name,
            seatmap_spec=seatmap,
            title=self.show_title.value,
            artists=parse_names(self.artists.value, field="Artists"),
            genres=parse_names(self.genres, field="Genres", required=False),
            starts_at=parse_when(start_text, self.timezone, field="Start time"),
            on_sale_at=parse_when(on_sale_text, self.timezone, field="On-sale time"),
            tiers=parse_price_tiers(self.tiers.value, currency=money_units.currency(self.currency)),
            per_fan_limit=self.per_fan_limit,
            currency=self.currency,
            admission_per_minute=self.queue_rate,
            waitlist_mode=self.waitlist_mode,
            timezone=self.timezone,
        )
        await reply(
            interaction,
            t(interaction, "Created show #{id}. Announce it with /show announce.", id=show.id),
            embed=show_embed(show, interaction=interaction),
        )


class ShowEditModal(Form):
    """The show's times are shown and read in its own zone; ``timezone``, when given, moves the show
    to another zone (its times are then shown and read in that one). Written in ``locale``."""

    def __init__(
        self,
        services: Services,
        show: shows.ShowView,
        timezone: str | None = None,
        *,
        locale: discord.Locale | str | None = None,
        venue: str | None = None,
    ):
        super().__init__(title=t(locale, "Edit show"))
        self.venue = venue  # /show edit venue: the show moves to a venue of that name
        timezone = timezone or show.timezone
        self.services, self.show_id, self.timezone = services, show.id, timezone
        self.new_zone = timezone if timezone != show.timezone else None
        tz = parse_timezone(timezone)
        artists, genres = ", ".join(show.artists), ", ".join(show.genres)
        self.show_title: discord.ui.TextInput[ShowEditModal] = discord.ui.TextInput(
            label=t(locale, "Title"), custom_id="title", default=show.title, max_length=TITLE_MAX
        )
        self.artists: discord.ui.TextInput[ShowEditModal] = discord.ui.TextInput(
            label=t(locale, "Artists"), custom_id="artists", default=artists, max_length=_fits(artists, MAX_NAMES_TEXT)
        )
        self.genres: discord.ui.TextInput[ShowEditModal] = discord.ui.TextInput(
            label=t(locale, "Genres"),
            custom_id="genres",
            default=genres,
            required=False,
            max_length=_fits(genres, MAX_NAMES_TEXT),
        )
        self.start: discord.ui.TextInput[ShowEditModal] = discord.ui.TextInput(
            label=_zone_label(t(locale, "Start"), timezone),
            custom_id="start",
            default=f"{show.starts_at.astimezone(tz):%Y-%m-%d %H:%M}",
            max_length=WHEN_MAX,
        )
        self.on_sale: discord.ui.TextInput[ShowEditModal] = discord.ui.TextInput(
            label=_zone_label(t(locale, "On sale"), timezone),
            custom_id="on_sale",
            default=f"{show.on_sale_at.astimezone(tz):%Y-%m-%d %H:%M}",
            max_length=WHEN_MAX,
        )
        for item in (self.show_title, self.artists, self.genres, self.start, self.on_sale):
            self.add_item(item)

    async def submit(self, interaction: discord.Interaction) -> None:
        await organizer_rights(interaction)
        # An untouched time field means "keep it": re-parsing it would drop its seconds.
        starts_at = (
            None
            if self.start.value == self.start.default
            else parse_when(self.start.value, self.timezone, field="Start time")
        )
        on_sale_at = (
            None
            if self.on_sale.value == self.on_sale.default
            else parse_when(self.on_sale.value, self.timezone, field="On-sale time")
        )
        edited = await changes.edit_show(
            self.services.store,
            self.show_id,
            interaction.user.id,
            title=self.show_title.value,
            artists=parse_names(self.artists.value, field="Artists"),
            genres=parse_names(self.genres.value, field="Genres", required=False),
            starts_at=starts_at,
            on_sale_at=on_sale_at,
            timezone=self.new_zone,
            venue=self.venue,
        )
        show = edited.show
        await around.follow_edit(interaction.guild, self.services, show)  # the server's event follows
        told = around.told_text(interaction, edited.change)
        await reply(
            interaction,
            t(interaction, "Show #{id} updated.", id=show.id) + told,
            embed=show_embed(show, interaction=interaction),
        )


# --- rendering ----------------------------------------------------------------------------------------


def show_embed(
    show: shows.ShowView, poster_url: str | None = None, interaction: discord.Interaction | discord.Locale | None = None
) -> discord.Embed:
    """A show's card: in the user's language for a reply, in the server's for an announcement
    (``interaction`` is then the server's locale)."""
    embed = discord.Embed(title=show.title[:256], colour=discord.Colour.blurple())
    artists = ", ".join(show.artists)
    if len(artists) > 1500:  # the domain keeps lists shorter; older shows may not be
        artists = artists[:1499] + "…"
    # Each reader sees the timestamps in their own zone; the venue's clock is on the last line.
    embed.description = f"**{artists}**\n{discord_ts(show.starts_at, 'F')} ({discord_ts(show.starts_at, 'R')})\n{show.venue_name} · {venue_time(show.starts_at, show.timezone, lang=lang(interaction))}"
    embed.add_field(
        name=t(interaction, "On sale"),
        value=f"{discord_ts(show.on_sale_at, 'F')} ({discord_ts(show.on_sale_at, 'R')})",
        inline=False,
    )
    embed.add_field(
        name=t(interaction, "Prices"),
        value="\n".join(f"{tier.name}: {money(tier.price_cents, show.currency, interaction)}" for tier in show.tiers)[
            :1024
        ],
        inline=True,
    )
    if show.genres:
        embed.add_field(name=t(interaction, "Genres"), value=", ".join(show.genres)[:1024], inline=True)
    embed.add_field(
        name=t(interaction, "Limit"), value=t(interaction, "{n} per fan", n=show.per_fan_limit), inline=True
    )
    embed.set_footer(
        text=t(interaction, "Show #{id} · sold by the organizer through Picket, no commission", id=show.id)
    )
    if poster_url:
        embed.set_image(url=poster_url)
    return embed


class ShowButton(
    FromCustomId,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"picket:show:(?P<action>book|follow|wait|remind):(?P<show_id>\d+)",
):
    """The announcement's buttons. Everything they need is in the custom_id, so they keep working
    after a restart and on announcements posted long ago."""

    LABELS = {"book": N_("Book"), "follow": N_("Follow artist"), "wait": N_("Join waitlist"), "remind": N_("Remind me")}
    STYLES = {
        "book": discord.ButtonStyle.success,
        "follow": discord.ButtonStyle.secondary,
        "wait": discord.ButtonStyle.secondary,
        "remind": discord.ButtonStyle.secondary,
    }

    def __init__(self, action: str, show_id: int, locale: discord.Locale | str | None = None):
        super().__init__(
            discord.ui.Button(
                label=t(locale, self.LABELS[action]),
                style=self.STYLES[action],
                custom_id=f"picket:show:{action}:{show_id}",
            )
        )
        self.action, self.show_id = action, show_id

    @answered
    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction)
        show = await shows.get_show(
            services.store, self.show_id, guild_id=interaction.guild_id
        )  # only where it was announced
        if self.action == "book":
            if show.status == "cancelled":
                raise errors.ShowCancelled("show.cancelled", title=show.title)
            await start_booking(interaction, show)
        elif self.action == "follow":
            await follows.follow_all(services.store, interaction.user.id, [("artist", name) for name in show.artists])
            await reply(
                interaction,
                t(
                    interaction,
                    "You follow {artists}. New shows of theirs will reach you by DM.",
                    artists=", ".join(show.artists),
                ),
            )
        elif self.action == "remind":
            on_sale = await notices.request_reminder(services.store, show.id, interaction.user.id)
            await reply(
                interaction,
                t(
                    interaction,
                    "We'll DM you a day and an hour before **{title}** goes on sale ({when}).",
                    title=show.title,
                    when=discord_ts(on_sale, "f"),
                ),
            )
        else:
            entry = await join_or_send_to_queue(interaction, services, show)
            await reply(interaction, joined_text(interaction, entry, show))


def announcement_view(show_id: int, locale: discord.Locale | str | None = None) -> discord.ui.View:
    view = StatelessView()
    for action in ("book", "remind", "follow", "wait"):
        view.add_item(ShowButton(action, show_id, locale))
    return view


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
        block = policy_block(interaction, info.refund_policy, info.starts_at, self.services.store.now())
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
        if channel.guild.id != interaction.guild_id:
            raise errors.NotPermitted(t(interaction, "Pick a channel of this server."))
        if not channel.permissions_for(cast(discord.Member, interaction.user)).send_messages:  # in a server: a Member
            raise errors.NotPermitted(
                t(
                    interaction,
                    "You can't post in {channel}, so Picket won't post there for you.",
                    channel=channel.mention,
                )
            )
        mine = channel.permissions_for(channel.guild.me) if channel.guild.me else discord.Permissions.none()
        if not (mine.view_channel and mine.send_messages and mine.embed_links):
            raise errors.NotPermitted(
                t(
                    interaction,
                    "Picket can't post in {channel}: give it View Channel, Send Messages and Embed Links there.",
                    channel=channel.mention,
                )
            )
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
                self.services.store, show.id, interaction.user.id, channel.id, interaction.guild_id
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
