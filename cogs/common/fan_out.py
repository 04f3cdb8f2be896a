"""What /show announce adds about the alerts it set going (the followers' DMs, the alert-role posts)."""

from __future__ import annotations

import math

import discord

from cogs.common.i18n import t
from domain.alerts import AlertPlan


def fan_out_note(interaction: discord.Interaction, plan: AlertPlan, seconds: float) -> str:
    """When the followers' DMs take more than a minute at Discord's pace, how many and about how
    long; and whether an alert role was pinged."""
    lines = []
    if plan.followers and seconds >= 60:
        minutes = math.ceil(seconds / 60)
        duration = (
            t(interaction, "{n} minutes", n=minutes)
            if minutes < 120
            else t(interaction, "{n} hours", n=round(minutes / 60))
        )
        lines.append(
            t(
                interaction,
                "{count} follower(s) will be told by DM over about {duration}, at Discord's pace.",
                count=plan.followers,
                duration=duration,
            )
        )
    if plan.role_posts:
        lines.append(
            t(interaction, "Members who took its alert role are pinged in the role's channel now, instead of by DM.")
        )
    return "".join("\n" + line for line in lines)
