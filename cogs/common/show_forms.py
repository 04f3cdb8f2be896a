"""/show create's and /show edit's forms (Discord modals): their fields and limits, in the organizer's
language, and what a submitted form becomes (one domain call, the show's card as the answer). The
zone a new show's times are read in when its organizer names none (:func:`server_zone`)."""

from __future__ import annotations

import re

import discord

from cogs.common import around
from cogs.common.announcement import show_embed
from cogs.common.authority import organizer_rights, server_id
from cogs.common.i18n import t
from cogs.common.requests import Form
from cogs.common.services import Services
from cogs.common.ui import reply, thinking
from domain import changes, errors, organizers, shows
from domain.specs import MAX_NAMES_TEXT, MAX_SEATMAP_TEXT, parse_names, parse_price_tiers, parse_timezone, parse_when
from notifier import money as money_units

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
