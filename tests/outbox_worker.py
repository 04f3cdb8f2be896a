"""A separate OS process draining the outbox, for the two-sender test.

    python -m tests.outbox_worker DATABASE_URL RECORD_FILE START_AT

Its transport records each delivery (the outbox id carried in the nonce) in RECORD_FILE, standing in
for Discord's message endpoint; the parent checks every message arrived exactly once across processes.
"""

from __future__ import annotations

import asyncio
import sys
import time

from domain.store import Store
from notifier.pacing import Pacer
from notifier.render import renderer
from notifier.sender import OutboxSender
from notifier.transport import OutgoingMessage


@renderer("test_note")
async def _note(store, payload):
    return OutgoingMessage(content=f"note {payload['n']}")


class RecordingTransport:
    def __init__(self, path: str):
        self.file = open(path, "a", buffering=1)
        self.count = 0

    async def send_dm(self, recipient_id: int, message: OutgoingMessage, *, nonce: str) -> int:
        await asyncio.sleep(0.002)  # a real send waits on Discord: both workers' claims overlap
        self.count += 1
        self.file.write(f"{nonce}\n")
        return self.count


async def main(url: str, record: str, start_at: float) -> None:
    store = Store.from_url(url, pool_size=8)
    transport = RecordingTransport(record)
    sender = OutboxSender(store, transport, pacer=Pacer(enabled=False), batch_size=50, concurrency=8)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    await sender.drain()
    await store.dispose()
    print(transport.count)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
