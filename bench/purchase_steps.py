"""The CPU each step of a purchase costs, in one process, batch by batch: where the on-sale's time goes.

    python bench/purchase_steps.py [--batch 64] [--rounds 30] [--profile hold|prepare|settle|all]

One show of ``batch x rounds`` seats on MariaDB (database ``bench``, rebuilt: never point it at real
data). Each round, ``--batch`` fans at once (one group commit each, as in a hot on-sale):
1. hold: ``holds.hold_seats(quantity=1)`` (best available), all fans of the round together;
2. purchase: ``orders.purchase`` through the SandboxGateway, all fans together: the order is prepared
   (one batch), charged, then settled (tickets, the ticket DM's outbox row; one batch).
The first rounds warm the statement caches (``--warm``) and are not counted. Printed as JSON: the
CPU this process used per fan for each step (``*_cpu_us``), the database server's (``*_db_cpu_us``,
from /proc), and a raw anchor in the same run: the bare driver's single-seat conditional UPDATE +
COMMIT on one connection (``raw_hold_cpu_us``, ``raw_hold_db_cpu_us``), so the figures read as
multiples of the cheapest possible hold. No Redis: the queue's share is in bench/onsale.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.onsale import DB_SERVER, ensure_database, seatmap, server_cpu_seconds  # noqa: E402
from domain import holds, orders, organizers, shows  # noqa: E402
from domain.clock import SystemClock  # noqa: E402
from domain.payments import SandboxGateway  # noqa: E402
from domain.store import Store, make_engine  # noqa: E402

FAN_BASE = 700_000_000_000_000_000


def cpu() -> float:
    return time.process_time()


async def raw_anchor(url: str, n: int) -> tuple[float, float | None]:
    """CPU of this process and of the database server per conditional single-seat UPDATE + COMMIT."""
    import aiomysql
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await aiomysql.connect(
        host=u.host, port=u.port or 3306, user=u.username, password=u.password or "", db=u.database, autocommit=False
    )
    async with conn.cursor() as cur:
        await cur.execute("DROP TABLE IF EXISTS bench_steps_seat")
        await cur.execute("CREATE TABLE bench_steps_seat (id INT PRIMARY KEY, status VARCHAR(16), holder BIGINT)")
        for start in range(0, n, 1000):
            rows = ",".join(f"({i},'available',NULL)" for i in range(start, min(n, start + 1000)))
            await cur.execute(f"INSERT INTO bench_steps_seat VALUES {rows}")
        await conn.commit()
        d0 = server_cpu_seconds(DB_SERVER)
        c0 = cpu()
        for i in range(n):
            await cur.execute(
                "UPDATE bench_steps_seat SET status='held', holder=%s WHERE id=%s AND status='available'", (i, i)
            )
            await conn.commit()
        c1, d1 = cpu(), server_cpu_seconds(DB_SERVER)
        await cur.execute("DROP TABLE bench_steps_seat")
    conn.close()
    return (c1 - c0) / n, (d1 - d0) / n if d0 is not None and d1 is not None else None


async def main(args) -> dict:
    await ensure_database(args.database_url)
    engine = make_engine(args.database_url)
    from migrations import rebuild

    await rebuild(engine)
    await engine.dispose()
    store = Store.from_url(args.database_url, SystemClock(), pool_size=8, max_overflow=0)
    gateway = SandboxGateway()
    seats = args.batch * (args.rounds + args.warm)
    org = await organizers.register_organizer(store, 1, 2, "bench organizer")
    now = store.now()
    show = await shows.create_show(
        store,
        organizer_id=org.id,
        venue_name="Steps Arena",
        title="Steps",
        seatmap_spec=seatmap(seats),
        artists=["Bench Act"],
        genres=[],
        starts_at=now + timedelta(days=30),
        on_sale_at=now - timedelta(minutes=1),
        tiers={"Standard": 5000},
        per_fan_limit=4,
    )
    spent = {"hold": [0.0, 0.0], "purchase": [0.0, 0.0]}
    profiler = None
    fan = FAN_BASE
    for r in range(args.warm + args.rounds):
        counted = r >= args.warm
        fans = list(range(fan, fan + args.batch))
        fan += args.batch
        for step in ("hold", "purchase"):
            if counted and args.profile in (step, "all") and profiler is None:
                import cProfile

                profiler = cProfile.Profile(time.process_time)
            if profiler is not None and args.profile in (step, "all") and counted:
                profiler.enable()
            d0 = server_cpu_seconds(DB_SERVER)  # (reading /proc costs this process CPU: not counted)
            c0 = cpu()
            if step == "hold":
                got = await asyncio.gather(
                    *(holds.hold_seats(store, show_id=show.id, fan_id=f, quantity=1) for f in fans)
                )
            else:
                await asyncio.gather(*(orders.purchase(store, gateway, hold_id=h.id, fan_id=h.fan_id) for h in got))
            c1, d1 = cpu(), server_cpu_seconds(DB_SERVER)
            if profiler is not None:
                profiler.disable()
            if counted:
                spent[step][0] += c1 - c0
                spent[step][1] += (d1 - d0) if d0 is not None and d1 is not None else 0.0
    n = args.batch * args.rounds
    raw_cpu, raw_db = await raw_anchor(args.database_url, args.raw)
    await store.dispose()
    out = {
        "bench": "purchase_steps",
        "batch": args.batch,
        "rounds": args.rounds,
        "hold_cpu_us": round(spent["hold"][0] * 1e6 / n, 1),
        "hold_db_cpu_us": round(spent["hold"][1] * 1e6 / n, 1),
        "purchase_cpu_us": round(spent["purchase"][0] * 1e6 / n, 1),
        "purchase_db_cpu_us": round(spent["purchase"][1] * 1e6 / n, 1),
        "raw_hold_cpu_us": round(raw_cpu * 1e6, 1),
        "raw_hold_db_cpu_us": round(raw_db * 1e6, 1) if raw_db is not None else None,
    }
    if profiler is not None:
        import pstats

        profiler.dump_stats(args.profile_out)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64, help="fans at once (one group commit)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warm", type=int, default=3, help="rounds not counted (statement caches, pools)")
    parser.add_argument("--raw", type=int, default=2000, help="single-seat UPDATEs in the raw anchor")
    parser.add_argument("--profile", choices=("hold", "purchase", "all"), default=None)
    parser.add_argument("--profile-out", default="purchase_steps.pstats")
    parser.add_argument("--database-url", default="mysql+aiomysql://root@127.0.0.1:3306/bench")
    out = asyncio.run(main(parser.parse_args()))
    print(json.dumps(out), flush=True)
