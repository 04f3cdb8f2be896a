"""The cancellation waitlist: fans waiting, in order, for seats that come back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import PriceTier, ShowStatus, WaitlistEntry, WaitlistStatus
from domain.shows import load_show
from domain.store import Store


@dataclass(frozen=True)
class WaitlistView:
    entry_id: int
    show_id: int
    fan_discord_id: int
    tier: str | None
    quantity: int
    position: int


def _active_key(show_id: int, fan: int) -> str:
    return f"{show_id}:{fan}"


async def _position(s: AsyncSession, entry: WaitlistEntry) -> int:
    ahead = (
        await s.execute(
            select(func.count()).where(
                WaitlistEntry.show_id == entry.show_id,
                WaitlistEntry.status == WaitlistStatus.WAITING.value,
                WaitlistEntry.id < entry.id,
            )
        )
    ).scalar_one()
    return ahead + 1


async def join_waitlist(store: Store, *, show_id: int, fan_discord_id: int, quantity: int, tier: str | None = None) -> WaitlistView:
    """Join a show's waitlist (once per fan; joining again returns the current place)."""

    async def work(s: AsyncSession) -> WaitlistView:
        show = await load_show(s, show_id)
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled(f"“{show.title}” was cancelled.")
        if not isinstance(quantity, int) or quantity <= 0:
            raise errors.InvalidInput(f"Quantity: {quantity} is not a positive whole number.")
        if quantity > show.per_fan_limit:
            raise errors.FanLimitExceeded(f"“{show.title}” allows {show.per_fan_limit} tickets per fan.")
        tier_id = None
        if tier is not None:
            tier_id = (
                await s.execute(select(PriceTier.id).where(PriceTier.show_id == show.id, PriceTier.name == tier))
            ).scalar_one_or_none()
            if tier_id is None:
                raise errors.InvalidInput(f"Tier: “{show.title}” has no tier `{tier}`.")
        await s.execute(
            store.insert_ignore(
                WaitlistEntry.__table__,
                active_key=_active_key(show.id, fan_discord_id),
                show_id=show.id,
                tier_id=tier_id,
                fan_discord_id=fan_discord_id,
                quantity=quantity,
                status=WaitlistStatus.WAITING.value,
                created_at=store.now(),
            )
        )
        entry = (
            await s.execute(select(WaitlistEntry).where(WaitlistEntry.active_key == _active_key(show.id, fan_discord_id)))
        ).scalar_one()
        return WaitlistView(entry.id, show.id, fan_discord_id, tier if entry.tier_id else None, entry.quantity, await _position(s, entry))

    return await store.transaction(work)


async def leave_waitlist(store: Store, *, show_id: int, fan_discord_id: int) -> bool:
    async def work(s: AsyncSession) -> bool:
        res = await s.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.active_key == _active_key(show_id, fan_discord_id))
            .values(status=WaitlistStatus.LEFT.value, active_key=None)
        )
        return res.rowcount > 0

    return await store.transaction(work)


async def waitlist_position(store: Store, *, show_id: int, fan_discord_id: int) -> WaitlistView | None:
    async with store.session() as s:
        entry = (
            await s.execute(select(WaitlistEntry).where(WaitlistEntry.active_key == _active_key(show_id, fan_discord_id)))
        ).scalar_one_or_none()
        if entry is None:
            return None
        tier = (await s.get(PriceTier, entry.tier_id)).name if entry.tier_id else None
        return WaitlistView(entry.id, entry.show_id, fan_discord_id, tier, entry.quantity, await _position(s, entry))
