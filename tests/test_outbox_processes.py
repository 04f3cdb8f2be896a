"""Two sender processes drain one outbox: every message is delivered, none twice."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from domain import outbox
from domain.clock import SystemClock
from domain.models import OutboxMessage
from domain.store import Store
from tests import backends

REPO = Path(__file__).resolve().parents[1]


async def test_two_processes_drain_a_thousand_messages_exactly_once(store, tmp_path):
    store = Store(store.engine, SystemClock())  # the workers run on the wall clock
    async with store.session() as s:
        for n in range(1000):
            await outbox.enqueue(
                store, s, kind="test_note", recipient_discord_id=10_000 + n, payload={"n": n}, dedupe_key=f"note:{n}"
            )
    start_at = time.time() + 2.0
    records = [tmp_path / f"sent-{i}.txt" for i in range(2)]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.outbox_worker",
            backends.database_url(),
            str(rec),
            str(start_at),
            cwd=str(REPO),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for rec in records
    ]
    counts = []
    for proc in procs:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-3000:]
        counts.append(int(out.decode().split()[-1]))
    delivered = [line for rec in records for line in rec.read_text().split()]
    assert len(delivered) == 1000, f"{len(delivered)} deliveries for 1000 messages"
    assert len(set(delivered)) == 1000, "a message was delivered twice"
    # Which process sent what is a schedule, not an outcome: on a busy box one worker may start late
    # and find the outbox empty. The outcome is every message once, whoever sent it.
    assert sum(counts) == 1000, counts
    async with store.session() as s:
        states = dict(
            (await s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
        )
    assert states == {"sent": 1000}
