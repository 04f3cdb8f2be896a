"""English and Korean in cogs.

Command names, descriptions and options are localized through discord.py's app_commands Translator
(Discord shows each user their own locale's names). Each is looked up under a gettext context
(``msgctxt``) named after where it stands (:data:`CONTEXTS`), so one English word may read
differently as a group and as a command: the ``/show`` group is 공연, ``/ticket show`` is 보기.
Replies written by cogs go through :func:`t`, keyed by their English text (no context). Both read the
gettext catalogues of :mod:`notifier.i18n`; a missing Korean entry reads in English rather than
failing (and fails ``tests/test_catalogue.py``).
"""

from __future__ import annotations

import discord
from discord import app_commands

from notifier import i18n

Location = app_commands.TranslationContextLocation

# The msgctxt of each place a command tree string stands in (picket.po uses these verbatim).
CONTEXTS: dict[Location, str | None] = {
    Location.command_name: "command name",
    Location.command_description: "command description",
    Location.group_name: "group name",
    Location.group_description: "group description",
    Location.parameter_name: "parameter name",
    Location.parameter_description: "parameter description",
    Location.choice_name: "choice name",
    Location.other: None,
}


def locale_of(reader: object) -> object:
    """The locale to write in for ``reader``: an interaction's user's locale, or a locale itself
    (``discord.Locale``, ``"ko"``), e.g. a server's preferred locale for a public post."""
    return getattr(reader, "locale", reader)


def t(reader: discord.Interaction | discord.Locale | str | None, text: str, **params: object) -> str:
    """``text`` (an English template) in the language of ``reader`` (an interaction's user, or a
    locale), formatted with ``params``."""
    return i18n.translate(locale_of(reader), text, **params)


def lang(reader: object) -> str:
    """The catalogue language (``"en"``, ``"ko"``) of ``reader``, for helpers that take one (dates)."""
    return i18n.language(locale_of(reader))


def context_of(context: app_commands.TranslationContext) -> str | None:
    return CONTEXTS.get(context.location)


class PicketTranslator(app_commands.Translator):
    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContext
    ) -> str | None:
        lang = i18n.language(locale)
        msgctxt = context_of(context)
        if lang == i18n.DEFAULT or not i18n.has_entry(lang, string.message, context=msgctxt):
            return None
        return i18n.gettext(lang, string.message, context=msgctxt)
