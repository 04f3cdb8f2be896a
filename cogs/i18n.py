"""English and Korean in cogs.

Command names, descriptions and options are localized through discord.py's app_commands Translator
(Discord shows each user their own locale's names). Replies written by cogs go through :func:`t`,
keyed by their English text. Both read the gettext catalogues of :mod:`notifier.i18n`; a missing Korean
entry reads in English rather than failing (and fails ``tests/test_catalogue.py``).
"""

from __future__ import annotations

import discord
from discord import app_commands

from notifier import i18n


def t(interaction: discord.Interaction | None, text: str, **params: object) -> str:
    """``text`` (an English template) in the interaction user's language, formatted with ``params``."""
    return i18n.translate(getattr(interaction, "locale", None), text, **params)


class PicketTranslator(app_commands.Translator):
    async def translate(self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContext) -> str | None:
        lang = i18n.language(locale)
        if lang == i18n.DEFAULT or not i18n.has_entry(lang, string.message):
            return None
        return i18n.gettext(lang, string.message)
