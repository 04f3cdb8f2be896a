"""Picket's words in English and Korean, from gettext catalogues.

English is the source language: every text a fan or organizer reads is written in English in the code
and marked for extraction: ``t(interaction, "...")`` in cogs, ``N_("...")`` where a text is named before
the reader is known (DM templates, error templates). Korean lives in
``notifier/locale/ko/LC_MESSAGES/picket.po``. Babel reads that catalogue and compiles it in memory the
first time a language is used, so no stale ``.mo`` can ever ship; ``pybabel extract -F babel.cfg``
finds the marked texts, and ``tests/test_catalogue.py`` fails when one has no Korean entry.

This module is the one place that knows how: cogs (``cogs/common/i18n.t``) and the DM renderer both call
:func:`translate`. A text missing from a catalogue reads in English rather than failing.
"""

from __future__ import annotations

import gettext as _gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "picket"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT = "en"
LANGUAGES = ("en", "ko")


def N_(text: str) -> str:
    """Marks ``text`` for extraction where it is named, not shown (translated later, by its reader)."""
    return text


def NC_(context: str, text: str) -> str:
    """Like :func:`N_`, for a text translated under a msgctxt (the same English word may read
    differently elsewhere). Extracted with the keyword spec ``NC_:1c,2``."""
    return text


def language(locale: object) -> str:
    """The catalogue language for a Discord locale (``discord.Locale.korean``, ``"ko"``, ``"en-US"``...)."""
    value = str(getattr(locale, "value", locale) or "").lower()
    base = value.split("-")[0].split("_")[0]
    return base if base in LANGUAGES else DEFAULT


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(lang: str) -> _gettext.NullTranslations:
    path = po_path(lang)
    if lang == DEFAULT or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as f:
        parsed = read_po(f, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def gettext(locale: object, text: str, *, context: str | None = None) -> str:
    """``text`` in ``locale``'s language (itself when the catalogue has no entry)."""
    cat = catalogue(language(locale))
    return cat.pgettext(context, text) if context else cat.gettext(text)


def translate(locale: object, text: str, **params: object) -> str:
    """``text`` (an English template) in ``locale``'s language, formatted with ``params``."""
    return gettext(locale, text).format(**params)


def has_entry(lang: str, text: str, *, context: str | None = None) -> bool:
    cat = catalogue(lang)
    missing = object()
    # gettext has no public lookup that tells a missing entry from one equal to its msgid: read its table.
    found = (
        cat._catalog.get(f"{context}\x04{text}" if context else text, missing)  # type: ignore[attr-defined]
        if isinstance(cat, _gettext.GNUTranslations)
        else missing
    )
    return found is not missing and bool(found)
