"""The command tree goes to Discord from one place: ``picket sync``, once per release. A bot process
(any shard, at any start or restart) never sends it: with several shards, each would replace the
same commands at every restart."""

from __future__ import annotations

import gc

import aiohttp
import pytest

from bot.app import create_bot, publish_commands
from tests.conftest import e2e_settings
from tests.discord_standin import DiscordStandIn
from tests.fault_worker import ToStandIn


def command_syncs(env) -> list:
    return [r for r in env.http_requests if r.method == "PUT" and r.path.endswith("/commands")]


@pytest.fixture
def simcord_bot(e2e_store, gateway, keyring):
    # as `picket run` makes it, its start-up heap frozen (bot/heap.py), given back to the collector after
    yield create_bot(e2e_settings(), store=e2e_store, gateway=gateway, keyring=keyring, settle_heap=True)
    gc.unfreeze()


async def test_a_bot_process_never_sends_the_command_tree(simcord_env):
    assert simcord_env.bot.tree.get_commands()  # it has its commands (to answer them)...
    await simcord_env.restart_bot()
    assert command_syncs(simcord_env) == []  # ...and never replaces Discord's copy, at start or restart


@pytest.mark.integration
async def test_picket_sync_sends_the_whole_tree_once_in_every_language(tmp_path):
    standin = DiscordStandIn()
    port = await standin.start()
    try:
        settings = e2e_settings(discord_token="stand-in-token", var_dir=tmp_path)
        connector = aiohttp.TCPConnector(resolver=ToStandIn(port), ssl=False)
        synced = await publish_commands(settings, connector=connector)

        connector = aiohttp.TCPConnector(resolver=ToStandIn(port), ssl=False)
        shard = create_bot(settings, connector=connector)  # a shard logging in, as `picket run` does
        async with shard:
            await shard.login("stand-in-token")
    finally:
        await standin.stop()
    assert len(standin.recorder.command_syncs) == 1  # picket sync's, and no shard's
    (sent,) = standin.recorder.command_syncs
    names = {c["name"] for c in sent}
    assert {"book", "show", "ticket", "checkin", "follow"} <= names
    assert sorted(c.name for c in synced) == sorted(names)
    show = next(c for c in sent if c["name"] == "show")
    assert show["name_localizations"]["ko"] == "공연"  # localized as the bot answers them
