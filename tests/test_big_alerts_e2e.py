"""Alerts for a big artist: the followers' DMs written in batches while they go out, what fans wait
for sent before alerts, DM channels remembered, the organizer told how long the DMs take, and a
server's opt-in alert role pinged in a channel post instead of DMs."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, insert, select

from domain import alerts, notices, outbox, shows
from domain.models import Follow, OutboxMessage
from notifier.pacing import Pacer
from notifier.render import ALERT_PREFIX, renderer
from notifier.transport import OutgoingMessage
from tests.simcord_ext import nonce_folding, request_times
from tests.test_alerts_e2e import alert_dms
from tests.test_organizers_e2e import create_show, created_show_id


@renderer("big_note")
async def _note(store, payload):
    return OutgoingMessage(content=f"note {payload['n']}")


async def seed_followers(store, user_ids, artist="Mira Sol"):
    """Followers written straight into the store (a big artist's are not made one /follow at a time)."""
    now = store.now()
    async with store.session() as s:
        await s.execute(
            insert(Follow),
            [
                dict(fan_discord_id=u, kind="artist", key=artist.casefold(), name=artist, created_at=now)
                for u in user_ids
            ],
        )


async def queue_note(store, fan_id, n):
    async with store.session() as s:
        await outbox.enqueue(
            store, s, kind="big_note", recipient_discord_id=fan_id, payload={"n": n}, dedupe_key=f"big-note:{n}"
        )


def alerts_of(user) -> list:
    return [
        m for m in (user.dm_channel.history() if user.dm_channel else []) if (m.content or "").startswith(ALERT_PREFIX)
    ]


async def test_a_big_artists_followers_get_one_alert_each_and_the_organizer_hears_how_long(world, monkeypatch):
    env = world.env
    # Small batches, so 600 followers take many: the first with the announcement, the rest by the sender.
    monkeypatch.setattr(alerts, "INLINE_BATCH", 50)
    sender = world.bot.services.sender
    sender.fan_out_batch = 120
    # Sent unpaced here; the estimate reads the budget: 5 requests/s for the whole bot.
    sender.pacer = Pacer(enabled=False, global_rate=5.0)
    followers = [env.create_user(f"big{i}") for i in range(600)]
    await seed_followers(world.store, [u.id for u in followers])
    show_id = await created_show_id(await create_show(world))

    done = await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    # 600 DMs, each opening a DM channel first: 1,200 requests at 4.9 a second: just over 4 minutes.
    assert "600 follower(s) will be told by DM over about 5 minutes, at Discord's pace." in done.response.content
    await env.settle()
    assert [len(alerts_of(u)) for u in followers] == [1] * 600

    # Announced again: nobody is alerted twice, and the organizer is told nobody is left to tell.
    again = await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    await env.settle()
    assert "followers" not in again.response.content
    assert [len(alerts_of(u)) for u in followers] == [1] * 600


async def test_a_fan_out_cut_short_by_a_crash_is_finished_by_the_next_drain_once_each(store, monkeypatch):
    from tests.factories import on_sale_show
    from tests.test_fairness import _Quiet

    monkeypatch.setattr(alerts, "INLINE_BATCH", 100)
    fans = list(range(10_000, 10_500))
    await seed_followers(store, fans, artist="The Nightjars")
    show = await on_sale_show(store)
    announced = await shows.record_announcement(store, show.id, 1, 5, show.guild_id)
    assert announced.alerts.followers == 500
    await alerts.fan_out_step(store, batch=150)  # the process dies after this batch
    async with store.session() as s:
        assert (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 250

    from notifier.sender import OutboxSender

    delivered = []

    class Recording(_Quiet):
        async def send_dm(self, recipient_id, message, *, nonce):
            delivered.append(recipient_id)
            return len(delivered)

    another = OutboxSender(store, Recording(), pacer=Pacer(enabled=False), poll_interval=3600, fan_out_batch=150)
    assert await another.drain() == 500
    assert sorted(delivered) == fans


async def test_the_weekly_digest_of_a_big_artist_is_written_in_batches_one_per_fan(store, monkeypatch):
    from tests.factories import on_sale_show
    from tests.test_fairness import _Quiet

    monkeypatch.setattr(alerts, "INLINE_BATCH", 40)
    fans = list(range(20_000, 20_300))
    await seed_followers(store, fans, artist="The Nightjars")
    await seed_followers(store, fans[:100], artist="Mira Sol")  # these follow both acts of the week
    await on_sale_show(store)  # The Nightjars
    await on_sale_show(store, artists=["Mira Sol"])
    await notices.plan_weekly_digest(store)
    assert await notices.run_due_notices(store) == 40  # the first batch; the sender writes the rest
    delivered: dict[int, list] = {}

    class Recording(_Quiet):
        async def send_dm(self, recipient_id, message, *, nonce):
            delivered.setdefault(recipient_id, []).append(message.content)
            return 1

    from notifier.sender import OutboxSender

    sender = OutboxSender(store, Recording(), pacer=Pacer(enabled=False), poll_interval=3600, fan_out_batch=70)
    assert await sender.drain() == 300
    assert sorted(delivered) == fans and all(len(got) == 1 for got in delivered.values())
    assert all(got[0].count("• ") == (2 if fan in fans[:100] else 1) for fan, got in delivered.items())
    await notices.plan_weekly_digest(store)
    assert await notices.run_due_notices(store) == 0  # one digest a week


async def test_what_fans_wait_for_is_claimed_first_then_reminders_alerts_digests(store):
    async with store.session() as s:
        for n, kind in enumerate(["digest", "show_alert", "onsale_reminder", "tickets_issued", "show_alert"]):
            await outbox.enqueue(
                store, s, kind=kind, recipient_discord_id=100 + n, payload={"n": n}, dedupe_key=f"order:{n}"
            )
    from datetime import timedelta

    claimed = await outbox.claim_due(store, "w", limit=10, lease=timedelta(minutes=1))
    assert [m.kind for m in claimed] == ["tickets_issued", "onsale_reminder", "show_alert", "show_alert", "digest"]


async def test_a_ticket_queued_behind_hundreds_of_alerts_goes_out_before_them(world, monkeypatch):
    env = world.env
    sender = world.bot.services.sender
    followers = [env.create_user(f"crowd{i}") for i in range(300)]
    await seed_followers(world.store, [u.id for u in followers])
    show = await world.show(artists=["Mira Sol"])
    # Paced as in production (here 100 requests/s): the budget, not Picket, is the limit.
    sender.pacer = Pacer(global_rate=100.0, channel_rate=100.0, channel_burst=100.0)
    fan = world.fans[0]
    with nonce_folding(monkeypatch) as folding:
        await shows.record_announcement(world.store, show.id, world.organizer.id, world.channel.id, world.guild.id)
        sender.kick()  # as /show announce does
        while not folding.posts:  # noqa: ASYNC110  (the sender posts them) the alerts have started to go out
            await asyncio.sleep(0.01)
        await queue_note(world.store, fan.id, 1)  # the fan's ticket: what they are waiting for
        sender.kick()  # as the command that queued it does
        await sender.idle()
    async with world.store.session() as s:
        note_id = (
            await s.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "big-note:1"))
        ).scalar_one()
    order = folding.posts
    assert [m.content for m in fan.user.dm_channel.history()] == ["note 1"]
    assert sum(len(alerts_of(u)) for u in followers) == 300
    # Most of the 300 alerts were still waiting when the ticket was queued: it went before them.
    assert len(order) - order.index(f"pk{note_id}") > 150, order.index(f"pk{note_id}")


