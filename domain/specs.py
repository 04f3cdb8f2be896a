"""Parsers for the compact text organizers type into a modal: seat maps, price tiers, name lists.

Each parser raises :class:`InvalidInput` naming the field and the offending part, so the modal can
tell the organizer exactly what to fix.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

MAX_SEATS_PER_SHOW = 100_000
MAX_ROWS = 702  # A..ZZ
# Highest price in ISO 4217 minor units, whatever the currency (10,000,000 KRW, 100,000.00 USD,
# 10,000.000 KWD): an order of 50 such tickets still fits the 32-bit amount columns.
MAX_PRICE_MINOR = 10_000_000
MAX_NAME = 100  # an artist or genre, as typed and as its match key
MAX_NAMES = 50  # artists (or genres) on one show
MAX_NAMES_TEXT = 1000  # a name list as one comma-separated text (fits the edit form's field)
MAX_TIER_NAME = 40
MAX_TIERS = 25
MAX_SEATMAP_TEXT = 4000  # Discord's longest form field
FIRST_YEAR, LAST_YEAR = 2000, 2100
_SECTION_NAME = re.compile(r"^[\w\- ]{1,40}$")
_NUMBER = re.compile(r"[0-9]{1,7}")  # ASCII digits only: int() refuses ², ① and 5,000-digit numbers

# Characters that show nothing: controls, format characters (zero-width space, joiners, bidi marks),
# separators, unassigned and private code points, and the Hangul fillers and blank Braille pattern
# Discord users know as "invisible names". Combining marks show only on top of another character: a
# name needs one character that is neither.
_BLANK_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
_MARK_CATEGORIES = {"Mn", "Me", "Mc"}
_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f", "\u180e"}
EXCERPT_LENGTH = 40


def _blank(ch: str) -> bool:
    return ch in _FILLERS or unicodedata.category(ch) in _BLANK_CATEGORIES


def excerpt(text: object, limit: int = EXCERPT_LENGTH) -> str:
    """A short, plain quote of what a user typed, for an error message that names it.

    Whitespace and invisible characters become single spaces, backticks become ``'`` (the messages
    quote inside `...`, and no excerpt can close that quote), and anything past ``limit`` characters
    is cut with "…": a 4,000-character seat map never makes the reply itself too long for Discord.
    """
    flat = "".join(" " if _blank(ch) else ch for ch in str(text or ""))
    flat = " ".join(flat.replace("`", "'").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def has_visible(text: str) -> bool:
    return any(not _blank(ch) and unicodedata.category(ch) not in _MARK_CATEGORIES for ch in text or "")


def clean_name(text: str | None, *, field: str, most: int, about: dict[str, object] | None = None) -> str:
    """A name as typed (title, artist, venue, tier): runs of whitespace become one space; it must hold
    1-``most`` characters and at least one that shows (a name of zero-width spaces is no name).

    ``field`` names the input in refusals: an English label ("Title", "Tier of section {section}")
    its reader's language translates, formatted with ``about``."""
    about = about or {}
    name = " ".join((text or "").split())
    while name and _blank(name[0]):
        name = name[1:]
    while name and _blank(name[-1]):
        name = name[:-1]
    if not name or not has_visible(name):
        raise InvalidInput("name.blank", field=field, most=most, **about)
    if len(name) > most:
        raise InvalidInput("name.too_long", field=field, value=excerpt(name), most=most, **about)
    return name


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
    if len(spec or "") > MAX_SEATMAP_TEXT:
        raise InvalidInput("seatmap.too_long", most=MAX_SEATMAP_TEXT)
    parts = [p.strip() for p in re.split(r"[,;\n]", spec or "") if p.strip()]
    if not parts:
        raise InvalidInput("seatmap.empty")
    sections: list[SectionSpec] = []
    seen: set[str] = set()
    for part in parts:
        fields = [f.strip() for f in part.split(":")]
        if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
            raise InvalidInput("seatmap.bad_part", value=excerpt(part))
        name, dims = fields[0], fields[1].lower().replace(" ", "")
        if not _SECTION_NAME.match(name) or not has_visible(name.replace("-", "")):
            raise InvalidInput("seatmap.bad_section_name", value=excerpt(name))
        tier = None
        if len(fields) == 3 and fields[2]:
            tier = clean_name(
                fields[2], field="Seat map: tier of section {section}", most=MAX_TIER_NAME, about={"section": name}
            )
        if name.casefold() in seen:
            raise InvalidInput("seatmap.section_twice", section=name)
        seen.add(name.casefold())
        m = re.fullmatch(rf"({_NUMBER.pattern})x({_NUMBER.pattern})", dims)
        if m:
            rows, per_row = int(m.group(1)), int(m.group(2))
            if rows == 0 or per_row == 0:
                raise InvalidInput("seatmap.section_empty", section=name)
            if rows > MAX_ROWS:
                raise InvalidInput("seatmap.too_many_rows", section=name, rows=rows, most=MAX_ROWS)
        elif _NUMBER.fullmatch(dims):
            rows, per_row = 0, int(dims)
        else:
            raise InvalidInput("seatmap.bad_size", value=excerpt(fields[1]), section=name, most=MAX_SEATS_PER_SHOW)
        section = SectionSpec(name=name, rows=rows, seats_per_row=per_row, tier=tier)
        if section.capacity <= 0:
            raise InvalidInput("seatmap.section_empty", section=name)
        sections.append(section)
    total = sum(s.capacity for s in sections)
    if total > MAX_SEATS_PER_SHOW:
        raise InvalidInput("seatmap.too_many_seats", total=total, most=MAX_SEATS_PER_SHOW)
    return sections


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 code and its minor-unit exponent (KRW 0, USD 2, KWD 3): amounts are stored as
    integers in minor units. The domain does not know which codes exist or their exponent: the caller
    looks them up (notifier/money.py, from CLDR) and hands them in."""

    code: str
    precision: int

    @property
    def max_major(self) -> int:
        """The highest price in major units: 10,000,000 KRW, 100,000 USD, 10,000 KWD."""
        return MAX_PRICE_MINOR // int(10**self.precision)  # int: a negative power would be a float


USD = Currency("USD", 2)


_SYMBOL_PREFIX = re.compile(r"^[A-Za-z]{0,3}(\S)")


def _without_currency(text: str, code: str) -> str:
    """The number in a price written with its currency, as people and formatters write it: ``₩150000``,
    ``$45.50``, ``US$45.50``, ``45 €``, ``KWD1.500``, ``150000 KRW``."""
    raw = text.strip()
    if raw[:3].upper() == code:
        raw = raw[3:].strip()
    elif raw[-3:].upper() == code:
        raw = raw[:-3].strip()
    symbol = _SYMBOL_PREFIX.match(raw)
    if symbol and unicodedata.category(symbol.group(1)) == "Sc":
        raw = raw[symbol.end() :].strip()
    if raw and unicodedata.category(raw[-1]) == "Sc":
        raw = raw[:-1].strip()
    return raw


def parse_price(
    text: str, *, currency: Currency = USD, field: str = "Price", about: dict[str, object] | None = None
) -> int:
    """A price typed in major units, in the currency's minor units: ``"45.50"`` USD -> 4550,
    ``"150,000"`` KRW -> 150000, ``"1.5"`` KWD -> 1500. Refuses negatives, more decimals than the
    currency has (KRW has none) and prices above :attr:`Currency.max_major`."""
    raw = _without_currency((text or "").replace(",", ""), currency.code)
    said = dict(about or {}, field=field, value=excerpt(text))
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput("price.not_number", **said) from None
    if not value.is_finite() or value < 0:
        raise InvalidInput("price.negative", **said)
    # Compare before any arithmetic: 1e999999 scaled to minor units overflows Decimal's context.
    if value > currency.max_major:
        raise InvalidInput("price.too_high", most_minor=MAX_PRICE_MINOR, currency=currency.code, **said)
    minor = value.scaleb(currency.precision)
    if minor != minor.to_integral_value(rounding=ROUND_DOWN):
        if currency.precision == 0:
            raise InvalidInput("price.no_decimals", currency=currency.code, **said)
        raise InvalidInput("price.too_many_decimals", currency=currency.code, digits=currency.precision, **said)
    return int(minor)


def parse_price_tiers(spec: str, *, currency: Currency = USD) -> dict[str, int]:
    """Parse ``"VIP=120, Standard=45.50"`` into minor units of ``currency``: ``{"VIP": 12000,
    "Standard": 4550}`` in USD; ``"VIP=150000, R=99000"`` in KRW is ``{"VIP": 150000, "R": 99000}``."""
    parts = [p.strip() for p in re.split(r"[;\n]|,(?![0-9]{3}(?![0-9]))", spec or "") if p.strip()]
    if not parts:
        raise InvalidInput("tiers.none")
    if len(parts) > MAX_TIERS:
        raise InvalidInput("tiers.too_many", most=MAX_TIERS)
    tiers: dict[str, int] = {}
    for part in parts:
        if "=" not in part:
            raise InvalidInput("tiers.bad_part", value=excerpt(part))
        name, price = (x.strip() for x in part.split("=", 1))
        name = clean_name(name, field="Price tiers: tier name", most=MAX_TIER_NAME)
        if name.casefold() in (t.casefold() for t in tiers):
            raise InvalidInput("tiers.twice", tier=name)
        tiers[name] = parse_price(price, currency=currency, field="Price tiers: price of {tier}", about={"tier": name})
    return tiers


def normalize_key(name: str) -> str:
    """Match key for artists and genres: case-, accent-width- and space-insensitive."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(folded.split())


