"""The ``picket`` command: ``picket db upgrade``, ``picket sync``, ``picket run``, ``picket demo``, ``picket try``."""

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


def _sync(settings: Settings) -> int:
    """Send the command tree to Discord once (bot processes never do)."""
    if not settings.discord_token:
        print(
            "picket sync: DISCORD_TOKEN is not set. Put your bot token in the environment or in .env "
            "(DISCORD_TOKEN=...); `picket demo` needs no sync.",
            file=sys.stderr,
        )
        return 2
    from bot.app import publish_commands

    synced = asyncio.run(publish_commands(settings))
    print(f"synced {len(synced)} commands: {', '.join(sorted('/' + c.name for c in synced))}")
    return 0


def _run(settings: Settings) -> int:
    """Run the bot against real Discord until SIGTERM / SIGINT, then shut down cleanly."""
    if not settings.discord_token:
        print(
            "picket run: DISCORD_TOKEN is not set. Put your bot token in the environment or in .env "
            "(DISCORD_TOKEN=...). To try Picket without Discord, run `picket demo`.",
            file=sys.stderr,
        )
        return 2
    import signal

    from bot.app import create_bot
    from bot.logs import configure_logging

    configure_logging()
    bot = create_bot(settings, settle_heap=True)  # this process is the bot: its start-up heap is kept
    token = settings.discord_token  # checked above

    async def go() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
        async with bot:
            await bot.start(token)

    asyncio.run(go())
    return 0


def _demo(args) -> int:
    from pathlib import Path

    from bot.demo import run_demo

    if args.fans < 1 or args.seats < 1 or args.seats > 7000:
        print("picket demo: --fans must be >= 1 and --seats between 1 and 7000", file=sys.stderr)
        return 2
    return run_demo(args.fans, args.seats, Path(args.out) if args.out else None, args.locale)


def _try(args) -> int:
    from bot.tryout import run_try

    if not 0 <= args.port <= 65535:
        print("picket try: --port must be between 0 (any free port) and 65535", file=sys.stderr)
        return 2
    return run_try(args.locale, args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="picket", description="Ticket booking and alerts in Discord.")
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply every migration (creates the schema on a new database)")
    keys = sub.add_parser("keys", help="ticket signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("rotate", help="start signing with a new key; the key it replaces retires after a grace period")
    sub.add_parser(
        "sync", help="send the slash commands to Discord (needs DISCORD_TOKEN): once per release, not from each shard"
    )
    sub.add_parser("run", help="run the bot on Discord (needs DISCORD_TOKEN); run `picket sync` first")
    demo = sub.add_parser("demo", help="play a show's life inside a simulated Discord (no token, no servers)")
    demo.add_argument("--fans", type=int, default=200)
    demo.add_argument("--seats", type=int, default=100)
    demo.add_argument(
        "--out",
        help="write the ticket images fans received by DM, the seat map and the organizer's sales chart to this folder",
    )
    demo.add_argument(
        "--locale",
        choices=("en", "ko"),
        default="en",
        help="the language of the server and its users (ko: a Korean server, show and fans, priced in won)",
    )
    trying = sub.add_parser(
        "try",
        help="try Picket in your browser: a simulated Discord server where you act as the organizer, a fan or door staff",
    )
    trying.add_argument(
        "--locale",
        choices=("en", "ko"),
        default="en",
        help="the language of the server and its people (ko: a Korean server, show and fans, priced in won)",
    )
    trying.add_argument("--port", type=int, default=0, help="the page's port on 127.0.0.1 (default: any free port)")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "db" and args.db_command == "upgrade":
        return _db_upgrade(settings)
    if args.command == "keys" and args.keys_command == "rotate":
        from notifier.ticket_codes import Keyring

        ring = Keyring(settings.resolved_signing_key_path)
        kid = ring.rotate()
        grace = int(ring.grace.total_seconds() // 60)
        print(
            f"signing with {kid}; {len(ring.public)} public key(s) in {settings.resolved_signing_key_path}; "
            f"the key it replaces verifies codes for {grace} more minutes, then retires"
        )
        return 0
    if args.command == "sync":
        return _sync(settings)
    if args.command == "run":
        return _run(settings)
    if args.command == "demo":
        return _demo(args)
    if args.command == "try":
        return _try(args)
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
