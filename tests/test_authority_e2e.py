"""Nobody acts where they don't belong: shows stay in their server, organizer rights follow the
organizer role and can be revoked, and announcements go only where both the organizer and the bot
may post."""

from __future__ import annotations

import discord

from tests.snapshot import table_counts
from tests.test_alerts_e2e import alert_dms
from tests.test_organizers_e2e import create_show, created_show_id

NOT_ORGANIZER = "is not a registered organizer here"


async def test_a_command_in_one_server_never_reaches_a_show_of_another(world):
    env = world.env
    show = await world.show()  # in "Picket Live", by its organizer
    follower = world.fans[0]
    await follower.slash(world.channel, "follow", artist="The Nightjars")
    other = env.create_guild("Elsewhere")
    quiet = other.create_text_channel(
        "rules", overwrites={other.default_role: discord.PermissionOverwrite(send_messages=False)}
    )
    lobby = other.create_text_channel("lobby")
    organizer_there = other.add_member(world.organizer.user)  # a plain member of the other server
    fan_there = other.add_member(follower.user)
    before = await table_counts(world.store)

    refused = await organizer_there.slash(quiet, "show announce", show=show.id, channel=quiet)
    assert refused.ephemeral and NOT_ORGANIZER in refused.response.content
    # Even as an organizer of the other server too, a show of the first one does not exist there.
    from domain import organizers

    await organizers.register_organizer(world.store, other.id, world.organizer.id, "org", granted=True)
    before = await table_counts(world.store)
    for channel in (lobby, quiet):
        refused = await organizer_there.slash(lobby, "show announce", show=show.id, channel=channel)
        assert refused.ephemeral and refused.response.content == f"There is no show #{show.id}."
    for command in ("show sales", "show cancel", "show edit"):
        res = await organizer_there.slash(lobby, command, show=show.id)
        assert res.response.content == f"There is no show #{show.id}.", command
    booked = await fan_there.slash(lobby, "book", show=show.id)
    assert booked.ephemeral and booked.response.content == f"There is no show #{show.id}."
    assert await fan_there.autocomplete(lobby, "book", "show", "") == []
    assert quiet.history() == [] and lobby.history() == []
    # An announcement that reached the other server before this was fixed: its buttons lead nowhere.
    from cogs.common.announcement import announcement_view

    await env.bot.get_channel(lobby.id).send("old announcement", view=announcement_view(show.id))
    for label in ("Book", "Join waitlist", "Remind me"):
        clicked = await fan_there.click(lobby.last_message, label=label)
        assert clicked.ephemeral and clicked.response.content == f"There is no show #{show.id}.", label
    await env.settle()
    assert alert_dms(follower) == []
    assert await table_counts(world.store) == before


async def test_checkin_in_dms_lists_only_the_callers_door_shows(world):
    show = await world.show()
    await world.show()  # another show of the same server, where this door is not staff
    elsewhere = world.env.create_guild("Elsewhere")
    from tests.factories import on_sale_show

    await on_sale_show(world.store, guild_id=elsewhere.id, organizer_id=424242)
    door, fan = world.door, world.fans[0]
    await world.organizer.slash(world.channel, "show staff", show=show.id, member=door)
    offered = await door.user.autocomplete("checkin", "show", "")
    assert [c["value"] for c in offered] == [show.id]
    assert await fan.user.autocomplete("checkin", "show", "") == []
    in_server = await door.autocomplete(world.channel, "checkin", "show", "")
    assert [c["value"] for c in in_server] == [show.id]