def clean_follow_name(text: str | None, *, field: str) -> tuple[str, str]:
    """An artist or genre name and its match key. Both must fit in 100 characters: normalising can
    make a name longer (ß -> ss, ﷺ -> 18 letters)."""
    name = clean_name(text, field=field, most=MAX_NAME)
    key = normalize_key(name)
    if len(key) > MAX_NAME:
        raise InvalidInput("name.too_long_spelled", field=field, value=excerpt(name), most=MAX_NAME)
    return name, key


def parse_names(text: str, *, field: str, required: bool = True) -> list[str]:
    """A comma-separated list of names (artists, genres), deduplicated by match key, order kept."""
    names: list[str] = []
    keys: set[str] = set()
    for raw in re.split(r"[,;\n]", text or ""):
        if not raw.strip():
            continue
        name, key = clean_follow_name(raw, field=field)
        if key not in keys:
            keys.add(key)
            names.append(name)
    if required and not names:
        raise InvalidInput("names.none", field=field)
    if len(names) > MAX_NAMES or len(", ".join(names)) > MAX_NAMES_TEXT:
        raise InvalidInput("names.too_long", field=field, most=MAX_NAMES, most_chars=MAX_NAMES_TEXT)
    return names


def parse_timezone(tz_name: str | None) -> ZoneInfo:
    """A ZoneInfo for an IANA name such as Asia/Seoul; InvalidInput (quoting a short excerpt) otherwise."""
    from zoneinfo import ZoneInfoNotFoundError

    name = tz_name or "UTC"
    try:
        if len(name) > 64:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput("timezone.unknown", value=excerpt(tz_name)) from None


