"""Money for people: which currencies exist, their minor units, and how a locale writes an amount.

Amounts are stored as integers in ISO 4217 minor units (KRW and JPY have none, USD and EUR have
cents, KWD and BHD have fils: 1 KWD = 1000). The codes and exponents come from CLDR through Babel, as
do the formats: ₩150,000, $45.50, KWD1.500; in Korean, US$45.50. This is the one formatter: cogs
(cogs/common/ui.py ``money``) and DMs (notifier/render.py ``money``) both call :func:`format_money`.
"""

from __future__ import annotations

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, is_currency

from domain.specs import Currency

DEFAULT_LOCALE = "en"


def known(code: str | None) -> bool:
    """An ISO 4217 code Babel knows (upper case, three letters)."""
    return code is not None and len(code) == 3 and code.isascii() and code.isalpha() and is_currency(code.upper())


def currency(code: str) -> Currency:
    """The code (upper-cased) with its minor-unit exponent, for the domain's price parser.
    Callers check :func:`known` first: Babel answers 2 for a code it does not know."""
    code = code.upper()
    return Currency(code, get_currency_precision(code))


def to_major(minor: int, code: str) -> Decimal:
    """150000 KRW -> Decimal('150000'); 4550 USD -> Decimal('45.50'); 1500 KWD -> Decimal('1.500')."""
    return Decimal(int(minor)).scaleb(-get_currency_precision(code.upper()))


def _locale(locale: object) -> Locale:
    """A Babel locale for a Discord locale (``discord.Locale.korean`` is ``"ko"``, ``"en-US"``...),
    English when there is none or Babel does not know it."""
    name = str(getattr(locale, "value", locale) or DEFAULT_LOCALE).replace("-", "_")
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def format_money(minor: int, code: str, locale: object = None) -> str:
    """An amount in minor units, written the way ``locale`` writes that currency."""
    if not known(code):  # a show stored before codes were checked: still show the amount
        return f"{Decimal(int(minor)).scaleb(-2):,.2f} {code}"
    return format_currency(to_major(minor, code), code.upper(), locale=_locale(locale))
