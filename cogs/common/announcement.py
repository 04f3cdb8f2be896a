"""A show's announcement: its card (the embed, also the answer to /show create and /show edit) and
the buttons fans press under it (Book, Remind me, Follow artist, Join waitlist). The buttons carry
the show in their custom_id, so they answer after restarts and on announcements posted long ago;
/show's cog registers them."""

from __future__ import annotations

import discord

from cogs.common.booking_flow import join_or_send_to_queue, joined_text, start_booking
from cogs.common.i18n import lang, t
from cogs.common.requests import answered
from cogs.common.services import services_of
from cogs.common.ui import FromCustomId, StatelessView, money, reply
from domain import errors, follows, notices, shows
from notifier.i18n import N_
from notifier.times import discord_ts, venue_time


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
