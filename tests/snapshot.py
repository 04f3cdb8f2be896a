"""Row counts of every table: 'nothing was written' is a snapshot that did not change.

One row is not the input's doing: every interaction keeps the user's client locale on their fan row
(domain/locales.py), so a user's first interaction, refused or not, may leave a row that holds only
that (every other column at its default, which reads the same as no row). Those are not counted."""

from __future__ import annotations

from sqlalchemy import and_, func, not_, select

from domain.models import Base, Fan

_LOCALE_ONLY = and_(
    Fan.alerts_enabled.is_(True),
    Fan.timezone == "UTC",
    Fan.quiet_start_hour.is_(None),
    Fan.quiet_end_hour.is_(None),
    Fan.dms_closed.is_(False),
    Fan.dms_closed_told.is_(False),
)


async def table_counts(store) -> dict[str, int]:
    async with store.session() as s:
        counts = {
            t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one()
            for t in Base.metadata.sorted_tables
        }
        counts[Fan.__tablename__] = (
            await s.execute(select(func.count()).select_from(Fan).where(not_(_LOCALE_ONLY)))
        ).scalar_one()
    return counts
