"""The on-sale queue on a real 3-node Redis Cluster (started on loopback for this session).

Every test of tests/test_queue.py, and the queue tests of test_recovery.py and test_fairness.py (a lost
Redis rebuilt, ended shows purged), runs again here against ``redis+cluster://``: a script that touched
a key outside its show's slot would fail on the cluster ("keys that do not hash to the same slot").
Then what only a cluster has: shows spread over the nodes, and one node restarting empty.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import queue, queue_keys
from domain.redis_client import make_redis
from tests import redis_cluster, test_fairness, test_queue, test_recovery
from tests.factories import on_sale_show

# The same tests, collected again in this module, where ``redis`` is the cluster.
for _name, _test in vars(test_queue).items():
    if _name.startswith("test_"):
        globals()[_name] = _test
for _module, _names in (
    (
        test_recovery,
        (
            "test_a_lost_redis_gets_its_lines_back_in_the_old_order",
            "test_restoring_twice_or_from_two_processes_restores_once",
            "test_admission_goes_on_after_redis_is_lost_without_anyone_joining",
        ),
    ),
    (test_fairness, ("test_the_queue_state_of_ended_shows_and_old_sent_dms_are_deleted",)),
):
    for _name in _names:
        globals()[_name] = getattr(_module, _name)


@pytest.fixture(scope="session")
def cluster():
    why = redis_cluster.missing()
    if why:
        pytest.skip(why)
    started = redis_cluster.start()
    yield started
    started.stop()


@pytest.fixture
async def redis(cluster):
    client = make_redis(cluster.url)
    await client.flushdb()  # every primary
    yield client
    await client.flushdb()
    await client.aclose()


def _node(redis, show_id: int):
    return redis.get_node_from_key(queue_keys.show_keys(show_id)["line"])


async def test_a_shows_keys_share_one_slot_and_shows_spread_over_the_nodes(store, redis, clock):
    made = [await on_sale_show(store, opens_in=timedelta(minutes=1), admission_per_minute=600) for _ in range(12)]
    for show in made:
        for fan in range(1, 6):
            await queue.join(store, redis, show.id, fan)
    nodes = set()
    for show in made:
        keys = [k async for k in redis.scan_iter(match=f"pq:{{{show.id}}}:*")]
        assert {redis.keyslot(k) for k in keys} == {redis.keyslot(queue_keys.show_keys(show.id)["line"])}, keys
        nodes.add(_node(redis, show.id).name)
    assert len(nodes) > 1, "twelve shows all on one node"
    clock.advance(minutes=2)
    assert await queue.admit_all(store, redis) == 12 * 5  # the admission tick reaches every node
    for show in made:
        assert sorted(await queue.admission_order(redis, show.id)) == [1, 2, 3, 4, 5]


async def test_one_node_restarting_empty_loses_only_its_lines_and_they_come_back(store, redis, clock):
    made = [await on_sale_show(store, opens_in=timedelta(minutes=10), admission_per_minute=60) for _ in range(12)]
    lost = made[0]
    kept = next(s for s in made if _node(redis, s.id).name != _node(redis, lost.id).name)
    for show in (lost, kept):
        for fan in range(1, 31):
            await queue.join(store, redis, show.id, fan)  # random places, drawn before the open
    before = {s.id: await redis.zrange(queue_keys.show_keys(s.id)["line"], 0, -1) for s in (lost, kept)}

    await redis.flushall(target_nodes=_node(redis, lost.id))  # that node restarts without its data
    assert await queue.line_length(redis, lost.id) == 0 and await queue.line_length(redis, kept.id) == 30

    assert (await queue.join(store, redis, lost.id, 99)).state == "lobby"  # its first join rebuilds the line first
    assert await redis.zrange(queue_keys.show_keys(lost.id)["line"], 0, -1) != []
    after_lost = await redis.zrange(queue_keys.show_keys(lost.id)["line"], 0, -1)
    assert [f for f in after_lost if f != "99"] == before[lost.id]  # the old order
    assert (
        await redis.zrange(queue_keys.show_keys(kept.id)["line"], 0, -1) == before[kept.id]
    )  # the other node untouched
    assert (await queue.join(store, redis, kept.id, 1)).state == "lobby"  # a fan already in line keeps the place
    assert await redis.zrange(queue_keys.show_keys(kept.id)["line"], 0, -1) == before[kept.id]

    clock.advance(minutes=11)
    await redis.flushall(target_nodes=_node(redis, kept.id))  # and now the other one, with nobody joining
    assert await queue.admit_all(store, redis) > 0  # the admission tick rebuilds it, then lets fans in
    assert await queue.line_length(redis, kept.id) + len(await queue.admission_order(redis, kept.id)) == 30
