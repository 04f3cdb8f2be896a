"""Buyers in separate OS processes, each with its own connections, race for the same seats."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from domain.clock import SystemClock
from domain.store import Store
from tests import backends
from tests.factories import on_sale_show
from tests.test_booking import assert_sold_exactly_once, seat_ids


async def _run_workers(url: str, show_id: int, seats: list[int], processes: int, per_process: int) -> list[int]:
    start_at = time.time() + 2.0  # every process imports, connects, then fires at the same instant
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.race_worker",
            url,
            str(show_id),
            str(10_000 * (p + 1)),
            str(per_process),
            str(start_at),
            json.dumps(seats),
            cwd=str(Path(__file__).resolve().parents[1]),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for p in range(processes)
    ]
    won: list[int] = []
    for proc in procs:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        won += json.loads(out.decode().strip().splitlines()[-1])
    return won


async def test_buyers_in_four_processes_race_for_ten_seats(store):
    real = Store(store.engine, SystemClock())  # the workers run on the wall clock
    show = await on_sale_show(real, seatmap="A:1x10:Standard")
    seats = await seat_ids(real, show.id)
    won = await _run_workers(backends.database_url(), show.id, seats, processes=4, per_process=15)
    assert len(won) == 10, won
    assert sorted(won) == sorted(seats)
    await assert_sold_exactly_once(real, show.id, 10)


async def test_two_processes_race_for_one_seat(store):
    real = Store(store.engine, SystemClock())
    show = await on_sale_show(real, seatmap="A:1x1:Standard")
    seats = await seat_ids(real, show.id)
    won = await _run_workers(backends.database_url(), show.id, seats, processes=2, per_process=1)
    assert won == seats  # exactly one of the two fans got it
    await assert_sold_exactly_once(real, show.id, 1)
