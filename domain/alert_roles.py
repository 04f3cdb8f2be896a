"""Alert roles: a server's opt-in channel post for big announcements.

DMs go out at Discord's pace (about 50 requests a second for the whole bot), so 100,000 followers
take the better part of an hour. A server can opt in to reach its members at once: an organizer
makes an alert role for an artist or genre (the cog creates the Discord role and posts a button
members press to give themselves the role), and every show of that artist or genre announced in the
server is then also posted in the role's channel, mentioning the role: one message instead of
thousands of DMs.

Fans who followed through Picket still get their DM, unless they hold a pinged role in the show's
server: who pressed the button (and held the role when the post pinged it) got the ping and gets no
DM for that show, so nobody is told twice. A post Discord refuses (the channel gone, the bot's rights
taken) falls back to DMs for those members (:func:`role_post_refused`).

Only the roles taken or given back through Picket's button are known here: the bot does not read
member lists (no privileged intents).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import (
    AlertRole,
    AlertRoleMember,
    FanOut,
    FollowKind,
    OutboxMessage,
    Show,
)
from domain.outbox import enqueue
from domain.specs import clean_follow_name, excerpt, normalize_key
from domain.store import Store

ROLE_POST = "alert_role_post"
MAX_ROLES_PER_SERVER = 100  # the roles one server may offer (Discord allows 250 roles in all)


@dataclass(frozen=True)
class AlertRoleView:
    guild_id: int
    kind: str
    name: str
    role_id: int
    channel_id: int


def _view(row: AlertRole) -> AlertRoleView:
    return AlertRoleView(row.guild_id, row.kind, row.name, row.role_id, row.channel_id)


def _kind(kind: str) -> FollowKind:
    try:
        return FollowKind(kind)
    except ValueError:
        raise errors.InvalidInput("follow.kind", value=excerpt(kind)) from None


def clean_name(kind: str, name: str) -> str:
    """The artist or genre name as it will be stored (checked like a follow); InvalidInput otherwise.
    The cog names the Discord role with it before creating it."""
    fk = _kind(kind)
    return clean_follow_name(name, field=fk.value.title())[0]


async def add_alert_role(
    store: Store, guild_id: int, kind: str, name: str, *, role_id: int, channel_id: int
) -> AlertRoleView:
    """Record a server's alert role for an artist or genre (the cog created the Discord role). One
    per artist or genre per server: AlreadyDone, naming the existing role, otherwise."""
    fk = _kind(kind)
    clean, key = clean_follow_name(name, field=fk.value.title())

    async def work(s: AsyncSession) -> AlertRoleView:
        existing = (
            await s.execute(
                select(AlertRole).where(
                    AlertRole.guild_id == guild_id, AlertRole.kind == fk.value, AlertRole.key == key
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            raise errors.AlreadyDone("alert_role.exists", name=existing.name, role_id=existing.role_id)
        count = len((await s.execute(select(AlertRole.id).where(AlertRole.guild_id == guild_id))).all())
        if count >= MAX_ROLES_PER_SERVER:
            raise errors.InvalidInput("alert_role.too_many", most=MAX_ROLES_PER_SERVER)
        row = AlertRole(
            guild_id=guild_id,
            kind=fk.value,
            key=key,
            name=clean,
            role_id=role_id,
            channel_id=channel_id,
            created_at=store.now(),
        )
        s.add(row)
        return _view(row)

    return await store.transaction(work)


async def remove_alert_role(store: Store, guild_id: int, kind: str, name: str) -> AlertRoleView:
    """Stop offering a server's alert role; returns it (the cog deletes the Discord role)."""
    fk = _kind(kind)
    key = normalize_key(name or "")

    async def work(s: AsyncSession) -> AlertRoleView:
        row = (
            await s.execute(
                select(AlertRole).where(
                    AlertRole.guild_id == guild_id, AlertRole.kind == fk.value, AlertRole.key == key
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise errors.NotFound("alert_role.not_found", name=excerpt(name or ""))
        view = _view(row)
        await s.delete(row)
        await s.execute(delete(AlertRoleMember).where(AlertRoleMember.role_id == view.role_id))
        return view

    return await store.transaction(work)


async def set_member(store: Store, guild_id: int, role_id: int, fan: int, *, holding: bool) -> AlertRoleView:
    """Record that ``fan`` took (``holding``) or gave back an alert role through its button. From
    then on a post pinging the role reaches them instead of a DM (or, given back, the DM does)."""
    now = store.now()

    async def work(s: AsyncSession) -> AlertRoleView:
        row = (
            await s.execute(select(AlertRole).where(AlertRole.guild_id == guild_id, AlertRole.role_id == role_id))
        ).scalar_one_or_none()
        if row is None:
            raise errors.NotFound("alert_role.gone")
        member = await s.get(AlertRoleMember, (role_id, fan))
        if holding:
            if member is None:
                s.add(
                    AlertRoleMember(role_id=role_id, fan_discord_id=fan, guild_id=guild_id, joined_at=now, left_at=None)
                )
            elif member.left_at is not None:
                member.joined_at, member.left_at = now, None
        elif member is not None and member.left_at is None:
            member.left_at = now
        return _view(row)

    return await store.transaction(work)


async def queue_role_posts(
    store: Store, s: AsyncSession, show: Show, artists: list[str], genres: list[str]
) -> tuple[int, list[int]]:
    """Inside the announcing transaction: one post per channel of the show's server that has an
    alert role for one of the show's artists or genres, mentioning those roles. Returns (posts
    queued now, every matching role id: their members get the ping, not a DM). Announced again: no
    second post (the dedupe key), the same roles."""
    wanted = [and_(AlertRole.kind == FollowKind.ARTIST.value, AlertRole.key.in_(artists))] if artists else []
    if genres:
        wanted.append(and_(AlertRole.kind == FollowKind.GENRE.value, AlertRole.key.in_(genres)))
    if not wanted:
        return 0, []
    rows = (
        (
            await s.execute(
                select(AlertRole).where(AlertRole.guild_id == show.guild_id, or_(*wanted)).order_by(AlertRole.id)
            )
        )
        .scalars()
        .all()
    )
    by_channel: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_channel[row.channel_id].append(row.role_id)
    posts = 0
    for channel_id, role_ids in by_channel.items():
        before = await _post_exists(s, show.id, channel_id)
        await enqueue(
            store,
            s,
            kind=ROLE_POST,
            recipient_discord_id=channel_id,
            payload={"show_id": show.id, "channel_id": channel_id, "role_ids": role_ids},
            dedupe_key=_post_key(show.id, channel_id),
        )
        posts += 0 if before else 1
    return posts, sorted({r.role_id for r in rows})


def _post_key(show_id: int, channel_id: int) -> str:
    return f"rolepost:{show_id}:{channel_id}"


async def _post_exists(s: AsyncSession, show_id: int, channel_id: int) -> bool:
    return (
        await s.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == _post_key(show_id, channel_id)))
    ).first() is not None


async def role_post_refused(store: Store, payload: dict[str, Any]) -> bool:
    """Discord refused a role post for good: its roles' members were pinged by nobody, so they get
    their DMs after all. The show's alert fan-out forgets those roles and walks its followers again
    (dedupe keys skip who was told already). Returns True when DMs were set going again."""
    show_id, role_ids = payload.get("show_id"), set(payload.get("role_ids") or ())

    async def work(s: AsyncSession) -> bool:
        job = (
            await s.execute(select(FanOut).where(FanOut.key == f"alert:{show_id}").with_for_update())
        ).scalar_one_or_none()
        if job is None or not role_ids & set(job.exclude_role_ids or ()):
            return False
        job.exclude_role_ids = sorted(set(job.exclude_role_ids or ()) - role_ids) or None
        job.status, job.source_index, job.last_id, job.done_at = "pending", 0, 0, None
        return True

    return await store.transaction(work)


async def roles_of(store: Store, guild_id: int) -> list[AlertRoleView]:
    async with store.session() as s:
        rows = (
            await s.execute(
                select(AlertRole).where(AlertRole.guild_id == guild_id).order_by(AlertRole.kind, AlertRole.key)
            )
        ).scalars()
        return [_view(r) for r in rows]


async def members_holding(store: Store, role_id: int) -> list[int]:
    async with store.session() as s:
        rows = await s.execute(
            select(AlertRoleMember.fan_discord_id)
            .where(AlertRoleMember.role_id == role_id, AlertRoleMember.left_at.is_(None))
            .order_by(AlertRoleMember.fan_discord_id)
        )
        return list(rows.scalars())
