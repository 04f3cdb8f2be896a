"""Discord's global limit is per bot, not per process: two processes of the bot (the two shards of
deploy/docker-compose.yml) share one DM budget through Redis, so together they stay within it.

What is checked is what Discord would count: the recording stand-in's own arrival times of every
request (DM channels opened, messages created), in any one-second window. The bound is an upper bound,
so a slow box (fewer requests per second) cannot make it fail.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from domain import outbox
from domain.clock import SystemClock
from domain.models import OutboxMessage
from domain.store import Store
from tests import backends
from tests.discord_standin import DiscordStandIn
from tests.simcord_ext import most_in_any_window

REPO = Path(__file__).resolve().parents[1]
RATE = 15.0  # DM_GLOBAL_RATE: the bot's budget, shared by both processes
LIMIT = 25  # what Discord may see in any second; two unshared budgets of 15/s would be 30 and more
MESSAGES = 40  # to fans with no DM channel open yet: two requests each


def shared_redis():
    """The suite's Redis, or (embedded default) a fakeredis server on loopback both processes reach."""
    if backends.REDIS_URL:
        return backends.REDIS_URL, None
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", 0))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"redis://127.0.0.1:{server.server_address[1]}/0", server


def first_traceback(err: str) -> str:
    """A worker's own error, not the unclosed-session warnings its exit prints after it."""
    start = err.find("Traceback")
    return err[start : start + 4000] if start >= 0 else err[-3000:]


async def test_two_processes_together_stay_within_the_bots_global_limit(store):
    store = Store(store.engine, SystemClock())  # the workers run on the wall clock
    later = store.now() + timedelta(days=1)  # held back until both processes are up
    async with store.session() as s:
        for n in range(MESSAGES):
            await outbox.enqueue(
                store, s, kind="test_note", recipient_discord_id=20_000 + n, payload={"n": n}, dedupe_key=f"pace:{n}"
            )
        await s.execute(update(OutboxMessage).values(next_attempt_at=later))
    await backends.flush_redis()
    redis_url, fake_server = shared_redis()
    standin = DiscordStandIn()
    port = await standin.start()
    procs = []
    try:
        for name in ("shard-0", "shard-1"):
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.pacing_worker",
                    "--db",
                    backends.database_url(),
                    "--redis",
                    redis_url,
                    "--port",
                    str(port),
                    "--rate",
                    str(RATE),
                    "--name",
                    name,
                    cwd=str(REPO),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            )
        for proc in procs:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
            assert line.strip() == b"READY", (line, first_traceback((await proc.stderr.read()).decode()))
        async with store.session() as s:  # both are polling: the messages are due now
            await s.execute(update(OutboxMessage).values(next_attempt_at=store.now()))
        counts = []
        for proc in procs:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
            assert proc.returncode == 0, first_traceback(err.decode())
            counts.append(int(out.decode().split()[-1]))
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await standin.stop()
        if fake_server is not None:
            fake_server.shutdown()
            fake_server.server_close()
        await backends.flush_redis()

    delivered = standin.recorder.created_by_nonce()
    assert len(delivered) == MESSAGES and all(len(m) == 1 for m in delivered.values())
    assert sum(counts) == MESSAGES, counts  # who sent which is a schedule; a busy box may start one late
    arrivals = standin.recorder.arrivals
    assert len(arrivals) == 2 * MESSAGES  # each fan: open the DM channel, create the message
    busiest = most_in_any_window(arrivals)
    assert busiest <= LIMIT, f"{busiest} requests reached Discord in one second (limit {LIMIT}, budget {RATE}/s)"
