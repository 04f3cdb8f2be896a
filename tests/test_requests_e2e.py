"""Every request is answered once: a fan repeating a command too fast is told to slow down in their
language (and nothing happens), a failure of ours gets one apology, and both are counted."""

from __future__ import annotations

from bot import metrics
from tests.simcord_ext import actor_locale
from tests.test_dm_delivery import buy

SLOW_DOWN = "You're going too fast. Try this command again in "


def commands_counted(command: str, outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value("picket_commands_total", {"command": command, "outcome": outcome}) or 0.0


def ticket_of(fan, n: int = 0) -> int:
    return int(fan.user.dm_channel.history()[0].embeds[0].fields[n].name.split("#")[1])


async def test_a_fan_asking_for_codes_too_fast_is_told_to_slow_down_and_gets_no_more_dms(world, monkeypatch):
    show = await world.show()
    fan, other = world.fans[0], world.fans[1]
    await buy(world, fan, show, quantity=2)
    await buy(world, other, show)
    ticket = ticket_of(fan)
    refused_before = commands_counted("ticket show", "refused")

    for _ in range(3):
        asked = await fan.slash(world.channel, "ticket show", ticket=ticket)
        assert "is in your DMs" in asked.response.content
    await world.env.settle()
    dms = len(fan.user.dm_channel.history())
    too_fast = await fan.slash(world.channel, "ticket show", ticket=ticket)
    assert too_fast.ephemeral and too_fast.response.content.startswith(SLOW_DOWN), too_fast.response.content
    with actor_locale(monkeypatch, "ko"):
        korean = await fan.slash(world.channel, "ticket show", ticket=ticket)
    assert korean.ephemeral and korean.response.content.startswith("요청이 너무 잦습니다."), korean.response.content
    await world.env.settle()
    assert len(fan.user.dm_channel.history()) == dms  # no code was sent for either
    assert commands_counted("ticket show", "refused") - refused_before == 2

    # Neither the fan's other ticket nor another fan is slowed down; after a minute the fan may ask again.
    assert (
        "is in your DMs" in (await fan.slash(world.channel, "ticket show", ticket=ticket_of(fan, 1))).response.content
    )
    assert (
        "is in your DMs" in (await other.slash(world.channel, "ticket show", ticket=ticket_of(other))).response.content
    )
    await world.env.advance_time(61)
    assert "is in your DMs" in (await fan.slash(world.channel, "ticket show", ticket=ticket)).response.content


async def test_hammering_book_for_one_show_is_slowed_down_and_changes_nothing(world):
    from domain import seats

    show, another = await world.show(per_fan_limit=10), await world.show()
    fan = world.fans[0]
    answers = [await fan.slash(world.channel, "book", show=show.id, quantity=1) for _ in range(6)]
    assert all(a.response.embeds and a.response.embeds[0].title.startswith("Reserved") for a in answers[:5])
    assert answers[5].ephemeral and answers[5].response.content.startswith(SLOW_DOWN), answers[5].response.content
    assert sum(a.held for a in await seats.availability(world.store, show.id)) == 5  # the sixth held nothing
    assert (await fan.slash(world.channel, "book", show=another.id)).response.embeds  # another show: not slowed down


async def test_a_failure_of_ours_gets_one_apology_and_is_counted_as_an_error(world, monkeypatch):
    import cogs.booking

    def broken(*args, **kwargs):
        raise RuntimeError("the page could not be drawn")

    monkeypatch.setattr(cogs.booking, "shows_page", broken)
    await world.show()
    errors_before = commands_counted("shows", "error")
    res = await world.fans[0].slash(world.channel, "shows")
    assert (
        res.ephemeral
        and res.response.content
        == "Something went wrong on our side and nothing was changed. Please try again in a moment."
    )
    assert res.followups == []  # one apology, not one from the command and another from the tree
    assert [type(getattr(e, "original", e)) for e in world.env.errors] == [
        RuntimeError
    ]  # logged, as unexpected errors must be
    assert commands_counted("shows", "error") - errors_before == 1
