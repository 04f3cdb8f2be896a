"""Times as fans read them.

In a Discord message a time is a Discord timestamp (``<t:unix:style>``): each reader's client shows it
in their own zone and language. The notifier has no discord import, so :func:`discord_ts` writes the
same markup as ``discord.utils.format_dt``. Where that markup cannot go (an image, an autocomplete
choice, a form's pre-filled text), :func:`venue_time` writes the venue's local time with its zone's
abbreviation, so "20:00 KST" on a Seoul ticket is the time on the venue's clocks.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

STYLES = frozenset("tTdDfFR")
_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_KO_DAYS = ("월", "화", "수", "목", "금", "토", "일")


def discord_ts(when: datetime | int, style: str = "f") -> str:
    """``<t:1777633200:f>``: the same markup as ``discord.utils.format_dt(when, style)``; ``when`` is
    an aware datetime or Unix seconds (as outbox payloads carry them)."""
    if style not in STYLES:
        raise ValueError(f"unknown Discord timestamp style {style!r}")
    seconds = when if isinstance(when, int) else int(when.timestamp())
    return f"<t:{seconds}:{style}>"


def zone_name(local: datetime) -> str:
    """The zone's abbreviation at that moment (KST, CEST, EDT); zones without one (tzdata writes
    "+07") read "UTC+07"."""
    abbr = local.tzname() or "UTC"
    return f"UTC{abbr}" if abbr[0] in "+-" else abbr


def venue_time(when: datetime, zone: str, *, lang: str = "en", date: bool = True) -> str:
    """``when`` on the venue's clocks: "Fri 01 May 2026 · 20:00 KST" (``lang="ko"``:
    "2026-05-01 (금) 20:00 KST"); ``date=False`` drops the year ("Fri 01 May · 20:00 KST")."""
    local = when.astimezone(ZoneInfo(zone or "UTC"))
    clock = f"{local:%H:%M} {zone_name(local)}"
    if lang == "ko":
        day = f"{local:%Y-%m-%d}" if date else f"{local.month}/{local.day}"
        return f"{day} ({_KO_DAYS[local.weekday()]}) {clock}"
    year = f" {local.year}" if date else ""
    return f"{_EN_DAYS[local.weekday()]} {local.day:02d} {_EN_MONTHS[local.month - 1]}{year} · {clock}"
