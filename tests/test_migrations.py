"""The schema the migrations build is the schema the models describe, on this backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from domain.models import Base


async def test_migrated_schema_matches_the_models(store):
    def diff(connection):
        ctx = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(ctx, Base.metadata)

    async with store.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


def test_a_datetime_written_into_the_sql_text_renders_on_both_backends():
    # Alembic's offline --sql renders values into the text (literal_binds). MariaDB's binds are ISO
    # text for the driver; the literal must still come out as the same instant, naive UTC.
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import select
    from sqlalchemy.dialects import mysql, sqlite

    from domain.models import Hold

    seoul = datetime(2026, 11, 27, 9, 30, 0, 250000, tzinfo=timezone(timedelta(hours=9)))
    assert seoul.astimezone(UTC).hour == 0
    for dialect in (mysql.dialect(), sqlite.dialect()):
        sql = str(
            select(Hold.id)
            .where(Hold.expires_at <= seoul)
            .compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        )
        assert "2026-11-27 00:30:00.250000" in sql, sql
