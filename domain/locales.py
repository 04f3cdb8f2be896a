"""Which language a fan reads their DMs in.

A fan's Discord client sends its locale with every interaction: Picket keeps the last one on the fan
(``Fan.locale``), written only when it changed (one read per interaction, no write in the usual case).
A fan it has never seen (one who followed before locales were kept, say) reads the language of the
server the message is about: the preferred locale Discord gives for the show's server, kept on
``GuildSettings.locale``. Neither known: English.

Locales are kept as Discord sends them ("ko", "en-US"); which catalogue a locale reads is the
notifier's business (notifier/i18n.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Fan, GuildSettings, Show
from domain.store import Store

LOCALE_MAX = 10  # Discord's longest locale is "es-419"; the columns hold 10


def _clean(locale: object) -> str | None:
    value = str(getattr(locale, "value", locale) or "")[:LOCALE_MAX]
    return value or None


async def remember(
    store: Store,
    *,
    fan_id: int | None = None,
    locale: object = None,
    guild_id: int | None = None,
    guild_locale: object = None,
    guild_locale_is_default: bool = False,
) -> bool:
    """Keep ``fan_id``'s client locale and ``guild_id``'s preferred locale, writing only what changed.

    A server without a row reads English, so a server whose locale is the default language
    (``guild_locale_is_default``) gets no row just for saying so; one that had another locale is
    updated. Returns True when something was written."""
    locale, guild_locale = _clean(locale), _clean(guild_locale)
    want_fan = fan_id is not None and locale is not None
    want_guild = guild_id is not None and guild_locale is not None
    if not (want_fan or want_guild):
        return False
    columns = []
    if want_fan:
        columns.append(select(Fan.locale).where(Fan.discord_id == fan_id).scalar_subquery().label("fan"))
    if want_guild:
        columns.append(
            select(GuildSettings.locale).where(GuildSettings.guild_id == guild_id).scalar_subquery().label("guild")
        )
    async with store.session() as s:
        known = (await s.execute(select(*columns))).one()._mapping
    fan_changed = want_fan and known["fan"] != locale
    stored_guild = known["guild"] if want_guild else None
    guild_changed = (
        want_guild and stored_guild != guild_locale and not (stored_guild is None and guild_locale_is_default)
    )
    if not (fan_changed or guild_changed):
        return False

    async def work(s: AsyncSession) -> None:
        if fan_changed:
            await s.execute(
                store.insert_ignore(
                    Fan.__table__, discord_id=fan_id, alerts_enabled=True, timezone="UTC", dms_closed=False
                )
            )
            await s.execute(update(Fan).where(Fan.discord_id == fan_id).values(locale=locale))
        if guild_changed:
            await s.execute(store.insert_ignore(GuildSettings.__table__, guild_id=guild_id, organizer_role_id=None))
            await s.execute(update(GuildSettings).where(GuildSettings.guild_id == guild_id).values(locale=guild_locale))

    await store.transaction(work)
    return True


def shows_of(payload: dict[str, Any]) -> list[int]:
    """The shows an outbox message is about (its ``show_id``, or a digest's ``show_ids``)."""
    if isinstance(payload.get("show_id"), int):
        return [payload["show_id"]]
    return [i for i in payload.get("show_ids") or () if isinstance(i, int)]


async def dm_locales(store: Store, messages: Sequence[tuple[int, Iterable[int]]]) -> list[str | None]:
    """The locale each of ``messages`` ((recipient, show ids) pairs) is to be written in: the
    recipient's own, else the preferred locale of the first of its shows' servers that has one, else
    None (English). Two reads for a whole batch, however many messages."""
    messages = [(fan, list(show_ids)) for fan, show_ids in messages]
    fans = {fan for fan, _ in messages}
    show_ids = {sid for _, ids in messages for sid in ids}
    if not fans:
        return []
    async with store.session() as s:
        own = dict(
            (
                await s.execute(
                    select(Fan.discord_id, Fan.locale).where(Fan.discord_id.in_(fans), Fan.locale.is_not(None))
                )
            )
            .tuples()
            .all()
        )
        servers = (
            dict(
                (
                    await s.execute(
                        select(Show.id, GuildSettings.locale)
                        .join(GuildSettings, GuildSettings.guild_id == Show.guild_id)
                        .where(Show.id.in_(show_ids), GuildSettings.locale.is_not(None))
                    )
                )
                .tuples()
                .all()
            )
            if show_ids
            else {}
        )
    return [own.get(fan) or next((servers[sid] for sid in ids if sid in servers), None) for fan, ids in messages]
