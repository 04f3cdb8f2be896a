"""Around the show (issue 19), what /show's cog uses: the bodies of /show report and /show reminders,
the organizer's line saying how many holders were told of a change, and the server's Scheduled Event
kept in step with the show (created at the announcement, moved by edits, deleted with the show)."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta

import discord

from cogs.common.i18n import t
from cogs.common.services import Services
from cogs.common.ui import reply, thinking
from domain import changes, reminders, reports, show_events, shows
from notifier import around as words
from notifier import messages
from notifier.times import discord_ts

log = logging.getLogger("picket.cogs")

# A show has a start only; Discord wants an external event to end. Three hours covers a concert.
EVENT_LENGTH = timedelta(hours=3)
EVENT_NAME, EVENT_LOCATION, EVENT_DESCRIPTION = 100, 100, 1000  # Discord's limits


# --- /show report, /show reminders ---------------------------------------------------------------------


async def show_report(services: Services, interaction: discord.Interaction, show_id: int) -> None:
    await thinking(interaction)  # the chart is drawn with Pillow
    report = await reports.organizer_report(services.store, services.redis, show_id, interaction.user.id)
    embed = discord.Embed.from_dict(words.report_embed(report, str(interaction.locale)))
    chart = await asyncio.to_thread(words.report_chart, report, str(interaction.locale))
    await reply(interaction, embed=embed, file=discord.File(io.BytesIO(chart), filename=words.CHART_FILE))


async def set_reminders(services: Services, interaction: discord.Interaction, show_id: int, hours: str) -> None:
    done = await reminders.set_hours(services.store, show_id, interaction.user.id, hours)
    if not done.hours:
        await reply(
            interaction,
            t(interaction, "Ticket holders of **{title}** will get no reminder DMs before the show.", title=done.title),
        )
        return
    when = ", ".join(
        t(interaction, "{h} h before ({time})", h=h, time=discord_ts(at, "f"))
        for h, at in zip(done.hours, done.times, strict=True)
    )
    await reply(
        interaction,
        t(interaction, "Ticket holders of **{title}** get a reminder DM {when}.", title=done.title, when=when),
    )


def told_text(interaction: discord.Interaction, change: changes.ChangeNotice | None) -> str:
    """The organizer's line after an edit: how many holders and waitlisted fans were told."""
    if change is None or not change.told:
        return ""
    if change.material:
        return " " + t(
            interaction,
            "{n} ticket holder(s) and waitlisted fan(s) were told by DM; holders may refund in full.",
            n=change.told,
        )
    return " " + t(interaction, "{n} ticket holder(s) and waitlisted fan(s) were told by DM.", n=change.told)


# --- the server's Scheduled Event ----------------------------------------------------------------------


def _event_fields(show: shows.ShowView) -> dict:
    return dict(
        name=messages.clip(show.title, EVENT_NAME),
        start_time=show.starts_at,
        end_time=show.starts_at + EVENT_LENGTH,
        location=messages.clip(show.venue_name, EVENT_LOCATION),
    )


def _description(show: shows.ShowView, message: discord.Message, language: discord.Locale) -> str:
    artists = messages.join_within(list(show.artists), 600)
    return messages.clip(
        t(language, "{artists}\nTickets: press Book on the announcement, {url}", artists=artists, url=message.jump_url),
        EVENT_DESCRIPTION,
    )


async def _event(guild: discord.Guild, event_id: int) -> discord.ScheduledEvent | None:
    found = guild.get_scheduled_event(event_id)
    if found is not None:
        return found
    try:
        return await guild.fetch_scheduled_event(event_id)
    except discord.NotFound:
        return None


def _may_manage_events(guild: discord.Guild) -> bool:
    me = guild.me
    return me is not None and me.guild_permissions.manage_events


async def announce_event(
    guild: discord.Guild, services: Services, show: shows.ShowView, message: discord.Message, language: discord.Locale
) -> str | None:
    """After an announcement: the show in the server's Events, linked to the announcement (created,
    or brought up to date). Returns "listed", "told" (no Manage Events, and the organizer is to be
    told: the first time for this show), or None (not listed, organizer told before)."""
    store = services.store
    if _may_manage_events(guild):  # a request Discord would refuse is not sent
        try:
            link = await show_events.link_of(store, show.id)
            event = await _event(guild, link.event_id) if link and link.event_id else None
            fields = dict(_event_fields(show), description=_description(show, message, language))
            if event is not None:
                await event.edit(**fields)
            else:
                event = await guild.create_scheduled_event(
                    **fields, entity_type=discord.EntityType.external, privacy_level=discord.PrivacyLevel.guild_only
                )
                await show_events.linked(store, show.id, guild.id, event.id)
            return "listed"
        except discord.Forbidden:
            pass  # the permission went, or a channel override: as without it
        except discord.HTTPException:  # the announcement is out; the event can be made at the next one
            log.warning("could not list show %s in the server's events", show.id, exc_info=True)
            return None
    return "told" if await show_events.refused(store, show.id, guild.id) else None


async def follow_edit(guild: discord.Guild | None, services: Services, show: shows.ShowView) -> None:
    """After an edit: the show's event (if it has one) takes the new name, time and venue. The
    edit itself is done: a failure here is logged, never the organizer's error."""
    if guild is None:
        return
    try:
        link = await show_events.link_of(services.store, show.id)
        if link is None or link.event_id is None or not _may_manage_events(guild):
            return
        event = await _event(guild, link.event_id)
        if event is None:  # deleted by a member in the meantime
            await show_events.unlinked(services.store, show.id)
            return
        await event.edit(**_event_fields(show))
    except discord.HTTPException:
        log.warning("could not update the scheduled event of show %s", show.id, exc_info=True)


async def drop_event(guild: discord.Guild | None, services: Services, show_id: int) -> None:
    """After the show's cancellation: its event leaves the server's Events."""
    if guild is None:
        return
    try:
        link = await show_events.link_of(services.store, show_id)
        if link is None or link.event_id is None or not _may_manage_events(guild):
            return
        event = await _event(guild, link.event_id)
        if event is not None:
            await event.delete()
        await show_events.unlinked(services.store, show_id)
    except discord.HTTPException:
        log.warning("could not delete the scheduled event of show %s", show_id, exc_info=True)
