"""Times as fans read them.

In a Discord message a time is a Discord timestamp (``<t:unix:style>``): each reader's client shows it
in their own zone and language. :func:`discord_ts` is the one helper that writes them, for cogs and DMs
alike (through ``discord.utils.format_dt``). Where that markup cannot go (an image, an autocomplete
choice, a form's pre-filled text), :func:`venue_time` writes the venue's local time with its zone's
abbreviation, so "20:00 KST" on a Seoul ticket is the time on the venue's clocks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from discord.utils import format_dt

STYLES = frozenset("tTdDfFR")
_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_KO_DAYS = ("월", "화", "수", "목", "금", "토", "일")


def discord_ts(when: datetime | int, style: str = "f") -> str:
    """``<t:1777633200:f>``; ``when`` is an aware datetime or Unix seconds (as outbox payloads carry
    them)."""
    if style not in STYLES:  # format_dt would write any letter; Discord shows an unknown style as text
        raise ValueError(f"unknown Discord timestamp style {style!r}")
    return format_dt(datetime.fromtimestamp(when, UTC) if isinstance(when, int) else when, style)  # type: ignore[arg-type]


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
