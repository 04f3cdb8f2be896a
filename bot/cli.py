"""The ``picket`` command: ``picket db upgrade``, ``picket run``, ``picket demo``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.settings import Settings


def _db_upgrade(settings: Settings) -> int:
    from domain.store import make_engine
    from migrations import upgrade

    async def go() -> None:
        engine = make_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())
    print(f"database upgraded: {settings.resolved_database_url.split('@')[-1]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="picket", description="Ticket booking and alerts in Discord.")
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply every migration (creates the schema on a new database)")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "db" and args.db_command == "upgrade":
        return _db_upgrade(settings)
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
