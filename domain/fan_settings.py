"""A fan's own settings: whether alerts reach them, their time zone and quiet hours, and whether
their DMs were found closed (and whether they were told)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import Fan
from domain.specs import parse_timezone
from domain.store import Store, rowcount


@dataclass(frozen=True)
class FanSettings:
    discord_id: int
    alerts_enabled: bool = True
    timezone: str = "UTC"
    quiet_start_hour: int | None = None
    quiet_end_hour: int | None = None
    dms_closed: bool = False
    dms_closed_told: bool = False

    @property
    def dms_blocked(self) -> bool:
        """DMs were found closed and the fan has not been told yet: interest DMs are skipped (each
        would be one more refused request). Once told, DMs are tried again."""
        return self.dms_closed and not self.dms_closed_told

    def quiet_until(self, now: datetime) -> datetime | None:
        """When the fan's quiet hours end, if ``now`` falls inside them; None otherwise."""
        start, end = self.quiet_start_hour, self.quiet_end_hour
        if start is None or end is None or start == end:
            return None
        local = now.astimezone(ZoneInfo(self.timezone))
        hour = local.hour
        inside = start <= hour < end if start < end else (hour >= start or hour < end)
        if not inside:
            return None
        until = local.replace(hour=end, minute=0, second=0, microsecond=0)
        if until <= local:
            until += timedelta(days=1)
        return until.astimezone(now.tzinfo)


# --- fan settings ---------------------------------------------------------------------------------


def _default_fan_row(fan_id: int) -> dict[str, Any]:
    return dict(discord_id=fan_id, alerts_enabled=True, timezone="UTC", dms_closed=False)


async def fan_settings(store: Store, fan_id: int) -> FanSettings:
    return (await fan_settings_many(store, [fan_id]))[fan_id]


async def fan_settings_many(store: Store, fans: list[int]) -> dict[int, FanSettings]:
    async with store.session() as s:
        rows = (await s.execute(select(Fan).where(Fan.discord_id.in_(set(fans))))).scalars().all()
    found = {
        r.discord_id: FanSettings(
            r.discord_id,
            r.alerts_enabled,
            r.timezone,
            r.quiet_start_hour,
            r.quiet_end_hour,
            r.dms_closed,
            r.dms_closed_told,
        )
        for r in rows
    }
    return {f: found.get(f, FanSettings(f)) for f in fans}


async def update_fan_settings(
    store: Store,
    fan_id: int,
    *,
    alerts_enabled: bool | None = None,
    quiet_start_hour: int | None = None,
    quiet_end_hour: int | None = None,
    timezone: str | None = None,
) -> FanSettings:
    """``/alerts``. Quiet hours are whole local hours; equal start and end means no quiet hours.
    Using a command also reopens a fan whose DMs had been found closed: they are back."""
    if timezone is not None:
        parse_timezone(timezone)  # InvalidInput quoting a short excerpt
    for field, hour in (("Quiet hours start", quiet_start_hour), ("Quiet hours end", quiet_end_hour)):
        if hour is not None and not 0 <= hour <= 23:
            raise errors.InvalidInput("input.hour", field=field, value=hour)
    if (quiet_start_hour is None) != (quiet_end_hour is None):
        raise errors.InvalidInput("alerts.quiet_hours_pair")

    async def work(s: AsyncSession) -> None:
        await s.execute(store.insert_ignore(Fan.__table__, **_default_fan_row(fan_id)))
        row = await s.get_one(Fan, fan_id)
        row.dms_closed = row.dms_closed_told = False
        if alerts_enabled is not None:
            row.alerts_enabled = alerts_enabled
        if timezone is not None:
            row.timezone = timezone
        if quiet_start_hour is not None:
            row.quiet_start_hour, row.quiet_end_hour = quiet_start_hour, quiet_end_hour

    await store.transaction(work)
    return await fan_settings(store, fan_id)


async def take_dms_closed_notice(store: Store, fan_id: int) -> bool:
    """True once after a DM to ``fan_id`` was refused because their DMs are closed: the caller tells
    the fan (their next command). From then on DMs are tried again; the first that gets through
    clears the flag, one refused again sets it anew (and the fan is told again).

    A read for every command; the write only when there is something to tell, and conditional, so
    two commands at once tell the fan once."""
    async with store.session() as s:
        row = (await s.execute(select(Fan.dms_closed, Fan.dms_closed_told).where(Fan.discord_id == fan_id))).first()
    if row is None or not row.dms_closed or row.dms_closed_told:
        return False

    async def work(s: AsyncSession) -> bool:
        result = await s.execute(
            update(Fan)
            .where(Fan.discord_id == fan_id, Fan.dms_closed.is_(True), Fan.dms_closed_told.is_(False))
            .values(dms_closed_told=True)
        )
        return rowcount(result) == 1

    return await store.transaction(work)
