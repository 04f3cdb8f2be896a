"""Fans' interests and alert settings: /follow, /unfollow, /following, /alerts."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common import ui
from cogs.common.i18n import t
from cogs.common.names import Name, artist_choices, genre_choices
from cogs.common.services import Services, services_of
from cogs.common.ui import reply
from domain import errors, fan_settings, follows
from notifier import messages


async def _followed(interaction: discord.Interaction, kind: str, current: str) -> list[app_commands.Choice[str]]:
    mine = await follows.list_follows(services_of(interaction).store, interaction.user.id)
    return ui.choices((f.name, f.name) for f in mine if f.kind == kind and current.casefold() in f.name.casefold())


async def followed_artist_choices(interaction: discord.Interaction, current: str):
    return await _followed(interaction, "artist", current)


async def followed_genre_choices(interaction: discord.Interaction, current: str):
    return await _followed(interaction, "genre", current)


def _pairs(interaction: discord.Interaction, artist: str | None, genre: str | None) -> list[tuple[str, str]]:
    pairs = [("artist", artist), ("genre", genre)]
    chosen = [(k, v) for k, v in pairs if v]
    if not chosen:
        raise errors.InvalidInput(t(interaction, "Give an artist, a genre, or both."))
    return chosen


def _followed_label(interaction: discord.Interaction, f: follows.FollowView) -> str:
    name = discord.utils.escape_markdown(f.name)
    return (
        t(interaction, "artist **{name}**", name=name)
        if f.kind == "artist"
        else t(interaction, "genre **{name}**", name=name)
    )


def describe_alert_settings(interaction: discord.Interaction, st: fan_settings.FanSettings) -> str:
    if st.quiet_start_hour is not None and st.quiet_start_hour != st.quiet_end_hour:
        quiet = t(
            interaction,
            "quiet {start}:00-{end}:00 ({zone})",
            start=f"{st.quiet_start_hour:02d}",
            end=f"{st.quiet_end_hour:02d}",
            zone=st.timezone,
        )
    else:
        quiet = t(interaction, "no quiet hours")
    if st.alerts_enabled:
        return t(interaction, "Alerts are **on**, {quiet}.", quiet=quiet)
    return t(interaction, "Alerts are **off**, {quiet}.", quiet=quiet)


def describe_follows(interaction: discord.Interaction, mine: list, settings: str) -> str:
    """What /following says, within one message (2,000 characters) however many follows: as many
    names as fit, then "…and N more" (a fan with hundreds of follows sees the count and the first ones)."""
    artists = [f.name for f in mine if f.kind == "artist"]
    genres = [f.name for f in mine if f.kind == "genre"]
    a_head = t(interaction, "Artists ({count}): ", count=len(artists))
    g_head = t(interaction, "Genres ({count}): ", count=len(genres))
    room = messages.CONTENT - len(a_head) - len(g_head) - len(settings) - 2  # two newlines
    more = ui.more(interaction)
    # Genres get at least half the room (all they need when the artists need less); artists the rest.
    genre_text = messages.join_within(genres, max(room // 2, room - len(", ".join(artists))), more=more) or "-"
    artist_text = messages.join_within(artists, room - len(genre_text), more=more) or "-"
    return f"{a_head}{artist_text}\n{g_head}{genre_text}\n{settings}"


class AlertsCog(commands.Cog, name="alerts"):
    def __init__(self, services: Services):
        self.services = services

    @app_commands.command(name="follow", description="Get a DM when an artist or genre you like has a new show")
    @app_commands.describe(artist="An artist to follow", genre="A genre to follow")
    @app_commands.autocomplete(artist=artist_choices, genre=genre_choices)
    async def follow(
        self, interaction: discord.Interaction, artist: Name | None = None, genre: Name | None = None
    ) -> None:
        # Both or neither: a refused genre must not leave the artist followed.
        done = await follows.follow_all(self.services.store, interaction.user.id, _pairs(interaction, artist, genre))
        await reply(
            interaction,
            t(
                interaction,
                "You now follow {what}.",
                what=t(interaction, " and ").join(_followed_label(interaction, f) for f in done),
            ),
        )

    @app_commands.command(name="unfollow", description="Stop alerts for an artist or genre")
    @app_commands.describe(artist="An artist you follow", genre="A genre you follow")
    @app_commands.autocomplete(artist=followed_artist_choices, genre=followed_genre_choices)
    async def unfollow(
        self, interaction: discord.Interaction, artist: Name | None = None, genre: Name | None = None
    ) -> None:
        lines = []
        pairs = _pairs(interaction, artist, genre)
        for (kind, name), gone in zip(
            pairs, await follows.unfollow_all(self.services.store, interaction.user.id, pairs), strict=True
        ):
            what = (
                t(interaction, "artist **{name}**", name=name)
                if kind == "artist"
                else t(interaction, "genre **{name}**", name=name)
            )
            lines.append(
                t(interaction, "Unfollowed {what}.", what=what)
                if gone
                else t(interaction, "You were not following {what}.", what=what)
            )
        await reply(interaction, "\n".join(lines))

    @app_commands.command(name="following", description="The artists and genres you follow, and your alert settings")
    async def following(self, interaction: discord.Interaction) -> None:
        mine = await follows.list_follows(self.services.store, interaction.user.id)
        st = await fan_settings.fan_settings(self.services.store, interaction.user.id)
        if not mine:
            nobody = t(interaction, "You follow nobody yet. Try /follow artist:… or /follow genre:…")
            await reply(interaction, nobody + "\n" + describe_alert_settings(interaction, st))
            return
        await reply(interaction, describe_follows(interaction, mine, describe_alert_settings(interaction, st)))

    @app_commands.command(name="alerts", description="Turn alert DMs on or off; set quiet hours in your time zone")
    @app_commands.describe(
        enabled="Alert DMs on or off",
        quiet_start="Hour (0-23) quiet hours begin",
        quiet_end="Hour (0-23) quiet hours end; equal to start for none",
        timezone="Your time zone, e.g. Asia/Seoul",
    )
    async def alerts_(
        self,
        interaction: discord.Interaction,
        enabled: bool | None = None,
        quiet_start: app_commands.Range[int, 0, 23] | None = None,
        quiet_end: app_commands.Range[int, 0, 23] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        st = await fan_settings.update_fan_settings(
            self.services.store,
            interaction.user.id,
            alerts_enabled=enabled,
            quiet_start_hour=quiet_start,
            quiet_end_hour=quiet_end,
            timezone=timezone,
        )
        await reply(interaction, describe_alert_settings(interaction, st))
