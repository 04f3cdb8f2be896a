"""A show's cancellation policy as fans and organizers read it (the rules are in domain/refunds.py).

Shown before payment (the reservation and the paid order), by ``/show policy``, and applied by
``/ticket cancel``. Times are Discord timestamps: each reader sees them in their own zone.
"""

from __future__ import annotations

from datetime import datetime

import discord

from cogs.common.i18n import t
from domain.refunds import RefundPolicy
from notifier.times import discord_ts


def policy_lines(
    interaction: discord.Interaction | None, policy: RefundPolicy, starts_at: datetime, now: datetime
) -> list[str]:
    """ "Free cancellation until …", "10% cancellation fee from …", "No cancellation after …"."""
    stages = policy.stages(starts_at, now)
    first = stages[0]
    if first.percent is None:
        return [t(interaction, "Tickets for this show can no longer be cancelled.")]
    following = stages[1].starts
    assert following is not None  # only the first stage starts "now"
    if first.percent == 0:
        lines = [t(interaction, "Free cancellation until {when}.", when=discord_ts(following, "f"))]
    else:
        lines = [
            t(
                interaction,
                "Cancelling now costs a {percent}% fee, until {when}.",
                percent=first.percent,
                when=discord_ts(following, "f"),
            )
        ]
    for stage in stages[1:]:
        assert stage.starts is not None
        if stage.percent is None:
            lines.append(t(interaction, "No cancellation after {when}.", when=discord_ts(stage.starts, "f")))
        else:
            lines.append(
                t(
                    interaction,
                    "{percent}% cancellation fee from {when}.",
                    percent=stage.percent,
                    when=discord_ts(stage.starts, "f"),
                )
            )
    return lines


def policy_block(
    interaction: discord.Interaction | None, policy: RefundPolicy, starts_at: datetime, now: datetime
) -> str:
    heading = t(interaction, "Cancellation and refunds")
    return f"**{heading}**\n" + "\n".join(f"• {line}" for line in policy_lines(interaction, policy, starts_at, now))
