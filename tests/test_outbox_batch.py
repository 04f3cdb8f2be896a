"""outbox.enqueue_many: a batch of messages in one statement, with enqueue's dedupe and wake-up."""

from __future__ import annotations

from sqlalchemy import select

from domain import outbox
from domain.models import OutboxMessage, OutboxStatus


async def test_a_batch_skips_keys_already_queued_keeps_its_order_and_wakes_the_sender(store):
    woken: list[int] = []
    outbox.on_queued(store, lambda: woken.append(1))

    async def first(s) -> None:
        await outbox.enqueue(
            store, s, kind="queue_turn", recipient_discord_id=2, payload={"show_id": 9, "v": 1}, dedupe_key="k2"
        )

    await store.transaction(first)
    assert len(woken) == 1

    async def batch(s) -> None:
        await outbox.enqueue_many(
            store,
            s,
            kind="queue_turn",
            messages=[(3, {"show_id": 9}, "k3"), (2, {"show_id": 9, "v": 2}, "k2"), (1, {"show_id": 9}, "k1")],
        )

    await store.transaction(batch)
    assert len(woken) == 2  # woken after the batch's commit too
    await store.transaction(batch)  # again (a retried transaction, another process): nothing new
    async with store.session() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [(r.dedupe_key, r.recipient_discord_id, r.payload) for r in rows] == [
        ("k2", 2, {"show_id": 9, "v": 1}),  # the first message of that key stands
        ("k3", 3, {"show_id": 9}),
        ("k1", 1, {"show_id": 9}),
    ]
    assert {(r.kind, r.status, r.attempts, r.priority) for r in rows} == {
        ("queue_turn", OutboxStatus.PENDING.value, 0, outbox.TRANSACTIONAL)
    }
    assert {r.next_attempt_at for r in rows[1:]} == {store.now()}


async def test_an_empty_batch_writes_nothing_and_wakes_nobody(store):
    woken: list[int] = []
    outbox.on_queued(store, lambda: woken.append(1))

    async def batch(s) -> None:
        await outbox.enqueue_many(store, s, kind="queue_turn", messages=[])

    await store.transaction(batch)
    assert woken == []