async def test_the_next_free_slot_goes_to_the_most_urgent_request():
    pacer = Pacer(global_rate=30.0)
    granted = []

    async def ask(name, priority):
        await pacer.acquire_global(priority)
        granted.append(name)

    crowd = [asyncio.ensure_future(ask(f"alert{i}", 2)) for i in range(15)]
    while len(granted) < 2:  # noqa: ASYNC110  (the pacer grants them)
        await asyncio.sleep(0.01)
    await asyncio.gather(ask("ticket", 0), *crowd)
    assert len(granted) - granted.index("ticket") > 10, granted


async def test_a_fan_dmed_before_costs_one_request_however_many_were_dmed_since(world, monkeypatch):
    fan = world.fans[0]
    await queue_note(world.store, fan.id, 1)
    await world.bot.services.sender.idle()  # the drain the store's commit started
    others = [world.env.create_user(f"other{i}") for i in range(150)]  # more than discord.py keeps (128)
    for n, other in enumerate(others, start=10):
        await queue_note(world.store, other.id, n)
    await world.bot.services.sender.idle()
    with request_times(monkeypatch) as arrived:
        await queue_note(world.store, fan.id, 2)
        await world.bot.services.sender.idle()
    assert [m.content for m in fan.user.dm_channel.history()] == ["note 1", "note 2"]
    assert [path for _, path in arrived] == [f"/channels/{fan.user.dm_channel.id}/messages"]  # no channel opened again


# --- alert roles: a server pings a role instead of DMing thousands -------------------------------------


def pinged_roles(env, message) -> list[int]:
    """The roles Discord actually pinged with ``message`` (mentioned, mentionable, allowed)."""
    return list(env.backend.messages[message.channel.id][message.id].ping_role_ids)


def roles_of(env, guild, member) -> list[int]:
    return list(env.backend.guilds[guild.id].members[member.id].role_ids)


