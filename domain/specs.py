"""Parsers for the compact text organizers type into a modal: seat maps, price tiers, name lists.

Each parser raises :class:`InvalidInput` naming the field and the offending part, so the modal can
tell the organizer exactly what to fix.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidInput

MAX_SEATS_PER_SHOW = 100_000
MAX_ROWS = 702  # A..ZZ
_SECTION_NAME = re.compile(r"^[\w\- ]{1,40}$")


@dataclass(frozen=True)
class SectionSpec:
    name: str
    rows: int  # 0 means general admission
    seats_per_row: int  # capacity for general admission
    tier: str | None

    @property
    def capacity(self) -> int:
        return self.seats_per_row if self.rows == 0 else self.rows * self.seats_per_row

    @property
    def general_admission(self) -> bool:
        return self.rows == 0


def row_label(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, like seat maps everywhere."""
    label = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        label = chr(ord("A") + rem) + label
    return label


def parse_seatmap(spec: str) -> list[SectionSpec]:
    """Parse ``"A:10x20:VIP, B:5x30:Standard, Floor:500:GA"``.

    Each part is ``section:ROWSxSEATS[:tier]`` for a seated block or ``section:CAPACITY[:tier]`` for
    general admission. Parts are separated by commas, semicolons or new lines.
    """
    parts = [p.strip() for p in re.split(r"[,;\n]", spec or "") if p.strip()]
    if not parts:
        raise InvalidInput("Seat map: give at least one section, e.g. `A:10x20:VIP` or `Floor:500:GA`.")
    sections: list[SectionSpec] = []
    seen: set[str] = set()
    for part in parts:
        fields = [f.strip() for f in part.split(":")]
        if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
            raise InvalidInput(
                f"Seat map: `{part}` is not `section:ROWSxSEATS:tier` or `section:CAPACITY:tier`."
            )
        name, dims = fields[0], fields[1].lower().replace(" ", "")
        tier = fields[2] if len(fields) == 3 and fields[2] else None
        if not _SECTION_NAME.match(name):
            raise InvalidInput(f"Seat map: section name `{name}` must be 1-40 letters, digits, - or spaces.")
        if name.lower() in seen:
            raise InvalidInput(f"Seat map: section `{name}` appears twice.")
        seen.add(name.lower())
        m = re.fullmatch(r"(\d+)x(\d+)", dims)
        if m:
            rows, per_row = int(m.group(1)), int(m.group(2))
            if rows == 0 or per_row == 0:
                raise InvalidInput(f"Seat map: section `{name}` has zero seats.")
            if rows > MAX_ROWS:
                raise InvalidInput(f"Seat map: section `{name}` has {rows} rows; at most {MAX_ROWS}.")
        elif dims.isdigit():
            rows, per_row = 0, int(dims)
        else:
            raise InvalidInput(f"Seat map: `{fields[1]}` in section `{name}` is not ROWSxSEATS or a capacity.")
        section = SectionSpec(name=name, rows=rows, seats_per_row=per_row, tier=tier)
        if section.capacity <= 0:
            raise InvalidInput(f"Seat map: section `{name}` has zero seats.")
        sections.append(section)
    total = sum(s.capacity for s in sections)
    if total > MAX_SEATS_PER_SHOW:
        raise InvalidInput(f"Seat map: {total} seats in all; at most {MAX_SEATS_PER_SHOW}.")
    return sections


def parse_price(text: str, *, field: str = "Price") -> int:
    """``"45"``, ``"45.5"``, ``"45.50"`` -> 4550 cents. Refuses negatives and sub-cent amounts."""
    raw = (text or "").strip().lstrip("$€£₩").replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(f"{field}: `{text}` is not a number.") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(f"{field}: `{text}` must be zero or more.")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise InvalidInput(f"{field}: `{text}` has more than two decimals.")
    if cents > 10_000_000:
        raise InvalidInput(f"{field}: `{text}` is more than 100000.")
    return int(cents)


def parse_price_tiers(spec: str) -> dict[str, int]:
    """Parse ``"VIP=120, Standard=45.50"`` into ``{"VIP": 12000, "Standard": 4550}``."""
    parts = [p.strip() for p in re.split(r"[,;\n]", spec or "") if p.strip()]
    if not parts:
        raise InvalidInput("Price tiers: give at least one, e.g. `Standard=45`.")
    tiers: dict[str, int] = {}
    for part in parts:
        if "=" not in part:
            raise InvalidInput(f"Price tiers: `{part}` is not `name=price`.")
        name, price = (x.strip() for x in part.split("=", 1))
        if not name or len(name) > 40:
            raise InvalidInput(f"Price tiers: tier name `{name}` must be 1-40 characters.")
        if name in tiers:
            raise InvalidInput(f"Price tiers: `{name}` appears twice.")
        tiers[name] = parse_price(price, field=f"Price tiers: price of `{name}`")
    return tiers


def normalize_key(name: str) -> str:
    """Match key for artists and genres: case-, accent-width- and space-insensitive."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(folded.split())


def parse_names(text: str, *, field: str, required: bool = True) -> list[str]:
    """A comma-separated list of names (artists, genres), deduplicated by match key, order kept."""
    names: list[str] = []
    keys: set[str] = set()
    for raw in re.split(r"[,;\n]", text or ""):
        name = " ".join(raw.split())
        if not name:
            continue
        if len(name) > 100:
            raise InvalidInput(f"{field}: `{name[:20]}...` is longer than 100 characters.")
        key = normalize_key(name)
        if key not in keys:
            keys.add(key)
            names.append(name)
    if required and not names:
        raise InvalidInput(f"{field}: give at least one.")
    return names


def parse_when(text: str, tz_name: str, *, field: str):
    """``"2026-06-01 20:00"`` in the organizer's time zone -> aware UTC datetime."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz = ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Time zone: `{tz_name}` is not a known time zone such as Europe/Paris or Asia/Seoul.") from None
    raw = " ".join((text or "").replace("T", " ").split())
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            local = datetime.strptime(raw, fmt)
            break
        except ValueError:
            continue
    else:
        raise InvalidInput(f"{field}: `{text}` is not a date and time like 2026-06-01 20:00.")
    return local.replace(tzinfo=tz).astimezone(timezone.utc)