def parse_when(text: str, tz_name: str, *, field: str) -> datetime:
    """``"2026-06-01 20:00"`` in the organizer's time zone -> aware UTC datetime."""
    tz = parse_timezone(tz_name)
    raw = " ".join((text or "").replace("T", " ").split())
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            local = datetime.strptime(raw, fmt)
            break
        except ValueError:
            continue
    else:
        raise InvalidInput("when.bad_format", field=field, value=excerpt(text))
    # Year 1 or 9999 in a zone off UTC overflows datetime; no show is that far away anyway.
    if not FIRST_YEAR <= local.year <= LAST_YEAR:
        raise InvalidInput("when.bad_year", field=field, value=excerpt(text), first=FIRST_YEAR, last=LAST_YEAR)
    return _one_instant(local, tz, text, field).astimezone(UTC)


def _one_instant(local: datetime, tz: ZoneInfo, text: str, field: str) -> datetime:
    """``local`` on the clocks of ``tz``, refused when those clocks never show it (the hour skipped when
    daylight saving time starts) or show it twice (the hour repeated when it ends): guessing either
    would sell a show at a time its organizer did not mean."""

    first, second = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
        raise InvalidInput("when.dst_gap", field=field, value=excerpt(text), zone=tz.key)
    if first.utcoffset() != second.utcoffset():
        raise InvalidInput("when.dst_overlap", field=field, value=excerpt(text), zone=tz.key)
    return first
