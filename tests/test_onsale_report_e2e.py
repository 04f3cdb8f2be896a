"""The on-sale report (issue 19) through the real bot: 50 fans queue for 20 seats (30 before the open, 20
after), two of them ask for more than the per-fan limit first, one lets a hold lapse, the show sells
out, two fans join the waitlist and a cancelled ticket goes to it (one card declined, one promoted).
/show report and the organizer's DM give each figure as it happened, with the chart."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from domain import queue, reports
from notifier.around import duration

HOUR = 3600


def dms(member, prefix: str = "") -> list:
    channel = member.user.dm_channel
    return [m for m in channel.history() if (m.content or "").startswith(prefix)] if channel else []


def pay_button(result):
    for row in result.response.components or []:
        for comp in row["components"]:
            if str(comp.get("label", "")).startswith("Pay"):
                return comp["custom_id"]
    return None


async def test_a_report_of_50_fans_for_20_seats_gives_each_figure_as_it_happened(world, gateway):
    env, store = world.env, world.store
    show = await world.show(
        seatmap="A:2x10:Standard", per_fan_limit=2, opens_in=timedelta(minutes=30), admission_per_minute=60
    )
    fans = [world.guild.add_member(env.create_user(f"r{i:02d}")) for i in range(50)]
    joined_at, admitted_at, order = {}, {}, []

    def note_admissions() -> None:
        for fan in fans:
            if fan.id not in admitted_at and dms(fan, "🎫 It's your turn"):
                admitted_at[fan.id] = store.now()
                order.append(fan)

    for fan in fans[:30]:  # the lobby: places drawn at random at the open
        joined_at[fan.id] = store.now()
        assert "Sales open" in (await fan.slash(world.channel, "queue join", show=show.id)).response.content
        await env.advance_time(10)
    await env.advance_time((show.on_sale_at - store.now()).total_seconds() + 1)
    for fan in fans[30:]:  # after the open: behind the lobby, first come first served
        joined_at[fan.id] = store.now()
        res = await fan.slash(world.channel, "queue join", show=show.id)
        if "It's your turn" in res.response.content:
            admitted_at[fan.id] = store.now()
            order.append(fan)
        await world.bot.services.sender.idle()
        note_admissions()

    # Twenty seats: no more fans choosing at once than seats they could take (the live-turns cap), so
    # twenty are let in, and the twenty-first only when the seat held by a fan who walked away comes back.
    acted, paid, held_unpaid, limit_refused, sold_out_at = set(), [], None, [], None
    for _ in range(120):
        await env.advance_time(5)
        await world.bot.jobs.admit_queues()
        await world.bot.services.sender.idle()
        note_admissions()
        for fan in [f for f in order if f.id not in acted]:
            acted.add(fan.id)
            if len(limit_refused) < 2:  # the first two ask for three seats first
                refused = await fan.slash(world.channel, "book", show=show.id, quantity=3)
                assert "allows 2 tickets per fan" in refused.response.content
                limit_refused.append(fan)
            res = await fan.slash(world.channel, "book", show=show.id, quantity=1)
            pay = pay_button(res)
            assert pay is not None, res.response.content  # a fan let in finds a seat
            if held_unpaid is None and len(limit_refused) == 2:  # the third one never pays
                held_unpaid = fan
                continue
            await fan.click(res.response, custom_id=pay)
            paid.append(fan)
            sold_out_at = store.now()
        await world.bot.jobs.onsale_reports()
        if not await queue.active_shows(world.bot.services.redis):  # sold out: the line closed
            break
    # 20 paid, one of them after the walked-away fan's hold lapsed (5 minutes); nobody let in for nothing
    assert (len(paid), len(admitted_at)) == (20, 21)
    await world.bot.jobs.onsale_reports()
    await world.bot.services.sender.idle()
    await env.settle()

    unlucky, lucky = [f for f in fans if f not in paid and f is not held_unpaid][:2]
    gateway.declined_customers.add(unlucky.id)
    for fan in (unlucky, lucky):
        assert "on the waitlist" in (await fan.slash(world.channel, "waitlist join", show=show.id)).response.content
    giver = paid[5]
    ticket = int(
        (await giver.slash(world.channel, "ticket list")).response.embeds[0].fields[0].name.split("#")[1].split(" ")[0]
    )
    cancelled = await giver.slash(world.channel, "ticket cancel", ticket=ticket)
    assert "is cancelled" in cancelled.response.content  # the seat: declined for the first, promoted for the second
    await env.settle()

    # What happened, as the test saw it.
    open_ = show.on_sale_at
    longest = max(admitted_at[f] - max(joined_at[f], open_) for f in admitted_at)
    got = await reports.onsale_report(store, show.id)
    assert (got.joined_before, got.joined_after, got.admitted) == (30, 20, 21)
    assert (got.sold, got.capacity) == (20, 20)
    assert (got.limit_refusals, got.limit_fans, got.holds_lapsed) == (2, 2, 1)
    assert (got.waitlist.joined, got.waitlist.promoted, got.waitlist.declined, got.waitlist.waiting) == (2, 1, 1, 0)
    assert abs((got.longest_wait - longest).total_seconds()) <= 1
    assert abs((got.sold_out_after - (sold_out_at - open_)).total_seconds()) <= 1

    res = await world.organizer.slash(world.channel, "show report", show=show.id)
    embed = res.response.embeds[0]
    assert embed.title == "On-sale report · Night Shift"
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Queue"] == "50 joined: 30 before the open, 20 after"
    assert fields["Admission"].startswith("21 let in · ") and fields["Admission"].endswith(
        f"(set: 60) · longest wait {duration(got.longest_wait)}"
    )
    assert fields["Sales"] == f"20 of 20 sold · sold out {duration(got.sold_out_after)} after the open"
    assert fields["Refused at the per-fan limit"] == "2 time(s), 2 fan(s)"
    assert fields["Holds that lapsed"] == "1"
    assert fields["Waitlist"] == "2 joined · 1 promoted · 1 declined · 0 offers ran out · 0 passed on · 0 waiting"
    (chart,) = res.response.attachments
    assert chart.filename == "onsale.png" and embed.image.url == "attachment://onsale.png"
    assert Image.open(io.BytesIO(await chart.read())).size == (860, 420)

    # The organizer had it by DM at the sell-out, once, with its chart.
    await world.bot.jobs.onsale_reports()
    await world.bot.services.sender.idle()
    (report_dm,) = [m for m in dms(world.organizer) if m.embeds and m.embeds[0].title == "On-sale report · Night Shift"]
    assert report_dm.embeds[0].description.startswith("**Night Shift** is sold out.")
    assert [a.filename for a in report_dm.attachments] == ["onsale.png"]

    not_theirs = await fans[0].slash(world.channel, "show report", show=show.id)
    assert not_theirs.ephemeral and "not a registered organizer" in not_theirs.response.content
