"""Around the show (issue 19), through the real bot in SimCord: ticket holders are reminded before the
show (once per reminder, quiet hours kept but for the last one), a moved show reaches every holder and
waitlisted fan once with a one-click full refund, the announced show is in the server's Events and
follows its edits and cancellation, and the organizer gets an on-sale report."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from domain.models import ShowChange, Ticket
from tests.simcord_ext import scheduled_events, take_bot_permission
from tests.snapshot import table_counts
from tests.test_dm_delivery import buy
from tests.test_organizers_e2e import button

HOUR = 3600


def dms(member, prefix: str = "") -> list:
    return (
        [m for m in member.user.dm_channel.history() if (m.content or "").startswith(prefix)]
        if member.user.dm_channel
        else []
    )


def at(when: datetime, style: str = "F") -> str:
    return f"<t:{int(when.timestamp())}:{style}>"


async def run_jobs(world, *jobs: str) -> None:
    for job in jobs:
        await getattr(world.bot.jobs, job)()
    await world.bot.services.sender.idle()
    await world.env.settle()


async def advance_to(world, when: datetime) -> None:
    await world.env.advance_time((when - world.store.now()).total_seconds())


# --- holder reminders ---------------------------------------------------------------------------------


async def test_each_holder_gets_each_reminder_once_and_quiet_hours_hold_all_but_the_last(world):
    now = world.store.now()
    start = (now + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)  # 01:00 UTC
    show = await world.show(starts_in=start - now, seatmap="A:1x10:Standard")
    early, sleeper, bystander = world.fans[0], world.fans[1], world.fans[2]
    await buy(world, early, show, quantity=2)
    await buy(world, sleeper, show)
    await sleeper.slash(
        world.channel, "alerts", quiet_start=22, quiet_end=8, timezone="UTC"
    )  # the reminders fall in them

    await advance_to(world, start - timedelta(hours=24) + timedelta(minutes=1))  # 01:01, a day before
    await run_jobs(world, "send_due_notices")
    (first,) = dms(early, "⏰")
    assert first.content == (
        f"⏰ Reminder: **Night Shift** starts {at(start, 'R')} ({at(start)}) at The Hall, {start:%a %d %b %Y} · 01:00 UTC on the venue's clock. "
        "At the door, press Show my ticket for a fresh entry code."
    )
    assert [c.label for row in first.components for c in row.children] == ["Show my ticket"]
    assert dms(sleeper, "⏰") == [] and dms(bystander, "⏰") == []  # asleep until 08:00; no ticket, no reminder

    await run_jobs(world, "send_due_notices")  # every process runs the job, after a restart too: still one
    await world.env.restart_bot()
    await run_jobs(world, "send_due_notices")
    assert len(dms(early, "⏰")) == 1

    await advance_to(world, start - timedelta(hours=17) + timedelta(minutes=1))  # 08:01: quiet hours are over
    await world.env.settle()
    assert len(dms(sleeper, "⏰")) == 1

    await advance_to(
        world, start - timedelta(hours=2) + timedelta(minutes=1)
    )  # 23:01, quiet again: the last one comes all the same
    await run_jobs(world, "send_due_notices", "send_due_notices")
    assert [len(dms(f, "⏰")) for f in (early, sleeper, bystander)] == [2, 2, 0]
    assert f"starts {at(start, 'R')}" in dms(sleeper, "⏰")[-1].content

    pressed = await early.user.click(dms(early, "⏰")[-1], label="Show my ticket")
    assert (
        pressed.response.content
        == "A fresh entry code for each of your 2 ticket(s) is on its way by DM. Each works for one minute."
    )
    await world.env.settle()
    codes = dms(early, "Entry code for ticket #")
    assert len(codes) == 2 and all(m.attachments for m in codes)


async def test_the_organizer_chooses_the_reminders_and_bad_hours_change_nothing(world):
    show = await world.show(starts_in=timedelta(days=5))
    holder = world.fans[0]
    await buy(world, holder, show)
    set_ = await world.organizer.slash(world.channel, "show reminders", show=show.id, hours="48, 3")
    assert set_.response.content == (
        f"Ticket holders of **Night Shift** get a reminder DM 48 h before ({at(show.starts_at - timedelta(hours=48), 'f')}), "
        f"3 h before ({at(show.starts_at - timedelta(hours=3), 'f')})."
    )
    before = await table_counts(world.store)
    for bad, said in [
        ("soon", "Reminders: `soon` is not a number of hours"),
        ("1, 2, 3, 4", "Reminders: at most 3 times"),
    ]:
        refused = await world.organizer.slash(world.channel, "show reminders", show=show.id, hours=bad)
        assert refused.ephemeral and refused.response.content.startswith(said)
    not_theirs = await holder.slash(world.channel, "show reminders", show=show.id, hours="1")
    assert not_theirs.ephemeral and "not a registered organizer" in not_theirs.response.content
    assert await table_counts(world.store) == before

    for hours_before, reminded in [
        (48 + 1 / 60, 0),
        (48 - 1 / 60, 1),
        (24 - 1 / 60, 1),
        (3 - 1 / 60, 2),
    ]:  # 48 and 3, not 24
        await advance_to(world, show.starts_at - timedelta(hours=hours_before))
        await run_jobs(world, "send_due_notices")
        assert len(dms(holder, "⏰")) == reminded, hours_before


# --- changes reach holders ------------------------------------------------------------------------------


def field_value(modal: dict, custom_id: str) -> str:
    for row in modal["components"]:
        for comp in row["components"]:
            if comp["custom_id"] == custom_id:
                return comp.get("value") or ""
    raise AssertionError(custom_id)


async def edit(world, show, *, venue: str | None = None, **changed):
    options = {"venue": venue} if venue else {}
    shown = await world.organizer.slash(world.channel, "show edit", show=show.id, **options)
    values = {k: field_value(shown.modal, k) for k in ("title", "artists", "genres", "start", "on_sale")}
    return await world.organizer.submit_modal(shown, {**values, **changed})


async def test_a_new_date_reaches_each_holder_and_waitlisted_fan_once_and_the_refund_button_refunds_in_full(
    world, gateway
):
    show = await world.show(seatmap="A:1x3:Standard", starts_in=timedelta(days=20), opens_in=timedelta(hours=1))
    policy = await world.organizer.slash(
        world.channel, "show policy", show=show.id, fees="30d=50%"
    )  # a 50% fee from now on
    assert "Cancelling now costs a 50% fee" in policy.response.content
    await world.env.advance_time(2 * HOUR)
    two, one, waiting = world.fans[0], world.fans[1], world.fans[2]
    await buy(world, two, show, quantity=2)
    await buy(world, one, show)
    joined = await waiting.slash(world.channel, "waitlist join", show=show.id)
    assert "#1 on the waitlist" in joined.response.content
    old = show.starts_at
    new = (old + timedelta(days=7)).replace(second=0, microsecond=0)

    done = await edit(world, show, start=f"{new:%Y-%m-%d %H:%M}")
    assert (
        done.response.content
        == f"Show #{show.id} updated. 3 ticket holder(s) and waitlisted fan(s) were told by DM; holders may refund in full."
    )
    await world.env.settle()
    for fan in (two, one, waiting):
        assert len(dms(fan, "📢")) == 1, fan.name
    told = dms(two, "📢")[0]
    assert told.content.startswith(
        f"📢 **Night Shift** has changed:\n• Start: {at(old)} ({old:%a %d %b %Y} · {old:%H:%M} UTC) → **{at(new)} ({new:%a %d %b %Y} · {new:%H:%M} UTC)**\n"
    )
    assert "press Refund my tickets for a full refund of $90.00, with no cancellation fee" in told.content
    assert [c.label for row in told.components for c in row.children] == ["Refund my tickets"]
    assert (
        "You are still on its waitlist, in the same place." in dms(waiting, "📢")[0].content
        and not dms(waiting, "📢")[0].components
    )

    refunded = await two.user.click(told, label="Refund my tickets")
    assert (
        refunded.response.content
        == "Your 2 ticket(s) for **Night Shift** are cancelled; $90.00 is on its way back to your card, in full."
    )
    assert [amount for key, (res, _, amount) in gateway.refunds.items() if key.startswith("change:") and res.ok] == [
        9000
    ]
    await world.env.settle()
    async with world.store.session() as s:
        holders = sorted(
            (
                await s.execute(
                    select(Ticket.holder_discord_id).where(Ticket.show_id == show.id, Ticket.status == "valid")
                )
            ).scalars()
        )
    assert holders == sorted([one.id, waiting.id])  # the seats went to the waitlist first: the waiting fan got one

    again = await two.user.click(told, label="Refund my tickets")
    assert (
        again.response.content
        == "You have no tickets for “Night Shift” from before this change left to refund: they were refunded already."
    )
    assert len([k for k in gateway.refunds if k.startswith("change:")]) == 1

    renamed = await edit(world, show, title="Night Shift (late show)")  # nothing a holder bought changed
    assert renamed.response.content == f"Show #{show.id} updated."
    await world.env.settle()
    assert [len(dms(f, "📢")) for f in (two, one, waiting)] == [1, 1, 1]


async def test_a_new_venue_and_added_sections_tell_holders_what_changed(world, gateway):
    show = await world.show(seatmap="A:1x4:Standard")
    holder = world.fans[0]
    await buy(world, holder, show)
    moved = await edit(world, show, venue="Seoul Arena")
    assert moved.response.content.endswith(
        "1 ticket holder(s) and waitlisted fan(s) were told by DM; holders may refund in full."
    )
    assert "Seoul Arena" in moved.response.embeds[0].description
    await world.env.settle()
    (told,) = dms(holder, "📢")
    assert "• Venue: The Hall → **Seoul Arena**" in told.content and told.components

    added = await world.organizer.slash(world.channel, "show seats", show=show.id, seatmap="Balcony:1x5:Standard")
    assert added.response.content.endswith("1 ticket holder(s) and waitlisted fan(s) were told by DM.")
    await world.env.settle()
    seats = dms(holder, "📢")[-1]
    assert (
        "• Seat map: sections added: Balcony (5 seats)" in seats.content
        and "Your tickets are still valid" in seats.content
    )
    assert not seats.components  # not a new date or venue: the cancellation policy applies as before
    async with world.store.session() as s:
        assert (await s.execute(select(func.count()).select_from(ShowChange))).scalar_one() == 2

    blank = await edit(world, show, venue="   ")
    assert blank.ephemeral and blank.response.content.startswith("Venue: give a name")


# --- the server's Scheduled Event --------------------------------------------------------------------------


async def test_the_announced_show_is_in_the_servers_events_follows_its_edits_and_leaves_on_cancel(world):
    show = await world.show(starts_in=timedelta(days=10))
    posted = await world.organizer.slash(world.channel, "show announce", show=show.id, channel=world.channel)
    assert posted.response.content == f"Announced in {world.channel.mention}."
    announcement = world.channel.last_message
    (event,) = scheduled_events(world.env, world.guild)
    assert (event.name, event.entity_type, event.entity_metadata) == ("Night Shift", 3, {"location": "The Hall"})
    assert datetime.fromisoformat(event.scheduled_start_time) == show.starts_at
    assert datetime.fromisoformat(event.scheduled_end_time) == show.starts_at + timedelta(hours=3)
    assert f"https://discord.com/channels/{world.guild.id}/{world.channel.id}/{announcement.id}" in event.description

    other = world.guild.create_text_channel("news")  # announced again: the same event, linked to the newer post
    await world.organizer.slash(world.channel, "show announce", show=show.id, channel=other)
    (event,) = scheduled_events(world.env, world.guild)
    assert f"/{other.id}/{other.last_message.id}" in event.description

    later = (show.starts_at + timedelta(days=1)).replace(second=0, microsecond=0)
    await edit(world, show, start=f"{later:%Y-%m-%d %H:%M}", venue="Seoul Arena")
    (event,) = scheduled_events(world.env, world.guild)
    assert datetime.fromisoformat(event.scheduled_start_time) == later and event.entity_metadata == {
        "location": "Seoul Arena"
    }

    ask = await world.organizer.slash(world.channel, "show cancel", show=show.id)
    await world.organizer.click(ask.response, custom_id=button(ask.response, "Yes, cancel the show"))
    assert scheduled_events(world.env, world.guild) == []


async def test_without_manage_events_the_organizer_is_told_once_and_the_announcement_still_goes_out(world):
    take_bot_permission(world.env, world.guild, "manage_events")
    await world.env.settle()
    show = await world.show()
    posted = await world.organizer.slash(world.channel, "show announce", show=show.id, channel=world.channel)
    assert posted.response.content == (
        f"Announced in {world.channel.mention}.\nPicket could not list it in the server's Events: that needs the Manage Events "
        "permission. The announcement is posted all the same."
    )
    assert world.channel.last_message.embeds[0].title == "Night Shift"
    other = world.guild.create_text_channel("news")
    again = await world.organizer.slash(world.channel, "show announce", show=show.id, channel=other)
    assert again.response.content == f"Announced in {other.mention}."  # told once
    assert other.last_message.embeds[0].title == "Night Shift"
    assert scheduled_events(world.env, world.guild) == []
    assert not [r for r in world.env.http_requests if "scheduled-events" in r.path]  # no request Discord would refuse
    await edit(world, show, start=f"{show.starts_at + timedelta(days=1):%Y-%m-%d %H:%M}")  # edits do not ask either
    assert not [r for r in world.env.http_requests if "scheduled-events" in r.path]
