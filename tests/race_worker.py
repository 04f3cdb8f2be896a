"""A separate OS process of buyers, for the cross-process race test.

    python -m tests.race_worker DATABASE_URL SHOW_ID FIRST_FAN COUNT START_AT SEAT_IDS

Waits until the wall clock reaches START_AT so every process fires at once, then runs COUNT buyers
concurrently, each on its own connection, and prints the seat ids it won as JSON.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

from domain.payments import SandboxGateway
from domain.store import Store


async def main(url: str, show_id: int, first_fan: int, count: int, start_at: float, seat_ids: list[int]) -> None:
    from tests.test_booking import _buyer

    store = Store.from_url(url, pool_size=count + 5)
    gateway = SandboxGateway()
    rng = random.Random(first_fan)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    won = await asyncio.gather(*(_buyer(store, gateway, show_id, first_fan + i, seat_ids, rng) for i in range(count)))
    await store.dispose()
    print(json.dumps([w for w in won if w is not None]))


if __name__ == "__main__":
    url, show_id, first_fan, count, start_at, seats = sys.argv[1:7]
    asyncio.run(main(url, int(show_id), int(first_fan), int(count), float(start_at), json.loads(seats)))
