"""Follows and alerts, end to end: who gets a DM when a show is announced, reminders, the digest."""

from __future__ import annotations

import asyncio

from domain import notices
from domain.store import Store
from notifier.render import ALERT_PREFIX
from tests import backends
from tests.test_organizers_e2e import create_show, created_show_id


def alert_dms(member):
    return [m for m in member.user.dm_channel.history() if (m.content or "").startswith(ALERT_PREFIX)]


async def test_one_alert_per_interested_fan_none_when_alerts_are_off(world):
    env = world.env
    artist_fans = [world.guild.add_member(env.create_user(f"artistfan{i}")) for i in range(3)]
    genre_fan = world.guild.add_member(env.create_user("genrefan"))
    both_fan = world.guild.add_member(env.create_user("bothfan"))
    muted_fan = world.guild.add_member(env.create_user("muted"))
    bystander = world.guild.add_member(env.create_user("bystander"))
    for fan in artist_fans:
        await fan.slash(world.channel, "follow", artist="The Nightjars")
    await genre_fan.slash(world.channel, "follow", genre="Dream Pop")  # the show lists "dream pop"
    await both_fan.slash(world.channel, "follow", artist="mira sol", genre="indie")  # matches twice
    await muted_fan.slash(world.channel, "follow", artist="The Nightjars")
    off = await muted_fan.slash(world.channel, "alerts", enabled=False)
    assert "Alerts are **off**" in off.response.content
    await bystander.slash(world.channel, "follow", artist="Somebody Else")

    show_id = await created_show_id(await create_show(world))
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    await world.env.settle()

    for fan in [*artist_fans, genre_fan, both_fan]:
        got = alert_dms(fan)
        assert len(got) == 1, fan.name
        assert "Harbour Lights" in got[0].content and got[0].embeds[0].title == "Harbour Lights"
    assert alert_dms(muted_fan) == [] and alert_dms(bystander) == []

    # announcing again (another channel) alerts nobody twice
    other = world.guild.create_text_channel("news")
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=other)
    await world.env.settle()
    assert [len(alert_dms(f)) for f in [*artist_fans, genre_fan, both_fan]] == [1] * 5

    # the alert's Book button works from the DM
    dm = alert_dms(artist_fans[0])[0]
    clicked = await artist_fans[0].user.click(dm, label="Book")
    assert "You're in the queue for **Harbour Lights**" in clicked.response.content


async def test_quiet_hours_hold_an_alert_until_they_end(world):
    fan = world.fans[0]
    await fan.slash(world.channel, "follow", artist="The Nightjars")
    # SimCord's day starts at 00:00 UTC: quiet from 22:00 to 08:00 in UTC covers now.
    await fan.slash(world.channel, "alerts", quiet_start=22, quiet_end=8, timezone="UTC")
    show_id = await created_show_id(await create_show(world))
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    await world.env.settle()
    assert alert_dms(fan) == []
    await world.env.advance_time(8 * 3600 + 60)
    await world.env.settle()
    assert len(alert_dms(fan)) == 1


async def test_remind_me_and_followers_get_on_sale_reminders_once(world):
    follower, asker = world.fans[0], world.fans[1]
    await follower.slash(world.channel, "follow", artist="Mira Sol")
    show_id = await created_show_id(await create_show(world))  # on sale 2026-01-10 10:00
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    reminded = await asker.click(world.channel.last_message, label="Remind me")
    assert "a day and an hour before" in reminded.response.content

    await world.env.advance_time(8 * 86400 + 10 * 3600 + 60)  # 2026-01-09 10:01: the 24 h notice is due
    # two processes run their schedulers at once: the notice is claimed once
    other = Store.from_url(backends.database_url(), world.store.clock)
    try:
        queued = await asyncio.gather(notices.run_due_notices(world.store), notices.run_due_notices(other))
    finally:
        await other.dispose()
    assert sorted(queued) == [0, 2]
    await world.bot.services.sender.idle()  # the drain the store's commit started
    await world.bot.services.sender.drain()
    for fan in (follower, asker):
        reminders = [m for m in alert_dms(fan) if "Reminder" in m.content]
        assert len(reminders) == 1 and "goes on sale" in reminders[0].content

    await world.env.advance_time(23 * 3600)  # the 1 h notice
    assert await notices.run_due_notices(world.store) == 2
    assert await notices.run_due_notices(world.store) == 0
    await world.bot.services.sender.idle()  # the drain the store's commit started
    await world.bot.services.sender.drain()
    assert [len([m for m in alert_dms(f) if "Reminder" in m.content]) for f in (follower, asker)] == [2, 2]


async def test_weekly_digest_lists_new_matching_shows_once(world):
    fan = world.fans[2]
    await fan.slash(world.channel, "follow", genre="indie")
    await created_show_id(await create_show(world))
    assert await world.bot.jobs.weekly_digest() == 1
    assert await world.bot.jobs.weekly_digest() == 0  # every process runs the cron: one digest per week
    await world.bot.services.sender.idle()  # the job kicked the sender; let that drain finish
    digests = [m for m in alert_dms(fan) if "This week's new shows" in m.content]
    assert len(digests) == 1 and "Harbour Lights" in digests[0].content


async def test_follow_autocomplete_offers_known_artists(world):
    await created_show_id(await create_show(world))
    choices = await world.fans[0].autocomplete(world.channel, "follow", "artist", "mi")
    assert [c["name"] for c in choices] == ["Mira Sol"]
    listing = await world.fans[0].slash(world.channel, "following")
    assert "You follow nobody yet" in listing.response.content
    await world.fans[0].slash(world.channel, "follow", artist="Mira Sol")
    gone = await world.fans[0].slash(world.channel, "unfollow", artist="Mira Sol")
    assert gone.response.content == "Unfollowed artist **Mira Sol**."
