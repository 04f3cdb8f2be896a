"""The domain clock as the bot sees it: ``discord.utils.utcnow()``.

In production that is the wall clock. Under SimCord (tests, ``picket demo``) it is SimCord's virtual
clock, so ``env.advance_time`` moves on-sale times and hold expiries without anyone sleeping.
"""

from __future__ import annotations

from datetime import datetime

import discord


class DiscordClock:
    def now(self) -> datetime:
        return discord.utils.utcnow()