async def offer_role(world, channel, **what):
    await world.organizer.slash(world.channel, "organizer register")
    return await world.organizer.slash(world.channel, "alertrole add", channel=channel, **what)


async def test_an_alert_role_is_pinged_in_its_channel_and_its_members_get_no_dm(world):
    env = world.env
    alerts_channel = world.guild.create_text_channel("mira-alerts")
    offered = await offer_role(world, alerts_channel, artist="Mira Sol")
    assert "Members can take" in offered.response.content and alerts_channel.mention in offered.response.content
    signup = alerts_channel.last_message
    role = next(r for r in world.guild.roles.values() if r.name == "Mira Sol alerts")

    both, follower, member_only, bystander = world.fans[:4]
    took = await both.click(signup, label="Ping me for new shows")
    assert "You'll be pinged in" in took.response.content
    await member_only.click(signup, label="Ping me for new shows")
    assert role.id in roles_of(env, world.guild, both) and role.id in roles_of(env, world.guild, member_only)
    await both.slash(world.channel, "follow", artist="Mira Sol")
    await follower.slash(world.channel, "follow", artist="Mira Sol")

    show_id = await created_show_id(await create_show(world))  # "The Nightjars, Mira Sol"
    done = await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    assert "pinged in the role's channel" in done.response.content
    await env.settle()
    post = alerts_channel.last_message
    assert post.embeds[0].title == "Harbour Lights" and role.mention in post.content
    assert pinged_roles(env, post) == [role.id]
    assert [len(alert_dms(m)) if m.user.dm_channel else 0 for m in (both, follower, member_only, bystander)] == [
        0,
        1,
        0,
        0,
    ]
    booked = await member_only.click(post, label="Book")  # the post's buttons are the announcement's
    assert "Harbour Lights" in booked.response.content

    # Announced again: no second ping, no DM.
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    await env.settle()
    assert len([m for m in alerts_channel.history() if m.embeds]) == 1
    assert both.user.dm_channel is None or alert_dms(both) == []

    # Given back: the next show reaches them by DM, and no ping names them.
    gave_back = await both.click(signup, label="Ping me for new shows")
    assert "won't be pinged" in gave_back.response.content
    assert role.id not in roles_of(env, world.guild, both)
    second = await world.show(artists=["Mira Sol"])
    await world.organizer.slash(world.channel, "show announce", show=second.id, channel=world.channel)
    await env.settle()
    assert [m.content.split("**")[1] for m in alert_dms(both)] == ["Night Shift"]
    assert pinged_roles(env, alerts_channel.last_message) == [role.id]


async def test_a_role_post_discord_refuses_falls_back_to_dms(world):
    env = world.env
    alerts_channel = world.guild.create_text_channel("soon-gone")
    await offer_role(world, alerts_channel, artist="Mira Sol")
    fan = world.fans[0]
    await fan.click(alerts_channel.last_message, label="Ping me for new shows")
    await fan.slash(world.channel, "follow", artist="Mira Sol")
    env.backend.delete_channel(alerts_channel.id)  # the channel is deleted before the show is announced
    show_id = await created_show_id(await create_show(world))
    await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    await env.settle()
    await world.bot.services.sender.idle()
    await env.settle()
    assert len(alert_dms(fan)) == 1  # nobody pinged them: the DM after all


async def test_alert_roles_refuse_bad_input_and_non_organizers_and_change_nothing(world):
    roles_before = sorted(world.guild.roles)
    await world.organizer.slash(world.channel, "organizer register")
    neither = await world.organizer.slash(world.channel, "alertrole add", channel=world.channel)
    both = await world.organizer.slash(
        world.channel, "alertrole add", channel=world.channel, artist="Mira Sol", genre="indie"
    )
    for refused in (neither, both):
        assert refused.ephemeral and refused.response.content == "Give an artist or a genre (one of them)."
    stranger = await world.fans[0].slash(world.channel, "alertrole add", channel=world.channel, artist="Mira Sol")
    assert stranger.ephemeral and "organizer" in stranger.response.content.lower()
    missing = await world.organizer.slash(world.channel, "alertrole remove", artist="Nobody")
    assert missing.response.content == "There is no alert role for **Nobody** in this server."
    assert sorted(world.guild.roles) == roles_before

    await world.organizer.slash(world.channel, "alertrole add", channel=world.channel, artist="Mira Sol")
    twice = await world.organizer.slash(world.channel, "alertrole add", channel=world.channel, artist="mira sol")
    assert twice.response.content.startswith("**Mira Sol** already has an alert role here")
    assert len(world.guild.roles) == len(roles_before) + 1  # the second role was taken back
    gone = await world.organizer.slash(world.channel, "alertrole remove", artist="Mira Sol")
    assert gone.response.content == "The alert role for **Mira Sol** is gone."
    assert sorted(world.guild.roles) == roles_before
