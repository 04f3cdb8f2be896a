"""What ``picket demo`` and ``picket try`` both seed inside SimCord: who plays (:class:`Cast`, in one
language), the server with its organizer (:func:`open_server`), and the show, made the way an
organizer makes one: registered, created through /show create's form, announced (:func:`seed_show`).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True)
class Cast:
    """Who and what the demo plays, in one language: the guild's and every user's Discord locale,
    the names fans read, and the show the organizer types into the form."""

    locale: str
    guild: str
    channel: str
    fan_name: str  # display name of fan i ("": their user name)
    artist: str
    genre: str
    title: str
    venue: str
    currency: str
    tier: str
    price: str
    zone: str

    def in_its_language(self, text: str) -> bool:
        """Whether ``text`` has Hangul besides the names the organizer and fans typed (a Korean show's
        title in an English sentence is still English)."""
        for name in (self.title, self.artist, self.venue, self.genre, self.guild, self.channel):
            text = text.replace(name, "")
        text = re.sub(self.fan_name.format(i=r"\d+") or "^$", "", text) if self.fan_name else text
        return bool(_HANGUL.search(text))


CASTS = {
    "en": Cast(
        "en-US",
        "Picket Live",
        "box-office",
        "",
        "The Nightjars",
        "indie",
        "Midnight Static",
        "Picket Hall",
        "USD",
        "Standard",
        "45",
        "UTC",
    ),
    "ko": Cast(
        "ko",
        "피켓 라이브",
        "예매처",
        "관객{i}",
        "새벽별",
        "인디",
        "새벽별 단독 콘서트",
        "올림픽공원 올림픽홀",
        "KRW",
        "R",
        "99,000",
        "Asia/Seoul",
    ),
}
LOCALES = tuple(CASTS)


@contextlib.contextmanager
def speaking(locale: str):
    """Every interaction SimCord builds carries ``locale`` (the user's client language) and the
    guild's preferred locale, as a Korean Discord client in a Korean server sends them. SimCord 3.2.1
    writes "en-US" into both (simcord.interactions.base_payload); this wraps that builder for the
    demo's run only (tests/simcord_ext.actor_locale does the same for tests)."""
    import simcord.interactions

    original = simcord.interactions.base_payload
    if locale == "en-US":
        yield
        return

    def localized(*args, **kwargs):
        record, payload = original(*args, **kwargs)
        payload["locale"] = locale
        if "guild_locale" in payload:
            payload["guild_locale"] = locale
        return record, payload

    simcord.interactions.base_payload = localized
    try:
        yield
    finally:
        simcord.interactions.base_payload = original


def open_server(env, cast: Cast, *, organizer_name: str | None = None):
    """The cast's server (its preferred locale the cast's), its box office channel and an organizer
    (a server admin). Returns ``(guild, channel, organizer)``."""
    import discord

    guild = env.create_guild(cast.guild, preferred_locale=cast.locale)
    channel = guild.create_text_channel(cast.channel)
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    organizer = guild.add_member(env.create_user("organizer", global_name=organizer_name), roles=[admins])
    return guild, channel, organizer


async def seed_show(
    organizer, channel, cast: Cast, *, starts: datetime, opens: datetime, seatmap: str, per_fan_limit: int
) -> int:
    """The organizer registers, fills in /show create's form with the cast's show (times typed on the
    venue's clock, ``cast.zone``; a Korean server's shows are in Asia/Seoul without asking) and
    announces it in ``channel``. Returns the show's id, read from the reply."""
    await organizer.slash(channel, "organizer register")
    form = await organizer.slash(
        channel, "show create", genres=cast.genre, per_fan_limit=per_fan_limit, currency=cast.currency
    )
    zone = ZoneInfo(cast.zone)
    created = await organizer.submit_modal(
        form,
        {
            "title": cast.title,
            "artists": cast.artist,
            "when": f"{starts.astimezone(zone):%Y-%m-%d %H:%M}\n{opens.astimezone(zone):%Y-%m-%d %H:%M}",
            "venue": f"{cast.venue}\n{seatmap}",
            "tiers": f"{cast.tier}={cast.price}",
        },
    )
    said = created.response.content if created.response is not None else None
    found = re.search(r"#(\d+)", said or "")
    if found is None:
        raise RuntimeError(f"the show was not created: {said!r}")
    show_id = int(found[1])
    await organizer.slash(channel, "show announce", show=show_id, channel=channel)
    return show_id