async def test_announcements_go_only_where_the_organizer_and_the_bot_may_post(world):
    env, guild = world.env, world.guild
    follower = world.fans[0]
    await follower.slash(world.channel, "follow", artist="The Nightjars")
    show_id = await created_show_id(await create_show(world))
    read_only = guild.create_text_channel(
        "news", overwrites={guild.default_role: discord.PermissionOverwrite(send_messages=False)}
    )
    bot_muted = guild.create_text_channel(
        "chat", overwrites={env.bot.user: discord.PermissionOverwrite(send_messages=False)}
    )
    before = await table_counts(world.store)

    members_only = await world.organizer.slash(world.channel, "show announce", show=show_id, channel=read_only)
    assert (
        members_only.ephemeral
        and members_only.response.content
        == f"You can't post in {read_only.mention}, so Picket won't post there for you."
    )
    no_bot = await world.organizer.slash(world.channel, "show announce", show=show_id, channel=bot_muted)
    assert no_bot.ephemeral and no_bot.response.content.startswith(f"Picket can't post in {bot_muted.mention}")
    assert read_only.history() == [] and bot_muted.history() == []
    await env.settle()
    assert alert_dms(follower) == []
    assert await table_counts(world.store) == before  # no announcement row, no alert queued

    posted = await world.organizer.slash(world.channel, "show announce", show=show_id, channel=world.channel)
    assert posted.response.content == f"Announced in {world.channel.mention}."
    await env.settle()
    assert len(alert_dms(follower)) == 1


async def test_organizer_rights_follow_the_role(world):
    env, guild = world.env, world.guild
    role = guild.create_role("Promoters", permissions=discord.Permissions.none())
    await world.organizer.slash(world.channel, "organizer role", role=role)
    promoter = guild.add_member(env.create_user("promoter"), roles=[role])
    show_id = await created_show_id(await create_show_as(world, promoter))
    assert (
        "sold 0" in (await promoter.slash(world.channel, "show sales", show=show_id)).response.embeds[0].fields[0].value
    )

    env.backend.remove_member_role(guild.id, promoter.id, role.id)  # the server takes the role away
    lapsed = (
        f"You no longer have the <@&{role.id}> role in this server, so you cannot run shows here. Ask a server admin."
    )
    for command, options in [
        ("show sales", {"show": show_id}),
        ("show cancel", {"show": show_id}),
        ("show create", {}),
    ]:
        res = await promoter.slash(world.channel, command, **options)
        assert res.ephemeral and res.modal is None and res.response.content == lapsed, command

    env.backend.add_member_role(guild.id, promoter.id, role.id)  # given back: rights are back
    assert (await promoter.slash(world.channel, "show sales", show=show_id)).response.embeds


async def test_an_admin_revokes_an_organizer(world):
    env, guild = world.env, world.guild
    member = world.fans[0]
    await world.organizer.slash(world.channel, "organizer grant", member=member)
    show_id = await created_show_id(await create_show_as(world, member))
    ask = await member.slash(world.channel, "show cancel", show=show_id)  # a confirm button, kept for later

    not_admin = await world.fans[1].slash(world.channel, "organizer revoke", member=member)
    assert not_admin.response.content == "Only server admins (Manage Server) can revoke an organizer."
    done = await world.organizer.slash(world.channel, "organizer revoke", member=member)
    assert done.ephemeral and done.response.content.startswith(f"{member.mention} is no longer an organizer here.")

    revoked = "Your organizer rights in this server were revoked by a server admin; only an admin can grant them again (/organizer grant)."
    for command, options in [("show sales", {"show": show_id}), ("show create", {})]:
        res = await member.slash(world.channel, command, **options)
        assert res.ephemeral and res.response.content == revoked, command
    door = await member.slash(world.channel, "checkin", show=show_id, code="PK1.x.y")
    assert door.response.content == "Only the door staff of “Harbour Lights” can check tickets in."
    before = await table_counts(world.store)
    clicked = await member.click(ask.response, label="Yes, cancel the show")
    assert clicked.response.content == revoked
    assert await table_counts(world.store) == before
    role = guild.create_role("Promoters", permissions=discord.Permissions.none())
    await world.organizer.slash(world.channel, "organizer role", role=role)
    env.backend.add_member_role(guild.id, member.id, role.id)
    assert (
        await member.slash(world.channel, "show sales", show=show_id)
    ).response.content == revoked  # the role does not undo it
    assert (await member.slash(world.channel, "organizer register")).response.content == revoked

    await world.organizer.slash(world.channel, "organizer grant", member=member)
    assert (await member.slash(world.channel, "show sales", show=show_id)).response.embeds


async def create_show_as(world, member):
    from tests.test_organizers_e2e import GOOD_FORM

    await member.slash(world.channel, "organizer register")
    shown = await member.slash(world.channel, "show create", genres="indie")
    assert shown.modal is not None, shown.response.content
    return await member.submit_modal(shown, GOOD_FORM)
