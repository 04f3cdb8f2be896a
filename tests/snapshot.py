"""Row counts of every table: 'nothing was written' is a snapshot that did not change."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.models import Base


async def table_counts(store) -> dict[str, int]:
    async with store.session() as s:
        return {t.name: (await s.execute(select(func.count()).select_from(t))).scalar_one() for t in Base.metadata.sorted_tables}
