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
