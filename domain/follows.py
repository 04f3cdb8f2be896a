"""Fans' interests (artists and genres they follow) and their alert settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import Fan, Follow, FollowKind, ShowArtist, ShowGenre
from domain.specs import clean_follow_name, excerpt, normalize_key
from domain.store import Store, rowcount

MAX_FOLLOWS_PER_FAN = 200


@dataclass(frozen=True)
class FollowView:
    kind: str
    name: str


def _kind(kind: str) -> FollowKind:
    try:
        return FollowKind(kind)
    except ValueError:
        raise errors.InvalidInput("follow.kind", value=excerpt(kind)) from None


async def follow(store: Store, fan_id: int, kind: str, name: str) -> FollowView:
    """Follow an artist or genre. Following the same thing twice keeps one follow."""
    return (await follow_all(store, fan_id, [(kind, name)]))[0]


async def follow_all(store: Store, fan_id: int, wanted: list[tuple[str, str]]) -> list[FollowView]:
    """Follow several artists and genres at once: all of them, or (one refused) none."""
    checked = []
    for kind, name in wanted:
        fk = _kind(kind)
        clean, key = clean_follow_name(name, field=fk.value.title())  # "Artist" / "Genre"
        checked.append((fk, clean, key))

    async def work(s: AsyncSession) -> list[FollowView]:
        count = (await s.execute(select(func.count()).where(Follow.fan_discord_id == fan_id))).scalar_one()
        if count + len(checked) > MAX_FOLLOWS_PER_FAN:
            raise errors.InvalidInput("follow.too_many", count=count)
        await s.execute(
            store.insert_ignore(Fan.__table__, discord_id=fan_id, alerts_enabled=True, timezone="UTC", dms_closed=False)
        )
        done = []
        for fk, name, key in checked:
            await s.execute(
                store.insert_ignore(
                    Follow.__table__, fan_discord_id=fan_id, kind=fk.value, key=key, name=name, created_at=store.now()
                )
            )
            row = (
                await s.execute(
                    select(Follow).where(Follow.fan_discord_id == fan_id, Follow.kind == fk.value, Follow.key == key)
                )
            ).scalar_one()
            done.append(FollowView(row.kind, row.name))
        return done

    return await store.transaction(work)


async def unfollow(store: Store, fan_id: int, kind: str, name: str) -> bool:
    """Returns False when the fan was not following it."""
    return (await unfollow_all(store, fan_id, [(kind, name)]))[0]


async def unfollow_all(store: Store, fan_id: int, unwanted: list[tuple[str, str]]) -> list[bool]:
    """Stop following several artists and genres in one transaction; for each, False when the fan
    was not following it."""
    keys = [(_kind(kind), normalize_key(name or "")) for kind, name in unwanted]

    async def work(s: AsyncSession) -> list[bool]:
        gone = []
        for fk, key in keys:
            res = await s.execute(
                delete(Follow).where(Follow.fan_discord_id == fan_id, Follow.kind == fk.value, Follow.key == key)
            )
            gone.append(rowcount(res) > 0)
        return gone

    return await store.transaction(work)


async def list_follows(store: Store, fan_id: int) -> list[FollowView]:
    async with store.session() as s:
        rows = (
            await s.execute(select(Follow).where(Follow.fan_discord_id == fan_id).order_by(Follow.kind, Follow.key))
        ).scalars()
        return [FollowView(r.kind, r.name) for r in rows]


async def known_names(store: Store, kind: str, prefix: str = "", limit: int = 25) -> list[str]:
    """Artist or genre names seen on shows, for autocomplete."""
    fk = _kind(kind)
    table = ShowArtist if fk is FollowKind.ARTIST else ShowGenre
    key = normalize_key(prefix)
    async with store.session() as s:
        rows = (
            await s.execute(
                select(func.min(table.name))
                .where(table.key.like(f"{key}%"))
                .group_by(table.key)
                .order_by(table.key)
                .limit(limit)
            )
        ).scalars()
        return list(rows)
