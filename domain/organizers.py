"""Organizers: who may create and run shows in a server, and the server's settings for them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import GuildSettings, Organizer, Show
from domain.specs import parse_timezone
from domain.store import Store


@dataclass(frozen=True)
class OrganizerView:
    id: int
    guild_id: int
    discord_id: int
    display_name: str


async def register_organizer(
    store: Store, guild_id: int, discord_id: int, display_name: str, *, granted: bool = False
) -> OrganizerView:
    """Make a Discord member an organizer in a guild. Registering twice returns the same organizer.
    ``granted``: a server admin gave the rights explicitly (they last until revoked), which also
    lifts an earlier revocation."""

    async def work(s: AsyncSession) -> OrganizerView:
        await s.execute(
            store.insert_ignore(
                Organizer.__table__,
                guild_id=guild_id,
                discord_id=discord_id,
                display_name=display_name[:100],
                created_at=store.now(),
                granted=granted,
            )
        )
        row = (
            await s.execute(select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id))
        ).scalar_one()
        if granted:
            row.granted, row.revoked_at = True, None
        elif row.revoked_at is not None:
            raise errors.NotPermitted(REVOKED)
        return _organizer_view(row)

    return await store.transaction(work)


REVOKED = "organizer.revoked"


async def authorize_organizer(
    store: Store, guild_id: int | None, discord_id: int, *, caller_is_admin: bool, caller_role_ids: list[int]
) -> OrganizerView:
    """The caller's organizer record, if they may act as an organizer here right now; asked at every
    organizer command with the caller's current Discord rights, since roles change after
    registration. Rights come from being a server admin now, from an admin's explicit grant (until
    revoked), or from holding the server's organizer role now: an organizer who registered through
    the role loses the rights with the role. A revoked organizer has none, whatever their roles."""
    async with store.session() as s:
        row = (
            await s.execute(select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id))
        ).scalar_one_or_none()
        settings = await s.get(GuildSettings, guild_id) if guild_id is not None else None
    if row is None:
        raise errors.OrganizerNotFound(user_id=discord_id)
    if row.revoked_at is not None:
        raise errors.NotPermitted(REVOKED)
    role = settings.organizer_role_id if settings else None
    if not (caller_is_admin or row.granted or (role is not None and role in caller_role_ids)):
        if role:
            raise errors.NotPermitted("organizer.lost_role", role_id=role)
        raise errors.NotPermitted("organizer.lost_rights")
    return _organizer_view(row)


async def revoke_organizer(store: Store, guild_id: int, discord_id: int, *, caller_is_admin: bool) -> OrganizerView:
    """``/organizer revoke``: a server admin takes a member's organizer rights away. Their shows stay
    on sale for the fans who hold tickets; they can no longer manage, announce or sell any."""
    if not caller_is_admin:
        raise errors.NotPermitted("admin.revoke")

    async def work(s: AsyncSession) -> OrganizerView:
        row = (
            await s.execute(select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id))
        ).scalar_one_or_none()
        if row is None:
            raise errors.OrganizerNotFound(user_id=discord_id)
        if row.revoked_at is None:
            row.granted, row.revoked_at = False, store.now()
        return _organizer_view(row)

    return await store.transaction(work)


async def get_organizer(store: Store, guild_id: int, discord_id: int) -> OrganizerView:
    async with store.session() as s:
        row = (
            await s.execute(select(Organizer).where(Organizer.guild_id == guild_id, Organizer.discord_id == discord_id))
        ).scalar_one_or_none()
    if row is None:
        raise errors.OrganizerNotFound(user_id=discord_id)
    return _organizer_view(row)


def _organizer_view(row: Organizer) -> OrganizerView:
    return OrganizerView(row.id, row.guild_id, row.discord_id, row.display_name)


async def organizer_role(store: Store, guild_id: int) -> int | None:
    async with store.session() as s:
        row = await s.get(GuildSettings, guild_id)
        return row.organizer_role_id if row else None


async def set_organizer_role(store: Store, guild_id: int, role_id: int | None, *, caller_is_admin: bool) -> None:
    """Server admins choose the role whose members may register themselves as organizers."""
    if not caller_is_admin:
        raise errors.NotPermitted("admin.role")

    async def work(s: AsyncSession) -> None:
        await s.execute(store.insert_ignore(GuildSettings.__table__, guild_id=guild_id, organizer_role_id=None))
        row = await s.get_one(GuildSettings, guild_id)
        row.organizer_role_id = role_id

    await store.transaction(work)


async def server_timezone(store: Store, guild_id: int) -> str | None:
    """The zone a server's admins chose for its new shows, or None if they chose none."""
    async with store.session() as s:
        row = await s.get(GuildSettings, guild_id)
        return row.default_timezone if row else None


async def set_server_timezone(store: Store, guild_id: int, zone: str, *, caller_is_admin: bool) -> str:
    """Server admins choose the zone new shows use when their organizer names none. Returns its IANA name."""
    if not caller_is_admin:
        raise errors.NotPermitted("admin.timezone")
    name = parse_timezone(zone).key

    async def work(s: AsyncSession) -> None:
        await s.execute(store.insert_ignore(GuildSettings.__table__, guild_id=guild_id, organizer_role_id=None))
        row = await s.get_one(GuildSettings, guild_id)
        row.default_timezone = name

    await store.transaction(work)
    return name


async def claim_organizer(
    store: Store,
    guild_id: int,
    discord_id: int,
    display_name: str,
    *,
    caller_is_admin: bool,
    caller_role_ids: list[int],
) -> OrganizerView:
    """``/organizer register``: allowed for server admins and members holding the organizer role."""
    role = await organizer_role(store, guild_id)
    if not caller_is_admin and (role is None or role not in caller_role_ids):
        if role:
            raise errors.NotPermitted("organizer.register_needs_role", role_id=role)
        raise errors.NotPermitted("organizer.register_needs_grant")
    return await register_organizer(store, guild_id, discord_id, display_name)


async def grant_organizer(
    store: Store, guild_id: int, discord_id: int, display_name: str, *, caller_is_admin: bool
) -> OrganizerView:
    if not caller_is_admin:
        raise errors.NotPermitted("admin.grant")
    return await register_organizer(store, guild_id, discord_id, display_name, granted=True)


# What an organizer-only action is called in its refusal code (``show.not_owner.<action>``). The
# phrases on the left are the older spelling some callers may still pass.
ACTIONS = ("edit", "cancel", "announce", "sales", "add_seats", "door_staff", "policy", "policy_view")


_ACTIONS = {
    "edit it": "edit",
    "cancel it": "cancel",
    "announce it": "announce",
    "see its sales": "sales",
    "add seats to it": "add_seats",
    "name its door staff": "door_staff",
    "change its cancellation policy": "policy",
    "see its cancellation policy": "policy_view",
}


async def check_organizer(s: AsyncSession, show: Show, discord_id: int, doing: str) -> None:
    """Only the organizer who owns a show may manage it. ``doing`` is one of :data:`ACTIONS`."""
    owner = await s.get(Organizer, show.organizer_id)
    if owner is None or owner.discord_id != discord_id:
        action = _ACTIONS.get(doing, doing)
        raise errors.NotPermitted(
            f"show.not_owner.{action}" if action in ACTIONS else "show.not_owner", title=show.title
        )
